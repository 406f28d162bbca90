package hpuhealthextension // import "github.com/otelcol-gaudi/otelcol-gaudi/extension/hpuhealthextension"

import (
	"encoding/json"
	"net/http"
	"strings"
	"time"

	"go.uber.org/zap"
)

// healthBody is the JSON of GET /health, in the shape of the original design's health check.
type healthBody struct {
	Status    string       `json:"status"` // healthy | unhealthy
	Timestamp string       `json:"timestamp"`
	Checks    healthChecks `json:"checks"`
}

type healthChecks struct {
	HPUAvailable bool   `json:"hpu_available"`
	HPUCount     int    `json:"hpu_count"` // readable devices, summed over the receivers
	Source       string `json:"source"`    // the receivers' sources, comma-separated
	// LastScrape is the oldest of the receivers' last scrapes: every receiver scraped since.
	LastScrape string           `json:"last_scrape,omitempty"`
	Stale      bool             `json:"stale"`
	Receivers  []receiverHealth `json:"receivers"`
}

// readyBody is the JSON of GET /ready.
type readyBody struct {
	Ready     bool   `json:"ready"`
	Timestamp string `json:"timestamp"`
}

// serveHealth answers 200 while every reporting receiver read at least one device in a scrape that
// is not stale, and 503 otherwise, also before any receiver reported.
func (e *Extension) serveHealth(w http.ResponseWriter, _ *http.Request) {
	now := e.now()
	receivers, _ := e.state.snapshot(now)
	checks := healthChecks{Receivers: receivers, HPUAvailable: len(receivers) > 0}
	var sources []string
	var oldest time.Time
	for _, r := range receivers {
		checks.HPUCount += r.HPUCount
		checks.HPUAvailable = checks.HPUAvailable && r.Healthy
		checks.Stale = checks.Stale || r.Stale
		sources = append(sources, r.Source)
		if oldest.IsZero() || r.at.Before(oldest) {
			oldest, checks.LastScrape = r.at, r.LastScrape
		}
	}
	checks.Source = strings.Join(sources, ",")
	body := healthBody{Status: "healthy", Timestamp: timestamp(now), Checks: checks}
	code := http.StatusOK
	if !checks.HPUAvailable {
		body.Status, code = "unhealthy", http.StatusServiceUnavailable
	}
	e.writeJSON(w, code, body)
}

// serveReady answers 200 once any scrape read a device, and 503 before.
func (e *Extension) serveReady(w http.ResponseWriter, _ *http.Request) {
	now := e.now()
	_, ready := e.state.snapshot(now)
	code := http.StatusOK
	if !ready {
		code = http.StatusServiceUnavailable
	}
	e.writeJSON(w, code, readyBody{Ready: ready, Timestamp: timestamp(now)})
}

func (e *Extension) writeJSON(w http.ResponseWriter, code int, body any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	if err := json.NewEncoder(w).Encode(body); err != nil {
		e.logger.Debug("Writing a health response", zap.Error(err))
	}
}
