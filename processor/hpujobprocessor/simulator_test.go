package hpujobprocessor

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/receiver"
	"go.opentelemetry.io/collector/receiver/receivertest"

	"github.com/otelcol-gaudi/otelcol-gaudi/receiver/gaudireceiver"
)

// startSimulator runs the real gaudi receiver on its simulator source (eight Gaudi 3 devices whose module
// ids differ from their indexes), scraping every 20 ms into next, until the test ends.
func startSimulator(tb testing.TB, next consumer.Metrics) {
	tb.Helper()
	r := runSimulator(tb, next)
	tb.Cleanup(func() { require.NoError(tb, r.Shutdown(context.Background())) })
}

func runSimulator(tb testing.TB, next consumer.Metrics) receiver.Metrics {
	tb.Helper()
	f := gaudireceiver.NewFactory()
	cfg := f.CreateDefaultConfig()
	require.NoError(tb, confmap.NewFromStringMap(map[string]any{
		"source":              "simulator",
		"host_name":           testHost, // the node the jobs report as their host.name
		"collection_interval": "20ms",
		"initial_delay":       "0s",
		"simulator":           map[string]any{"devices": 8, "model": "gaudi3", "seed": 1},
	}).Unmarshal(cfg))
	r, err := f.CreateMetrics(context.Background(), receivertest.NewNopSettings(component.MustNewType("gaudi")), cfg, next)
	require.NoError(tb, err)
	require.NoError(tb, r.Start(context.Background(), componenttest.NewNopHost()))
	return r
}

// simulatorScrape returns one scrape of the simulator, as the receiver hands it to the next consumer. The
// receiver is stopped before it returns, so that it allocates nothing while a benchmark runs.
func simulatorScrape(tb testing.TB) pmetric.Metrics {
	tb.Helper()
	sink := new(consumertest.MetricsSink)
	r := runSimulator(tb, sink)
	require.Eventually(tb, func() bool { return sink.DataPointCount() > 0 }, 10*time.Second, 5*time.Millisecond)
	require.NoError(tb, r.Shutdown(context.Background()))
	return sink.AllMetrics()[0]
}

// modulesOf reads index → module id from a scrape's hpu.info.
func modulesOf(t testing.TB, md pmetric.Metrics) map[int64]int64 {
	t.Helper()
	out := map[int64]int64{}
	forEachGaudiPoint(md, func(metric string, attrs pcommon.Map) {
		if metric != metricInfo {
			return
		}
		idx, _ := attrs.Get(attrIndex)
		mod, _ := attrs.Get(attrModuleID)
		out[idx.Int()] = mod.Int()
	})
	return out
}

// nextScrapes waits for two more gaudi receiver scrapes and returns the second: it was processed entirely
// after the caller's previous ConsumeMetrics calls returned. Other batches in the sink (OTLP) are skipped.
func nextScrapes(t *testing.T, tp *testProcessor) pmetric.Metrics {
	t.Helper()
	tp.sink.Reset()
	var second pmetric.Metrics
	require.Eventually(t, func() bool {
		n := 0
		for _, md := range tp.sink.AllMetrics() {
			if isScrape(md) {
				if n++; n == 2 {
					second = md
					return true
				}
			}
		}
		return false
	}, 10*time.Second, 5*time.Millisecond)
	return second
}

func isScrape(md pmetric.Metrics) bool {
	rms := md.ResourceMetrics()
	return rms.Len() > 0 && rms.At(0).ScopeMetrics().Len() > 0 &&
		rms.At(0).ScopeMetrics().At(0).Scope().Name() == gaudiReceiverScope
}

// TestWithSimulator runs the gaudi receiver's simulator into the processor while two jobs send their
// resources as trainsim does: job A's four ranks with HABANA_VISIBLE_MODULES=4,5,6,7 (the list and their
// local rank), job B's two ranks with the module each resolved itself. The device in each module gets its
// rank; the two modules no job uses get nothing; once the jobs stop, the labels go.
func TestWithSimulator(t *testing.T) {
	tp := newTestProcessor(t, testConfig())
	startSimulator(t, tp.proc)
	first := nextScrapes(t, tp)
	modules := modulesOf(t, first)
	require.Len(t, modules, 8)
	assert.Empty(t, annotated(t, first))
	differ := 0
	for idx, mod := range modules {
		if idx != mod {
			differ++
		}
	}
	require.Positive(t, differ, "the test needs module ids that differ from indexes")

	for lr := range 4 {
		tp.send(t, jobBatch(map[string]any{
			attrJobID: "A", attrRank: int64(lr), attrLocalRank: int64(lr), "training.world_size": int64(4),
			attrHostName: testHost, attrModuleID: "4,5,6,7",
		}))
	}
	for lr, mod := range []int64{0, 1} {
		tp.send(t, jobBatch(rankRes("B", 2+lr, lr, testHost, mod)))
	}
	want := map[int64]string{4: "A/0", 5: "A/1", 6: "A/2", 7: "A/3", 0: "B/2", 1: "B/3", 2: "", 3: ""}

	md := nextScrapes(t, tp)
	labels := deviceLabels(t, md)
	modules = modulesOf(t, md)
	require.Len(t, labels, 8)
	for idx, mod := range modules {
		assert.Equalf(t, want[mod], labels[idx], "device %d (module %d)", idx, mod)
	}
	// Every point of a used device is labelled (deviceLabels checked they agree): count them.
	perDevice := map[int64]int{}
	forEachGaudiPoint(md, func(_ string, attrs pcommon.Map) {
		if _, ok := attrs.Get(attrJobID); ok {
			idx, _ := attrs.Get(attrIndex)
			perDevice[idx.Int()]++
		}
	})
	assert.Len(t, perDevice, 6)
	for idx, n := range perDevice {
		assert.Greaterf(t, n, 50, "device %d: %d points labelled", idx, n)
	}
	t.Logf("simulator scrape: %d points; labelled per used device: %v", md.DataPointCount(), perDevice)

	// The jobs stop sending: after the expiration no device carries a label.
	tp.clock.advance(testConfig().Expiration)
	assert.Empty(t, annotated(t, nextScrapes(t, tp)))
}
