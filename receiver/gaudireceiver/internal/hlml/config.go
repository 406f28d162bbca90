package hlml

import (
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/otelcol-gaudi/otelcol-gaudi/receiver/gaudireceiver/internal/hpu"
)

// DefaultLibraryPath is where the Intel Gaudi software stack installs libhlml.so.
const DefaultLibraryPath = "/usr/lib/habanalabs/libhlml.so"

// TemperatureSource says where the source reads temperatures.
type TemperatureSource string

const (
	// TemperatureAuto reads hwmon where the device has it, HLML elsewhere.
	TemperatureAuto TemperatureSource = "auto"
	// TemperatureHwmon reads only hwmon, never hlml_device_get_temperature, which leaks.
	TemperatureHwmon TemperatureSource = "hwmon"
	// TemperatureHLML reads only hlml_device_get_temperature.
	TemperatureHLML TemperatureSource = "hlml"
)

var temperatureSources = []TemperatureSource{TemperatureAuto, TemperatureHwmon, TemperatureHLML}

// Config is the user configuration of the HLML source.
type Config struct {
	// LibraryPath is the libhlml.so to load: a path, or a bare name that the dynamic loader
	// looks up (LD_LIBRARY_PATH, ld.so.cache).
	LibraryPath string `mapstructure:"library_path"`
	// TemperatureSource selects where temperatures come from (see TemperatureSource).
	TemperatureSource TemperatureSource `mapstructure:"temperature_source"`
	// SlowCallsEvery runs the expensive calls (PCIe throughput, NIC counters, ECC totals) for a
	// device on every this many scrapes; 0 chooses it from the collection interval.
	SlowCallsEvery int `mapstructure:"slow_calls_every"`
	// Backoff skips a call that keeps failing.
	Backoff BackoffConfig `mapstructure:"backoff"`
	_       struct{}
}

// BackoffConfig skips a call of one device for Period after Failures consecutive failures.
type BackoffConfig struct {
	// Failures is the consecutive failures (or NOT_SUPPORTED answers) after which a call is
	// skipped; 0 never skips.
	Failures int `mapstructure:"failures"`
	// Period is how long it is skipped before it is tried again.
	Period time.Duration `mapstructure:"period"`
	_      struct{}
}

// DefaultConfig loads the library from its installed place.
func DefaultConfig() Config {
	return Config{
		LibraryPath:       DefaultLibraryPath,
		TemperatureSource: TemperatureAuto,
		Backoff:           BackoffConfig{Failures: 3, Period: 5 * time.Minute},
	}
}

// Validate checks the configuration without touching the library, which may be absent on the
// machine that validates it.
func (c Config) Validate() error {
	var errs []error
	if c.LibraryPath == "" {
		errs = append(errs, errors.New("library_path must not be empty"))
	}
	if !slices.Contains(temperatureSources, c.TemperatureSource) {
		errs = append(errs, fmt.Errorf("temperature_source must be one of %v, got %q", temperatureSources, c.TemperatureSource))
	}
	if c.SlowCallsEvery < 0 {
		errs = append(errs, fmt.Errorf("slow_calls_every must not be negative, got %d", c.SlowCallsEvery))
	}
	if c.Backoff.Failures < 0 || c.Backoff.Period < 0 {
		errs = append(errs, errors.New("backoff: failures and period must not be negative"))
	}
	if c.Backoff.Failures > 0 && c.Backoff.Period == 0 {
		errs = append(errs, errors.New("backoff: period must be positive when failures is set"))
	}
	return errors.Join(errs...)
}

// slowEvery is the cadence of the slow calls for a collection interval.
func (c Config) slowEvery(interval time.Duration) int {
	if c.SlowCallsEvery > 0 {
		return c.SlowCallsEvery
	}
	return hpu.SlowEvery(interval)
}
