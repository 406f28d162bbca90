package hpujobprocessor

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/processor"
	"go.opentelemetry.io/collector/processor/processortest"
	"go.uber.org/zap"

	"github.com/otelcol-gaudi/otelcol-gaudi/internal/fakekubelet"
	"github.com/otelcol-gaudi/otelcol-gaudi/processor/hpujobprocessor/internal/metadata"
)

// newBenchProcessor is the processor as the collector runs it: info-level (no-op) logger, a real meter
// provider, processorhelper around it, and a next consumer that does nothing.
func newBenchProcessor(b *testing.B) (processor.Metrics, *fakeClock) {
	b.Helper()
	proc, clock, _ := newBenchProcessorWith(b, testConfig())
	return proc, clock
}

func newBenchProcessorWith(b *testing.B, cfg *Config) (processor.Metrics, *fakeClock, *hpuJobProcessor) {
	b.Helper()
	tel := componenttest.NewTelemetry()
	b.Cleanup(func() { require.NoError(b, tel.Shutdown(context.Background())) })
	set := processortest.NewNopSettings(metadata.Type)
	set.Logger = zap.NewNop()
	set.TelemetrySettings.MeterProvider = tel.NewTelemetrySettings().MeterProvider
	clock := newFakeClock()
	p, err := newHPUJobProcessor(cfg, set.TelemetrySettings, clock.now, nil)
	require.NoError(b, err)
	proc, err := newMetricsProcessor(context.Background(), set, cfg, consumertest.NewNop(), p)
	require.NoError(b, err)
	require.NoError(b, proc.Start(context.Background(), componenttest.NewNopHost()))
	b.Cleanup(func() { require.NoError(b, proc.Shutdown(context.Background())) })
	return proc, clock, p
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
			consumeFresh(b, proc, scrape)
		})
	}
}

// consumeFresh runs the benchmark loop: each iteration passes a fresh copy of scrape through proc. The
// copies are made outside the timer, a pool at a time.
func consumeFresh(b *testing.B, proc processor.Metrics, scrape pmetric.Metrics) {
	ctx := context.Background()
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
}

// BenchmarkKubeletAttribution measures what pod attribution adds to a scrape of 8 devices once the
// kubelet's answer is cached, side by side: attribution off; on, with 40 pods of which none holds an HPU;
// on, with a pod on each of the 8 HPUs (pod, namespace, container and the uid learned from kubelet_stats
// on each of the 432 device points). The kubelet is the fake one, over real gRPC; its refresh interval is
// an hour here so that only the data path is timed (the refresh runs off it anyway).
func BenchmarkKubeletAttribution(b *testing.B) {
	scrape := simulatorScrape(b)
	var serials []string
	forEachGaudiPoint(scrape, func(metric string, attrs pcommon.Map) {
		if metric == metricInfo {
			serials = append(serials, strAttr(attrs, attrSerial))
		}
	})
	require.Len(b, serials, 8)
	// Every device point gets a pod when all eight HPUs are allocated.
	var devicePoints int64
	forEachGaudiPoint(scrape, func(_ string, attrs pcommon.Map) {
		if _, ok := attrs.Get(attrIndex); ok {
			devicePoints++
		}
	})
	var idle, busy []fakekubelet.Pod
	for i := range 40 {
		idle = append(idle, fakekubelet.Pod{Namespace: "default", Name: fmt.Sprintf("web-%d", i), UID: fmt.Sprintf("uid-%d", i),
			Containers: []fakekubelet.Container{{Name: "app"}, {Name: "sidecar"}}})
	}
	for i, s := range serials {
		busy = append(busy, fakekubelet.Pod{Namespace: "training", Name: fmt.Sprintf("llama3-worker-%d", i), UID: fmt.Sprintf("uid-w%d", i),
			Containers: []fakekubelet.Container{{Name: "trainer", Devices: map[string][]string{fakekubelet.GaudiResource: {s}}}}})
	}
	for _, bc := range []struct {
		name string
		pods []fakekubelet.Pod // nil: attribution off
		want int64             // device points with a pod
	}{
		{name: "kubelet=off"},
		{name: "kubelet=on,hpus_allocated=0", pods: idle},
		{name: "kubelet=on,hpus_allocated=8", pods: busy, want: devicePoints},
	} {
		b.Run(bc.name, func(b *testing.B) {
			cfg := testConfig()
			if bc.pods != nil {
				socket := fakekubelet.Socket(b)
				k, err := fakekubelet.Start(socket, testHost)
				require.NoError(b, err)
				b.Cleanup(k.Stop)
				k.SetPods(bc.pods...)
				cfg.Kubelet.Enabled, cfg.Kubelet.Socket, cfg.Kubelet.RefreshInterval = true, socket, time.Hour
			}
			proc, _, p := newBenchProcessorWith(b, cfg)
			if bc.pods != nil {
				require.Eventually(b, func() bool { return viewTaken(p) }, 10*time.Second, time.Millisecond)
			}
			// Warm: device identities learned, uids learned from a kubelet_stats-like batch.
			stats := pmetric.NewMetrics()
			for _, pod := range bc.pods {
				res := stats.ResourceMetrics().AppendEmpty().Resource().Attributes()
				res.PutStr(attrPodName, pod.Name)
				res.PutStr(attrNamespaceName, pod.Namespace)
				res.PutStr(attrPodUID, pod.UID)
			}
			require.NoError(b, proc.ConsumeMetrics(context.Background(), stats))
			warm := pmetric.NewMetrics()
			scrape.CopyTo(warm)
			require.NoError(b, proc.ConsumeMetrics(context.Background(), warm))
			var withPod int64
			forEachGaudiPoint(warm, func(_ string, attrs pcommon.Map) {
				if _, ok := attrs.Get(attrPodUID); ok {
					withPod++
				}
			})
			require.Equal(b, bc.want, withPod)
			b.Run("batch=fresh", func(b *testing.B) { consumeFresh(b, proc, scrape) })
			// The warm batch passing again and again: the processor's own work, without the garbage
			// collection that the copies of batch=fresh cause. With pods on the HPUs, the points already
			// hold the attributes, which pdata then updates in place: this is the cost of finding and
			// writing them, without pdata's allocation of each new value.
			b.Run("batch=reused", func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					if err := proc.ConsumeMetrics(context.Background(), warm); err != nil {
						b.Fatal(err)
					}
				}
			})
		})
	}
}

func viewTaken(p *hpuJobProcessor) bool {
	p.table.mu.Lock()
	defer p.table.mu.Unlock()
	return !p.table.views[srcKubelet].seen.IsZero()
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
