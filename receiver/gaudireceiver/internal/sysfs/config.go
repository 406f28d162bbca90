package sysfs

import "errors"

// Config is the user configuration of the sysfs source.
type Config struct {
	// Root is where the host's filesystem is mounted: "/" on the host, the mount point of the
	// host's root (for example /hostfs) in a container.
	Root string `mapstructure:"root"`
	_    struct{}
}

// DefaultConfig reads the host's /sys.
func DefaultConfig() Config {
	return Config{Root: "/"}
}

// Validate checks what can be checked without reading anything.
func (c Config) Validate() error {
	if c.Root == "" {
		return errors.New("root must not be empty")
	}
	return nil
}
