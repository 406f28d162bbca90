package hlsmi

import (
	"errors"

	"github.com/otelcol-gaudi/otelcol-gaudi/receiver/gaudireceiver/internal/hpu"
)

// Config is the user configuration of the hl-smi source.
type Config struct {
	// Path is the hl-smi binary: a name looked up on PATH, or a path.
	Path string `mapstructure:"path"`
	_    struct{}
}

// DefaultConfig runs the hl-smi found on PATH.
func DefaultConfig() Config {
	return Config{Path: "hl-smi"}
}

// Validate checks what can be checked without running anything.
func (c Config) Validate() error {
	if c.Path == "" {
		return errors.New("path must not be empty")
	}
	return nil
}

// Options are settings that come from the receiver rather than from the user.
type Options struct {
	// NICLinks asks hl-smi for each device's NIC link states, one extra run per device and
	// scrape; set it when hpu.nic.link.up is enabled.
	NICLinks bool
	// NIC asks `hl-smi -n stats` for the NIC counters, one extra run per device on each slow
	// turn.
	NIC hpu.NICOptions
	// SlowEvery makes one Read in this many a slow turn (0 or 1: every Read), on which the
	// expensive runs are made: `-n stats` for NIC, and one `hl-smi -q` for all devices. Their
	// last values are reported in between.
	SlowEvery int
}
