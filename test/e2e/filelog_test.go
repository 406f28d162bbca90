package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/plog"
)

// wantRecord is one record the training-logs config must make of a line of testdata/training-logs.jsonl.
type wantRecord struct {
	time         time.Time
	severity     plog.SeverityNumber
	severityText string
	scope        string
	body         string
	attrs        map[string]any // besides log.file.path and log.file.name
}

// TestTrainingLogFilesBecomeRecords feeds the original design's JSON log lines to the file_log receiver
// of configs/training-logs.yaml and checks every OTel log record it makes of them.
func TestTrainingLogFilesBecomeRecords(t *testing.T) {
	t.Parallel()
	logDir, stateDir, outDir := t.TempDir(), t.TempDir(), t.TempDir()
	start := func(out string) *collector {
		return startCollector(t, filepath.Join(repoRoot, "configs", "training-logs.yaml"),
			fmt.Sprintf("receivers::file_log/training::include=[%s/*.jsonl]", logDir),
			"extensions::file_storage/training_logs::directory="+stateDir,
			fmt.Sprintf("service::telemetry::metrics::readers=[{pull: {exporter: {prometheus: {host: 127.0.0.1, port: %d}}}}]", freePort(t)),
			"exporters::file::path="+out,
			"exporters::file::flush_interval=100ms",
			"service::pipelines::logs/training::exporters=[file]",
		)
	}
	out := filepath.Join(outDir, "records.jsonl")
	c := start(out)

	lines, err := os.ReadFile(filepath.Join(repoRoot, "test", "e2e", "testdata", "training-logs.jsonl"))
	require.NoError(t, err)
	logFile := filepath.Join(logDir, "rank-3.jsonl")
	require.NoError(t, os.WriteFile(logFile, lines, 0o644))

	utc := func(s string) time.Time {
		ts, err := time.Parse(time.RFC3339Nano, s)
		require.NoError(t, err)
		return ts
	}
	want := []wantRecord{
		{utc("2026-05-04T09:12:31.48122Z"), plog.SeverityNumberInfo, "INFO", "gaudi3_scale", "Training started",
			map[string]any{"code.function.name": "trainer.fit", "code.line.number": int64(112), "hpu.ordinal": int64(0), "training.batch.index": int64(1)}},
		// No fraction (Python leaves out a zero one) and no hpu_id or batch_idx (only logged when given).
		{utc("2026-05-04T09:12:32Z"), plog.SeverityNumberDebug, "DEBUG", "gaudi3_scale.data", "Prefetched 4 batches",
			map[string]any{"code.function.name": "loader.prefetch", "code.line.number": int64(57)}},
		{utc("2026-05-04T09:12:33.0001Z"), plog.SeverityNumberWarn, "WARNING", "gaudi3_scale", "Batch 120 took 12.31s",
			map[string]any{"code.function.name": "trainer.train_step", "code.line.number": int64(164), "hpu.ordinal": int64(3), "training.batch.index": int64(120)}},
		// With a zone, as datetime.now(timezone.utc).isoformat() or a local time writes it.
		{utc("2026-05-04T09:12:34.25Z"), plog.SeverityNumberError, "ERROR", "gaudi3_scale", "Gradient overflow, skipping step",
			map[string]any{"code.function.name": "optim.step", "code.line.number": int64(88), "hpu.ordinal": int64(3), "training.batch.index": int64(121)}},
		{utc("2026-05-04T09:12:35.5Z"), plog.SeverityNumberFatal, "CRITICAL", "gaudi3_scale", "HPU device lost: aborting",
			map[string]any{"code.function.name": "trainer.train_step", "code.line.number": int64(187), "hpu.ordinal": int64(3), "training.batch.index": int64(122)}},
		// Not JSON: kept whole, in the receiver's own scope.
		{time.Time{}, plog.SeverityNumberUnspecified, "", "github.com/open-telemetry/opentelemetry-collector-contrib/receiver/filelogreceiver",
			"Traceback (most recent call last):", map[string]any{}},
	}

	got, scopes := waitForRecords(t, c, out, len(want))
	// Records are grouped by scope, so they are matched to lines by body.
	byBody := map[string]int{}
	for i, r := range got {
		byBody[r.Body().AsString()] = i
	}
	for i, w := range want {
		j, ok := byBody[w.body]
		if !assert.True(t, ok, "line %d: no record with body %q", i+1, w.body) {
			continue
		}
		r := got[j]
		assert.Equal(t, w.severity, r.SeverityNumber(), "line %d: severity number", i+1)
		assert.Equal(t, w.severityText, r.SeverityText(), "line %d: severity text", i+1)
		assert.Equal(t, w.scope, scopes[j], "line %d: scope (the logger)", i+1)
		if !w.time.IsZero() {
			assert.True(t, w.time.Equal(r.Timestamp().AsTime()), "line %d: timestamp %s, want %s", i+1, r.Timestamp().AsTime(), w.time)
		}
		attrs := r.Attributes().AsRaw()
		assert.Equal(t, logFile, attrs["log.file.path"], "line %d: log.file.path", i+1)
		assert.Equal(t, "rank-3.jsonl", attrs["log.file.name"], "line %d: log.file.name", i+1)
		delete(attrs, "log.file.path")
		delete(attrs, "log.file.name")
		assert.Equal(t, w.attrs, attrs, "line %d: attributes", i+1)
	}

	// After a restart the receiver goes on where it stopped: a line written meanwhile arrives, the
	// lines read before do not arrive again.
	killed, err := c.stop(stopTimeout)
	require.False(t, killed)
	require.NoError(t, err)
	f, err := os.OpenFile(logFile, os.O_APPEND|os.O_WRONLY, 0)
	require.NoError(t, err)
	_, err = f.WriteString(`{"timestamp": "2026-05-04T09:13:00", "level": "INFO", "logger": "gaudi3_scale", "message": "Resumed", "module": "trainer", "function": "fit", "line": 120}` + "\n")
	require.NoError(t, err)
	require.NoError(t, f.Close())
	out = filepath.Join(outDir, "after-restart.jsonl")
	c = start(out)
	got, _ = waitForRecords(t, c, out, 1)
	assert.Equal(t, "Resumed", got[0].Body().AsString())
}

// waitForRecords waits until the file exporter has written n log records to out, and fails the
// test if it writes more. It returns the records and their scope names.
func waitForRecords(t *testing.T, c *collector, out string, n int) (records []plog.LogRecord, scopes []string) {
	t.Helper()
	read := func() (bool, string) {
		c.failIfExited(t)
		_, logs, err := readFileExport(out)
		if err != nil {
			return false, err.Error()
		}
		records, scopes = nil, nil
		for _, ld := range logs {
			for _, rl := range ld.ResourceLogs().All() {
				for _, sl := range rl.ScopeLogs().All() {
					for _, lr := range sl.LogRecords().All() {
						records = append(records, lr)
						scopes = append(scopes, sl.Scope().Name())
					}
				}
			}
		}
		return len(records) >= n, fmt.Sprintf("%d of %d records written", len(records), n)
	}
	eventually(t, startupDeadline, read)
	require.Len(t, records, n, "one record per line, no more")
	return records, scopes
}
