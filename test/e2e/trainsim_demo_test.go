package e2e

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/prometheus/common/model"
)

// TestTrainsimOnDemoCollector is `make demo` in small: the collector on configs/demo.yaml and two
// trainsim ranks on the simulated HPUs 0 and 1. Their training series appear on the Prometheus
// endpoint with the job, rank and HPU as labels, joinable with hpu_info, and their log records are
// printed by the debug exporter.
func TestTrainsimOnDemoCollector(t *testing.T) {
	t.Parallel()
	grpcPort := freePort(t)
	c := startDemoCollector(t, fmt.Sprintf("receivers::otlp::protocols::grpc::endpoint=127.0.0.1:%d", grpcPort))
	bin := buildTrainsim(t)

	// As `make demo` does: local rank i uses the simulated HPU with hpu_index i.
	info := waitForFamilies(t, c.process, c.metricsURL, "hpu_info")["hpu_info"]
	moduleOf := map[model.LabelValue]model.LabelValue{}
	for _, s := range info {
		moduleOf[s.Metric["hpu_index"]] = s.Metric["hpu_module_id"]
	}
	const job = "e2e-demo-job"
	p := startProcess(t, "trainsim", bin,
		"-endpoint", fmt.Sprintf("127.0.0.1:%d", grpcPort), "-ranks", "2", "-job-id", job, "-host-name", "e2e-node",
		"-visible-modules", fmt.Sprintf("%s,%s", moduleOf["0"], moduleOf["1"]), "-hpu-indexes", "0,1",
		"-interval", "100ms", "-export-interval", "500ms", "-log-every", "5")

	eventually(t, startupDeadline, func() (bool, string) {
		c.failIfExited(t)
		p.failIfExited(t)
		families, err := scrape(context.Background(), c.metricsURL)
		if err != nil {
			return false, err.Error()
		}
		for _, name := range []string{"training_samples_total", "training_loss", "training_batch_duration_seconds"} {
			var ranks []string
			for _, s := range families[name] {
				if s.Metric["training_job_id"] != job {
					continue
				}
				rank := s.Metric["training_rank"]
				ranks = append(ranks, string(rank))
				want := model.LabelSet{
					"job": "trainsim", "instance": model.LabelValue(job + "/rank-" + string(rank)),
					"host_name": "e2e-node", "training_world_size": "2", "training_local_rank": rank,
					"hpu_index": rank, "hpu_module_id": moduleOf[rank],
				}
				for l, v := range want {
					if s.Metric[l] != v {
						t.Fatalf("%s: label %s = %q, want %q: %v", name, l, s.Metric[l], v, s.Metric)
					}
				}
				if name == "training_samples_total" && (s.Value <= 0 || int(s.Value)%32 != 0) {
					t.Fatalf("%s = %v, want a positive multiple of the batch size 32", name, s.Value)
				}
			}
			slices.Sort(ranks)
			if !slices.Equal(ranks, []string{"0", "1"}) {
				return false, fmt.Sprintf("%s has series for ranks %v of job %s, want 0 and 1", name, ranks, job)
			}
		}
		return true, ""
	})

	eventually(t, startupDeadline, func() (bool, string) {
		out := c.output()
		for _, want := range []string{
			"Body: Str(Training started: rank 0 of 2, job " + job + ")",
			"Body: Str(Training started: rank 1 of 2, job " + job + ")",
			"Body: Str(Batch 5: loss ",
			"SeverityText: INFO",
			"-> code.function.name: Str(trainer.train_step)",
			"-> training.batch.index: Int(5)",
			"-> training.job.id: Str(" + job + ")",
			"-> hpu.module.id: Int(" + string(moduleOf["1"]) + ")",
		} {
			if !strings.Contains(out, want) {
				return false, fmt.Sprintf("the debug exporter has not printed %q yet", want)
			}
		}
		return true, ""
	})
}
