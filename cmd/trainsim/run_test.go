package main

import (
	"bytes"
	"compress/gzip"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/plog/plogotlp"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/pmetric/pmetricotlp"
)

// otlpServer is a minimal OTLP/HTTP receiver that keeps what it is sent.
type otlpServer struct {
	*httptest.Server
	mu      sync.Mutex
	metrics []pmetric.Metrics
	logs    []plog.Logs
}

func newOTLPServer(t *testing.T) *otlpServer {
	t.Helper()
	s := &otlpServer{}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/metrics", func(w http.ResponseWriter, r *http.Request) {
		req := pmetricotlp.NewExportRequest()
		if !s.decode(t, w, r, req.UnmarshalProto) {
			return
		}
		s.mu.Lock()
		s.metrics = append(s.metrics, req.Metrics())
		s.mu.Unlock()
		s.reply(t, w, pmetricotlp.NewExportResponse().MarshalProto)
	})
	mux.HandleFunc("POST /v1/logs", func(w http.ResponseWriter, r *http.Request) {
		req := plogotlp.NewExportRequest()
		if !s.decode(t, w, r, req.UnmarshalProto) {
			return
		}
		s.mu.Lock()
		s.logs = append(s.logs, req.Logs())
		s.mu.Unlock()
		s.reply(t, w, plogotlp.NewExportResponse().MarshalProto)
	})
	s.Server = httptest.NewServer(mux)
	t.Cleanup(s.Close)
	return s
}

func (s *otlpServer) decode(t *testing.T, w http.ResponseWriter, r *http.Request, unmarshal func([]byte) error) bool {
	var body io.Reader = r.Body
	if r.Header.Get("Content-Encoding") == "gzip" {
		zr, err := gzip.NewReader(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return false
		}
		body = zr
	}
	b, err := io.ReadAll(body)
	if err == nil {
		err = unmarshal(b)
	}
	if err != nil {
		t.Errorf("undecodable OTLP request to %s: %v", r.URL.Path, err)
		http.Error(w, err.Error(), http.StatusBadRequest)
		return false
	}
	return true
}

func (s *otlpServer) reply(t *testing.T, w http.ResponseWriter, marshal func() ([]byte, error)) {
	b, err := marshal()
	require.NoError(t, err)
	w.Header().Set("Content-Type", "application/x-protobuf")
	_, _ = w.Write(b)
}

func (s *otlpServer) hostPort(t *testing.T) string {
	u, err := url.Parse(s.URL)
	require.NoError(t, err)
	return u.Host
}

// lastSamples returns the last training.samples value received per training.rank.
func (s *otlpServer) lastSamples() map[int64]int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[int64]int64{}
	for _, md := range s.metrics {
		for _, rm := range md.ResourceMetrics().All() {
			rank, _ := rm.Resource().Attributes().Get("training.rank")
			for _, sm := range rm.ScopeMetrics().All() {
				for _, m := range sm.Metrics().All() {
					if m.Name() == metricSamples {
						dps := m.Sum().DataPoints()
						out[rank.Int()] = dps.At(dps.Len() - 1).IntValue()
					}
				}
			}
		}
	}
	return out
}

// logBodies returns the bodies of the received log records per training.rank, with their severity text.
func (s *otlpServer) logBodies() map[int64][]string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[int64][]string{}
	for _, ld := range s.logs {
		for _, rl := range ld.ResourceLogs().All() {
			rank, _ := rl.Resource().Attributes().Get("training.rank")
			for _, sl := range rl.ScopeLogs().All() {
				for _, lr := range sl.LogRecords().All() {
					out[rank.Int()] = append(out[rank.Int()], lr.SeverityText()+" "+lr.Body().Str())
				}
			}
		}
	}
	return out
}

// TestRunOverOTLPHTTP runs the command with its real OTLP/HTTP exporters against a local receiver.
func TestRunOverOTLPHTTP(t *testing.T) {
	srv := newOTLPServer(t)
	jsonLog := filepath.Join(t.TempDir(), "train.jsonl")
	var stderr bytes.Buffer
	code := runMain(context.Background(), []string{
		"-protocol", "http", "-endpoint", srv.hostPort(t), "-ranks", "2", "-steps", "5", "-interval", "1ms",
		"-export-interval", "20ms", "-host-name", "node-a", "-job-id", "job-9", "-json-log", jsonLog,
	}, env(map[string]string{"HABANA_VISIBLE_MODULES": "4,6"}), &stderr)
	require.Equal(t, 0, code, stderr.String())
	lines, err := os.ReadFile(jsonLog)
	require.NoError(t, err)
	assert.Equal(t, 6, strings.Count(string(lines), `"logger":"gaudi3_scale"`), "-json-log has every record of both ranks:\n%s", lines)
	assert.Contains(t, stderr.String(), "trainsim: job job-9, ranks 0-1 of 2 on node-a, sending OTLP/http to")

	assert.Equal(t, map[int64]int64{0: 5 * 32, 1: 5 * 32}, srv.lastSamples(), "every batch counted, every rank sent")
	want := []string{"INFO Training started", "INFO Validation after batch 0", "INFO Training finished after 5 batches"}
	for rank, bodies := range srv.logBodies() {
		require.Len(t, bodies, len(want), "rank %d: %q", rank, bodies)
		for i := range want {
			assert.True(t, strings.HasPrefix(bodies[i], want[i]), "rank %d record %d: %q, want %q...", rank, i, bodies[i], want[i])
		}
	}
	assert.Len(t, srv.logBodies(), 2)

	srv.mu.Lock()
	res := srv.metrics[0].ResourceMetrics().At(0).Resource().Attributes()
	srv.mu.Unlock()
	rank, _ := res.Get("training.rank")
	module, ok := res.Get("hpu.module.id")
	require.True(t, ok)
	assert.Equal(t, []int64{4, 6}[rank.Int()], module.Int(), "local rank i uses the i-th visible module")
}

// TestRunCrashExitsWithStatus3 crashes the job and checks that the crash record still reaches the receiver.
func TestRunCrashExitsWithStatus3(t *testing.T) {
	srv := newOTLPServer(t)
	var stderr bytes.Buffer
	start := time.Now()
	code := runMain(context.Background(), []string{
		"-protocol", "http", "-endpoint", srv.hostPort(t), "-ranks", "2", "-interval", "1ms", "-export-interval", "1h",
		"-crash-after", "20ms", "-fault-ranks", "1",
	}, env(nil), &stderr)
	assert.Equal(t, exitCrash, code, stderr.String())
	assert.Contains(t, stderr.String(), "trainsim: rank 1 crashed after 20ms of training (-crash-after)")
	assert.Less(t, time.Since(start), 30*time.Second)
	bodies := srv.logBodies()
	require.NotEmpty(t, bodies[1])
	assert.Regexp(t, `^CRITICAL HPU device lost during batch \d+`, bodies[1][len(bodies[1])-1], "flushed before exiting")
	assert.Regexp(t, `^INFO Training stopped after \d+ batches`, bodies[0][len(bodies[0])-1], "the other rank is torn down")
}

func TestRunUsageErrors(t *testing.T) {
	var stderr bytes.Buffer
	assert.Equal(t, exitUsage, runMain(context.Background(), []string{"-ranks", "0"}, env(nil), &stderr))
	assert.Contains(t, stderr.String(), "trainsim: -ranks 0: want at least 1")
	assert.Equal(t, 0, runMain(context.Background(), []string{"-h"}, env(nil), io.Discard))
}
