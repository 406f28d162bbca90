package gaudireceiver

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componentstatus"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/receiver/receivertest"
	"go.opentelemetry.io/collector/scraper/scrapererror"

	"github.com/otelcol-gaudi/otelcol-gaudi/receiver/gaudireceiver/internal/hlml/hlmltest"
	"github.com/otelcol-gaudi/otelcol-gaudi/receiver/gaudireceiver/internal/hlsmi/hlsmitest"
	"github.com/otelcol-gaudi/otelcol-gaudi/receiver/gaudireceiver/internal/metadata"
)

// The tests here run the receivers as a collector does, from the factory, on the real sources
// against their fakes (see parity_test.go for the fakes' setup).

// waitFor bounds the waits for the receivers' first output.
const waitFor = 30 * time.Second

// receivers are the metrics and logs receivers of one configured `gaudi` receiver, as two
// pipelines naming it create them, with what they delivered.
type receivers struct {
	metrics *consumertest.MetricsSink
	logs    *consumertest.LogsSink
	host    *statusRecorder
	stop    func()
}

// startReceivers starts both receivers on cfg, scraping every 10 ms; stop (or the test's end)
// shuts them down.
func startReceivers(t *testing.T, cfg *Config) *receivers {
	t.Helper()
	cfg.CollectionInterval = 10 * time.Millisecond
	cfg.InitialDelay = 0
	f := NewFactory()
	set := receivertest.NewNopSettings(metadata.Type)
	r := &receivers{metrics: new(consumertest.MetricsSink), logs: new(consumertest.LogsSink), host: &statusRecorder{Host: componenttest.NewNopHost()}}
	mr, err := f.CreateMetrics(context.Background(), set, cfg, r.metrics)
	require.NoError(t, err)
	lr, err := f.CreateLogs(context.Background(), set, cfg, r.logs)
	require.NoError(t, err)
	var once sync.Once
	r.stop = func() {
		once.Do(func() {
			assert.NoError(t, lr.Shutdown(context.Background()))
			assert.NoError(t, mr.Shutdown(context.Background()))
		})
	}
	t.Cleanup(r.stop)
	require.NoError(t, mr.Start(context.Background(), r.host))
	require.NoError(t, lr.Start(context.Background(), r.host))
	return r
}

// firstScrape waits for the first scrape's metrics.
func (r *receivers) firstScrape(t *testing.T) pmetric.Metrics {
	t.Helper()
	require.Eventually(t, func() bool { return r.metrics.DataPointCount() > 0 }, waitFor, 10*time.Millisecond)
	return r.metrics.AllMetrics()[0]
}

// statusRecorder records the component status events that receivers report from their own
// goroutines.
type statusRecorder struct {
	component.Host
	mu     sync.Mutex
	events []*componentstatus.Event
}

func (h *statusRecorder) Report(e *componentstatus.Event) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.events = append(h.events, e)
}

// firstError is the error of the first recoverable-error event.
func (h *statusRecorder) firstError(t *testing.T) error {
	t.Helper()
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, e := range h.events {
		if e.Status() == componentstatus.StatusRecoverableError {
			return e.Err()
		}
	}
	t.Fatal("no recoverable error was reported")
	return nil
}

// requirePartialError checks that a scrape failed only for one device, named in its error.
func requirePartialError(t *testing.T, err error, want string) {
	t.Helper()
	var partial scrapererror.PartialScrapeError
	require.True(t, errors.As(err, &partial), "a partial error, so that the other devices are delivered: %v", err)
	assert.Equal(t, 1, partial.Failed)
	assert.ErrorContains(t, err, want)
}

// deviceSeries lists each device's data points, values included, as sorted lines.
func deviceSeries(md pmetric.Metrics) map[int64][]string {
	series := map[int64][]string{}
	forEachMetric(md, func(m pmetric.Metric) {
		for _, p := range numberPoints(m).All() {
			index, ok := p.Attributes().Get("hpu.index")
			if !ok {
				continue
			}
			value := p.DoubleValue()
			if p.ValueType() == pmetric.NumberDataPointValueTypeInt {
				value = float64(p.IntValue())
			}
			series[index.Int()] = append(series[index.Int()], fmt.Sprintf("%s%v %g", m.Name(), p.Attributes().AsRaw(), value))
		}
	})
	for _, s := range series {
		slices.Sort(s)
	}
	return series
}

// onlyFailedHealth is what a failed device reports: its health, nothing else.
func onlyFailedHealth(index int64, uuid string) []string {
	var want []string
	for _, state := range []string{"degraded", "failed", "ok", "unknown"} {
		attrs := map[string]any{"hpu.index": index, "hpu.uuid": uuid, "hpu.state": state}
		want = append(want, fmt.Sprintf("hpu.health%v %d", attrs, boolInt(state == "failed")))
	}
	return want
}

// checkOneDeviceFailed checks that device failed reports only its failed health and every
// other device exactly what it did in a clean scrape.
func checkOneDeviceFailed(t *testing.T, clean, got pmetric.Metrics, failed int64, uuid string) {
	t.Helper()
	want, have := deviceSeries(clean), deviceSeries(got)
	require.Len(t, have, len(want))
	for index, series := range want {
		if index == failed {
			assert.Equal(t, onlyFailedHealth(failed, uuid), have[index], "the failed device")
			continue
		}
		assert.Equal(t, series, have[index], "device %d is complete", index)
	}
}

func TestHLMLDeviceLost(t *testing.T) {
	cfg := parityConfig(t, SourceHLML)
	clean := scrapeOnce(t, cfg)
	t.Setenv(hlmltest.ScenarioEnv, hlmltest.WriteScenario(t, "error 3 hlml_device_get_power_usage AIP_IS_LOST"))
	r := startReceivers(t, cfg)

	md := r.firstScrape(t)
	const uuid = "01P4-HL3090A0-18-U4V193-22-07-03"
	requirePartialError(t, r.host.firstError(t), "hpu 3 ("+uuid+"): hlml_device_get_power_usage: HLML_ERROR_AIP_IS_LOST")
	checkOneDeviceFailed(t, clean, md, 3, uuid)
}

func TestHLMLCriticalEventBecomesLogRecord(t *testing.T) {
	cfg := parityConfig(t, SourceHLML)
	t.Setenv(hlmltest.ScenarioEnv, hlmltest.WriteScenario(t, "event 3 critical"))
	r := startReceivers(t, cfg)

	require.Eventually(t, func() bool { return r.logs.LogRecordCount() > 0 }, waitFor, 10*time.Millisecond)
	r.stop()
	require.Equal(t, 1, r.logs.LogRecordCount(), "the event is delivered once")
	record := r.logs.AllLogs()[0].ResourceLogs().At(0).ScopeLogs().At(0).LogRecords().At(0)
	assert.Equal(t, "HPU 3: critical error", record.Body().Str())
	assert.Equal(t, plog.SeverityNumberFatal, record.SeverityNumber())
	assert.Equal(t, "FATAL", record.SeverityText())
	assert.Equal(t, map[string]any{"hpu.index": int64(3), "hpu.uuid": "01P4-HL3090A0-18-U4V193-22-07-03", "hpu.event": "critical"},
		record.Attributes().AsRaw())
}

func TestHLMLInitialisedOnceForMetricsAndLogs(t *testing.T) {
	cfg := parityConfig(t, SourceHLML)
	fake := hlmltest.LoadFake(t)
	fake.ResetCounters(t)
	r := startReceivers(t, cfg)

	r.firstScrape(t)
	assert.Equal(t, 1, fake.InitCount(t), "one hlml_init for both signals")
	r.stop()
	assert.Equal(t, 1, fake.InitCount(t))
	assert.Equal(t, 1, fake.ShutdownCount(t), "one hlml_shutdown, after both stopped")
	assert.Zero(t, fake.UninitializedCalls(t), "no call after hlml_shutdown")
}

func TestHLSMIGarbledLine(t *testing.T) {
	cfg := parityConfig(t, SourceHLSMI)
	clean := scrapeOnce(t, cfg)
	// Line 3 is device 2's; without its last column it cannot be trusted.
	t.Setenv(hlsmitest.EnvGarble, "3:columns")
	r := startReceivers(t, cfg)

	md := r.firstScrape(t)
	const uuid = "01P0-HL2080A0-15-TF8A90-03-05-04"
	requirePartialError(t, r.host.firstError(t), "hpu 2 ("+uuid+"): hl-smi output line 3: 28 columns, want 29")
	checkOneDeviceFailed(t, clean, md, 2, uuid)
}
