package e2e

import (
	"compress/gzip"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/plog/plogotlp"
)

// lokiRequest is what the fake Loki saw of one push.
type lokiRequest struct {
	path, tenant, contentType string
	logs                      plog.Logs
}

// fakeLoki stands in for Loki 3's native OTLP endpoint, which cannot run here: it accepts OTLP/HTTP
// protobuf on any path, answers as Loki does (204), and keeps every request.
type fakeLoki struct {
	*httptest.Server
	mu       sync.Mutex
	requests []lokiRequest
}

func startFakeLoki(t *testing.T) *fakeLoki {
	t.Helper()
	f := &fakeLoki{}
	f.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body io.Reader = r.Body
		if r.Header.Get("Content-Encoding") == "gzip" {
			zr, err := gzip.NewReader(r.Body)
			if err != nil {
				http.Error(w, err.Error(), http.StatusBadRequest)
				return
			}
			body = zr
		}
		b, err := io.ReadAll(body)
		req := plogotlp.NewExportRequest()
		if err == nil {
			err = req.UnmarshalProto(b)
		}
		if err != nil {
			t.Errorf("fake Loki: undecodable push to %s: %v", r.URL.Path, err)
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		f.mu.Lock()
		f.requests = append(f.requests, lokiRequest{path: r.URL.Path, tenant: r.Header.Get("X-Scope-OrgID"), contentType: r.Header.Get("Content-Type"), logs: req.Logs()})
		f.mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(f.Close)
	return f
}

func (f *fakeLoki) all() []lokiRequest {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]lokiRequest(nil), f.requests...)
}

// TestLokiGetsTrainingLogsOverOTLP runs two trainsim ranks (OTLP/HTTP) against the collector on
// configs/loki.yaml, whose exporter pushes to a fake Loki: every record arrives at Loki's OTLP path
// with the tenant header, under service.name, with the job, rank and HPU identity and the log fields.
func TestLokiGetsTrainingLogsOverOTLP(t *testing.T) {
	t.Parallel()
	loki := startFakeLoki(t)
	c := startNodeCollector(t, "loki.yaml", "exporters::otlp_http/loki::endpoint="+loki.URL+"/otlp",
		// The config carries logs only; this metrics pipeline stands in for the metrics config it is
		// combined with, so that trainsim's metrics are accepted.
		"exporters::debug::verbosity=basic", "service::pipelines::metrics::receivers=[otlp]", "service::pipelines::metrics::exporters=[debug]")
	const job, steps, every = "e2e-loki", 10, 5
	runTrainsim(t, buildTrainsim(t), "-protocol", "http", "-endpoint", c.httpAddr, "-ranks", "2", "-steps", fmt.Sprint(steps),
		"-log-every", fmt.Sprint(every), "-eval-every", fmt.Sprint(every), "-job-id", job, "-visible-modules", "6,1",
		"-host-name", "e2e-node", "-interval", "20ms", "-export-interval", "100ms")

	want := expectedTrainsimRecords(steps, every, every)
	var byRank map[int64][]plog.LogRecord
	eventually(t, startupDeadline, func() (bool, string) {
		c.failIfExited(t)
		byRank = map[int64][]plog.LogRecord{}
		for _, req := range loki.all() {
			if req.path != "/otlp/v1/logs" || req.tenant != "training" || req.contentType != "application/x-protobuf" {
				t.Fatalf("push to path %q, X-Scope-OrgID %q, Content-Type %q; want /otlp/v1/logs, training, application/x-protobuf",
					req.path, req.tenant, req.contentType)
			}
			for _, rl := range req.logs.ResourceLogs().All() {
				res := rl.Resource().Attributes().AsRaw()
				if res["training.job.id"] != job {
					continue // e.g. the gaudi receiver's device events
				}
				rank := res["training.rank"].(int64)
				wantRes := map[string]any{
					"service.name": "trainsim", "host.name": "e2e-node", "hpu.module.id": []int64{6, 1}[rank],
					"training.local_rank": rank, "training.world_size": int64(2),
				}
				for k, v := range wantRes {
					if res[k] != v {
						t.Fatalf("rank %d: resource attribute %s = %v, want %v", rank, k, res[k], v)
					}
				}
				for _, sl := range rl.ScopeLogs().All() {
					if sl.Scope().Name() != "gaudi3_scale" {
						t.Fatalf("scope %q, want the logger gaudi3_scale", sl.Scope().Name())
					}
					for _, lr := range sl.LogRecords().All() {
						byRank[rank] = append(byRank[rank], lr)
					}
				}
			}
		}
		if len(byRank[0]) < want || len(byRank[1]) < want {
			return false, fmt.Sprintf("Loki has %d and %d records of ranks 0 and 1, want %d each", len(byRank[0]), len(byRank[1]), want)
		}
		return true, ""
	})
	for rank, records := range byRank {
		if len(records) != want {
			t.Errorf("rank %d: %d records, want %d", rank, len(records), want)
		}
		for _, lr := range records {
			attrs := lr.Attributes().AsRaw()
			for _, k := range []string{"code.function.name", "code.line.number", "hpu.ordinal", "training.batch.index"} {
				if _, ok := attrs[k]; !ok {
					t.Errorf("rank %d: record %q has no %s: %v", rank, lr.Body().AsString(), k, attrs)
				}
			}
			if lr.SeverityNumber() != plog.SeverityNumberInfo || lr.SeverityText() != "INFO" || lr.Timestamp() == 0 {
				t.Errorf("rank %d: record %q: severity %v %q, timestamp %v", rank, lr.Body().AsString(), lr.SeverityNumber(), lr.SeverityText(), lr.Timestamp())
			}
		}
	}
}
