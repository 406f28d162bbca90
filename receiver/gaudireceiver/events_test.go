package gaudireceiver

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componentstatus"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/receiver/receivertest"

	"github.com/otelcol-gaudi/otelcol-gaudi/receiver/gaudireceiver/internal/hpu"
	"github.com/otelcol-gaudi/otelcol-gaudi/receiver/gaudireceiver/internal/metadata"
	"github.com/otelcol-gaudi/otelcol-gaudi/receiver/gaudireceiver/internal/simulator"
)

func TestDeviceEventsBecomeLogRecords(t *testing.T) {
	f := NewFactory()
	cfg := simulatorConfig(
		simulator.Fault{Device: 5, Kind: simulator.FaultFail},
		simulator.Fault{Device: 1, Kind: simulator.FaultRowsPending},
	)
	set := receivertest.NewNopSettings(metadata.Type)
	logsSink := new(consumertest.LogsSink)
	metricsSink := new(consumertest.MetricsSink)
	lr, err := f.CreateLogs(context.Background(), set, cfg, logsSink)
	require.NoError(t, err)
	mr, err := f.CreateMetrics(context.Background(), set, cfg, metricsSink)
	require.NoError(t, err)
	host := componenttest.NewNopHost()
	require.NoError(t, lr.Start(context.Background(), host))
	require.NoError(t, mr.Start(context.Background(), host))

	require.Eventually(t, func() bool { return logsSink.LogRecordCount() == 2 }, 30*time.Second, 10*time.Millisecond)
	require.NoError(t, mr.Shutdown(context.Background()))
	require.NoError(t, lr.Shutdown(context.Background()))

	byDevice := map[int64]plog.LogRecord{}
	for _, logs := range logsSink.AllLogs() {
		rls := logs.ResourceLogs()
		for i := range rls.Len() {
			assert.Equal(t, map[string]any{"host.name": "gaudi-node-01"}, rls.At(i).Resource().Attributes().AsRaw(), "the host, as on the metrics")
			records := rls.At(i).ScopeLogs().At(0).LogRecords()
			for j := range records.Len() {
				index, _ := records.At(j).Attributes().Get("hpu.index")
				byDevice[index.Int()] = records.At(j)
			}
		}
	}
	require.Len(t, byDevice, 2)
	critical := byDevice[5]
	assert.Equal(t, "HPU 5: critical error", critical.Body().Str())
	assert.Equal(t, plog.SeverityNumberFatal, critical.SeverityNumber())
	assert.Equal(t, "FATAL", critical.SeverityText())
	assert.Equal(t, "hpu.device.event", critical.EventName())
	uuid, _ := critical.Attributes().Get("hpu.uuid")
	assert.Regexp(t, `^01P4-HL3090A0-`, uuid.Str())
	kind, _ := critical.Attributes().Get("hpu.event")
	assert.Equal(t, "critical", kind.Str())
	assert.Equal(t, "HPU 1: uncorrectable ECC error", byDevice[1].Body().Str())
	assert.Equal(t, plog.SeverityNumberError, byDevice[1].SeverityNumber())
}

func TestMetricsAndLogsShareOneSource(t *testing.T) {
	starts := 0
	registry := newSourceRegistry()
	id := component.NewID(metadata.Type)
	cfg := simulatorConfig()
	tel := componenttest.NewNopTelemetrySettings()
	shared := registry.get(id, cfg, tel)
	shared.open = func(ctx context.Context, c *Config, now func() time.Time, tel component.TelemetrySettings) (hpu.Source, error) {
		starts++
		return openSource(ctx, c, now, tel)
	}
	assert.Same(t, shared, registry.get(id, cfg, tel), "one source per component ID")
	assert.NotSame(t, shared, registry.get(component.NewIDWithName(metadata.Type, "other"), cfg, tel))

	s := newGaudiScraper(cfg, receiverSettings(), time.Now, shared)
	events := newEventsReceiver(receiverSettings(), shared, consumertest.NewNop())
	require.NoError(t, s.start(context.Background(), componenttest.NewNopHost()))
	require.NoError(t, events.Start(context.Background(), componenttest.NewNopHost()))
	assert.Equal(t, 1, starts, "the backend is started once for both signals")
	require.NoError(t, s.shutdown(context.Background()))
	assert.Same(t, shared, registry.get(id, cfg, tel), "still in use by the logs receiver")
	require.NoError(t, events.Shutdown(context.Background()))
	assert.NotSame(t, shared, registry.get(id, cfg, tel), "released after the last user")
}

func TestLogsReceiverWithoutEventSource(t *testing.T) {
	shared := &sharedSource{cfg: simulatorConfig(), now: time.Now, tel: componenttest.NewNopTelemetrySettings(), open: fixed(&fixedSource{})}
	sink := new(consumertest.LogsSink)
	r := newEventsReceiver(receiverSettings(), shared, sink)
	require.NoError(t, r.Start(context.Background(), componenttest.NewNopHost()))
	require.NoError(t, r.Shutdown(context.Background()))
	assert.Zero(t, sink.LogRecordCount())
}

// statusHost records the component status events a receiver reports.
type statusHost struct {
	component.Host
	events []*componentstatus.Event
}

func (h *statusHost) Report(e *componentstatus.Event) { h.events = append(h.events, e) }

func TestFailingScrapesReportDegradedStatus(t *testing.T) {
	src := &fixedSource{devices: []hpu.Device{{Index: 0, UUID: "u0", Err: errors.New("HLML_ERROR_AIP_IS_LOST")}}}
	s := newTestScraper(simulatorConfig(), time.Now, fixed(src))
	host := &statusHost{Host: componenttest.NewNopHost()}
	require.NoError(t, s.start(context.Background(), host))
	defer func() { require.NoError(t, s.shutdown(context.Background())) }()

	_, err := s.scrape(context.Background())
	require.Error(t, err)
	require.Len(t, host.events, 1)
	assert.Equal(t, componentstatus.StatusRecoverableError, host.events[0].Status())
	assert.ErrorContains(t, host.events[0].Err(), "AIP_IS_LOST")

	src.devices[0].Err = nil
	_, err = s.scrape(context.Background())
	require.NoError(t, err)
	require.Len(t, host.events, 2)
	assert.Equal(t, componentstatus.StatusOK, host.events[1].Status(), "recovery is reported")

	_, err = s.scrape(context.Background())
	require.NoError(t, err)
	assert.Len(t, host.events, 2, "a healthy receiver does not repeat itself")
}
