package thresholdprocessor

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/confmap/confmaptest"

	"github.com/otelcol-gaudi/otelcol-gaudi/processor/thresholdprocessor/internal/metadata"
)

func TestLoadConfig(t *testing.T) {
	cm, err := confmaptest.LoadConf(filepath.Join("testdata", "config.yaml"))
	require.NoError(t, err)
	storageID := component.MustNewID("file_storage")
	busID := component.MustNewID("threshold_bus")
	tests := []struct {
		id      component.ID
		want    func(*Config)
		wantErr []string
	}{
		{id: component.NewID(metadata.Type), want: func(c *Config) { c.RuleFiles = []string{"testdata/semantics.rules.yaml"} }},
		{id: component.NewIDWithName(metadata.Type, "full"), want: func(c *Config) {
			c.RuleFiles = []string{"testdata/semantics.rules.yaml", "testdata/training.rules.yaml"}
			c.EvaluationInterval = 15 * time.Second
			c.LookbackDelta = 3 * time.Minute
			c.QueryTimeout = 10 * time.Second
			c.MaxQuerySamples = 1_000_000
			c.ExternalLabels = map[string]string{"cluster": "gaudi-a"}
			c.ExternalURL = "http://prometheus.example:9090"
			c.Limits = LimitsConfig{MaxSeries: 20000, MaxSamplesPerSeries: 500, Retention: 2 * time.Hour, MaxCatchUpEvaluations: 100}
			c.Translation = TranslationConfig{WithoutScopeInfo: true, ResourceToTelemetryConversion: true}
			c.AlertsMetric = false
			c.AlertStateAttributes = true
			c.Storage = &storageID
			c.OutageTolerance = 30 * time.Minute
			c.ForGracePeriod = time.Minute
			c.Events = &busID
		}},
		{id: component.NewIDWithName(metadata.Type, "constant_labels"), want: func(c *Config) {
			c.RuleFiles = []string{"testdata/semantics.rules.yaml"}
			c.Translation.ResourceConstantLabels.Included = []string{"*"}
			c.Translation.ResourceConstantLabels.Excluded = []string{"service.name", "service.namespace", "service.instance.id"}
		}},
		{id: component.NewIDWithName(metadata.Type, "both_conversions"), wantErr: []string{
			"translation: set resource_to_telemetry_conversion or resource_constant_labels, as the prometheus exporter has, not both",
		}},
		{id: component.NewIDWithName(metadata.Type, "constant_labels_enabled"), wantErr: []string{
			"translation::resource_constant_labels: enabled and exclude_service_attributes are not supported",
		}},
		{id: component.NewIDWithName(metadata.Type, "invalid_rule"), wantErr: []string{
			`invalid rule file: testdata/invalid.rules.yaml: 7:15: group "hpu", rule 2, "HPUPowerAtLimit": could not parse expression: 1:32: parse error`,
		}},
		{id: component.NewIDWithName(metadata.Type, "no_rules"), wantErr: []string{
			"rule_files: at least one rule file is required",
			"evaluation_interval must be positive, got 0s",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.id.String(), func(t *testing.T) {
			cfg := createDefaultConfig().(*Config)
			sub, err := cm.Sub(tt.id.String())
			require.NoError(t, err)
			require.NoError(t, sub.Unmarshal(cfg))
			err = confmap.Validate(cfg)
			if len(tt.wantErr) > 0 {
				require.Error(t, err)
				for _, w := range tt.wantErr {
					assert.Contains(t, err.Error(), w)
				}
				return
			}
			require.NoError(t, err)
			want := createDefaultConfig().(*Config)
			tt.want(want)
			assert.Equal(t, want, cfg)
		})
	}
}

func TestCreateFailsOnInvalidRulesAndShortRetention(t *testing.T) {
	cfg := testConfig("testdata/invalid.rules.yaml")
	_, err := newThresholdProcessor(cfg, component.NewID(metadata.Type), componentTelemetry(), nil)
	require.ErrorContains(t, err, `testdata/invalid.rules.yaml: 7:15: group "hpu", rule 2, "HPUPowerAtLimit"`)

	cfg = testConfig("testdata/training.rules.yaml")
	cfg.Limits.Retention = 10 * time.Minute
	_, err = newThresholdProcessor(cfg, component.NewID(metadata.Type), componentTelemetry(), nil)
	require.EqualError(t, err, "limits.retention 10m0s is shorter than the 1h5m30s the rules read (longest range and offset 1h0m0s + lookback_delta 5m0s + 2 × evaluation interval 15s)")
}
