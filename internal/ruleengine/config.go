package ruleengine // import "github.com/otelcol-gaudi/otelcol-gaudi/internal/ruleengine"

import (
	"errors"
	"fmt"
	"net/url"
	"slices"
	"time"

	"github.com/open-telemetry/opentelemetry-collector-contrib/pkg/resourcetotelemetry"
)

// Config configures the engine. Defaults (DefaultConfig) follow Prometheus' own (evaluation_interval 1m,
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

	// Limits bound what the engine accepts and keeps.
	Limits LimitsConfig `mapstructure:"limits"`

	// Translation must match the prometheus exporter's settings so that names in rules match.
	Translation TranslationConfig `mapstructure:"translation"`

	// AlertsMetric controls the ALERTS series (AlertsMetrics).
	AlertsMetric bool `mapstructure:"alerts_metric"`
	// AlertStateAttributes adds alert.state and alert.names to the data points an active alert is about.
	// Off by default: new attributes change the identity of the exported series.
	AlertStateAttributes bool `mapstructure:"alert_state_attributes"`

	// OutageTolerance and ForGracePeriod are Prometheus' --rules.alert.for-outage-tolerance and
	// --rules.alert.for-grace-period, applied when state is restored.
	OutageTolerance time.Duration `mapstructure:"for_outage_tolerance"`
	ForGracePeriod  time.Duration `mapstructure:"for_grace_period"`

	// parsed memoises the rule files Check parsed, so that New does not read them again.
	parsed *ruleFiles
}

// LimitsConfig bounds memory and what any one sender can take of it.
type LimitsConfig struct {
	// MaxSeries bounds the input series kept, from all senders.
	MaxSeries int `mapstructure:"max_series"`
	// MaxSeriesPerSender bounds the series of one sender: one resource identity from one client.
	// 0 is a tenth of MaxSeries.
	MaxSeriesPerSender int `mapstructure:"max_series_per_sender"`
	// MaxSeriesPerClient bounds the series of all senders from one client address together, so that a
	// client making up resource identities cannot take the clients' whole share. 0 is a quarter of
	// that share (MaxSeries - ReservedLocalSeries), and at least MaxSeriesPerSender.
	MaxSeriesPerClient int `mapstructure:"max_series_per_client"`
	// ReservedLocalSeries of MaxSeries are kept for the collector's own receivers: senders that reach the
	// engine over the network (OTLP clients) together hold at most MaxSeries - ReservedLocalSeries.
	// 0 is a fifth of MaxSeries.
	ReservedLocalSeries int `mapstructure:"reserved_local_series"`
	// MaxSamplesPerSeries bounds the samples one series keeps within Retention.
	MaxSamplesPerSeries int `mapstructure:"max_samples_per_series"`
	// Retention is how far back samples are kept; 0 derives it from the rules (longest range,
	// offset and lookback, plus two evaluation intervals). A value shorter than the rules need is an error.
	Retention time.Duration `mapstructure:"retention"`
	// MaxCatchUpEvaluations bounds how many missed evaluations are replayed when time jumps forward.
	MaxCatchUpEvaluations int `mapstructure:"max_catch_up_evaluations"`
	// MaxFutureSkew is how far past the wall clock a point's timestamp may be; later points are refused.
	MaxFutureSkew time.Duration `mapstructure:"max_future_skew"`
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
}

// Bounds of the settings: beyond them a value is a typo or an attack on the collector, not a choice.
// Intervals below a second would evaluate faster than any scrape; the upper bounds keep one
// evaluation's catch-up, retention and memory within what a collector can hold.
const (
	minInterval        = time.Second
	maxInterval        = 24 * time.Hour
	maxLookbackDelta   = 24 * time.Hour
	maxQueryTimeout    = time.Hour
	maxQuerySamples    = 1_000_000_000
	maxSeriesBound     = 10_000_000
	maxSamplesBound    = 1_000_000
	maxRetention       = 31 * 24 * time.Hour
	maxCatchUpBound    = 100_000
	maxFutureSkewBound = time.Hour
	maxOutageTolerance = 31 * 24 * time.Hour
	maxForGracePeriod  = 24 * time.Hour
)

// DefaultConfig returns the defaults; RuleFiles is left empty.
func DefaultConfig() Config {
	return Config{
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
			MaxFutureSkew:         time.Minute,
		},
	}
}

// Check validates every setting against its bounds and parses the rule files, so that `otelcol
// validate` reports bad rules. The parsed files are kept for New.
func (cfg *Config) Check() error {
	var errs []error
	if len(cfg.RuleFiles) == 0 {
		errs = append(errs, errors.New("rule_files: at least one rule file is required"))
	}
	durations := []struct {
		key      string
		v        time.Duration
		min, max time.Duration
	}{
		{"evaluation_interval", cfg.EvaluationInterval, minInterval, maxInterval},
		{"lookback_delta", cfg.LookbackDelta, time.Second, maxLookbackDelta},
		{"query_timeout", cfg.QueryTimeout, time.Second, maxQueryTimeout},
		{"limits::max_future_skew", cfg.Limits.MaxFutureSkew, 0, maxFutureSkewBound},
		{"for_outage_tolerance", cfg.OutageTolerance, 0, maxOutageTolerance},
		{"for_grace_period", cfg.ForGracePeriod, 0, maxForGracePeriod},
	}
	for _, d := range durations {
		if d.v < d.min || d.v > d.max {
			errs = append(errs, fmt.Errorf("%s must be between %s and %s, got %s", d.key, d.min, d.max, d.v))
		}
	}
	if r := cfg.Limits.Retention; r != 0 && (r < time.Second || r > maxRetention) {
		errs = append(errs, fmt.Errorf("limits::retention must be 0 (derived from the rules) or between 1s and %s, got %s", maxRetention, r))
	}
	l := cfg.Limits
	// The budgets within max_series are bounded by it; by its own bound when it is out of bounds itself.
	seriesCap := l.MaxSeries
	if seriesCap < 1 || seriesCap > maxSeriesBound {
		seriesCap = maxSeriesBound
	}
	sizes := []struct {
		key      string
		v        int
		min, max int
	}{
		{"max_query_samples", cfg.MaxQuerySamples, 1, maxQuerySamples},
		{"limits::max_series", l.MaxSeries, 1, maxSeriesBound},
		{"limits::max_series_per_sender", l.MaxSeriesPerSender, 0, seriesCap},
		{"limits::max_series_per_client", l.MaxSeriesPerClient, 0, seriesCap},
		{"limits::reserved_local_series", l.ReservedLocalSeries, 0, seriesCap - 1},
		{"limits::max_samples_per_series", l.MaxSamplesPerSeries, 2, maxSamplesBound},
		{"limits::max_catch_up_evaluations", l.MaxCatchUpEvaluations, 1, maxCatchUpBound},
	}
	for _, s := range sizes {
		if s.v < s.min || s.v > s.max {
			errs = append(errs, fmt.Errorf("%s must be between %d and %d, got %d", s.key, s.min, s.max, s.v))
		}
	}
	if cfg.ExternalURL != "" {
		if _, err := url.Parse(cfg.ExternalURL); err != nil {
			errs = append(errs, fmt.Errorf("external_url: %w", err))
		}
	}
	if err := cfg.Translation.validate(); err != nil {
		errs = append(errs, err)
	}
	if len(errs) > 0 {
		return errors.Join(errs...)
	}
	rf, err := parseRuleFiles(cfg.RuleFiles)
	if err != nil {
		return err
	}
	if _, err := resolveRetention(cfg, rf); err != nil {
		return err
	}
	cfg.parsed = rf
	return nil
}

// ruleFiles returns the files Check parsed, or parses them when the list changed since (or Check was
// not called).
func (cfg *Config) ruleFiles() (*ruleFiles, error) {
	if cfg.parsed != nil && slices.Equal(cfg.parsed.files, cfg.RuleFiles) {
		return cfg.parsed, nil
	}
	if err := cfg.Check(); err != nil {
		return nil, err
	}
	return cfg.parsed, nil
}

// perSender is max_series_per_sender, or its default: a tenth of max_series.
func (l LimitsConfig) perSender() int {
	if l.MaxSeriesPerSender > 0 {
		return l.MaxSeriesPerSender
	}
	return max(l.MaxSeries/10, 1)
}

// perClient is max_series_per_client, or its default: a quarter of the clients' share of max_series,
// and no less than one sender's budget.
func (l LimitsConfig) perClient() int {
	if l.MaxSeriesPerClient > 0 {
		return l.MaxSeriesPerClient
	}
	return max((l.MaxSeries-l.reservedLocal())/4, l.perSender())
}

// reservedLocal is reserved_local_series, or its default: a fifth of max_series.
func (l LimitsConfig) reservedLocal() int {
	if l.ReservedLocalSeries > 0 {
		return l.ReservedLocalSeries
	}
	return l.MaxSeries / 5
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

// resolveRetention keeps what the rules read: their longest lookbehind plus the lookback delta plus two
// evaluation intervals of slack for late data.
func resolveRetention(cfg *Config, rf *ruleFiles) (time.Duration, error) {
	interval := max(cfg.EvaluationInterval, rf.longestInterval)
	need := rf.lookbehind + cfg.LookbackDelta + 2*interval
	if cfg.Limits.Retention == 0 {
		if need > maxRetention {
			return 0, fmt.Errorf("the rules read %s back (longest range and offset %s + lookback_delta %s + 2 × evaluation interval %s), more than the %s a collector keeps",
				need, rf.lookbehind, cfg.LookbackDelta, interval, maxRetention)
		}
		return need, nil
	}
	if cfg.Limits.Retention < need {
		return 0, fmt.Errorf("limits::retention %s is shorter than the %s the rules read (longest range and offset %s + lookback_delta %s + 2 × evaluation interval %s)",
			cfg.Limits.Retention, need, rf.lookbehind, cfg.LookbackDelta, interval)
	}
	return cfg.Limits.Retention, nil
}
