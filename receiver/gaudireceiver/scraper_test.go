package gaudireceiver

import (
	"context"
	"errors"
	"flag"
	"path/filepath"
	"testing"
	"time"

	"github.com/open-telemetry/opentelemetry-collector-contrib/pkg/golden"
	"github.com/open-telemetry/opentelemetry-collector-contrib/pkg/pdatatest/pmetrictest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componentstatus"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/receiver"
	"go.opentelemetry.io/collector/receiver/receivertest"
	"go.opentelemetry.io/collector/scraper/scrapererror"

	"github.com/otelcol-gaudi/otelcol-gaudi/receiver/gaudireceiver/internal/hpu"
	"github.com/otelcol-gaudi/otelcol-gaudi/receiver/gaudireceiver/internal/metadata"
	"github.com/otelcol-gaudi/otelcol-gaudi/receiver/gaudireceiver/internal/simulator"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/scraper and the README's source matrix")

var testStart = time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)

// fakeClock is the scraper's clock in tests, so timestamps (and the simulator) are deterministic.
type fakeClock struct{ t time.Time }

func (c *fakeClock) now() time.Time { return c.t }

func simulatorConfig(faults ...simulator.Fault) *Config {
	cfg := createDefaultConfig().(*Config)
	cfg.Source = SourceSimulator
	cfg.Simulator.Faults = faults
	cfg.HostName = "gaudi-node-01"
	return cfg
}

func startScraper(t *testing.T, cfg *Config) (*gaudiScraper, *fakeClock) {
	t.Helper()
	clock := &fakeClock{t: testStart}
	s := newTestScraper(cfg, clock.now, openSource)
	require.NoError(t, s.start(context.Background(), componenttest.NewNopHost()))
	t.Cleanup(func() { require.NoError(t, s.shutdown(context.Background())) })
	return s, clock
}

func receiverSettings() receiver.Settings { return receivertest.NewNopSettings(metadata.Type) }

// newTestScraper builds a scraper whose source comes from open, on the given clock.
func newTestScraper(cfg *Config, now func() time.Time, open func(context.Context, *Config, func() time.Time, component.TelemetrySettings) (hpu.Source, error)) *gaudiScraper {
	set := receiverSettings()
	return newGaudiScraper(cfg, set, now, &sharedSource{cfg: cfg, now: now, tel: set.TelemetrySettings, open: open})
}

// fixed opens src whatever the config says.
func fixed(src hpu.Source) func(context.Context, *Config, func() time.Time, component.TelemetrySettings) (hpu.Source, error) {
	return func(context.Context, *Config, func() time.Time, component.TelemetrySettings) (hpu.Source, error) {
		return src, nil
	}
}

func compareGolden(t *testing.T, name string, actual pmetric.Metrics) {
	t.Helper()
	path := filepath.Join("testdata", "scraper", name)
	if *update {
		require.NoError(t, golden.WriteMetricsToFile(path, actual))
	}
	expected, err := golden.ReadMetrics(path)
	require.NoError(t, err)
	require.NoError(t, pmetrictest.CompareMetrics(expected, actual,
		pmetrictest.IgnoreStartTimestamp(), pmetrictest.IgnoreTimestamp(),
		pmetrictest.IgnoreMetricsOrder(), pmetrictest.IgnoreMetricDataPointsOrder()))
}

func TestScrapeGolden(t *testing.T) {
	s, clock := startScraper(t, simulatorConfig())
	clock.t = testStart.Add(30 * time.Second)
	md, err := s.scrape(context.Background())
	require.NoError(t, err)
	compareGolden(t, "expected.yaml", md)
}

func TestScrapeFailedDeviceKeepsTheOthers(t *testing.T) {
	cfg := simulatorConfig(simulator.Fault{Device: 5, Kind: simulator.FaultFail})
	cfg.Metrics.HpuNicLinkUp.Enabled = false // keeps the golden file short; NIC ports are in expected.yaml
	s, clock := startScraper(t, cfg)
	clock.t = testStart.Add(30 * time.Second)
	md, err := s.scrape(context.Background())

	require.Error(t, err)
	var partial scrapererror.PartialScrapeError
	require.True(t, errors.As(err, &partial), "a failed device is a partial error, so the others are delivered")
	assert.Equal(t, 1, partial.Failed)
	assert.Contains(t, err.Error(), simulator.ErrDeviceLost.Error())
	assert.Contains(t, err.Error(), "hpu 5 (")
	compareGolden(t, "device_failed.yaml", md)

	_, err = s.scrape(context.Background())
	require.Error(t, err)
	md, _ = s.scrape(context.Background())
	errorsTotal := findMetric(t, md, "hpu.scrape.errors").Sum().DataPoints().At(0).IntValue()
	assert.Equal(t, int64(3), errorsTotal, "the error counter is cumulative")
}

func TestScrapeOverheatingDevice(t *testing.T) {
	s, clock := startScraper(t, simulatorConfig(simulator.Fault{Device: 3, Kind: simulator.FaultOverheat, After: time.Minute}))
	clock.t = testStart.Add(3 * time.Minute)
	md, err := s.scrape(context.Background())
	require.NoError(t, err)
	temps := findMetric(t, md, "hpu.temperature").Gauge().DataPoints()
	hot := 0
	for i := range temps.Len() {
		dp := temps.At(i)
		sensor, _ := dp.Attributes().Get("hpu.sensor")
		index, _ := dp.Attributes().Get("hpu.index")
		if sensor.Str() == "on_chip" && dp.DoubleValue() > 85 {
			hot++
			assert.Equal(t, int64(3), index.Int())
		}
	}
	assert.Equal(t, 1, hot, "exactly the overheating device is above 85 °C")
}

func TestDisabledMetricIsNotEmitted(t *testing.T) {
	cfg := simulatorConfig()
	cfg.Metrics.HpuNicLinkUp.Enabled = false
	s, clock := startScraper(t, cfg)
	clock.t = testStart.Add(time.Second)
	md, err := s.scrape(context.Background())
	require.NoError(t, err)
	assert.Nil(t, lookupMetric(md, "hpu.nic.link.up"))
	assert.NotNil(t, lookupMetric(md, "hpu.power"))
}

func TestMissingBackendsFailAtStart(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		source SourceKind
		edit   func(*Config)
		want   string
	}{
		{SourceHLML, func(c *Config) { c.HLML.LibraryPath = filepath.Join(dir, "libhlml.so") }, filepath.Join(dir, "libhlml.so")},
		{SourceHLSMI, func(c *Config) { c.HLSMI.Path = filepath.Join(dir, "hl-smi") }, filepath.Join(dir, "hl-smi")},
		{SourceSysfs, func(c *Config) { c.Sysfs.Root = dir }, "no accel devices"},
	}
	for _, tt := range tests {
		t.Run(string(tt.source), func(t *testing.T) {
			cfg := createDefaultConfig().(*Config)
			cfg.Source = tt.source
			tt.edit(cfg)
			s := newTestScraper(cfg, time.Now, openSource)
			err := s.start(context.Background(), componenttest.NewNopHost())
			require.Error(t, err)
			assert.Contains(t, err.Error(), `starting source "`+string(tt.source)+`"`)
			assert.Contains(t, err.Error(), tt.want)
			assert.NoError(t, s.shutdown(context.Background()))
		})
	}
}

func TestAutoWithoutBackendKeepsRunningWithZeroDevices(t *testing.T) {
	dir := t.TempDir()
	cfg := createDefaultConfig().(*Config)
	cfg.HLML.LibraryPath = filepath.Join(dir, "libhlml.so")
	cfg.HLSMI.Path = filepath.Join(dir, "hl-smi")
	cfg.Sysfs.Root = dir
	s := newTestScraper(cfg, time.Now, openSource)
	host := &statusHost{Host: componenttest.NewNopHost()}
	require.NoError(t, s.start(context.Background(), host), "the collector keeps running")
	defer func() { require.NoError(t, s.shutdown(context.Background())) }()

	md, err := s.scrape(context.Background())
	require.Error(t, err)
	for _, want := range []string{"source auto found no HPU telemetry backend", "hlml:", "hlsmi:", "sysfs: no accel devices"} {
		assert.Contains(t, err.Error(), want)
	}
	devices := findMetric(t, md, "hpu.devices").Gauge().DataPoints().At(0)
	assert.Equal(t, int64(0), devices.IntValue(), "zero devices is reported as a metric")
	source, _ := devices.Attributes().Get("hpu.source")
	assert.Equal(t, "none", source.Str())
	assert.Equal(t, int64(1), findMetric(t, md, "hpu.scrape.errors").Sum().DataPoints().At(0).IntValue())
	require.NotEmpty(t, host.events)
	assert.Equal(t, componentstatus.StatusRecoverableError, host.events[0].Status(), "a status-aware health check sees the receiver degraded")
}

func TestEveryDeviceSeriesCarriesIdentityOnly(t *testing.T) {
	s, clock := startScraper(t, simulatorConfig())
	clock.t = testStart.Add(time.Second)
	md, err := s.scrape(context.Background())
	require.NoError(t, err)
	descriptive := []string{"hpu.model", "hpu.serial", "hpu.module.id", "hpu.pci.bus_id", "hpu.driver.version", "hpu.firmware.version"}
	metrics := md.ResourceMetrics().At(0).ScopeMetrics().At(0).Metrics()
	for i := range metrics.Len() {
		m := metrics.At(i)
		forEachAttributes(m, func(attrs pcommon.Map) {
			if m.Name() == "hpu.scrape.duration" || m.Name() == "hpu.devices" || m.Name() == "hpu.scrape.errors" {
				_, ok := attrs.Get("hpu.source")
				assert.True(t, ok, m.Name())
				return
			}
			_, hasIndex := attrs.Get("hpu.index")
			_, hasUUID := attrs.Get("hpu.uuid")
			assert.True(t, hasIndex && hasUUID, "%s carries the device identity", m.Name())
			if m.Name() == "hpu.info" {
				return
			}
			for _, key := range descriptive {
				_, ok := attrs.Get(key)
				assert.False(t, ok, "%s must not carry %s: descriptive properties live on hpu.info", m.Name(), key)
			}
		})
	}
}

func forEachAttributes(m pmetric.Metric, f func(pcommon.Map)) {
	switch m.Type() {
	case pmetric.MetricTypeGauge:
		for i := range m.Gauge().DataPoints().Len() {
			f(m.Gauge().DataPoints().At(i).Attributes())
		}
	case pmetric.MetricTypeSum:
		for i := range m.Sum().DataPoints().Len() {
			f(m.Sum().DataPoints().At(i).Attributes())
		}
	}
}

func lookupMetric(md pmetric.Metrics, name string) *pmetric.Metric {
	for i := range md.ResourceMetrics().Len() {
		sms := md.ResourceMetrics().At(i).ScopeMetrics()
		for j := range sms.Len() {
			ms := sms.At(j).Metrics()
			for k := range ms.Len() {
				if m := ms.At(k); m.Name() == name {
					return &m
				}
			}
		}
	}
	return nil
}

func findMetric(t *testing.T, md pmetric.Metrics, name string) pmetric.Metric {
	t.Helper()
	m := lookupMetric(md, name)
	require.NotNil(t, m, "metric %s not emitted", name)
	return *m
}
