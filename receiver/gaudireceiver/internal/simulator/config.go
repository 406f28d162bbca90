package simulator

import (
	"errors"
	"fmt"
	"slices"
	"time"
)

// MaxDevices bounds the simulated node; real nodes have 8 HPUs.
const MaxDevices = 64

// Load is the workload every simulated device runs.
type Load string

const (
	LoadTraining Load = "training"
	LoadIdle     Load = "idle"
)

// FaultKind is what goes wrong on a device in a scenario.
type FaultKind string

const (
	// FaultOverheat ramps the chip temperature past the slowdown threshold within a minute;
	// the clocks then throttle for thermal reasons.
	FaultOverheat FaultKind = "overheat"
	// FaultFail makes the device unreadable, as HLML's AIP_IS_LOST does.
	FaultFail FaultKind = "fail"
	// FaultNICLinkDown takes one NIC port's link down.
	FaultNICLinkDown FaultKind = "nic_link_down"
	// FaultRowsPending leaves a double-bit ECC row replacement pending (the device needs a reset).
	FaultRowsPending FaultKind = "rows_pending"
	// FaultSensorGlitch makes the on-board temperature sensor read 6553.5 °C, the all-ones raw value
	// of a sensor that is not answering; the receiver's sanity bounds must drop it.
	FaultSensorGlitch FaultKind = "sensor_glitch"
)

var faultKinds = []FaultKind{FaultOverheat, FaultFail, FaultNICLinkDown, FaultRowsPending, FaultSensorGlitch}

// Fault is one scripted problem on one device, active from After (since the receiver
// started) for Duration (0 = until the collector stops).
type Fault struct {
	Device   int           `mapstructure:"device"`
	Kind     FaultKind     `mapstructure:"kind"`
	After    time.Duration `mapstructure:"after"`
	Duration time.Duration `mapstructure:"duration"`
	// Port is the NIC port for nic_link_down.
	Port int `mapstructure:"port"`
	_    struct{}
}

// Config is the user configuration of the simulator source.
type Config struct {
	Devices int     `mapstructure:"devices"`
	Model   string  `mapstructure:"model"`
	Seed    int64   `mapstructure:"seed"`
	Load    Load    `mapstructure:"load"`
	Faults  []Fault `mapstructure:"faults"`
	_       struct{}
}

// DefaultConfig is eight Gaudi 3 devices in training.
func DefaultConfig() Config {
	return Config{Devices: 8, Model: "gaudi3", Seed: 1, Load: LoadTraining}
}

// Validate reports every problem of the configuration at once.
func (c Config) Validate() error {
	var errs []error
	if c.Devices < 1 || c.Devices > MaxDevices {
		errs = append(errs, fmt.Errorf("devices must be between 1 and %d, got %d", MaxDevices, c.Devices))
	}
	if _, ok := models[c.Model]; !ok {
		errs = append(errs, fmt.Errorf("model must be one of %v, got %q", Models(), c.Model))
	}
	if c.Load != LoadTraining && c.Load != LoadIdle {
		errs = append(errs, fmt.Errorf("load must be %q or %q, got %q", LoadTraining, LoadIdle, c.Load))
	}
	for i, f := range c.Faults {
		if err := f.validate(c.Devices); err != nil {
			errs = append(errs, fmt.Errorf("faults[%d]: %w", i, err))
		}
	}
	return errors.Join(errs...)
}

func (f Fault) validate(devices int) error {
	var errs []error
	if f.Device < 0 || f.Device >= devices {
		errs = append(errs, fmt.Errorf("device must be between 0 and %d, got %d", devices-1, f.Device))
	}
	if !slices.Contains(faultKinds, f.Kind) {
		errs = append(errs, fmt.Errorf("kind must be one of %v, got %q", faultKinds, f.Kind))
	}
	if f.After < 0 || f.Duration < 0 {
		errs = append(errs, errors.New("after and duration must not be negative"))
	}
	if f.Kind == FaultNICLinkDown && (f.Port < 0 || f.Port >= nicPorts) {
		errs = append(errs, fmt.Errorf("port must be between 0 and %d, got %d", nicPorts-1, f.Port))
	}
	return errors.Join(errs...)
}

func (f Fault) activeAt(sinceStart time.Duration) bool {
	if sinceStart < f.After {
		return false
	}
	return f.Duration == 0 || sinceStart < f.After+f.Duration
}
