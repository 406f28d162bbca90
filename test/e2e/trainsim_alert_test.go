package e2e

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/prometheus/common/model"
)

// TestTrainingAlertOnDemoCollector slows one trainsim rank down on the demo collector, whose threshold
// connector evaluates a fast copy of SlowBatchProcessing: the alert fires for that rank only and reaches
// the Prometheus endpoint with the rank's job, rank and HPU labels. The connector rebuilds each ALERTS
// series from labels, so this checks that its translation settings mirror the exporter's.
func TestTrainingAlertOnDemoCollector(t *testing.T) {
	t.Parallel()
	grpcPort := freePort(t)
	c := startDemoCollector(t,
		fmt.Sprintf("receivers::otlp::protocols::grpc::endpoint=127.0.0.1:%d", grpcPort),
		"connectors::threshold::rule_files=[test/e2e/testdata/training-fast.rules.yaml]",
		"connectors::threshold::evaluation_interval=1s",
	)
	const job = "e2e-alert-job"
	startProcess(t, "trainsim", buildTrainsim(t),
		"-endpoint", fmt.Sprintf("127.0.0.1:%d", grpcPort), "-ranks", "2", "-job-id", job, "-visible-modules", "5,7",
		"-interval", "100ms", "-export-interval", "500ms", "-fault-ranks", "1", "-slow-factor", "4")

	eventually(t, startupDeadline, func() (bool, string) {
		c.failIfExited(t)
		if out := c.output(); strings.Contains(out, "failed to convert metric ALERTS") {
			t.Fatalf("the prometheus exporter refused the ALERTS series:\n%s", out)
		}
		families, err := scrape(context.Background(), c.metricsURL)
		if err != nil {
			return false, err.Error()
		}
		var firing []model.Metric
		for _, s := range families["ALERTS"] {
			if s.Metric["alertname"] == "SlowBatchProcessing" && s.Metric["alertstate"] == "firing" {
				firing = append(firing, s.Metric)
			}
		}
		if len(firing) == 0 {
			return false, "no ALERTS{alertname=\"SlowBatchProcessing\",alertstate=\"firing\"} yet"
		}
		want := model.LabelSet{"training_job_id": job, "training_rank": "1", "hpu_module_id": "7", "severity": "warning", "job": "trainsim"}
		for l, v := range want {
			if firing[0][l] != v {
				t.Fatalf("SlowBatchProcessing: label %s = %q, want %q: %v", l, firing[0][l], v, firing[0])
			}
		}
		if len(firing) != 1 {
			t.Fatalf("SlowBatchProcessing fires for %d series, want only rank 1: %v", len(firing), firing)
		}
		return true, ""
	})
}
