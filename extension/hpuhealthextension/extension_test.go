package hpuhealthextension

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/extension/extensiontest"

	"github.com/otelcol-gaudi/otelcol-gaudi/extension/hpuhealthextension/internal/metadata"
)

var t0 = time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)

type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

var (
	gaudi     = component.MustNewID("gaudi")
	gaudiNode = component.MustNewIDWithName("gaudi", "node")
)

// configAt is the default configuration with the given endpoint.
func configAt(endpoint string) *Config {
	cfg := createDefaultConfig()
	cfg.NetAddr.Endpoint = endpoint
	return cfg
}

// freeEndpoint is a loopback host:port that the kernel picked as free and released again.
func freeEndpoint(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	endpoint := ln.Addr().String()
	require.NoError(t, ln.Close())
	return endpoint
}

// startOnFreePort starts the extension on a free loopback port with the given clock and returns
// its base URL; it is shut down when the test ends.
func startOnFreePort(t *testing.T, c *clock) (*Extension, string) {
	t.Helper()
	cfg := configAt(freeEndpoint(t))
	return startWith(t, cfg, componenttest.NewNopHost(), c), "http://" + cfg.NetAddr.Endpoint
}

// startWith starts the extension on cfg with host's extensions; it is shut down when the test ends.
func startWith(t *testing.T, cfg *Config, host component.Host, c *clock) *Extension {
	t.Helper()
	ext := newExtension(cfg, componenttest.NewNopTelemetrySettings(), c.now)
	require.NoError(t, ext.Start(context.Background(), host))
	t.Cleanup(func() { require.NoError(t, ext.Shutdown(context.Background())) })
	return ext
}

func get(t *testing.T, url string, body any) int {
	t.Helper()
	resp, err := http.Get(url)
	require.NoError(t, err)
	defer resp.Body.Close()
	assert.Equal(t, "application/json", resp.Header.Get("Content-Type"))
	raw, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(raw, body), "%s", raw)
	return resp.StatusCode
}

func TestBeforeAnyScrapeUnhealthyAndNotReady(t *testing.T) {
	_, url := startOnFreePort(t, &clock{t: t0})

	var health healthBody
	assert.Equal(t, http.StatusServiceUnavailable, get(t, url+"/health", &health))
	assert.Equal(t, "unhealthy", health.Status)
	assert.Equal(t, "2026-11-29T12:00:00Z", health.Timestamp)
	assert.False(t, health.Checks.HPUAvailable)
	assert.Zero(t, health.Checks.HPUCount)

	var ready readyBody
	assert.Equal(t, http.StatusServiceUnavailable, get(t, url+"/ready", &ready))
	assert.False(t, ready.Ready)
}

func TestHealthyAfterScrapeThatReadDevices(t *testing.T) {
	c := &clock{t: t0}
	ext, url := startOnFreePort(t, c)
	ext.ReportScrape(gaudi, "hlml", 8, 8, t0, 10*time.Second)
	c.t = t0.Add(time.Second)

	var health healthBody
	require.Equal(t, http.StatusOK, get(t, url+"/health", &health))
	assert.Equal(t, healthBody{
		Status:    "healthy",
		Timestamp: "2026-11-29T12:00:01Z",
		Checks: healthChecks{
			HPUAvailable: true, HPUCount: 8, Source: "hlml", LastScrape: "2026-11-29T12:00:00Z",
			Receivers: []receiverHealth{{Receiver: "gaudi", Source: "hlml", Devices: 8, HPUCount: 8, LastScrape: "2026-11-29T12:00:00Z", Healthy: true}},
		},
	}, health)

	var ready readyBody
	require.Equal(t, http.StatusOK, get(t, url+"/ready", &ready))
	assert.Equal(t, readyBody{Ready: true, Timestamp: "2026-11-29T12:00:01Z"}, ready)
}

func TestNoReadableDeviceIsUnhealthyButReadyStays(t *testing.T) {
	c := &clock{t: t0}
	ext, url := startOnFreePort(t, c)
	ext.ReportScrape(gaudi, "hlml", 8, 8, t0, 10*time.Second)
	ext.ReportScrape(gaudi, "hlml", 8, 0, t0.Add(10*time.Second), 10*time.Second)

	var health healthBody
	assert.Equal(t, http.StatusServiceUnavailable, get(t, url+"/health", &health))
	assert.Equal(t, "unhealthy", health.Status)
	assert.False(t, health.Checks.HPUAvailable)
	assert.Zero(t, health.Checks.HPUCount)
	assert.Equal(t, 8, health.Checks.Receivers[0].Devices, "the devices found but not read are shown")

	var ready readyBody
	assert.Equal(t, http.StatusOK, get(t, url+"/ready", &ready), "readiness is reached once and kept")
}

func TestNeverReadyWithoutReadableDevice(t *testing.T) {
	ext, url := startOnFreePort(t, &clock{t: t0})
	ext.ReportScrape(gaudi, "none", 0, 0, t0, 10*time.Second)
	var ready readyBody
	assert.Equal(t, http.StatusServiceUnavailable, get(t, url+"/ready", &ready))
	assert.False(t, ready.Ready)
}

func TestStaleAfterThreeIntervals(t *testing.T) {
	c := &clock{t: t0}
	ext, url := startOnFreePort(t, c)
	ext.ReportScrape(gaudi, "sysfs", 4, 4, t0, 10*time.Second)

	for _, tt := range []struct {
		after time.Duration
		code  int
	}{
		{30 * time.Second, http.StatusOK},
		{30*time.Second + time.Millisecond, http.StatusServiceUnavailable},
	} {
		t.Run(tt.after.String(), func(t *testing.T) {
			c.t = t0.Add(tt.after)
			var health healthBody
			assert.Equal(t, tt.code, get(t, url+"/health", &health))
			assert.Equal(t, tt.code != http.StatusOK, health.Checks.Stale)
			assert.Equal(t, 4, health.Checks.HPUCount, "the count of the last scrape is still shown")
		})
	}
}

func TestMultipleReceivers(t *testing.T) {
	c := &clock{t: t0.Add(5 * time.Second)}
	ext, url := startOnFreePort(t, c)
	ext.ReportScrape(gaudiNode, "sysfs", 4, 4, t0.Add(2*time.Second), 10*time.Second)
	ext.ReportScrape(gaudi, "hlml", 8, 8, t0, 10*time.Second)

	var health healthBody
	require.Equal(t, http.StatusOK, get(t, url+"/health", &health))
	assert.Equal(t, 12, health.Checks.HPUCount, "counts are summed")
	assert.Equal(t, "hlml,sysfs", health.Checks.Source)
	assert.Equal(t, "2026-11-29T12:00:00Z", health.Checks.LastScrape, "the oldest of the last scrapes")
	require.Len(t, health.Checks.Receivers, 2)
	assert.Equal(t, "gaudi", health.Checks.Receivers[0].Receiver)
	assert.Equal(t, "gaudi/node", health.Checks.Receivers[1].Receiver)

	ext.ReportScrape(gaudiNode, "sysfs", 4, 0, t0.Add(4*time.Second), 10*time.Second)
	health = healthBody{}
	assert.Equal(t, http.StatusServiceUnavailable, get(t, url+"/health", &health), "one receiver without a readable device")
	assert.Equal(t, 8, health.Checks.HPUCount)
	assert.True(t, health.Checks.Receivers[0].Healthy)
	assert.False(t, health.Checks.Receivers[1].Healthy)
}

func TestOnlyGETIsServed(t *testing.T) {
	_, url := startOnFreePort(t, &clock{t: t0})
	resp, err := http.Post(url+"/health", "application/json", nil)
	require.NoError(t, err)
	require.NoError(t, resp.Body.Close())
	assert.Equal(t, http.StatusMethodNotAllowed, resp.StatusCode)
}

func TestStartFailsOnPortInUse(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	ext := newExtension(configAt(ln.Addr().String()), componenttest.NewNopTelemetrySettings(), time.Now)
	err = ext.Start(context.Background(), componenttest.NewNopHost())
	require.ErrorContains(t, err, "hpu_health: listening on "+ln.Addr().String())
	assert.NoError(t, ext.Shutdown(context.Background()), "shutdown after a failed start")
}

func TestFactory(t *testing.T) {
	f := NewFactory()
	assert.Equal(t, metadata.Type, f.Type())
	cfg := f.CreateDefaultConfig().(*Config)
	assert.Equal(t, "127.0.0.1:13134", cfg.NetAddr.Endpoint)
	assert.False(t, cfg.TLS.HasValue(), "plain HTTP unless tls is configured")
	assert.False(t, cfg.Auth.HasValue(), "no authenticator unless auth is configured")
	require.NoError(t, cfg.Validate())

	ext, err := f.Create(context.Background(), extensiontest.NewNopSettings(metadata.Type), cfg)
	require.NoError(t, err)
	assert.NoError(t, ext.Shutdown(context.Background()), "shutdown without start")
}

func TestConfigValidate(t *testing.T) {
	for _, endpoint := range []string{"", "13134", "localhost"} {
		t.Run(fmt.Sprintf("%q", endpoint), func(t *testing.T) {
			assert.Error(t, configAt(endpoint).Validate())
		})
	}
	assert.NoError(t, configAt(":13134").Validate())
}
