package e2e

import (
	"context"
	"crypto/tls"
	"fmt"
	"maps"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/model"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pmetric"

	"github.com/otelcol-gaudi/otelcol-gaudi/internal/fakekubelet"
	"github.com/otelcol-gaudi/otelcol-gaudi/internal/testpki"
)

// kubeletNode is the kubelet of a Gaudi node, faked: the PodResources API on a unix socket, and
// /stats/summary over TLS with client certificates, as the kubelet serves it on port 10250. sets point
// hpu_job and the kubelet_stats receiver at them.
type kubeletNode struct {
	*fakekubelet.Kubelet
	socket string
	sets   []string
}

func startKubeletNode(t *testing.T) *kubeletNode {
	t.Helper()
	socket := fakekubelet.Socket(t)
	k, err := fakekubelet.Start(socket, "gaudi-node-1")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(k.Stop)

	// The kubelet's serving certificate and the collector's client certificate, from one test CA.
	pki := testpki.New(t)
	serving, err := tls.LoadX509KeyPair(pki.ServerCert, pki.ServerKey)
	if err != nil {
		t.Fatal(err)
	}
	stats := httptest.NewUnstartedServer(k)
	stats.TLS = &tls.Config{Certificates: []tls.Certificate{serving}, ClientAuth: tls.RequireAndVerifyClientCert,
		ClientCAs: pki.Pool(), MinVersion: tls.VersionTLS12}
	stats.StartTLS()
	t.Cleanup(stats.Close)

	return &kubeletNode{Kubelet: k, socket: socket, sets: []string{
		"processors::hpu_job::kubelet::socket=" + socket,
		"processors::hpu_job::kubelet::refresh_interval=500ms",
		"receivers::kubelet_stats::collection_interval=1s",
		"receivers::kubelet_stats::initial_delay=0s",
		"receivers::kubelet_stats::auth_type=tls",
		"receivers::kubelet_stats::endpoint=" + stats.URL,
		"receivers::kubelet_stats::ca_file=" + pki.CAFile,
		"receivers::kubelet_stats::cert_file=" + pki.ClientCert,
		"receivers::kubelet_stats::key_file=" + pki.ClientKey,
	}}
}

// exportingNode is a collector on the shipped configs/node.yaml with eight simulated HPUs read every
// second, every endpoint on a free port, and its metrics also written to a file, batch by batch.
type exportingNode struct {
	*collector
	file string
}

func startExportingNode(t *testing.T, receivers string, extra ...string) *exportingNode {
	t.Helper()
	file := filepath.Join(t.TempDir(), "metrics.jsonl")
	promPort, telemetryPort, hpuHealthPort := freePort(t), freePort(t), freePort(t)
	c := startNodeCollector(t, "node.yaml", append([]string{
		"receivers::gaudi::simulator::devices=8",
		fmt.Sprintf("extensions::hpu_health::endpoint=127.0.0.1:%d", hpuHealthPort),
		fmt.Sprintf("exporters::prometheus::endpoint=127.0.0.1:%d", promPort),
		fmt.Sprintf("service::telemetry::metrics::readers=[{pull: {exporter: {prometheus: {host: 127.0.0.1, port: %d}}}}]", telemetryPort),
		"exporters::file::path=" + file,
		"exporters::file::flush_interval=100ms",
		"service::pipelines::metrics::receivers=" + receivers,
		"service::pipelines::metrics::exporters=[prometheus, file]",
	}, extra...)...).collector
	c.metricsURL = fmt.Sprintf("http://127.0.0.1:%d/metrics", promPort)
	c.telemetryURL = fmt.Sprintf("http://127.0.0.1:%d/metrics", telemetryPort)
	return &exportingNode{collector: c, file: file}
}

// gaudiScrapes returns the gaudi receiver's scrapes the collector has exported so far, in order.
func (n *exportingNode) gaudiScrapes(t *testing.T) []pmetric.ResourceMetrics {
	t.Helper()
	batches, _, err := readFileExport(n.file)
	if err != nil {
		t.Fatal(err)
	}
	var out []pmetric.ResourceMetrics
	for _, md := range batches {
		for _, rm := range md.ResourceMetrics().All() {
			for _, sm := range rm.ScopeMetrics().All() {
				if sm.Scope().Name() == gaudiScope {
					out = append(out, rm)
					break
				}
			}
		}
	}
	return out
}

const gaudiScope = "github.com/otelcol-gaudi/otelcol-gaudi/receiver/gaudireceiver"

// waitScrapes waits until the collector exported a gaudi scrape after the first n and returns the scrapes.
func (n *exportingNode) waitScrapes(t *testing.T, after int) []pmetric.ResourceMetrics {
	t.Helper()
	var scrapes []pmetric.ResourceMetrics
	eventually(t, startupDeadline, func() (bool, string) {
		n.failIfExited(t)
		scrapes = n.gaudiScrapes(t)
		return len(scrapes) > after, fmt.Sprintf("%d gaudi scrapes exported, waiting for more than %d", len(scrapes), after)
	})
	return scrapes
}

// deviceAttrs returns, per hpu.index, the values of keys on the scrape's device points joined by "/"
// (devices without any left out). It fails the test if the points of one device disagree.
func deviceAttrs(t *testing.T, rm pmetric.ResourceMetrics, keys ...string) map[string]string {
	t.Helper()
	out := map[string]string{}
	seen := map[string]bool{}
	forEachPoint(rm, func(metric string, attrs pcommon.Map) {
		idx, ok := attrs.Get("hpu.index")
		if !ok {
			return
		}
		var vals []string
		for _, k := range keys {
			if v, ok := attrs.Get(k); ok {
				vals = append(vals, v.AsString())
			}
		}
		i, l := idx.AsString(), strings.Join(vals, "/")
		if seen[i] && out[i] != l {
			t.Fatalf("points of HPU %s disagree: %q and %q (%s)", i, out[i], l, metric)
		}
		seen[i] = true
		out[i] = l
	})
	for i, l := range out {
		if l == "" {
			delete(out, i)
		}
	}
	return out
}

func forEachPoint(rm pmetric.ResourceMetrics, f func(metric string, attrs pcommon.Map)) {
	for _, sm := range rm.ScopeMetrics().All() {
		for _, m := range sm.Metrics().All() {
			switch m.Type() {
			case pmetric.MetricTypeGauge:
				for _, dp := range m.Gauge().DataPoints().All() {
					f(m.Name(), dp.Attributes())
				}
			case pmetric.MetricTypeSum:
				for _, dp := range m.Sum().DataPoints().All() {
					f(m.Name(), dp.Attributes())
				}
			}
		}
	}
}

// identities reads hpu.info of a scrape: per hpu.index, the attribute key's value.
func identities(t *testing.T, rm pmetric.ResourceMetrics, key string) []string {
	t.Helper()
	var out []string
	forEachPoint(rm, func(metric string, attrs pcommon.Map) {
		if metric != "hpu.info" {
			return
		}
		idx, _ := attrs.Get("hpu.index")
		v, _ := attrs.Get(key)
		if int(idx.Int()) != len(out) {
			t.Fatalf("hpu.info out of index order at %d", idx.Int())
		}
		out = append(out, v.AsString())
	})
	if len(out) != 8 {
		t.Fatalf("hpu.info lists %d devices, want 8", len(out))
	}
	return out
}

// waitDevices waits until the latest exported scrape's devices carry exactly want (the values of keys
// joined by "/", by hpu_index) and returns how many scrapes were exported then.
func (n *exportingNode) waitDevices(t *testing.T, what string, want map[string]string, keys ...string) int {
	t.Helper()
	var got map[string]string
	count := 0
	eventually(t, 30*time.Second, func() (bool, string) {
		n.failIfExited(t)
		scrapes := n.gaudiScrapes(t)
		if count = len(scrapes); count == 0 {
			return false, "no gaudi scrape exported yet"
		}
		got = deviceAttrs(t, scrapes[count-1], keys...)
		return maps.Equal(got, want), fmt.Sprintf("%s on the latest scrape: %v, want %v", what, got, want)
	})
	return count
}

var podKeys = []string{"k8s.namespace.name", "k8s.pod.name", "k8s.container.name", "k8s.pod.uid"}

// TestKubernetesPodAttribution runs the node config against a fake kubelet of a Gaudi node (Habana's device
// plugin allocating by serial, a DRA claim of Intel's Gaudi driver, several containers, a pod with two HPUs)
// and kubelet_stats against its /stats/summary over TLS. Exactly the allocated HPUs carry their pod; a deleted
// pod's labels go with the next refresh; a removed socket leaves the metrics flowing, unattributed after
// expiration, until it returns; a kubelet that never answers does not hold back a scrape.
func TestKubernetesPodAttribution(t *testing.T) {
	t.Parallel()
	node := startKubeletNode(t)
	c := startExportingNode(t, "[gaudi, otlp, kubelet_stats]", append(node.sets,
		"processors::hpu_job::expiration=3s",
		"processors::hpu_job::kubelet::timeout=20s", // the hanging kubelet below stays stuck for the whole phase
	)...)

	first := c.waitScrapes(t, 0)[0]
	serials, pcis := identities(t, first, "hpu.serial"), identities(t, first, "hpu.pci.bus_id")
	pods := fakekubelet.GaudiNode(serials, pcis)
	node.SetPods(pods...)
	node.SetAllocatable(fakekubelet.GaudiResource, serials...)
	want := map[string]string{
		"0": "training/llama3-8b-worker-0/trainer/" + pods[2].UID,
		"1": "training/llama3-8b-worker-0/trainer/" + pods[2].UID,
		"2": "training/bert-finetune-7f9c4-qx2lm/main/" + pods[3].UID,
		"3": "research/vision-dra-0/train/" + pods[4].UID,
	}
	c.waitDevices(t, "pods", want, podKeys...)

	// What Prometheus scrapes: the semantic-convention attributes as labels, and kubelet_stats' container
	// series of the same pods to join them with.
	families := waitForFamilies(t, c.process, c.metricsURL, "hpu_utilization_percent", "container_memory_working_set_bytes", "container_cpu_usage")
	labelled := map[string]string{}
	for _, s := range families["hpu_utilization_percent"] {
		if pod := s.Metric["k8s_pod_name"]; pod != "" {
			labelled[string(s.Metric["hpu_index"])] = fmt.Sprintf("%s/%s/%s/%s", s.Metric["k8s_namespace_name"], pod, s.Metric["k8s_container_name"], s.Metric["k8s_pod_uid"])
		}
	}
	if !maps.Equal(labelled, want) {
		t.Errorf("hpu_utilization_percent on /metrics: pods %v, want %v", labelled, want)
	}
	for _, name := range []string{"container_memory_working_set_bytes", "container_cpu_usage"} {
		if !slices.ContainsFunc(families[name], func(s *model.Sample) bool {
			return s.Metric["k8s_pod_name"] == "llama3-8b-worker-0" && s.Metric["k8s_container_name"] == "trainer" && s.Metric["k8s_pod_uid"] == model.LabelValue(pods[2].UID)
		}) {
			t.Errorf("no %s of training/llama3-8b-worker-0/trainer from kubelet_stats: %v", name, families[name])
		}
	}

	// The pod is deleted: once a refresh that began after the deletion has been applied (refreshes run one
	// after the other, so the third call since then has begun only after the second was applied), the next
	// scrapes carry it no more.
	lists := node.Lists()
	node.SetPods(slices.Delete(slices.Clone(pods), 2, 3)...)
	eventually(t, 30*time.Second, func() (bool, string) {
		return node.Lists() >= lists+3, fmt.Sprintf("the kubelet was called %d times since the deletion", node.Lists()-lists)
	})
	scrapes := c.waitScrapes(t, len(c.gaudiScrapes(t))+1)
	delete(want, "0")
	delete(want, "1")
	if got := deviceAttrs(t, scrapes[len(scrapes)-1], podKeys...); !maps.Equal(got, want) {
		t.Fatalf("after the pod's deletion and a refresh: pods %v, want %v", got, want)
	}

	// The socket goes away (kubelet stopped, mount lost): the metrics keep flowing, unattributed once the
	// last answer expires; the kubelet returns and so do the pods.
	node.Stop()
	before := len(c.gaudiScrapes(t))
	c.waitDevices(t, "pods without the kubelet", map[string]string{}, podKeys...)
	if after := len(c.gaudiScrapes(t)); after < before+2 {
		t.Fatalf("only %d scrapes exported while the kubelet was gone", after-before)
	}
	if err := node.Serve(); err != nil {
		t.Fatal(err)
	}
	c.waitDevices(t, "pods after the kubelet returned", want, podKeys...)
	if n := strings.Count(c.output(), "Cannot read the kubelet's PodResources API (absent)"); n != 1 {
		t.Errorf("the socket's absence was logged %d times, want once", n)
	}
	telemetry, err := scrape(context.Background(), c.telemetryURL)
	if err != nil {
		t.Fatal(err)
	}
	results := map[string]float64{}
	for _, s := range telemetry["otelcol_processor_hpu_job_source_refreshes"] {
		results[string(s.Metric["result"])] += float64(s.Value)
	}
	if results["absent"] == 0 || results["ok"] == 0 {
		t.Errorf("otelcol_processor_hpu_job_source_refreshes by result: %v, want ok and absent counted", results)
	}

	// A kubelet that accepts the call and never answers: scrapes go on while the call hangs.
	node.SetHang(true)
	eventually(t, 30*time.Second, func() (bool, string) { return node.Hanging() == 1, "waiting for a refresh to hang" })
	lists, before = node.Lists(), len(c.gaudiScrapes(t))
	c.waitScrapes(t, before+3)
	if node.Hanging() != 1 || node.Lists() != lists {
		t.Fatalf("the hanging call ended before three scrapes were exported (%d hanging, %d new calls)", node.Hanging(), node.Lists()-lists)
	}
}

// TestSlurmJobMapping runs the node config with the Slurm job-mapping directory, and the shipped prolog and
// epilog (deploy/slurm) as slurmd runs them, against a sysfs tree of the simulated HPUs' module ids. Jobs
// start and end while the collector runs; their HPUs carry the job while it holds them.
func TestSlurmJobMapping(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "slurm-jobs")
	c := startExportingNode(t, "[gaudi]",
		"processors::hpu_job::kubelet::enabled=false",
		"processors::hpu_job::slurm::job_mapping_dir="+dir,
		"processors::hpu_job::slurm::refresh_interval=500ms")
	modules := identities(t, c.waitScrapes(t, 0)[0], "hpu.module.id")
	sysfs := t.TempDir()
	for i, m := range modules {
		d := filepath.Join(sysfs, "class", "accel", fmt.Sprintf("accel%d", i), "device")
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(d, "module_id"), []byte(m+"\n"), 0o444); err != nil {
			t.Fatal(err)
		}
	}
	slurm := func(script string, env ...string) {
		t.Helper()
		stdout, stderr, err := runSlurmScript(t, script, append(env, "OTELCOL_GAUDI_SLURM_DIR="+dir, "OTELCOL_GAUDI_SYSFS="+sysfs))
		if err != nil || stdout+stderr != "" {
			t.Fatalf("%s: %v\n%s%s", script, err, stdout, stderr)
		}
	}
	keys := []string{"slurm.job.id", "slurm.job.user", "slurm.job.partition"}

	slurm("otelcol-gaudi-prolog.sh", "SLURM_JOB_ID=4242", "SLURM_JOB_USER=alice", "SLURM_JOB_PARTITION=gaudi3", "SLURM_JOB_GPUS=1,2")
	c.waitDevices(t, "Slurm jobs", map[string]string{"1": "4242/alice/gaudi3", "2": "4242/alice/gaudi3"}, keys...)
	slurm("otelcol-gaudi-prolog.sh", "SLURM_JOB_ID=4243_7", "SLURM_JOB_USER=bob", "SLURM_JOB_PARTITION=gaudi3", "OTELCOL_GAUDI_HPU_MODULES="+modules[5])
	c.waitDevices(t, "Slurm jobs", map[string]string{"1": "4242/alice/gaudi3", "2": "4242/alice/gaudi3", "5": "4243_7/bob/gaudi3"}, keys...)
	slurm("otelcol-gaudi-epilog.sh", "SLURM_JOB_ID=4242")
	c.waitDevices(t, "Slurm jobs", map[string]string{"5": "4243_7/bob/gaudi3"}, keys...)

	families := waitForFamilies(t, c.process, c.metricsURL, "hpu_power_watts")
	if !slices.ContainsFunc(families["hpu_power_watts"], func(s *model.Sample) bool {
		return s.Metric["hpu_index"] == "5" && s.Metric["slurm_job_id"] == "4243_7" && s.Metric["slurm_job_user"] == "bob"
	}) {
		t.Errorf("hpu_power_watts of HPU 5 on /metrics has no slurm_job_id 4243_7: %v", families["hpu_power_watts"])
	}
	slurm("otelcol-gaudi-epilog.sh", "SLURM_JOB_ID=4243_7")
	c.waitDevices(t, "Slurm jobs", map[string]string{}, keys...)
}
