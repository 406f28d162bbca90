package thresholdprocessor // import "github.com/otelcol-gaudi/otelcol-gaudi/processor/thresholdprocessor"

import (
	"errors"
	"fmt"
	"time"

	"github.com/open-telemetry/opentelemetry-collector-contrib/pkg/resourcetotelemetry"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/confmap"
)

// Config configures the threshold processor. Defaults follow Prometheus' own (evaluation_interval 1m,
// lookback_delta 5m, query timeout 2m) so that the same rule file behaves the same in both.
type Config struct {
	// RuleFiles are Prometheus rule files (alerting and recording rules), used unchanged.
	RuleFiles []string `mapstructure:"rule_files"`
	// EvaluationInterval is the interval of rule groups that do not set their own `interval`.
	EvaluationInterval time.Duration `mapstructure:"evaluation_interval"`
	// LookbackDelta is PromQL's staleness window for instant vectors.
	LookbackDelta time.Duration `mapstructure:"lookback_delta"`
	// QueryTimeout bounds one rule's query.
	QueryTimeout time.Duration `mapstructure:"query_timeout"`
	// MaxQuerySamples bounds the samples one query may load (PromQL's --query.max-samples).
	MaxQuerySamples int `mapstructure:"max_query_samples"`
	// ExternalLabels are available to templates as $externalLabels, as in Prometheus' global config.
	ExternalLabels map[string]string `mapstructure:"external_labels"`
	// ExternalURL is available to templates as $externalURL.
	ExternalURL string `mapstructure:"external_url"`

	// Limits bound the in-memory sample store.
	Limits LimitsConfig `mapstructure:"limits"`

	// Translation must match the prometheus exporter's settings so that names in rules match.
	Translation TranslationConfig `mapstructure:"translation"`

	// AlertsMetric controls the ALERTS series added to the metric stream.
	AlertsMetric bool `mapstructure:"alerts_metric"`
	// AlertStateAttributes adds alert.state and alert.names to the data points an active alert is about.
	// Off by default: new attributes change the identity of the exported series.
	AlertStateAttributes bool `mapstructure:"alert_state_attributes"`

	// Storage names a storage extension (e.g. file_storage) that keeps pending and firing progress
	// across restarts. Empty disables persistence.
	Storage *component.ID `mapstructure:"storage"`
	// OutageTolerance and ForGracePeriod are Prometheus' --rules.alert.for-outage-tolerance and
	// --rules.alert.for-grace-period, applied when state is restored.
	OutageTolerance time.Duration `mapstructure:"for_outage_tolerance"`
	ForGracePeriod  time.Duration `mapstructure:"for_grace_period"`

	// Events names a threshold_bus extension on which alert transitions are published for
	// threshold_events connectors. Empty disables events.
	Events *component.ID `mapstructure:"events"`

	_ struct{}
}

// LimitsConfig bounds memory: at most MaxSeries series, each holding at most MaxSamplesPerSeries samples
// over Retention.
type LimitsConfig struct {
	MaxSeries           int `mapstructure:"max_series"`
	MaxSamplesPerSeries int `mapstructure:"max_samples_per_series"`
	// Retention is how far back samples are kept; 0 derives it from the rules (longest range,
	// offset and lookback, plus two evaluation intervals). A value shorter than the rules need is an error.
	Retention time.Duration `mapstructure:"retention"`
	// MaxCatchUpEvaluations bounds how many missed evaluations are replayed when time jumps forward.
	MaxCatchUpEvaluations int `mapstructure:"max_catch_up_evaluations"`
	_                     struct{}
}

// TranslationConfig mirrors the prometheus exporter options that change metric and label names.
type TranslationConfig struct {
	// WithoutScopeInfo mirrors the exporter's without_scope_info: no otel_scope_* labels.
	WithoutScopeInfo bool `mapstructure:"without_scope_info"`
	// ResourceToTelemetryConversion mirrors the exporter's resource_to_telemetry_conversion.enabled.
	ResourceToTelemetryConversion bool `mapstructure:"resource_to_telemetry_conversion"`
	// ResourceConstantLabels mirrors the exporter's resource_constant_labels (included and excluded
	// patterns of resource attribute keys), with the exporter's own type and matching.
	ResourceConstantLabels resourcetotelemetry.Settings `mapstructure:"resource_constant_labels"`
	_                      struct{}
}

// convertsResource reports whether resource attributes become labels at all.
func (tc TranslationConfig) convertsResource() bool {
	return tc.ResourceToTelemetryConversion || !tc.ResourceConstantLabels.IsEmpty()
}

func (tc TranslationConfig) validate() error {
	rcl := tc.ResourceConstantLabels
	switch {
	case rcl.Enabled || rcl.ExcludeServiceAttributes:
		return errors.New("translation::resource_constant_labels: enabled and exclude_service_attributes are not supported; use included and excluded, as the prometheus exporter does")
	case tc.ResourceToTelemetryConversion && !rcl.IsEmpty():
		return errors.New("translation: set resource_to_telemetry_conversion or resource_constant_labels, as the prometheus exporter has, not both")
	}
	if err := rcl.Validate(); err != nil {
		return fmt.Errorf("translation::resource_constant_labels: %w", err)
	}
	return nil
}

var _ confmap.Validator = (*Config)(nil)

func createDefaultConfig() component.Config {
	return &Config{
		EvaluationInterval: time.Minute,
		LookbackDelta:      5 * time.Minute,
		QueryTimeout:       2 * time.Minute,
		MaxQuerySamples:    50_000_000,
		AlertsMetric:       true,
		OutageTolerance:    time.Hour,
		// Prometheus' 10m default skips restoring any rule whose `for` is shorter, i.e. all of ours.
		ForGracePeriod: 0,
		Limits: LimitsConfig{
			MaxSeries:             50_000,
			MaxSamplesPerSeries:   1_000,
			MaxCatchUpEvaluations: 1_000,
		},
	}
}

// Validate checks the settings and that every rule file parses, so `otelcol validate` reports bad rules.
func (cfg *Config) Validate() error {
	var errs []error
	if len(cfg.RuleFiles) == 0 {
		errs = append(errs, errors.New("rule_files: at least one rule file is required"))
	}
	if cfg.EvaluationInterval <= 0 {
		errs = append(errs, fmt.Errorf("evaluation_interval must be positive, got %s", cfg.EvaluationInterval))
	}
	if cfg.LookbackDelta <= 0 {
		errs = append(errs, fmt.Errorf("lookback_delta must be positive, got %s", cfg.LookbackDelta))
	}
	if cfg.QueryTimeout <= 0 {
		errs = append(errs, fmt.Errorf("query_timeout must be positive, got %s", cfg.QueryTimeout))
	}
	if cfg.MaxQuerySamples <= 0 {
		errs = append(errs, fmt.Errorf("max_query_samples must be positive, got %d", cfg.MaxQuerySamples))
	}
	if cfg.Limits.MaxSeries <= 0 {
		errs = append(errs, fmt.Errorf("limits.max_series must be positive, got %d", cfg.Limits.MaxSeries))
	}
	if cfg.Limits.MaxSamplesPerSeries < 2 {
		errs = append(errs, fmt.Errorf("limits.max_samples_per_series must be at least 2, got %d", cfg.Limits.MaxSamplesPerSeries))
	}
	if cfg.Limits.Retention < 0 {
		errs = append(errs, fmt.Errorf("limits.retention must not be negative, got %s", cfg.Limits.Retention))
	}
	if cfg.Limits.MaxCatchUpEvaluations <= 0 {
		errs = append(errs, fmt.Errorf("limits.max_catch_up_evaluations must be positive, got %d", cfg.Limits.MaxCatchUpEvaluations))
	}
	if err := cfg.Translation.validate(); err != nil {
		errs = append(errs, err)
	}
	if cfg.OutageTolerance < 0 || cfg.ForGracePeriod < 0 {
		errs = append(errs, errors.New("for_outage_tolerance and for_grace_period must not be negative"))
	}
	if len(errs) == 0 {
		if _, err := loadRules(cfg); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}
