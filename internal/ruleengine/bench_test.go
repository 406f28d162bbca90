package ruleengine

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pmetric"

	"github.com/otelcol-gaudi/otelcol-gaudi/internal/ruleengine/enginetest"
)

// cpuMeter sums the process's CPU time over the timed parts of a benchmark and reports it per point.
type cpuMeter struct {
	total, mark time.Duration
	ok          bool
}

func (m *cpuMeter) start() { m.mark, m.ok = enginetest.ProcessCPU() }

func (m *cpuMeter) stop() {
	if now, ok := enginetest.ProcessCPU(); ok && m.ok {
		m.total += now - m.mark
	}
}

func (m *cpuMeter) report(b *testing.B, points int) {
	if m.ok {
		b.ReportMetric(float64(m.total.Nanoseconds())/float64(b.N*points), "cpu-ns/point")
	}
}

// benchRules are the shipped rules plus generated variations on the same metrics: 50 rules.
func benchRules(b *testing.B) []string {
	files, err := enginetest.Rules("../..", b.TempDir())
	require.NoError(b, err)
	return files
}

// BenchmarkEvaluation measures one evaluation of the 50 rules over 10,000 series with 6 minutes of data.
func BenchmarkEvaluation(b *testing.B) {
	cfg := testConfig(benchRules(b)...)
	cfg.EvaluationInterval = enginetest.Interval
	h := newHarness(b, cfg)
	for k := range 24 {
		h.ingestAt(b, enginetest.Scrape(k), enginetest.Time(k))
	}
	ctx := context.Background()
	last := enginetest.Time(23)
	var cpu cpuMeter
	cpu.start()
	for b.Loop() {
		// Evaluate the same instant again and again: same data, same work, no time moving.
		h.e.mu.Lock()
		for _, g := range h.e.eval.groups {
			h.e.eval.evalGroup(ctx, g, last)
		}
		h.e.mu.Unlock()
	}
	cpu.stop()
	if cpu.ok {
		b.ReportMetric(float64(cpu.total.Nanoseconds())/float64(b.N), "cpu-ns/op")
	}
}

// ingestAt ingests md from the collector's own receivers with the wall clock at now.
func (h *harness) ingestAt(b testing.TB, md pmetric.Metrics, now time.Time) {
	h.clock.Set(now)
	require.NoError(b, h.e.Ingest(context.Background(), md, ""))
}

// BenchmarkIngest is the data path per point: a 10,000-series scrape of known series, 15 s after the
// previous one, stored without evaluating (the 24h interval has none due). ns/op is one scrape.
func BenchmarkIngest(b *testing.B) {
	cfg := testConfig(benchRules(b)...)
	cfg.EvaluationInterval = 24 * time.Hour
	cfg.Limits.MaxSamplesPerSeries = 50_000
	h := newHarness(b, cfg)
	ring := make([]pmetric.Metrics, 8)
	for i := range ring {
		ring[i] = enginetest.Scrape(i)
	}
	k := 0
	send := func() {
		md := ring[k%len(ring)]
		enginetest.Restamp(md, k)
		h.ingestAt(b, md, enginetest.Time(k))
		k++
	}
	for range 24 {
		send()
	}
	var cpu cpuMeter
	cpu.start()
	for b.Loop() {
		send()
	}
	cpu.stop()
	require.Empty(b, h.e.drops.pending, "every point is stored")
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*ring[0].DataPointCount()), "ns/point")
	cpu.report(b, ring[0].DataPointCount())
}

// BenchmarkIngestNewSeries is the admission of new series: every point of a 10,000-point scrape from
// 125 senders is a series the store has not seen, so it is named, checked against the limits and the
// sender's budget, and registered. ns/op is one scrape into a fresh engine.
func BenchmarkIngestNewSeries(b *testing.B) { benchNewSeries(b, "") }

// BenchmarkIngestNewSeriesNetwork is BenchmarkIngestNewSeries from one OTLP client address: each new
// series is also checked against the clients' share and the client's budget, and counted for both.
func BenchmarkIngestNewSeriesNetwork(b *testing.B) { benchNewSeries(b, "10.0.0.1") }

func benchNewSeries(b *testing.B, peer string) {
	cfg := testConfig(benchRules(b)...)
	cfg.EvaluationInterval = 24 * time.Hour
	cfg.Limits.MaxSeriesPerClient = cfg.Limits.MaxSeries
	// Scrape 1 is 15 s past a day boundary: no evaluation is due.
	md := enginetest.Scrape(1)
	var cpu cpuMeter
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		h := newHarness(b, cfg)
		h.clock.Set(enginetest.Time(1))
		b.StartTimer()
		cpu.start()
		require.NoError(b, h.e.Ingest(context.Background(), md, peer))
		cpu.stop()
		b.StopTimer()
		require.Empty(b, h.e.drops.pending, "every point is stored")
		require.NoError(b, h.e.Close(context.Background()))
		b.StartTimer()
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*md.DataPointCount()), "ns/point")
	cpu.report(b, md.DataPointCount())
}

// BenchmarkIngestRefused is a flood: a 10,000-point scrape of new series from one sender that has no
// budget left, so every point is named, refused and counted. ns/op is one scrape.
func BenchmarkIngestRefused(b *testing.B) {
	cfg := testConfig(benchRules(b)...)
	cfg.EvaluationInterval = 24 * time.Hour
	cfg.Limits.MaxSeries = 10
	cfg.Limits.MaxSeriesPerSender = 10
	h := newHarness(b, cfg)
	md := enginetest.Scrape(0)
	rms := md.ResourceMetrics()
	for i := 0; i < rms.Len(); i++ {
		rms.At(i).Resource().Attributes().PutStr("service.instance.id", "flood")
	}
	h.ingestAt(b, md, epoch)
	var cpu cpuMeter
	cpu.start()
	for b.Loop() {
		h.ingestAt(b, md, epoch)
	}
	cpu.stop()
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*md.DataPointCount()), "ns/point")
	cpu.report(b, md.DataPointCount())
}

// BenchmarkIngestTranslation compares, side by side, ingesting one 10,000-series batch with no resource
// attributes as labels, with all of them (resource_to_telemetry_conversion) and with the shipped configs'
// resource_constant_labels, whose selection runs the exporter's resourcetotelemetry wrapper once per key.
func BenchmarkIngestTranslation(b *testing.B) {
	arms := []struct {
		name string
		set  func(*TranslationConfig)
	}{
		{"none", func(*TranslationConfig) {}},
		{"resource_to_telemetry_conversion", func(tc *TranslationConfig) { tc.ResourceToTelemetryConversion = true }},
		{"resource_constant_labels", func(tc *TranslationConfig) {
			tc.ResourceConstantLabels.Included = []string{"*"}
			tc.ResourceConstantLabels.Excluded = []string{"service.name", "service.namespace", "service.instance.id"}
		}},
	}
	for _, arm := range arms {
		b.Run(arm.name, func(b *testing.B) {
			cfg := testConfig(benchRules(b)...)
			cfg.EvaluationInterval = enginetest.Interval
			arm.set(&cfg.Translation)
			h := newHarness(b, cfg)
			md := enginetest.Scrape(0)
			h.ingestAt(b, md, epoch)
			ctx := context.Background()
			for b.Loop() {
				// The same instant again: the ingest path with the series already known, no evaluation.
				h.e.mu.Lock()
				_, err := h.e.ingest(ctx, md, "", epoch)
				h.e.mu.Unlock()
				require.NoError(b, err)
			}
		})
	}
}
