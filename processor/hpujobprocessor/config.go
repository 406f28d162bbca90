package hpujobprocessor // import "github.com/otelcol-gaudi/otelcol-gaudi/processor/hpujobprocessor"

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/confmap"
)

// gaudiReceiverScope is the instrumentation scope of the gaudi receiver's metrics.
const gaudiReceiverScope = "github.com/otelcol-gaudi/otelcol-gaudi/receiver/gaudireceiver"

// Config configures the hpu_job processor.
type Config struct {
	// HostName is the host that device metrics without a host.name resource attribute (the gaudi
	// receiver's) belong to. Empty means the OS hostname, which is what OpenTelemetry SDKs report as
	// host.name on the same machine.
	HostName string `mapstructure:"host_name"`
	// Expiration is how long a job's claim on a device, and a device's identity learned from hpu.info,
	// stay valid without being seen again.
	Expiration time.Duration `mapstructure:"expiration"`
	// MaxMappings bounds the job-to-device mappings held at once, over all hosts.
	MaxMappings int `mapstructure:"max_mappings"`
	// MaxDevices bounds the device identities (index, module id, uuid) held at once, over all hosts.
	MaxDevices int `mapstructure:"max_devices"`
	// ScopeNames selects the device metrics to learn from and annotate, by instrumentation scope name.
	ScopeNames []string `mapstructure:"scope_names"`
	// Attributes are the job's resource attributes copied onto the data points of the devices it uses.
	Attributes []string `mapstructure:"attributes"`

	_ struct{}
}

var _ confmap.Validator = (*Config)(nil)

func createDefaultConfig() component.Config {
	return &Config{
		Expiration:  2 * time.Minute,
		MaxMappings: 4096,
		MaxDevices:  4096,
		ScopeNames:  []string{gaudiReceiverScope},
		Attributes:  []string{attrJobID, attrRank},
	}
}

// Validate checks the settings; it reports every problem, not only the first.
func (cfg *Config) Validate() error {
	var errs []error
	if cfg.Expiration <= 0 {
		errs = append(errs, fmt.Errorf("expiration must be positive, got %s", cfg.Expiration))
	}
	if cfg.MaxMappings <= 0 {
		errs = append(errs, fmt.Errorf("max_mappings must be positive, got %d", cfg.MaxMappings))
	}
	if cfg.MaxDevices <= 0 {
		errs = append(errs, fmt.Errorf("max_devices must be positive, got %d", cfg.MaxDevices))
	}
	if len(cfg.ScopeNames) == 0 {
		errs = append(errs, errors.New("scope_names: at least one scope name is required"))
	}
	for i, s := range cfg.ScopeNames {
		if s == "" {
			errs = append(errs, fmt.Errorf("scope_names[%d] is empty", i))
		}
	}
	if len(cfg.Attributes) == 0 {
		errs = append(errs, errors.New("attributes: at least one attribute is required"))
	}
	seen := make(map[string]bool, len(cfg.Attributes))
	for i, a := range cfg.Attributes {
		switch {
		case a == "":
			errs = append(errs, fmt.Errorf("attributes[%d] is empty", i))
		case strings.HasPrefix(a, "hpu."):
			errs = append(errs, fmt.Errorf("attributes[%d] %q: hpu.* attributes identify the device and are not copied from jobs", i, a))
		case seen[a]:
			errs = append(errs, fmt.Errorf("attributes[%d] %q is listed twice", i, a))
		}
		seen[a] = true
	}
	return errors.Join(errs...)
}

// resolveHostName returns the configured host name, or the OS hostname, normalised for comparison.
func resolveHostName(cfg *Config, osHostname func() (string, error)) (string, error) {
	if cfg.HostName != "" {
		return normalizeHost(cfg.HostName), nil
	}
	h, err := osHostname()
	if err != nil {
		return "", fmt.Errorf("host_name is not set and the OS hostname cannot be read: %w", err)
	}
	if h == "" {
		return "", errors.New("host_name is not set and the OS hostname is empty")
	}
	return normalizeHost(h), nil
}

// normalizeHost lowercases a host name (host names are case-insensitive) without allocating when it
// already is lowercase.
func normalizeHost(h string) string {
	for i := 0; i < len(h); i++ {
		if c := h[i]; c >= 'A' && c <= 'Z' {
			return strings.ToLower(h)
		}
	}
	return h
}
