package gaudireceiver

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/confmap/confmaptest"

	"github.com/otelcol-gaudi/otelcol-gaudi/receiver/gaudireceiver/internal/hlml"
	"github.com/otelcol-gaudi/otelcol-gaudi/receiver/gaudireceiver/internal/hpu"
	"github.com/otelcol-gaudi/otelcol-gaudi/receiver/gaudireceiver/internal/metadata"
	"github.com/otelcol-gaudi/otelcol-gaudi/receiver/gaudireceiver/internal/simulator"
)

func loadConfig(t *testing.T, name string) (*Config, error) {
	t.Helper()
	cm, err := confmaptest.LoadConf(filepath.Join("testdata", "config.yaml"))
	require.NoError(t, err)
	sub, err := cm.Sub(component.NewIDWithName(metadata.Type, name).String())
	require.NoError(t, err)
	cfg := createDefaultConfig().(*Config)
	require.NoError(t, sub.Unmarshal(cfg))
	return cfg, confmap.Validate(cfg)
}

func TestDefaultConfig(t *testing.T) {
	cfg, err := loadConfig(t, "")
	require.NoError(t, err)
	assert.Equal(t, 10*time.Second, cfg.CollectionInterval)
	assert.Equal(t, 5*time.Second, cfg.Timeout)
	assert.Equal(t, SourceAuto, cfg.Source)
	assert.Equal(t, simulator.Config{Devices: 8, Model: "gaudi3", Seed: 1, Load: simulator.LoadTraining}, cfg.Simulator)
	assert.Equal(t, metadata.NewDefaultMetricsBuilderConfig(), cfg.MetricsBuilderConfig)
	assert.True(t, cfg.Metrics.HpuUtilization.Enabled)
}

func TestSimulatorConfig(t *testing.T) {
	cfg, err := loadConfig(t, "simulator")
	require.NoError(t, err)
	assert.Equal(t, 2*time.Second, cfg.CollectionInterval)
	assert.Equal(t, SourceSimulator, cfg.Source)
	assert.Equal(t, "gaudi-node-07", cfg.HostName)
	assert.Equal(t, 4, cfg.Simulator.Devices)
	assert.Equal(t, "gaudi2", cfg.Simulator.Model)
	assert.Equal(t, int64(7), cfg.Simulator.Seed)
	assert.Equal(t, simulator.LoadIdle, cfg.Simulator.Load)
	require.Len(t, cfg.Simulator.Faults, 2)
	assert.Equal(t, simulator.FaultOverheat, cfg.Simulator.Faults[0].Kind)
	assert.Equal(t, 30*time.Second, cfg.Simulator.Faults[0].After)
	assert.Equal(t, 22, cfg.Simulator.Faults[1].Port)
	assert.Equal(t, 5*time.Minute, cfg.Simulator.Faults[1].Duration)
	assert.False(t, cfg.Metrics.HpuNicLinkUp.Enabled)
	assert.True(t, cfg.Metrics.HpuPower.Enabled)
}

func TestInvalidConfigs(t *testing.T) {
	tests := map[string]string{
		"bad_source":    `source must be one of [auto hlml hlsmi sysfs simulator], got "gpu"`,
		"bad_simulator": "simulator: devices must be between 1 and 64, got 0\nmodel must be one of [gaudi2 gaudi3], got \"gaudi9\"",
		"bad_sanity":    "sanity: temperature: min (150) must be below max (-40)\npower: limit_ratio must not be negative, got -1",
		"bad_interval":  `"collection_interval": requires positive value`,
		"bad_nic_counters": `nic_counters: ports must be "external" or "all", got "scale-out"` + "\n" +
			`stats: "bad\x01name" is not a counter name (printable ASCII, at most 64 bytes)`,
		"bad_hlml": `hlml: temperature_source must be one of [auto hwmon hlml], got "thermometer"` + "\n" +
			"slow_calls_every must not be negative, got -2\nbackoff: period must be positive when failures is set",
	}
	for name, want := range tests {
		t.Run(name, func(t *testing.T) {
			_, err := loadConfig(t, name)
			require.Error(t, err)
			assert.Contains(t, err.Error(), want)
		})
	}
}

func TestUnknownKeyRejected(t *testing.T) {
	cfg := createDefaultConfig().(*Config)
	err := confmap.NewFromStringMap(map[string]any{"sourse": "simulator"}).Unmarshal(cfg)
	assert.ErrorContains(t, err, "sourse")
}

func TestHLMLConfig(t *testing.T) {
	cfg, err := loadConfig(t, "hlml")
	require.NoError(t, err)
	assert.Equal(t, hlml.Config{
		LibraryPath: hlml.DefaultLibraryPath, TemperatureSource: hlml.TemperatureHwmon, SlowCallsEvery: 6,
		Backoff: hlml.BackoffConfig{Failures: 5, Period: time.Minute},
	}, cfg.HLML)
	assert.Equal(t, hpu.NICOptions{Counters: true, AllPorts: true, StatNames: []string{"pcs_link_restores"}}, cfg.nicOptions())
	cfg.Metrics.HpuNicIo.Enabled, cfg.Metrics.HpuNicPackets.Enabled = false, false
	cfg.Metrics.HpuNicErrors.Enabled, cfg.Metrics.HpuNicDropped.Enabled = false, false
	cfg.Metrics.HpuNicStat.Enabled = true
	assert.Equal(t, hpu.NICOptions{Stats: true, AllPorts: true, StatNames: []string{"pcs_link_restores"}}, cfg.nicOptions(),
		"the counters are read only for the metrics that are enabled")
}
