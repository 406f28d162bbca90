package hpuhealthextension // import "github.com/otelcol-gaudi/otelcol-gaudi/extension/hpuhealthextension"

import (
	"errors"
	"fmt"
	"net"
	"time"

	"go.opentelemetry.io/collector/config/confighttp"
)

const defaultEndpoint = "127.0.0.1:13134"

// Config is the hpu_health extension's configuration: the collector's standard HTTP server settings,
// so `endpoint`, `tls` and `auth` mean what they mean on every other collector endpoint.
type Config struct {
	confighttp.ServerConfig `mapstructure:",squash"`
}

func createDefaultConfig() *Config {
	server := confighttp.NewDefaultServerConfig()
	server.NetAddr.Endpoint = defaultEndpoint
	// Requests are tiny GETs: a client slow to send its headers only holds a connection open.
	server.ReadHeaderTimeout = 5 * time.Second
	return &Config{ServerConfig: server}
}

// Validate checks that the endpoint is a host:port; the server settings validate themselves.
func (c *Config) Validate() error {
	if c.NetAddr.Endpoint == "" {
		return errors.New("endpoint must not be empty")
	}
	if _, _, err := net.SplitHostPort(c.NetAddr.Endpoint); err != nil {
		return fmt.Errorf("endpoint %q: %w", c.NetAddr.Endpoint, err)
	}
	return nil
}
