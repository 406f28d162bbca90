package thresholdconnector

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/confmap/confmaptest"

	"github.com/otelcol-gaudi/otelcol-gaudi/connector/thresholdconnector/internal/metadata"
)

func TestLoadConfig(t *testing.T) {
	cm, err := confmaptest.LoadConf(filepath.Join("testdata", "config.yaml"))
	require.NoError(t, err)
	storageID := component.MustNewID("file_storage")
	tests := []struct {
		name    string
		want    func(*Config)
		wantErr []string
	}{
		{name: "", want: func(c *Config) { c.RuleFiles = []string{"testdata/semantics.rules.yaml"} }},
		{name: "full", want: func(c *Config) {
			c.RuleFiles = []string{"testdata/semantics.rules.yaml"}
			c.EvaluationInterval = 15 * time.Second
			c.LookbackDelta = 3 * time.Minute
			c.QueryTimeout = 10 * time.Second
			c.MaxQuerySamples = 1_000_000
			c.ExternalLabels = map[string]string{"cluster": "gaudi-a"}
			c.ExternalURL = "http://prometheus.example:9090"
			c.Limits.MaxSeries = 20000
			c.Limits.MaxSeriesPerSender = 1000
			c.Limits.MaxSeriesPerClient = 3000
			c.Limits.ReservedLocalSeries = 4000
			c.Limits.MaxSamplesPerSeries = 500
			c.Limits.Retention = 2 * time.Hour
			c.Limits.MaxCatchUpEvaluations = 100
			c.Limits.MaxFutureSkew = 30 * time.Second
			c.Translation.WithoutScopeInfo = true
			c.Translation.ResourceToTelemetryConversion = true
			c.AlertsMetric = false
			c.AlertStateAttributes = true
			c.Storage = &storageID
			c.OutageTolerance = 30 * time.Minute
			c.ForGracePeriod = time.Minute
			c.IncludePending = true
		}},
		{name: "constant_labels", want: func(c *Config) {
			c.RuleFiles = []string{"testdata/semantics.rules.yaml"}
			c.Translation.ResourceConstantLabels.Included = []string{"*"}
			c.Translation.ResourceConstantLabels.Excluded = []string{"service.name", "service.namespace", "service.instance.id"}
		}},
		{name: "both_conversions", wantErr: []string{
			"translation: set resource_to_telemetry_conversion or resource_constant_labels, as the prometheus exporter has, not both",
		}},
		{name: "constant_labels_enabled", wantErr: []string{
			"translation::resource_constant_labels: enabled and exclude_service_attributes are not supported",
		}},
		{name: "invalid_rule", wantErr: []string{
			`invalid rule file: testdata/invalid.rules.yaml: 7:15: group "hpu", rule 2, "HPUPowerAtLimit": could not parse expression: 1:32: parse error`,
		}},
		{name: "no_rules", wantErr: []string{"rule_files: at least one rule file is required"}},
		// Every duration and size has bounds; values beyond them are refused, each with its own message.
		{name: "absurd", wantErr: []string{
			"evaluation_interval must be between 1s and 24h0m0s, got 1ns",
			"lookback_delta must be between 1s and 24h0m0s, got 0s",
			"query_timeout must be between 1s and 1h0m0s, got 1000h0m0s",
			"limits::max_future_skew must be between 0s and 1h0m0s, got 10h0m0s",
			"for_outage_tolerance must be between 0s and 744h0m0s, got -1s",
			"for_grace_period must be between 0s and 24h0m0s, got 25h0m0s",
			"max_query_samples must be between 1 and 1000000000, got 2000000000",
			"limits::max_series_per_sender must be between 0 and 10000000, got -1",
			"limits::max_series_per_client must be between 0 and 10000000, got 10000001",
			"limits::reserved_local_series must be between 0 and 9999999, got -1",
			"limits::retention must be 0 (derived from the rules) or between 1s and 744h0m0s, got 1000h0m0s",
			"limits::max_series must be between 1 and 10000000, got 0",
			"limits::max_samples_per_series must be between 2 and 1000000, got 1",
			"limits::max_catch_up_evaluations must be between 1 and 100000, got 10000000",
		}},
		{name: "short_retention", wantErr: []string{
			"limits::retention 1m0s is shorter than the 7m0s the rules read (longest range and offset 0s + lookback_delta 5m0s + 2 × evaluation interval 1m0s)",
		}},
	}
	for _, tt := range tests {
		id := component.NewIDWithName(metadata.Type, tt.name)
		t.Run(id.String(), func(t *testing.T) {
			cfg := createDefaultConfig().(*Config)
			sub, err := cm.Sub(id.String())
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
			require.NoError(t, want.Validate())
			assert.Equal(t, want, cfg)
		})
	}
}

// TestRuleFilesParsedOnce: the connector evaluates the rules that Validate parsed; it does not read the
// files again (here they are gone by then).
func TestRuleFilesParsedOnce(t *testing.T) {
	dir := t.TempDir()
	rules, err := os.ReadFile("testdata/semantics.rules.yaml")
	require.NoError(t, err)
	file := filepath.Join(dir, "rules.yaml")
	require.NoError(t, os.WriteFile(file, rules, 0o600))
	cfg := createDefaultConfig().(*Config)
	cfg.RuleFiles = []string{file}
	require.NoError(t, cfg.Validate())
	require.NoError(t, os.Remove(file))

	p := newPipeline(t, cfg, true, true)
	p.consume(t, temperature(epoch, 91))
	assert.NotEmpty(t, p.alerts(), "HPUHot fires at once: the rules were loaded")
}
