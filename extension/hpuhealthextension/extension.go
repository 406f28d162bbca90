// Package hpuhealthextension provides the hpu_health extension: /health reports whether the gaudi
// receivers that name it read any HPU in their last scrape, and /ready whether any scrape ever did.
// Receivers reach it through component.Host.GetExtensions, so no package-level state is shared.
package hpuhealthextension // import "github.com/otelcol-gaudi/otelcol-gaudi/extension/hpuhealthextension"

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componentstatus"
	"go.opentelemetry.io/collector/extension"
	"go.uber.org/zap"

	"github.com/otelcol-gaudi/otelcol-gaudi/receiver/gaudireceiver"
)

// Extension is the hpu_health extension.
type Extension struct {
	cfg       *Config
	telemetry component.TelemetrySettings
	logger    *zap.Logger
	now       func() time.Time
	state     state

	server *http.Server
	done   sync.WaitGroup
}

var (
	_ extension.Extension          = (*Extension)(nil)
	_ gaudireceiver.HealthReporter = (*Extension)(nil)
)

func newExtension(cfg *Config, telemetry component.TelemetrySettings, now func() time.Time) *Extension {
	return &Extension{cfg: cfg, telemetry: telemetry, logger: telemetry.Logger, now: now}
}

// ReportScrape implements gaudireceiver.HealthReporter.
func (e *Extension) ReportScrape(id component.ID, source string, devices, readable int, at time.Time, interval time.Duration) {
	e.state.report(id, scrape{source: source, devices: devices, readable: readable, at: at, interval: interval})
}

// Start listens on the endpoint with the configured TLS and authenticator (confighttp does both, as
// for every collector endpoint); a port in use or an unreadable certificate fails the collector's start.
func (e *Extension) Start(ctx context.Context, host component.Host) error {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /health", e.serveHealth)
	mux.HandleFunc("GET /ready", e.serveReady)
	server, err := e.cfg.ToServer(ctx, host.GetExtensions(), e.telemetry, mux)
	if err != nil {
		return fmt.Errorf("hpu_health: %w", err)
	}
	ln, err := e.cfg.ToListener(ctx)
	if err != nil {
		return fmt.Errorf("hpu_health: listening on %s: %w", e.cfg.NetAddr.Endpoint, err)
	}
	e.server = server
	e.done.Add(1)
	go func() {
		defer e.done.Done()
		if err := e.server.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			componentstatus.ReportStatus(host, componentstatus.NewFatalErrorEvent(fmt.Errorf("hpu_health: serving: %w", err)))
		}
	}()
	e.logger.Info("Serving HPU health", zap.String("endpoint", ln.Addr().String()))
	return nil
}

// Shutdown stops the server and waits for it.
func (e *Extension) Shutdown(ctx context.Context) error {
	if e.server == nil {
		return nil
	}
	err := e.server.Shutdown(ctx)
	e.done.Wait()
	if err != nil {
		return fmt.Errorf("hpu_health: shutting down: %w", err)
	}
	return nil
}
