package e2e

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/common/model"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/pmetric/pmetricotlp"
)

// hostileRules is a test-only copy of HPUHighTemperature with a `for` short enough to wait for.
const hostileRules = "test/e2e/testdata/threshold-hostile.rules.yaml"

const (
	// The sender of the attack, as the connector names it: the client's address and its resource.
	mallory = "127.0.0.1 service.name=mallory service.instance.id=m1"
	// floodSeries is the attack's series count, in one resource.
	floodSeries = 60_000
	// defaultSenderBudget is limits::max_series_per_sender's default: a tenth of max_series (50,000).
	defaultSenderBudget = 5_000
	// alertFor is the rules' `for`; onTime bounds pending-to-firing plus the delay before pending.
	alertFor = 5 * time.Second
	onTime   = alertFor + 20*time.Second
)

// TestThresholdSurvivesHostileSender: while one OTLP client sends a point stamped 2100, a stream 10 minutes
// ahead and a 60,000-series flood, the honest senders' alerts fire on time: a new HPU at 95 °C from
// another OTLP node, and the simulator's overheating device 3 of the collector's own receiver. The
// refused points are counted and logged under the attacker's client address and resource.
func TestThresholdSurvivesHostileSender(t *testing.T) {
	t.Parallel()
	httpPort := freePort(t)
	c := startDemoCollector(t,
		fmt.Sprintf("receivers::otlp::protocols::http::endpoint=127.0.0.1:%d", httpPort),
		"receivers::gaudi::simulator::faults=[{device: 3, kind: overheat, after: 10s}]",
		"connectors::threshold::rule_files=["+hostileRules+"]",
		"connectors::threshold::evaluation_interval=1s",
		// The flood passes on to the exporter too; it expires there soon, so that scraping stays cheap.
		"exporters::prometheus::metric_expiration=5s",
	)
	otlpURL := fmt.Sprintf("http://127.0.0.1:%d/v1/metrics", httpPort)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	malloryRes := map[string]any{"service.name": "mallory", "service.instance.id": "m1"}
	postJSON(t, otlpURL, hpuTemperature(malloryRes, time.Date(2100, 1, 1, 0, 0, 0, 0, time.UTC), 0, 20))
	for i := 0; i < floodSeries; i += 10_000 {
		postJSON(t, otlpURL, floodMetrics(malloryRes, time.Now(), i, 10_000))
	}
	var wg sync.WaitGroup
	defer wg.Wait()
	defer cancel()
	wg.Go(func() {
		for ctx.Err() == nil {
			postJSON(t, otlpURL, hpuTemperature(malloryRes, time.Now().Add(10*time.Minute), 0, 20))
			sleepCtx(ctx, 500*time.Millisecond)
		}
	})

	// Another node's agent forwards a new HPU at 95 °C: a series the store has not seen, after the flood.
	nodeB := map[string]any{"host.name": "node-b", "service.name": "agent", "service.instance.id": "node-b"}
	hotSince := time.Now()
	wg.Go(func() {
		for ctx.Err() == nil {
			postJSON(t, otlpURL, hpuTemperature(nodeB, time.Now(), 0, 95))
			sleepCtx(ctx, 500*time.Millisecond)
		}
	})

	// The simulated device 3 of the collector's own gaudi receiver overheats meanwhile.
	var localHot time.Time
	fired := map[string]time.Duration{}
	eventually(t, 3*time.Minute, func() (bool, string) {
		c.failIfExited(t)
		families, err := scrape(ctx, c.metricsURL)
		if err != nil {
			return false, err.Error()
		}
		for _, s := range families["hpu_temperature_celsius"] {
			if localHot.IsZero() && s.Metric["host_name"] != "node-b" && s.Metric["hpu_index"] == "3" &&
				s.Metric["hpu_sensor"] == "on_chip" && s.Value > 85 {
				localHot = time.Now()
			}
		}
		for _, s := range families["ALERTS"] {
			if s.Metric["alertname"] != "HPUHighTemperature" || s.Metric["alertstate"] != "firing" {
				continue
			}
			switch {
			case s.Metric["host_name"] == "node-b" && fired["node-b"] == 0:
				fired["node-b"] = time.Since(hotSince)
			case s.Metric["host_name"] != "node-b" && s.Metric["hpu_index"] == "3" && fired["local"] == 0 && !localHot.IsZero():
				fired["local"] = time.Since(localHot)
			}
		}
		if len(fired) < 2 {
			return false, fmt.Sprintf("firing so far: %v (device 3 over 85 °C since %v)", fired, localHot)
		}
		return true, ""
	})
	t.Logf("HPUHighTemperature firing after the device was hot: %v", fired)
	for who, after := range fired {
		if after > onTime {
			t.Errorf("%s: HPUHighTemperature fired %s after the HPU was hot, want within %s (for: %s)", who, after, onTime, alertFor)
		}
	}

	telemetry, err := scrape(ctx, c.telemetryURL)
	if err != nil {
		t.Fatal(err)
	}
	dropped := map[string]float64{}
	for _, s := range telemetry["otelcol_connector_threshold_samples_dropped"] {
		dropped[string(s.Metric["reason"])+" "+string(s.Metric["sender"])] += float64(s.Value)
	}
	if dropped["future "+mallory] < 2 {
		t.Errorf("the 2100 point and the +10 min stream: %v future samples of %s counted, want at least 2 (all drops: %v)", dropped["future "+mallory], mallory, dropped)
	}
	if want := float64(floodSeries - defaultSenderBudget); dropped["sender_series_limit "+mallory] != want {
		t.Errorf("the flood: %v samples of %s refused for its budget, want %v (all drops: %v)", dropped["sender_series_limit "+mallory], mallory, want, dropped)
	}
	// An honest sender may lose a sample to samples_per_series_limit (two scrapes of a loaded machine
	// closer than retention / max_samples_per_series), never to another sender's flood or clock.
	for k, n := range dropped {
		reason, sender, _ := strings.Cut(k, " ")
		if sender != mallory && unfair[reason] {
			t.Errorf("%v samples of the honest sender %s dropped as %s", n, sender, reason)
		}
	}
	if n := sum(telemetry["otelcol_connector_threshold_evaluations_skipped"]); n != 0 {
		t.Errorf("%v evaluations skipped: time jumped", n)
	}
	// The first drop is logged at once; if an honest sender's came first, the attack's follow within a
	// minute, on the connector's timer.
	eventually(t, 90*time.Second, func() (bool, string) {
		out := c.output()
		return strings.Contains(out, "Samples were not stored for rule evaluation") && strings.Contains(out, mallory),
			"no warning naming " + mallory + " in the collector's log yet"
	})
}

// unfair are the reasons that one sender could cause another to lose samples for, if limits or time
// were not per sender.
var unfair = map[string]bool{"series_limit": true, "sender_series_limit": true, "client_series_limit": true, "future": true, "too_old": true}

// TestThresholdStaleTempDirRemoved: a collector killed with SIGKILL leaves its sample store's directory in
// the temporary directory; the next collector's start removes it.
func TestThresholdStaleTempDirRemoved(t *testing.T) {
	t.Parallel()
	tmp := t.TempDir()
	env := []string{"TMPDIR=" + tmp}
	storeDirs := func() []string {
		dirs, err := filepath.Glob(filepath.Join(tmp, "otelcol-threshold-*"))
		if err != nil {
			t.Fatal(err)
		}
		return dirs
	}
	first := startDemoCollectorEnv(t, env)
	killedDirs := storeDirs()
	if len(killedDirs) != 1 {
		t.Fatalf("the running collector has %v in %s, want one sample store directory", killedDirs, tmp)
	}
	if err := first.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	<-first.done
	if _, err := os.Stat(killedDirs[0]); err != nil {
		t.Fatalf("after SIGKILL: %v; the test needs the directory a killed collector leaves", err)
	}

	startDemoCollectorEnv(t, env)
	dirs := storeDirs()
	if len(dirs) != 1 || dirs[0] == killedDirs[0] {
		t.Errorf("after the second start %s holds %v, want only the new collector's directory (not %s)", tmp, dirs, killedDirs[0])
	}
}

// TestThresholdValidateRefusesAbsurdSettings: `validate` refuses an out-of-bounds duration or size with
// a message naming the key and its bounds.
func TestThresholdValidateRefusesAbsurdSettings(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ set, want string }{
		{"evaluation_interval=1ns", "evaluation_interval must be between 1s and 24h0m0s, got 1ns"},
		{"lookback_delta=0s", "lookback_delta must be between 1s and 24h0m0s, got 0s"},
		{"limits::max_series=0", "limits::max_series must be between 1 and 10000000, got 0"},
		{"limits::max_series=100000000000", "limits::max_series must be between 1 and 10000000, got 100000000000"},
		{"limits::max_series_per_sender=60000", "limits::max_series_per_sender must be between 0 and 50000, got 60000"},
		{"limits::retention=10000h", "limits::retention must be 0 (derived from the rules) or between 1s and 744h0m0s, got 10000h0m0s"},
		{"limits::max_future_skew=48h", "limits::max_future_skew must be between 0s and 1h0m0s, got 48h0m0s"},
		{"limits::max_catch_up_evaluations=-1", "limits::max_catch_up_evaluations must be between 1 and 100000, got -1"},
	} {
		t.Run(tc.set, func(t *testing.T) {
			t.Parallel()
			_, stderr, err := runCollectorCommand(t, "validate", "--config", demoConfigPath(t), "--set=connectors::threshold::"+tc.set)
			if err == nil {
				t.Fatalf("validate accepted %s", tc.set)
			}
			if !strings.Contains(stderr, tc.want) {
				t.Errorf("validate with %s: %s\nwant the message %q", tc.set, stderr, tc.want)
			}
		})
	}
}

// hpuTemperature is one on-chip temperature point of HPU index from a resource.
func hpuTemperature(res map[string]any, ts time.Time, index int64, celsius float64) pmetric.Metrics {
	md := pmetric.NewMetrics()
	rm := md.ResourceMetrics().AppendEmpty()
	_ = rm.Resource().Attributes().FromRaw(res)
	m := rm.ScopeMetrics().AppendEmpty().Metrics().AppendEmpty()
	m.SetName("hpu.temperature")
	m.SetUnit("Cel")
	dp := m.SetEmptyGauge().DataPoints().AppendEmpty()
	dp.SetTimestamp(pcommon.NewTimestampFromTime(ts))
	dp.SetDoubleValue(celsius)
	dp.Attributes().PutInt("hpu.index", index)
	dp.Attributes().PutStr("hpu.sensor", "on_chip")
	return md
}

// floodMetrics is n series of one gauge, numbered from first, in one resource.
func floodMetrics(res map[string]any, ts time.Time, first, n int) pmetric.Metrics {
	md := pmetric.NewMetrics()
	rm := md.ResourceMetrics().AppendEmpty()
	_ = rm.Resource().Attributes().FromRaw(res)
	m := rm.ScopeMetrics().AppendEmpty().Metrics().AppendEmpty()
	m.SetName("flood")
	dps := m.SetEmptyGauge().DataPoints()
	for i := first; i < first+n; i++ {
		dp := dps.AppendEmpty()
		dp.SetTimestamp(pcommon.NewTimestampFromTime(ts))
		dp.SetDoubleValue(1)
		dp.Attributes().PutInt("series", int64(i))
	}
	return md
}

// postJSON sends md as OTLP/HTTP JSON, as any client of the endpoint may; the collector must accept it.
func postJSON(t *testing.T, url string, md pmetric.Metrics) {
	body, err := pmetricotlp.NewExportRequestFromMetrics(md).MarshalJSON()
	if err != nil {
		t.Error(err)
		return
	}
	resp, err := httpClient.Post(url, "application/json", bytes.NewReader(body))
	if err != nil {
		t.Errorf("POST %s: %v", url, err)
		return
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("POST %s: %s", url, resp.Status)
	}
}

func sleepCtx(ctx context.Context, d time.Duration) {
	select {
	case <-ctx.Done():
	case <-time.After(d):
	}
}

func sum(v model.Vector) (n float64) {
	for _, s := range v {
		n += float64(s.Value)
	}
	return n
}
