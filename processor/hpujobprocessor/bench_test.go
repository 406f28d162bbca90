package hpujobprocessor

import (
	"context"
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/processor"
	"go.opentelemetry.io/collector/processor/processortest"
	"go.uber.org/zap"

	"github.com/otelcol-gaudi/otelcol-gaudi/processor/hpujobprocessor/internal/metadata"
)

// newBenchProcessor is the processor as the collector runs it: info-level (no-op) logger, a real meter
// provider, processorhelper around it, and a next consumer that does nothing.
func newBenchProcessor(b *testing.B) (processor.Metrics, *fakeClock) {
	b.Helper()
	tel := componenttest.NewTelemetry()
	b.Cleanup(func() { require.NoError(b, tel.Shutdown(context.Background())) })
	set := processortest.NewNopSettings(metadata.Type)
	set.Logger = zap.NewNop()
	set.TelemetrySettings.MeterProvider = tel.NewTelemetrySettings().MeterProvider
	clock := newFakeClock()
	cfg := testConfig()
	p, err := newHPUJobProcessor(cfg, set.TelemetrySettings, clock.now, nil)
	require.NoError(b, err)
	proc, err := newMetricsProcessor(context.Background(), set, cfg, consumertest.NewNop(), p)
	require.NoError(b, err)
	require.NoError(b, proc.Start(context.Background(), componenttest.NewNopHost()))
	b.Cleanup(func() { require.NoError(b, proc.Shutdown(context.Background())) })
	return proc, clock
}

// BenchmarkAnnotate measures the processor's work on one gaudi receiver batch: a real simulator scrape of
// 8 devices (435 points, 432 of them device points) with 0 or 8 active jobs, one per device, so that with
// 8 jobs every device point gets two attributes. Every iteration needs a fresh batch, as in a pipeline;
// the copies are made outside the timer, a pool at a time, so a run takes much longer than the timed part.
func BenchmarkAnnotate(b *testing.B) {
	scrape := simulatorScrape(b)
	ctx := context.Background()
	for _, jobs := range []int{0, 8} {
		b.Run(fmt.Sprintf("jobs=%d", jobs), func(b *testing.B) {
			proc, _ := newBenchProcessor(b)
			for i := range jobs {
				require.NoError(b, proc.ConsumeMetrics(ctx, jobBatch(job(fmt.Sprintf("job-%d", i), 0, attrIndex, int64(i)))))
			}
			pool := make([]pmetric.Metrics, 512)
			refill := func() {
				for i := range pool {
					pool[i] = pmetric.NewMetrics()
					scrape.CopyTo(pool[i])
				}
			}
			refill()
			next := 0
			b.ReportAllocs()
			for b.Loop() {
				if next == len(pool) {
					b.StopTimer()
					refill()
					next = 0
					b.StartTimer()
				}
				if err := proc.ConsumeMetrics(ctx, pool[next]); err != nil {
					b.Fatal(err)
				}
				next++
			}
		})
	}
}

// BenchmarkLearn measures one rank's OTLP batch (trainsim's shape, module id from a
// HABANA_VISIBLE_MODULES list) through the processor: parsing the resource and refreshing its mapping.
func BenchmarkLearn(b *testing.B) {
	proc, _ := newBenchProcessor(b)
	ctx := context.Background()
	res := rankRes("llama", 3, 3, testHost, 0)
	res[attrModuleID] = "0,1,2,3,4,5,6,7"
	md := jobBatch(res)
	b.ReportAllocs()
	for b.Loop() {
		if err := proc.ConsumeMetrics(ctx, md); err != nil {
			b.Fatal(err)
		}
	}
}
