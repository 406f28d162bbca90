package e2e

import (
	"context"
	"fmt"
	"testing"

	"github.com/prometheus/common/model"
)

// TestPrometheusPullTrainingMetrics runs two trainsim ranks to the end against the collector on
// configs/node.yaml and lets a real Prometheus scrape it: every batch is counted, the series carry
// the job and rank, and the exported job and instance sit beside the scrape's own.
func TestPrometheusPullTrainingMetrics(t *testing.T) {
	t.Parallel()
	promPort := freePort(t)
	target := fmt.Sprintf("127.0.0.1:%d", promPort)
	c := startNodeCollector(t, "node.yaml", "exporters::prometheus::endpoint="+target,
		fmt.Sprintf("extensions::hpu_health::endpoint=127.0.0.1:%d", freePort(t)))
	prom := startPrometheus(t, []string{target})
	const job, steps = "e2e-pull", 10
	runTrainsim(t, buildTrainsim(t), "-endpoint", c.grpcAddr, "-ranks", "2", "-steps", fmt.Sprint(steps), "-job-id", job,
		"-interval", "20ms", "-export-interval", "100ms", "-host-name", "e2e-node")

	eventually(t, startupDeadline, func() (bool, string) {
		c.failIfExited(t)
		prom.failIfExited(t)
		ctx := context.Background()
		samples, err := queryVector(ctx, prom.url, fmt.Sprintf(`training_samples_total{training_job_id=%q}`, job))
		if err != nil {
			return false, err.Error()
		}
		if len(samples) != 2 {
			return false, fmt.Sprintf("training_samples_total of job %s: %v, want 2 series", job, samples)
		}
		for _, s := range samples {
			rank := s.Metric["training_rank"]
			if s.Value != steps*32 {
				return false, fmt.Sprintf("rank %s: training_samples_total = %v, want %d (every batch of 32)", rank, s.Value, steps*32)
			}
			want := model.LabelSet{
				"job": "otelcol-gaudi", "exported_job": "trainsim", "exported_instance": model.LabelValue(job + "/rank-" + string(rank)),
				"host_name": "e2e-node", "training_world_size": "2",
			}
			for l, v := range want {
				if s.Metric[l] != v {
					t.Fatalf("training_samples_total: label %s = %q, want %q: %v", l, s.Metric[l], v, s.Metric)
				}
			}
		}
		for _, expr := range []string{
			fmt.Sprintf(`count(training_loss{training_job_id=%q})`, job),
			`count(hpu_utilization_percent)`,
		} {
			v, err := queryVector(ctx, prom.url, expr)
			if err != nil {
				return false, err.Error()
			}
			if len(v) != 1 || v[0].Value != 2 {
				return false, fmt.Sprintf("%s = %v, want 2", expr, v)
			}
		}
		return true, ""
	})
}
