//go:build linux

// Package bench compares otelcol-gaudi's OTLP ingest with an upstream-only build of the same pipeline.
// The figures and how to reproduce them are in docs/performance.md.
package bench

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/pmetric/pmetricotlp"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
)

const (
	// senders export concurrently, as the ranks of a node do; each owns jobsPerSender jobs of
	// ranksPerJob ranks, and one request is one scrape of one job: ranksPerJob × (len(gauges) +
	// len(counters)) points. 4 × 4 × 100 ranks × 10 metrics = 16,000 series.
	senders       = 4
	jobsPerSender = 4
	ranksPerJob   = 100
	// warmRounds of every job's scrapes go before the timed runs of a collector.
	warmRounds = 5
	// scrapeStep is the data time between two scrapes of a job, the threshold rules' evaluation interval.
	scrapeStep = 15 * time.Second
	// exportTimeout bounds one export, so a stuck collector fails the benchmark instead of hanging it.
	exportTimeout = 10 * time.Second
	// clockTick is /proc/<pid>/stat's unit for CPU time (USER_HZ, 100 on Linux).
	clockTick = 10 * time.Millisecond
	// dataLead is how far before the wall clock the first scrape is stamped. Data time runs ahead of the
	// wall clock here (a 15 s step per round, many rounds a second), and the threshold connector refuses
	// points later than the wall clock: 2 hours give 480 rounds, 7.7 million points per collector.
	dataLead = 2 * time.Hour
)

// The metrics trainsim sends (cmd/trainsim/contract.go), so the rules in configs/prometheus/rules match them.
var (
	gauges = []string{"training.loss", "training.accuracy", "training.batch.duration", "training.forward.duration",
		"training.backward.duration", "training.optimizer.step.duration", "training.samples.throughput",
		"training.tokens.throughput"}
	counters = []string{"training.samples", "training.tokens"}

	pointsPerExport = ranksPerJob * (len(gauges) + len(counters))

	httpClient = &http.Client{Timeout: 5 * time.Second}
)

// BenchmarkIngest drives OTLP gRPC metric exports through four collector processes, one after the
// other in one run: the upstream-only build and otelcol-gaudi on the same otlp → batch → prometheus
// pipeline, and otelcol-gaudi on its full node pipeline, with and without the threshold connector. It reports points/s (wall time until the
// prometheus exporter has received every point) and the collector process's CPU per million points.
func BenchmarkIngest(b *testing.B) {
	ours := oursBinary(b)
	upstream := upstreamBinary(b)
	arms := []struct {
		name, bin string
		configs   []string
	}{
		{"upstream", upstream, []string{"node-pipeline.yaml"}},
		{"otelcol-gaudi", ours, []string{"node-pipeline.yaml"}},
		{"otelcol-gaudi-node", ours, []string{"ours-pipeline.yaml", "ours-threshold.yaml"}},
		{"otelcol-gaudi-node-without-threshold", ours, []string{"ours-pipeline.yaml"}},
	}
	for _, arm := range arms {
		col := startCollector(b, arm.bin, arm.configs...)
		b.Run(arm.name, func(b *testing.B) { benchIngest(b, col) })
		col.stop(b)
	}
}

func benchIngest(b *testing.B, col *collector) {
	// The first scrapes create the exporter's and the processors' series; time the steady state.
	if !col.warm {
		if err := col.warmUp(); err != nil {
			b.Fatalf("warm-up: %v\n%s", err, col.logTail())
		}
		col.warm = true
	}
	sent0, err := col.exported()
	if err != nil {
		b.Fatal(err)
	}
	cpu0, err := col.cpu()
	if err != nil {
		b.Fatal(err)
	}
	work := make(chan struct{})
	done := make(chan error, 1)
	start := time.Now()
	go func() { done <- col.drive(work) }()
	n := 0
	for b.Loop() {
		work <- struct{}{}
		n++
	}
	close(work)
	if err := <-done; err != nil {
		b.Fatalf("%v\n%s", err, col.logTail())
	}
	points := n * pointsPerExport
	if err := col.waitExported(sent0 + points); err != nil {
		b.Fatalf("%v\n%s", err, col.logTail())
	}
	elapsed := time.Since(start)
	cpu1, err := col.cpu()
	if err != nil {
		b.Fatal(err)
	}
	// Logs are at warn level: any line is a point refused or dropped (memory_limiter, threshold limits).
	if tail := col.logTail(); tail != "" {
		b.Fatalf("the collector logged warnings or errors:\n%s", tail)
	}
	b.ReportMetric(float64(points)/elapsed.Seconds(), "points/s")
	b.ReportMetric((cpu1-cpu0).Seconds()/float64(points)*1e6, "cpu-s/Mpoints")
}

// warmUp sends warmRounds scrapes of every job and waits until the exporter has them.
func (c *collector) warmUp() error {
	sent0, err := c.exported()
	if err != nil {
		return err
	}
	work := make(chan struct{}, warmRounds*senders*jobsPerSender)
	for range cap(work) {
		work <- struct{}{}
	}
	close(work)
	if err := c.drive(work); err != nil {
		return err
	}
	return c.waitExported(sent0 + cap(work)*pointsPerExport)
}

// drive makes the senders export, in parallel, one scrape per value received on work until it is closed.
// Every sender owns its jobs, so each series gets its scrapes in order.
func (c *collector) drive(work <-chan struct{}) error {
	errs := make(chan error, senders)
	var wg sync.WaitGroup
	for s, jobs := range c.jobs {
		wg.Go(func() {
			for range work {
				// A sender scrapes its jobs in turn; one round of them is one scrape step of data time.
				k := c.exports[s]
				c.exports[s]++
				md := jobs[k%len(jobs)]
				restamp(md, c.start.Add(time.Duration(k/len(jobs))*scrapeStep))
				if err := c.export(md); err != nil {
					errs <- fmt.Errorf("sender %d, export %d: %w", s, k, err)
					// Keep draining work, so the caller does not block on a failed sender.
					for range work {
					}
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	return errors.Join(collect(errs)...)
}

func collect(errs <-chan error) []error {
	var out []error
	for err := range errs {
		out = append(out, err)
	}
	return out
}

// scrape is one scrape of a job: every metric once per rank, on a resource like trainsim's.
func scrape(job string) pmetric.Metrics {
	md := pmetric.NewMetrics()
	for r := range ranksPerJob {
		rm := md.ResourceMetrics().AppendEmpty()
		attrs := rm.Resource().Attributes()
		attrs.PutStr("service.name", "trainsim")
		attrs.PutStr("service.instance.id", fmt.Sprintf("%s/rank-%d", job, r))
		attrs.PutStr("host.name", "bench-node")
		attrs.PutStr("training.job.id", job)
		attrs.PutInt("training.rank", int64(r))
		attrs.PutInt("training.local_rank", int64(r%8))
		attrs.PutInt("training.world_size", ranksPerJob)
		attrs.PutStr("hpu.module.id", strconv.Itoa(r%8))
		ms := rm.ScopeMetrics().AppendEmpty()
		ms.Scope().SetName("trainsim")
		for _, name := range gauges {
			m := ms.Metrics().AppendEmpty()
			m.SetName(name)
			m.SetEmptyGauge().DataPoints().AppendEmpty().SetDoubleValue(1)
		}
		for _, name := range counters {
			m := ms.Metrics().AppendEmpty()
			m.SetName(name)
			sum := m.SetEmptySum()
			sum.SetIsMonotonic(true)
			sum.SetAggregationTemporality(pmetric.AggregationTemporalityCumulative)
			sum.DataPoints().AppendEmpty().SetIntValue(0)
		}
	}
	return md
}

// restamp dates every point of md at t and moves the counters on, as the next scrape of the job would.
func restamp(md pmetric.Metrics, t time.Time) {
	ts := pcommon.NewTimestampFromTime(t)
	rms := md.ResourceMetrics()
	for i := range rms.Len() {
		ms := rms.At(i).ScopeMetrics().At(0).Metrics()
		for j := range ms.Len() {
			m := ms.At(j)
			if m.Type() == pmetric.MetricTypeSum {
				dp := m.Sum().DataPoints().At(0)
				dp.SetTimestamp(ts)
				dp.SetIntValue(dp.IntValue() + 512)
				continue
			}
			m.Gauge().DataPoints().At(0).SetTimestamp(ts)
		}
	}
}

// collector is a running collector process and an OTLP gRPC client connected to it.
type collector struct {
	cmd       *exec.Cmd
	logPath   string
	telemetry string
	client    pmetricotlp.GRPCClient
	conn      *grpc.ClientConn
	// jobs[s] are sender s's jobs, one prepared scrape each, restamped before every export; exports[s]
	// counts its exports over the collector's life, so data time and counters only move forward across
	// the benchmark's runs (-count).
	jobs    [senders][jobsPerSender]pmetric.Metrics
	exports [senders]int
	// start is the data time of the first scrape.
	start time.Time
	warm  bool
	// ranks are BenchmarkScrapeIngest's OTLP ranks, one prepared export each; rounds counts their rounds.
	ranks  []pmetric.Metrics
	rounds int
}

// startCollector runs bin on the bench/ configs, merged in order.
func startCollector(b *testing.B, bin string, configs ...string) *collector {
	b.Helper()
	return startCollectorEnv(b, bin, nil, configs...)
}

// startCollectorEnv is startCollector with env ("KEY=value") added to the collector's environment.
func startCollectorEnv(b *testing.B, bin string, env []string, configs ...string) *collector {
	b.Helper()
	root, err := filepath.Abs("..")
	if err != nil {
		b.Fatal(err)
	}
	otlp, prom, tel := freeLoopbackAddr(b), freeLoopbackAddr(b), freeLoopbackAddr(b)
	_, telPort, _ := net.SplitHostPort(tel)
	var args []string
	for _, c := range configs {
		args = append(args, "--config", filepath.Join(root, "bench", c))
	}
	cmd := exec.Command(bin, args...)
	// The node config names its rule files relative to the repository root.
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "BENCH_OTLP_ENDPOINT="+otlp, "BENCH_PROMETHEUS_ENDPOINT="+prom,
		"BENCH_TELEMETRY_PORT="+telPort)
	cmd.Env = append(cmd.Env, env...)
	logPath := filepath.Join(b.TempDir(), "collector.log")
	log, err := os.Create(logPath)
	if err != nil {
		b.Fatalf("collector log: %v", err)
	}
	b.Cleanup(func() { _ = log.Close() })
	cmd.Stdout, cmd.Stderr = log, log
	// The client connects lazily, at the first export.
	conn, err := grpc.NewClient(otlp, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		b.Fatalf("gRPC client for %s: %v", otlp, err)
	}
	if err := cmd.Start(); err != nil {
		b.Fatalf("starting %s: %v", bin, err)
	}
	c := &collector{cmd: cmd, logPath: logPath, telemetry: "http://" + tel + "/metrics", conn: conn,
		client: pmetricotlp.NewGRPCClient(conn), start: time.Now().Add(-dataLead)}
	for s := range c.jobs {
		for j := range c.jobs[s] {
			c.jobs[s][j] = scrape(fmt.Sprintf("bench-job-%d", s*jobsPerSender+j))
		}
	}
	b.Cleanup(func() { c.stop(b) })
	if err := c.waitReady(); err != nil {
		b.Fatalf("%s --config %s: %v\n%s", bin, strings.Join(configs, " --config "), err, c.logTail())
	}
	return c
}

// export sends md as one OTLP export request.
func (c *collector) export(md pmetric.Metrics) error {
	ctx, cancel := context.WithTimeout(context.Background(), exportTimeout)
	defer cancel()
	_, err := c.client.Export(ctx, pmetricotlp.NewExportRequestFromMetrics(md))
	return err
}

// waitReady waits until the collector answers on its telemetry endpoint and accepts an empty export.
func (c *collector) waitReady() error {
	var err error
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if _, err = c.exported(); err != nil {
			continue
		}
		if err = c.export(pmetric.NewMetrics()); err == nil {
			return nil
		}
	}
	return fmt.Errorf("not ready after 30s: %w", err)
}

// exported is the number of points the prometheus exporter has received, from the collector's telemetry.
func (c *collector) exported() (int, error) {
	resp, err := httpClient.Get(c.telemetry)
	if err != nil {
		return 0, fmt.Errorf("reading telemetry: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return 0, fmt.Errorf("reading telemetry: %s", resp.Status)
	}
	total := 0.0
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, "otelcol_exporter_sent_metric_points") {
			continue
		}
		v, err := strconv.ParseFloat(line[strings.LastIndexByte(line, ' ')+1:], 64)
		if err != nil {
			return 0, fmt.Errorf("telemetry line %q: %w", line, err)
		}
		total += v
	}
	if err := sc.Err(); err != nil {
		return 0, fmt.Errorf("reading telemetry: %w", err)
	}
	return int(total), nil
}

// waitExported waits until the exporter has received want points: the batch processor holds the last
// ones for up to its 200ms timeout.
func (c *collector) waitExported(want int) error {
	var got int
	var err error
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if got, err = c.exported(); err == nil && got >= want {
			return nil
		}
	}
	return fmt.Errorf("exporter received %d of %d points after 30s (last error: %v)", got, want, err)
}

// cpu is the user and system CPU time the collector process has used so far.
func (c *collector) cpu() (time.Duration, error) {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", c.cmd.Process.Pid))
	if err != nil {
		return 0, fmt.Errorf("collector CPU: %w", err)
	}
	// The fields after the command name, which is in parentheses and may hold spaces; utime and stime
	// are the 14th and 15th fields of the line, the 12th and 13th after it.
	fields := strings.Fields(string(raw[bytes.LastIndexByte(raw, ')')+1:]))
	if len(fields) < 13 {
		return 0, fmt.Errorf("collector CPU: short /proc stat %q", raw)
	}
	var ticks int64
	for _, f := range fields[11:13] {
		v, err := strconv.ParseInt(f, 10, 64)
		if err != nil {
			return 0, fmt.Errorf("collector CPU: %w", err)
		}
		ticks += v
	}
	return time.Duration(ticks) * clockTick, nil
}

// stop ends the collector with SIGTERM, as a node's service manager does, and kills it after 10s.
func (c *collector) stop(b *testing.B) {
	if c.cmd.ProcessState != nil {
		return
	}
	_ = c.conn.Close()
	_ = c.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan error, 1)
	go func() { done <- c.cmd.Wait() }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		_ = c.cmd.Process.Kill()
		<-done
		b.Errorf("collector did not stop within 10s of SIGTERM\n%s", c.logTail())
	}
}

// logTail is the end of the collector's output, for failure messages.
func (c *collector) logTail() string {
	raw, err := os.ReadFile(c.logPath)
	if err != nil {
		return fmt.Sprintf("(collector log: %v)", err)
	}
	return string(raw[max(0, len(raw)-4000):])
}

// oursBinary is otelcol-gaudi as `make build` leaves it, or $OTELCOL_GAUDI_BIN.
func oursBinary(b *testing.B) string {
	bin := os.Getenv("OTELCOL_GAUDI_BIN")
	if bin == "" {
		bin = filepath.Join("..", "bin", "otelcol-gaudi")
	}
	bin, err := filepath.Abs(bin)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := os.Stat(bin); err != nil {
		b.Skipf("no otelcol-gaudi binary (%v): run `make build`, or `make bench`", err)
	}
	return bin
}

// upstreamBinary builds the upstream-only collector of upstream/builder-config.yaml with ocb (ours as
// `make tools` installs it, or $OCB_BIN) unless a build newer than the manifest is there.
func upstreamBinary(b *testing.B) string {
	bin, err := filepath.Abs(filepath.Join("upstream", "build", "otelcol-upstream"))
	if err != nil {
		b.Fatal(err)
	}
	manifest, err := os.Stat(filepath.Join("upstream", "builder-config.yaml"))
	if err != nil {
		b.Fatal(err)
	}
	if built, err := os.Stat(bin); err == nil && built.ModTime().After(manifest.ModTime()) {
		return bin
	}
	ocb := os.Getenv("OCB_BIN")
	if ocb == "" {
		ocb = filepath.Join("..", ".tools", "builder")
	}
	ocb, err = filepath.Abs(ocb)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := os.Stat(ocb); err != nil {
		b.Skipf("no ocb (%v): run `make tools`, or `make bench`", err)
	}
	cmd := exec.Command(ocb, "--config", "builder-config.yaml")
	cmd.Dir = "upstream"
	if out, err := cmd.CombinedOutput(); err != nil {
		b.Fatalf("building the upstream collector with %s: %v\n%s", ocb, err, out)
	}
	return bin
}

// freeLoopbackAddr is a loopback address with a port that was free a moment ago.
func freeLoopbackAddr(b *testing.B) string {
	b.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	addr := ln.Addr().String()
	if err := ln.Close(); err != nil {
		b.Fatal(err)
	}
	return addr
}
