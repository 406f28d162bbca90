package e2e

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/plog/plogotlp"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/pmetric/pmetricotlp"
)

// durabilityIDKey is the attribute holding each data point's and log record's unique id.
const durabilityIDKey = "durability.id"

// deliveryDeadline bounds how long the node may take to drain its on-disk queue into the backend.
const deliveryDeadline = 2 * time.Minute

// TestDurableNodeLosesNothing sends numbered data points and log records to the collector on
// configs/node-durable.yaml while its backend is up, then while it is down; the collector is
// restarted (SIGTERM, then start on the same storage directory) during the outage and takes more data,
// then killed (SIGKILL) right after its last acknowledgement, once while the backend is down and once
// while it is up, and started again. Every id must arrive; duplicates (at-least-once delivery) are
// counted. With a batch processor in front of the on-disk queue, the kills lose its current batch.
func TestDurableNodeLosesNothing(t *testing.T) {
	t.Parallel()
	const batches, perBatch = 4, 250 // per phase; 5,000 points and 5,000 records in all
	storage := t.TempDir()
	sinkPort := freePort(t)
	// Each start of the backend gets its own file: the file exporter truncates its file when it starts.
	var sinkFiles []string
	startSink := func() *collector {
		file := filepath.Join(t.TempDir(), "received.jsonl")
		sinkFiles = append(sinkFiles, file)
		return startCollector(t, filepath.Join(repoRoot, "test", "e2e", "testdata", "otlp-sink.yaml"),
			fmt.Sprintf("receivers::otlp::protocols::grpc::endpoint=127.0.0.1:%d", sinkPort),
			"exporters::file::path="+file)
	}
	startNode := func() *nodeCollector {
		return startNodeCollector(t, "node-durable.yaml",
			"extensions::file_storage::directory="+storage,
			fmt.Sprintf("exporters::otlp_grpc/backend::endpoint=127.0.0.1:%d", sinkPort),
			"exporters::otlp_grpc/backend::tls::insecure=true",
			// Short backoff, so the test sees the backend's return within a second, not after 30s.
			"exporters::otlp_grpc/backend::retry_on_failure::initial_interval=100ms",
			"exporters::otlp_grpc/backend::retry_on_failure::max_interval=1s")
	}
	next := 0
	send := func(n *nodeCollector) {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		for range batches {
			md, ld := numberedBatch(next, perBatch)
			next += perBatch
			mb, err := pmetricotlp.NewExportRequestFromMetrics(md).MarshalProto()
			if err != nil {
				t.Fatalf("encoding metrics: %v", err)
			}
			lb, err := plogotlp.NewExportRequestFromLogs(ld).MarshalProto()
			if err != nil {
				t.Fatalf("encoding logs: %v", err)
			}
			if err := postOTLP(ctx, "http://"+n.httpAddr+"/v1/metrics", mb); err != nil {
				t.Fatalf("sending points %d-%d: %v", next-perBatch, next-1, err)
			}
			if err := postOTLP(ctx, "http://"+n.httpAddr+"/v1/logs", lb); err != nil {
				t.Fatalf("sending records %d-%d: %v", next-perBatch, next-1, err)
			}
		}
	}
	received := func() (points, records map[string]int, err error) {
		points, records = map[string]int{}, map[string]int{}
		for _, f := range sinkFiles {
			metrics, logs, err := readFileExport(f)
			if err != nil {
				return nil, nil, err
			}
			countMetricIDs(metrics, points)
			countLogIDs(logs, records)
		}
		return points, records, nil
	}
	waitAll := func(procs ...*collector) (points, records map[string]int) {
		t.Helper()
		eventually(t, deliveryDeadline, func() (bool, string) {
			for _, p := range procs {
				p.failIfExited(t)
			}
			var err error
			points, records, err = received()
			if err != nil {
				return false, err.Error()
			}
			if missing := missingIDs(points, next); missing > 0 {
				return false, fmt.Sprintf("%d of %d data points not delivered yet", missing, next)
			}
			if missing := missingIDs(records, next); missing > 0 {
				return false, fmt.Sprintf("%d of %d log records not delivered yet", missing, next)
			}
			return true, ""
		})
		return points, records
	}
	stop := func(c *collector) {
		t.Helper()
		if killed, err := c.stop(stopTimeout); killed || err != nil {
			t.Fatalf("%s (pid %d) did not stop cleanly on SIGTERM: killed %v, %s", c.name, c.cmd.Process.Pid, killed, exitDescription(err))
		}
	}

	start := time.Now()
	sink := startSink()
	node := startNode()
	send(node) // phase 1: backend up
	waitAll(sink, node.collector)
	stop(sink)
	send(node) // phase 2: backend down, into the on-disk queue
	stop(node.collector)
	node = startNode()
	send(node) // phase 3: backend still down, into the restarted collector
	send(node) // phase 4: backend down, killed at once after the last acknowledgement
	node.kill()
	node = startNode()
	backendBack := time.Now()
	sink = startSink()
	send(node) // phase 5: backend up, killed at once after the last acknowledgement
	node.kill()
	node = startNode()
	points, records := waitAll(sink, node.collector)
	t.Logf("%d data points and %d log records sent, all delivered in %s (%s after the backend returned); "+
		"duplicates: %d points, %d records", next, next, time.Since(start).Round(time.Millisecond),
		time.Since(backendBack).Round(time.Millisecond), duplicates(points), duplicates(records))
}

// numberedBatch is n gauge data points and n log records with the ids first..first+n-1.
func numberedBatch(first, n int) (pmetric.Metrics, plog.Logs) {
	md := pmetric.NewMetrics()
	rm := md.ResourceMetrics().AppendEmpty()
	rm.Resource().Attributes().PutStr("service.name", "durability-test")
	g := rm.ScopeMetrics().AppendEmpty().Metrics().AppendEmpty()
	g.SetName("durability.value")
	dps := g.SetEmptyGauge().DataPoints()
	ld := plog.NewLogs()
	rl := ld.ResourceLogs().AppendEmpty()
	rl.Resource().Attributes().PutStr("service.name", "durability-test")
	lrs := rl.ScopeLogs().AppendEmpty().LogRecords()
	now := pcommon.NewTimestampFromTime(time.Now())
	for id := first; id < first+n; id++ {
		dp := dps.AppendEmpty()
		dp.SetTimestamp(now)
		dp.SetIntValue(int64(id))
		dp.Attributes().PutStr(durabilityIDKey, fmt.Sprint(id))
		lr := lrs.AppendEmpty()
		lr.SetTimestamp(now)
		lr.Body().SetStr(fmt.Sprintf("record %d", id))
		lr.Attributes().PutStr(durabilityIDKey, fmt.Sprint(id))
	}
	return md, ld
}

// countMetricIDs adds to counts how often each durability id occurs among the data points.
func countMetricIDs(metrics []pmetric.Metrics, counts map[string]int) {
	for _, md := range metrics {
		for _, rm := range md.ResourceMetrics().All() {
			for _, sm := range rm.ScopeMetrics().All() {
				for _, m := range sm.Metrics().All() {
					if m.Name() != "durability.value" {
						continue
					}
					for _, dp := range m.Gauge().DataPoints().All() {
						if id, ok := dp.Attributes().Get(durabilityIDKey); ok {
							counts[id.Str()]++
						}
					}
				}
			}
		}
	}
}

// countLogIDs adds to counts how often each durability id occurs among the log records.
func countLogIDs(logs []plog.Logs, counts map[string]int) {
	for _, ld := range logs {
		for _, rl := range ld.ResourceLogs().All() {
			for _, sl := range rl.ScopeLogs().All() {
				for _, lr := range sl.LogRecords().All() {
					if id, ok := lr.Attributes().Get(durabilityIDKey); ok {
						counts[id.Str()]++
					}
				}
			}
		}
	}
}

// missingIDs is how many of the ids 0..n-1 have not been received.
func missingIDs(counts map[string]int, n int) int {
	missing := 0
	for id := range n {
		if counts[fmt.Sprint(id)] == 0 {
			missing++
		}
	}
	return missing
}

// duplicates is how many extra copies arrived beyond the first of each id.
func duplicates(counts map[string]int) int {
	d := 0
	for _, c := range counts {
		d += c - 1
	}
	return d
}

// TestDurableNodeRefusesOverMemoryLimit sets the memory limit of configs/node-durable.yaml below
// what the collector already uses: the OTLP receiver must refuse data with a retryable status (503,
// so clients back off and resend) and the collector must stay up and healthy.
func TestDurableNodeRefusesOverMemoryLimit(t *testing.T) {
	t.Parallel()
	node := startNodeCollector(t, "node-durable.yaml",
		"extensions::file_storage::directory="+t.TempDir(),
		"processors::memory_limiter::limit_percentage=0",
		"processors::memory_limiter::spike_limit_percentage=0",
		"processors::memory_limiter::limit_mib=2",
		"processors::memory_limiter::spike_limit_mib=1",
		"processors::memory_limiter::check_interval=100ms",
		"exporters::otlp_grpc/backend::endpoint=127.0.0.1:1",
		"exporters::otlp_grpc/backend::tls::insecure=true")
	md, _ := numberedBatch(0, 1000)
	body, err := pmetricotlp.NewExportRequestFromMetrics(md).MarshalProto()
	if err != nil {
		t.Fatalf("encoding metrics: %v", err)
	}
	eventually(t, startupDeadline, func() (bool, string) {
		node.failIfExited(t)
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		err := postOTLP(ctx, "http://"+node.httpAddr+"/v1/metrics", body)
		if err == nil {
			return false, "data accepted over the memory limit"
		}
		if !strings.Contains(err.Error(), ": 503 ") {
			t.Fatalf("refused with %v, want 503 Service Unavailable (retryable)", err)
		}
		t.Logf("refused as expected: %v", err)
		return true, ""
	})
	waitHTTP200(t, node.process, node.healthURL, startupDeadline)
}
