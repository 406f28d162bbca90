package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/model"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/pmetric/pmetricotlp"
)

// sentSample is one data point as Prometheus must store it.
type sentSample struct {
	name, rank string
	ms         int64
	value      float64
}

// contractBatch builds the contract's metrics for ranks of job, points data points per series 10s
// apart and ending 10s ago, on the resource a training rank has. It returns them and every sample.
func contractBatch(t *testing.T, job string, ranks, points int) (pmetric.Metrics, []sentSample) {
	t.Helper()
	md := pmetric.NewMetrics()
	var sent []sentSample
	end := time.Now().Truncate(time.Second).Add(-10 * time.Second)
	start := end.Add(-time.Duration(points) * 10 * time.Second)
	for rank := range ranks {
		rm := md.ResourceMetrics().AppendEmpty()
		res := rm.Resource().Attributes()
		res.PutStr("service.name", "trainsim")
		res.PutStr("service.instance.id", fmt.Sprintf("%s/rank-%d", job, rank))
		res.PutStr("host.name", "trainer-node")
		res.PutStr("training.job.id", job)
		res.PutInt("training.rank", int64(rank))
		res.PutInt("training.world_size", int64(ranks))
		res.PutInt("hpu.module.id", int64(rank+4))
		sm := rm.ScopeMetrics().AppendEmpty()
		sm.Scope().SetName("e2e")
		for mi, c := range readContract(t) {
			m := sm.Metrics().AppendEmpty()
			m.SetName(c.name)
			m.SetUnit(c.unit)
			var dps pmetric.NumberDataPointSlice
			switch c.instrument {
			case "gauge":
				dps = m.SetEmptyGauge().DataPoints()
			case "counter":
				sum := m.SetEmptySum()
				sum.SetIsMonotonic(true)
				sum.SetAggregationTemporality(pmetric.AggregationTemporalityCumulative)
				dps = sum.DataPoints()
			default:
				t.Fatalf("%s: unknown instrument %q", c.name, c.instrument)
			}
			for i := range points {
				ts := start.Add(time.Duration(i+1) * 10 * time.Second)
				dp := dps.AppendEmpty()
				dp.SetTimestamp(pcommon.NewTimestampFromTime(ts))
				var v float64
				if c.instrument == "counter" {
					dp.SetStartTimestamp(pcommon.NewTimestampFromTime(start))
					n := int64((i + 1) * 32 * (rank + 1))
					dp.SetIntValue(n)
					v = float64(n)
				} else {
					v = float64(rank*1000+mi*10+i) + 0.25
					dp.SetDoubleValue(v)
				}
				sent = append(sent, sentSample{name: c.prometheus, rank: fmt.Sprint(rank), ms: ts.UnixMilli(), value: v})
			}
		}
	}
	return md, sent
}

// TestRemoteWriteEveryPointInPrometheus sends every contract metric of two ranks, five points each,
// over OTLP to the collector on configs/prometheus-remote-write.yaml, which writes them to a real
// Prometheus; every point must be stored under the contract's name with the rank's labels.
func TestRemoteWriteEveryPointInPrometheus(t *testing.T) {
	t.Parallel()
	prom := startPrometheus(t, nil, "--web.enable-remote-write-receiver")
	c := startNodeCollector(t, "prometheus-remote-write.yaml",
		"exporters::prometheus_remote_write::http::endpoint="+prom.url+"/api/v1/write",
		"receivers::gaudi::host_name=e2e-node",
	)
	const job = "e2e-remote-write"
	md, sent := contractBatch(t, job, 2, 5)
	body, err := pmetricotlp.NewExportRequestFromMetrics(md).MarshalProto()
	if err != nil {
		t.Fatal(err)
	}
	if err := postOTLP(context.Background(), "http://"+c.httpAddr+"/v1/metrics", body); err != nil {
		t.Fatal(err)
	}
	slices.SortFunc(sent, compareSamples)

	var series []model.SampleStream
	eventually(t, startupDeadline, func() (bool, string) {
		c.failIfExited(t)
		prom.failIfExited(t)
		var err error
		series, err = queryRange(context.Background(), prom.url, fmt.Sprintf(`{training_job_id=%q, __name__!="target_info"}[15m]`, job))
		if err != nil {
			return false, err.Error()
		}
		var got []sentSample
		for _, s := range series {
			for _, v := range s.Values {
				got = append(got, sentSample{name: string(s.Metric[model.MetricNameLabel]), rank: string(s.Metric["training_rank"]), ms: int64(v.Timestamp), value: float64(v.Value)})
			}
		}
		slices.SortFunc(got, compareSamples)
		if !slices.Equal(got, sent) {
			return false, fmt.Sprintf("Prometheus has %d samples of job %s, want the %d sent: %s", len(got), job, len(sent), sampleDiff(sent, got))
		}
		return true, ""
	})
	t.Logf("all %d samples found in Prometheus", len(sent))

	for _, s := range series {
		want := model.LabelSet{
			"job": "trainsim", "instance": model.LabelValue(job + "/rank-" + string(s.Metric["training_rank"])),
			"host_name":           "trainer-node", // the job's own, not the collector's host
			"training_world_size": "2",
			"service_name":        "", "service_instance_id": "", // absent: job and instance carry them
		}
		for l, v := range want {
			if s.Metric[l] != v {
				t.Errorf("%s: label %s = %q, want %q", s.Metric, l, s.Metric[l], v)
			}
		}
	}
	// The HPU series have no host of their own: the external label gives them this node's.
	eventually(t, startupDeadline, func() (bool, string) {
		v, err := queryVector(context.Background(), prom.url, `count by (host_name) (hpu_utilization_percent)`)
		if err != nil {
			return false, err.Error()
		}
		if len(v) != 1 || v[0].Metric["host_name"] != "e2e-node" || v[0].Value != 2 {
			return false, fmt.Sprintf("count by (host_name) (hpu_utilization_percent) = %v, want 2 with host_name e2e-node", v)
		}
		return true, ""
	})
}

func compareSamples(a, b sentSample) int {
	return strings.Compare(fmt.Sprintf("%s %s %020d", a.name, a.rank, a.ms), fmt.Sprintf("%s %s %020d", b.name, b.rank, b.ms))
}

// sampleDiff names up to five samples that are only in want or only in got.
func sampleDiff(want, got []sentSample) string {
	var diffs []string
	for _, w := range want {
		if !slices.Contains(got, w) && len(diffs) < 5 {
			diffs = append(diffs, fmt.Sprintf("missing %+v", w))
		}
	}
	for _, g := range got {
		if !slices.Contains(want, g) && len(diffs) < 10 {
			diffs = append(diffs, fmt.Sprintf("unexpected %+v", g))
		}
	}
	return strings.Join(diffs, "; ")
}

// queryRange runs an instant query whose result is a range vector (a matrix) and returns its series.
func queryRange(ctx context.Context, promURL, expr string) ([]model.SampleStream, error) {
	return getMatrix(ctx, promURL+"/api/v1/query?"+url.Values{"query": {expr}}.Encode(), expr)
}

// getMatrix runs the query at u (expr is for messages) and returns its result, which must be a matrix.
func getMatrix(ctx context.Context, u, expr string) ([]model.SampleStream, error) {
	status, body, err := httpGet(ctx, u, "application/json")
	if err != nil {
		return nil, fmt.Errorf("query %q: %w", expr, err)
	}
	var resp struct {
		Status string `json:"status"`
		Error  string `json:"error"`
		Data   struct {
			ResultType string               `json:"resultType"`
			Result     []model.SampleStream `json:"result"`
		} `json:"data"`
	}
	if err := json.Unmarshal(body, &resp); err != nil {
		return nil, fmt.Errorf("query %q: HTTP %d, undecodable response %q: %w", expr, status, body, err)
	}
	if status != http.StatusOK || resp.Status != "success" {
		return nil, fmt.Errorf("query %q: HTTP %d, status %q: %s", expr, status, resp.Status, resp.Error)
	}
	if resp.Data.ResultType != "matrix" {
		return nil, fmt.Errorf("query %q: result type %q, want matrix", expr, resp.Data.ResultType)
	}
	return resp.Data.Result, nil
}
