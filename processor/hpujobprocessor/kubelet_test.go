package hpujobprocessor

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	"go.uber.org/zap/zapcore"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/mem"
	"google.golang.org/grpc/status"

	"github.com/otelcol-gaudi/otelcol-gaudi/internal/fakekubelet"
)

// kubeletConfig is testConfig with the kubelet on socket, refreshed every 20 ms.
func kubeletConfig(socket string) *Config {
	cfg := testConfig()
	cfg.Kubelet.Enabled = true
	cfg.Kubelet.Socket = socket
	cfg.Kubelet.RefreshInterval = 20 * time.Millisecond
	cfg.Kubelet.Timeout = 500 * time.Millisecond
	return cfg
}

// gaudiNode is the fake kubelet's pods for testDevices(8): HPUs 0 and 1 to training/llama3-8b-worker-0's
// trainer, 2 to training/bert-finetune-7f9c4-qx2lm, 3 through DRA to research/vision-dra-0.
func gaudiNode() []fakekubelet.Pod {
	var serials, pcis []string
	for _, d := range testDevices(8) {
		serials, pcis = append(serials, d.serial), append(pcis, d.pci)
	}
	return fakekubelet.GaudiNode(serials, pcis)
}

var wantGaudiNode = map[int64]string{
	0: "training/llama3-8b-worker-0/trainer",
	1: "training/llama3-8b-worker-0/trainer",
	2: "training/bert-finetune-7f9c4-qx2lm/main",
	3: "research/vision-dra-0/train",
}

func startKubelet(t *testing.T, pods ...fakekubelet.Pod) (*fakekubelet.Kubelet, string) {
	t.Helper()
	socket := fakekubelet.Socket(t)
	k, err := fakekubelet.Start(socket, testHost)
	require.NoError(t, err)
	t.Cleanup(k.Stop)
	k.SetPods(pods...)
	var serials []string
	for _, d := range testDevices(8) {
		serials = append(serials, d.serial)
	}
	k.SetAllocatable(fakekubelet.GaudiResource, serials...)
	return k, socket
}

// podKeys are the kubelet's attributes, in the order deviceAttrs joins them.
var podKeys = []string{attrNamespaceName, attrPodName, attrContainerName, attrPodUID}

// deviceAttrs returns, per hpu.index, the values of keys on the batch's gaudi points joined by "/" (devices
// without any left out). It fails if the points of one device disagree, or if a point without hpu.index
// (a self-metric) carries any of them.
func deviceAttrs(t testing.TB, md pmetric.Metrics, keys ...string) map[int64]string {
	t.Helper()
	out := map[int64]string{}
	seen := map[int64]bool{}
	forEachGaudiPoint(md, func(metric string, attrs pcommon.Map) {
		var parts []string
		for _, k := range keys {
			if v, ok := attrs.Get(k); ok {
				parts = append(parts, v.AsString())
			}
		}
		label := strings.Join(parts, "/")
		idx, ok := attrs.Get(attrIndex)
		if !ok {
			require.Emptyf(t, label, "%s has no hpu.index but carries %q", metric, label)
			return
		}
		if seen[idx.Int()] {
			require.Equalf(t, out[idx.Int()], label, "points of device %d disagree (%s)", idx.Int(), metric)
		}
		seen[idx.Int()] = true
		out[idx.Int()] = label
	})
	for idx, l := range out {
		if l == "" {
			delete(out, idx)
		}
	}
	return out
}

func podLabels(t testing.TB, md pmetric.Metrics) map[int64]string {
	return deviceAttrs(t, md, podKeys...)
}

// scrapeUntil sends gaudi scrapes until the values of keys on their devices are want.
func (tp *testProcessor) scrapeUntil(t *testing.T, want map[int64]string, keys ...string) {
	t.Helper()
	if len(keys) == 0 {
		keys = podKeys
	}
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		tp.send(t, gaudiBatch("", testDevices(8)))
		assert.Equal(c, want, deviceAttrs(t, tp.last(t), keys...), "%v on the devices", keys)
	}, 10*time.Second, 10*time.Millisecond)
}

// waitRefresh waits until the kubelet source has reported result at least n times more than before.
func (tp *testProcessor) waitRefresh(t *testing.T, result string) {
	t.Helper()
	before := tp.counter(t, "otelcol_processor_hpu_job_source_refreshes", "result", result)
	require.Eventually(t, func() bool {
		return tp.counter(t, "otelcol_processor_hpu_job_source_refreshes", "result", result) >= before+2
	}, 10*time.Second, 5*time.Millisecond, "no refresh with result %s", result)
}

func TestKubeletAttribution(t *testing.T) {
	k, socket := startKubelet(t, gaudiNode()...)
	tp := newTestProcessor(t, kubeletConfig(socket))

	// Exactly the allocated devices get a pod, whether the device plugin or DRA allocated them.
	tp.scrapeUntil(t, wantGaudiNode)
	md := tp.last(t)
	forEachGaudiPoint(md, func(metric string, attrs pcommon.Map) {
		if idx, ok := attrs.Get(attrIndex); ok && idx.Int() == 2 {
			for _, k := range []string{attrPodName, attrNamespaceName, attrContainerName} {
				v, ok := attrs.Get(k)
				require.Truef(t, ok, "%s of device 2 has no %s", metric, k)
				require.Equal(t, pcommon.ValueTypeStr, v.Type())
			}
		}
	})

	// The uid comes from the pipeline: kubelet_stats' resources name the pod with its uid.
	stats := pmetric.NewMetrics()
	for _, p := range gaudiNode() {
		res := stats.ResourceMetrics().AppendEmpty().Resource().Attributes()
		res.PutStr(attrPodName, p.Name)
		res.PutStr(attrNamespaceName, p.Namespace)
		res.PutStr(attrPodUID, p.UID)
	}
	tp.send(t, stats)
	withUID := map[int64]string{}
	for idx, l := range wantGaudiNode {
		for _, p := range gaudiNode() {
			if strings.HasPrefix(l, p.Namespace+"/"+p.Name+"/") {
				withUID[idx] = l + "/" + p.UID
			}
		}
	}
	tp.scrapeUntil(t, withUID)

	// A pod deleted: its devices lose their labels at the next refresh, not after expiration.
	pods := gaudiNode()
	k.SetPods(append(pods[:2:2], pods[3:]...)...) // training/llama3-8b-worker-0 is gone
	delete(withUID, 0)
	delete(withUID, 1)
	tp.scrapeUntil(t, withUID)
	assert.Zero(t, tp.counter(t, "otelcol_processor_hpu_job_allocations_invalid", "", ""))
}

func TestKubeletFaults(t *testing.T) {
	tests := []struct {
		name   string
		result string
		// logged is in the error of the warning, when set.
		logged string
		// timeout of the calls to the kubelet, 50 ms when zero.
		timeout time.Duration
		// fault breaks the kubelet serving socket and returns what undoes it.
		fault func(t *testing.T, k *fakekubelet.Kubelet, socket string) (repair func())
		// unprivileged runs the case as an unprivileged user when this process ignores file modes (root).
		unprivileged bool
	}{
		{
			name: "socket removed", result: resultAbsent,
			fault: func(t *testing.T, k *fakekubelet.Kubelet, _ string) func() {
				k.Stop()
				return func() { require.NoError(t, k.Serve()) }
			},
		},
		{
			name: "kubelet restarting: the socket is there, nobody listens", result: resultUnavailable,
			fault: func(t *testing.T, k *fakekubelet.Kubelet, _ string) func() {
				k.Crash()
				return func() { require.NoError(t, k.Serve()) }
			},
		},
		{
			name: "kubelet hangs", result: resultTimeout,
			fault: func(_ *testing.T, k *fakekubelet.Kubelet, _ string) func() {
				k.SetHang(true)
				return func() { k.SetHang(false) }
			},
		},
		{
			name: "answer does not decode", result: resultMalformed,
			fault: func(t *testing.T, k *fakekubelet.Kubelet, socket string) func() {
				// A kubelet that answers garbage takes the socket's place at once (rename is atomic).
				stop := serveRaw(t, socket+".new", []byte{0x0a, 0x05, 0xff, 0xff}) // pod_resources: 5 bytes promised, 2 sent
				require.NoError(t, os.Rename(socket+".new", socket))
				k.Crash()
				return func() {
					stop()
					require.NoError(t, k.Serve())
				}
			},
		},
		{
			// Marshalling 5 MiB under -race on a loaded machine can take longer than 50 ms.
			name: "answer over the size cap", result: resultMalformed, logged: "larger than max", timeout: 10 * time.Second,
			fault: func(_ *testing.T, k *fakekubelet.Kubelet, _ string) func() {
				// A valid answer, with the HPUs' pods in it, one byte-heavy pod over maxKubeletResponse: all of
				// it is refused, as an answer that does not decode is.
				blob := slices.Repeat([]string{strings.Repeat("x", 1<<20)}, maxKubeletResponse>>20+1)
				k.SetPods(append(gaudiNode(), fakekubelet.Pod{Namespace: "big", Name: "blob",
					Containers: []fakekubelet.Container{{Name: "c", Devices: map[string][]string{"example.com/blob": blob}}}})...)
				return func() { k.SetPods(gaudiNode()...) }
			},
		},
		{
			// The dial's EACCES, not the stat's: the socket's directory stays searchable.
			name: "socket not accessible", result: resultPermissionDenied, logged: "connect: permission denied",
			fault: func(t *testing.T, _ *fakekubelet.Kubelet, socket string) func() {
				fi, err := os.Stat(socket)
				require.NoError(t, err)
				require.NoError(t, os.Chmod(socket, 0))
				return func() { require.NoError(t, os.Chmod(socket, fi.Mode().Perm())) }
			},
			unprivileged: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.unprivileged && ignoresFileModes(t) {
				runUnprivileged(t)
				return
			}
			k, socket := startKubelet(t, gaudiNode()...)
			cfg := kubeletConfig(socket)
			cfg.Kubelet.Timeout = cmp.Or(tt.timeout, 50*time.Millisecond)
			tp := newTestProcessor(t, cfg)
			tp.scrapeUntil(t, wantGaudiNode)

			repair := tt.fault(t, k, socket)
			tp.waitRefresh(t, tt.result)
			// Device metrics keep flowing, and keep the last answer's pods while it has not expired.
			tp.send(t, gaudiBatch("", testDevices(8)))
			assert.Equal(t, wantGaudiNode, podLabels(t, tp.last(t)))
			// Past expiration, unattributed.
			tp.clock.advance(cfg.Expiration)
			tp.send(t, gaudiBatch("", testDevices(8)))
			assert.Empty(t, podLabels(t, tp.last(t)))
			assert.Len(t, deviceLabels(t, tp.last(t)), 8, "every device still reported")

			repair()
			tp.scrapeUntil(t, wantGaudiNode)

			// One warning when the failure started and one info line per recovery, however many refreshes failed.
			warnings := tp.logs.FilterMessageSnippet("Cannot read the kubelet's PodResources API (" + tt.result + ")").All()
			if assert.Len(t, warnings, 1) {
				assert.Contains(t, warnings[0].ContextMap()["error"], tt.logged)
			}
			assert.Equal(t, 2, tp.logs.FilterMessage("Attributing HPUs from the kubelet's PodResources API").Len())
		})
	}
}

// serveRaw answers every gRPC call on socket with body as the response message, undecoded: what a
// kubelet with a corrupt answer sends. It returns what stops it.
func serveRaw(t *testing.T, socket string, body []byte) func() {
	t.Helper()
	l, err := net.Listen("unix", socket)
	require.NoError(t, err)
	srv := grpc.NewServer(grpc.ForceServerCodecV2(rawCodec{}), grpc.UnknownServiceHandler(func(_ any, stream grpc.ServerStream) error {
		var req []byte
		if err := stream.RecvMsg(&req); err != nil {
			return err
		}
		return stream.SendMsg(&body)
	}))
	go func() { _ = srv.Serve(l) }()
	return srv.Stop
}

// rawCodec passes message bytes through.
type rawCodec struct{}

func (rawCodec) Marshal(v any) (mem.BufferSlice, error) {
	return mem.BufferSlice{mem.SliceBuffer(*v.(*[]byte))}, nil
}

func (rawCodec) Unmarshal(data mem.BufferSlice, v any) error {
	*v.(*[]byte) = data.Materialize()
	return nil
}

func (rawCodec) Name() string { return "proto" }

// ignoresFileModes reports whether this process opens files whatever their mode says, as root does
// (CAP_DAC_OVERRIDE): no file mode makes a dial of it fail with EACCES.
func ignoresFileModes(t *testing.T) bool {
	t.Helper()
	path := filepath.Join(t.TempDir(), "mode-0")
	require.NoError(t, os.WriteFile(path, nil, 0))
	f, err := os.Open(path)
	if err == nil {
		_ = f.Close()
	}
	return err == nil
}

// unprivilegedEnv marks the child process of runUnprivileged.
const unprivilegedEnv = "HPUJOB_TEST_UNPRIVILEGED"

// runUnprivileged runs the current test again in a child process as nobody, and fails if it fails there.
// Credentials and capabilities belong to a process's threads, not to a goroutine, and root passes every
// file-mode check: only another process dials as a user that the socket's mode refuses (CI runs as root).
// The child is this test binary through /proc/self/exe, as its build directory is closed to nobody.
func runUnprivileged(t *testing.T) {
	t.Helper()
	const nobody = 65534
	require.Empty(t, os.Getenv(unprivilegedEnv), "still ignores file modes as uid %d", os.Geteuid())
	tmp, err := os.MkdirTemp("", "hpujob-nobody")
	require.NoError(t, err)
	t.Cleanup(func() { _ = os.RemoveAll(tmp) })
	require.NoError(t, os.Chown(tmp, nobody, nobody))
	var run []string
	for _, name := range strings.Split(t.Name(), "/") {
		run = append(run, "^"+regexp.QuoteMeta(name)+"$")
	}
	cmd := exec.Command("/proc/self/exe", "-test.run="+strings.Join(run, "/"), "-test.count=1", "-test.v")
	cmd.Env = append(os.Environ(), "TMPDIR="+tmp, unprivilegedEnv+"=1")
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: nobody, Gid: nobody}}
	out, err := cmd.CombinedOutput()
	require.NoErrorf(t, err, "as nobody:\n%s", out)
	require.Containsf(t, string(out), "--- PASS: "+t.Name(), "as nobody:\n%s", out)
}

func TestKubeletAbsentIsQuiet(t *testing.T) {
	// Not a Kubernetes node: the socket never exists. Nothing is logged above debug, metrics pass as before.
	socket := fakekubelet.Socket(t)
	tp := newTestProcessor(t, kubeletConfig(socket))
	tp.waitRefresh(t, resultAbsent)
	tp.send(t, gaudiBatch("", testDevices(8)))
	assert.Empty(t, podLabels(t, tp.last(t)))
	assert.Zero(t, tp.logs.FilterLevelExact(zapcore.WarnLevel).Len())

	// It appears later (the kubelet started after the collector): attribution starts by itself.
	k, err := fakekubelet.Start(socket, testHost)
	require.NoError(t, err)
	t.Cleanup(k.Stop)
	k.SetPods(gaudiNode()...)
	tp.scrapeUntil(t, wantGaudiNode)
}

func TestKubeletHangDoesNotDelayScrapes(t *testing.T) {
	// The kubelet never answers and the timeout is far away: a refresh is stuck in List, and scrapes pass
	// through the processor meanwhile (the refresh runs off the data path).
	k, socket := startKubelet(t, gaudiNode()...)
	k.SetHang(true)
	cfg := kubeletConfig(socket)
	cfg.Kubelet.Timeout = time.Hour
	tp := newTestProcessor(t, cfg)
	require.Eventually(t, func() bool { return k.Lists() > 0 }, 10*time.Second, 5*time.Millisecond)
	for range 10 {
		tp.send(t, gaudiBatch("", testDevices(8)))
	}
	assert.Len(t, tp.sink.AllMetrics(), 10)
	assert.Equal(t, 1, k.Lists(), "the refresh is still waiting for its answer")
	// Shutdown ends the stuck call (newTestProcessor's cleanup), without waiting for the timeout.
}

func TestClassify(t *testing.T) {
	dial := func(errno syscall.Errno) error {
		return &net.OpError{Op: "dial", Net: "unix", Err: os.NewSyscallError("connect", errno)}
	}
	tests := []struct {
		err  error
		want string
	}{
		{&os.PathError{Op: "stat", Path: "/x", Err: syscall.ENOENT}, resultAbsent},
		{dial(syscall.ENOENT), resultAbsent},
		{&os.PathError{Op: "stat", Path: "/x", Err: syscall.EACCES}, resultPermissionDenied},
		{dial(syscall.EACCES), resultPermissionDenied},
		{dial(syscall.EPERM), resultPermissionDenied},
		{dial(syscall.ECONNREFUSED), resultUnavailable},
		{status.Error(codes.Unavailable, "connection closed"), resultUnavailable},
		{status.Error(codes.DeadlineExceeded, "context deadline exceeded"), resultTimeout},
		{fmt.Errorf("wrapped: %w", context.DeadlineExceeded), resultTimeout},
		{status.Error(codes.Internal, "grpc: failed to unmarshal the received message"), resultMalformed},
		{status.Error(codes.ResourceExhausted, "received message larger than max"), resultMalformed},
		{status.Error(codes.Unimplemented, "unknown service"), resultError},
		{errors.New("something else"), resultError},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, classify(tt.err), "%v", tt.err)
	}
}

func TestKubeletInvalidEntries(t *testing.T) {
	// A hostile or broken answer: names that are no Kubernetes names, IDs that are no device, DRA devices
	// that are no PCI address, and far more devices than the table takes. Valid entries still apply;
	// the rest is counted.
	pods := gaudiNode()
	pods = append(pods,
		fakekubelet.Pod{Namespace: "bad ns", Name: "p", Containers: []fakekubelet.Container{{Name: "c", Devices: map[string][]string{fakekubelet.GaudiResource: {"AN99999999"}}}}},
		fakekubelet.Pod{Namespace: "ns", Name: "p", Containers: []fakekubelet.Container{{Name: "C\x01", Devices: map[string][]string{fakekubelet.GaudiResource: {"AN99999998"}}}}},
		fakekubelet.Pod{Namespace: "ns", Name: "q", Containers: []fakekubelet.Container{{Name: "c",
			Devices: map[string][]string{fakekubelet.GaudiResource: {"  ", strings.Repeat("A", 300)}},
			DRA:     []fakekubelet.DRADevice{{Claim: "x", Driver: fakekubelet.GaudiDRADriver, Device: "gpu-0"}}}}},
	)
	_, socket := startKubelet(t, pods...)
	cfg := kubeletConfig(socket)
	cfg.Kubelet.RefreshInterval = time.Hour // one refresh, at start
	tp := newTestProcessor(t, cfg)
	tp.scrapeUntil(t, wantGaudiNode)
	assert.Equal(t, int64(1), tp.counter(t, "otelcol_processor_hpu_job_source_refreshes", "result", resultOK))
	assert.Equal(t, int64(5), tp.counter(t, "otelcol_processor_hpu_job_allocations_invalid", "source", "kubelet"))

	// Bounded: with room for two allocations, two are kept and the rest counted as dropped.
	cfg.MaxMappings = 2
	small := newTestProcessor(t, cfg)
	require.Eventually(t, func() bool {
		return small.counter(t, "otelcol_processor_hpu_job_source_refreshes", "result", resultOK) == 1
	}, 10*time.Second, 5*time.Millisecond)
	small.send(t, gaudiBatch("", testDevices(8)))
	assert.Len(t, podLabels(t, small.last(t)), 2)
	assert.Equal(t, int64(2), small.counter(t, "otelcol_processor_hpu_job_entries_dropped", "table", "allocations"))
}

func TestKubeletDeviceIDDiagnostics(t *testing.T) {
	// The device plugin registers serials, the processor is told uuid: nothing can match. The warning says
	// which setting would, and the unmatched gauge counts the allocations left without a pod.
	_, socket := startKubelet(t, gaudiNode()...)
	cfg := kubeletConfig(socket)
	cfg.Kubelet.DeviceID = deviceIDUUID
	tp := newTestProcessor(t, cfg)
	require.Eventually(t, func() bool {
		tp.send(t, gaudiBatch("", testDevices(8)))
		return tp.logs.FilterMessageSnippet("cannot be matched").Len() > 0
	}, 10*time.Second, 10*time.Millisecond)
	msg := tp.logs.FilterMessageSnippet("cannot be matched").All()[0].Message
	tp.send(t, gaudiBatch("", testDevices(8)))
	assert.Contains(t, msg, "8 of the kubelet's 8 devices of [habana.ai/gaudi] match no HPU of this node by device_id uuid")
	assert.Contains(t, msg, "by serial 8 match")
	assert.Equal(t, wantGaudiNode[3], podLabels(t, tp.last(t))[3], "DRA devices are matched by PCI address whatever device_id says")
	assert.Equal(t, int64(3), gaugeWith(t, tp, "otelcol_processor_hpu_job_allocations_unmatched", "kubelet"))
	assert.Equal(t, int64(4), gaugeWith(t, tp, "otelcol_processor_hpu_job_allocations", "kubelet"))
	// Logged once, not per refresh.
	tp.waitRefresh(t, resultOK)
	assert.Equal(t, 1, tp.logs.FilterMessageSnippet("cannot be matched").Len())
}

func TestKubeletDeviceIdentities(t *testing.T) {
	// Device plugins other than Habana's name devices by another identity; with the matching device_id the
	// same devices get the same pods, and the diagnostics find nothing to say.
	tests := []struct {
		deviceID string
		id       func(testDevice) string
	}{
		{deviceIDSerial, func(d testDevice) string { return d.serial }},
		{deviceIDUUID, func(d testDevice) string { return d.uuid }},
		{deviceIDModuleID, func(d testDevice) string { return strconv.FormatInt(d.module, 10) }},
		{deviceIDPCIBusID, func(d testDevice) string { return strings.ToUpper(d.pci) }}, // normalised to hpu.pci.bus_id's form
	}
	for _, tt := range tests {
		t.Run(tt.deviceID, func(t *testing.T) {
			var ids, pcis []string
			for _, d := range testDevices(8) {
				ids, pcis = append(ids, tt.id(d)), append(pcis, d.pci)
			}
			k, socket := startKubelet(t, fakekubelet.GaudiNode(ids, pcis)...)
			k.SetAllocatable(fakekubelet.GaudiResource, ids...)
			cfg := kubeletConfig(socket)
			cfg.Kubelet.DeviceID = tt.deviceID
			tp := newTestProcessor(t, cfg)
			tp.scrapeUntil(t, wantGaudiNode)
			tp.waitRefresh(t, resultOK) // diagnosed with hpu.info known
			assert.Zero(t, gaugeWith(t, tp, "otelcol_processor_hpu_job_allocations_unmatched", "kubelet"))
			assert.Zero(t, tp.logs.FilterLevelExact(zapcore.WarnLevel).Len())
		})
	}
}

func TestKubeletResourceNames(t *testing.T) {
	// Gaudi 3 nodes may register habana.ai/gaudi3: with it in resource_names, its devices get their pods. A
	// resource left out gives none, and the warning names it. (Device-plugin pods only: DRA allocations
	// would count as matches.)
	resourceNames := []string{fakekubelet.GaudiResource, "habana.ai/gaudi3"}
	tests := []struct {
		name, resource string
		want           map[int64]string
		hint           string
	}{
		{name: "configured", resource: "habana.ai/gaudi3", want: map[int64]string{0: wantGaudiNode[0], 1: wantGaudiNode[1], 2: wantGaudiNode[2]}},
		{name: "left out", resource: "habana.ai/gaudi2", want: map[int64]string{},
			hint: "the kubelet manages no devices of [habana.ai/gaudi habana.ai/gaudi3] but has [habana.ai/gaudi2]: add them to kubelet.resource_names"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pods := gaudiNode()[:4]
			for _, p := range pods {
				for _, c := range p.Containers {
					if ids, ok := c.Devices[fakekubelet.GaudiResource]; ok {
						c.Devices[tt.resource] = ids
						delete(c.Devices, fakekubelet.GaudiResource)
					}
				}
			}
			var serials []string
			for _, d := range testDevices(8) {
				serials = append(serials, d.serial)
			}
			k, socket := startKubelet(t, pods...)
			k.SetAllocatable(fakekubelet.GaudiResource)
			k.SetAllocatable(tt.resource, serials...)
			cfg := kubeletConfig(socket)
			cfg.Kubelet.ResourceNames = resourceNames
			tp := newTestProcessor(t, cfg)
			tp.scrapeUntil(t, tt.want)
			tp.waitRefresh(t, resultOK) // diagnosed with hpu.info known
			var logged []string
			for _, e := range tp.logs.FilterLevelExact(zapcore.WarnLevel).All() {
				logged = append(logged, e.Message)
			}
			if tt.hint == "" {
				assert.Empty(t, logged)
			} else if assert.Len(t, logged, 1) {
				assert.Contains(t, logged[0], tt.hint)
			}
		})
	}
}

func TestKubeletAndJobsCombine(t *testing.T) {
	// A job's own OTLP identity and the kubelet's view add up on a device. Where both give the same key
	// (a job copying k8s.pod.name from its resource), the kubelet's value is the one on the series.
	_, socket := startKubelet(t, gaudiNode()...)
	cfg := kubeletConfig(socket)
	cfg.Attributes = []string{attrJobID, attrRank, attrPodName}
	tp := newTestProcessor(t, cfg)
	tp.send(t,
		jobBatch(job("llama", 0, attrIndex, int64(0), attrPodName, "what-the-job-thinks")),
		jobBatch(job("side", 1, attrIndex, int64(5), attrPodName, "job-pod-5")))
	want := map[int64]string{5: "job-pod-5"}
	for idx, l := range wantGaudiNode {
		want[idx] = l
	}
	want[5] = "job-pod-5"
	tp.scrapeUntil(t, want)
	md := tp.last(t)
	assert.Equal(t, []string{"0=llama/0", "5=side/1"}, annotated(t, md))
	forEachGaudiPoint(md, func(metric string, attrs pcommon.Map) {
		if idx, ok := attrs.Get(attrIndex); ok && idx.Int() == 0 {
			pod, _ := attrs.Get(attrPodName)
			assert.Equal(t, "llama3-8b-worker-0", pod.Str(), metric)
		}
	})
}

// gaugeWith returns the value of a self-telemetry gauge's point of one source.
func gaugeWith(t *testing.T, tp *testProcessor, name, src string) int64 {
	t.Helper()
	m, err := tp.tel.GetMetric(name)
	require.NoError(t, err)
	g, ok := m.Data.(metricdata.Gauge[int64])
	require.Truef(t, ok, "%s is a %T", name, m.Data)
	for _, dp := range g.DataPoints {
		if v, ok := dp.Attributes.Value("source"); ok && v.AsString() == src {
			return dp.Value
		}
	}
	t.Fatalf("%s has no point of source %s", name, src)
	return 0
}
