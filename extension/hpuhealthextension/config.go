package hpuhealthextension // import "github.com/otelcol-gaudi/otelcol-gaudi/extension/hpuhealthextension"

import (
	"errors"
	"fmt"
	"net"
)

const defaultEndpoint = "127.0.0.1:13134"

// Config is the hpu_health extension's configuration.
type Config struct {
	// Endpoint is the host:port that /health and /ready are served on.
	Endpoint string `mapstructure:"endpoint"`
	_        struct{}
}

// Validate checks that the endpoint is a host:port.
func (c *Config) Validate() error {
	if c.Endpoint == "" {
		return errors.New("endpoint must not be empty")
	}
	if _, _, err := net.SplitHostPort(c.Endpoint); err != nil {
		return fmt.Errorf("endpoint %q: %w", c.Endpoint, err)
	}
	return nil
}
