// Package hpu holds what every telemetry source reports about an HPU, so that the scraper
// is written once and each backend (simulator, HLML, hl-smi, sysfs) only fills a Device.
package hpu

import (
	"context"
	"time"
)

// Source reads HPU telemetry from one backend.
type Source interface {
	// Name identifies the backend on self-metrics and in logs ("simulator", "hlml", ...).
	Name() string
	// Start acquires what the backend needs (a library, a binary); it is called once.
	Start(ctx context.Context) error
	// Read appends one Device per HPU to dst and returns it. A device that could not be read
	// is still appended, with Err set and only its identity filled, so one bad device never
	// hides the others. The error reports what no device carries: a failure that leaves no
	// device readable, or output that could not be tied to a device; devices returned with it
	// are still valid.
	Read(ctx context.Context, now time.Time, dst []Device) ([]Device, error)
	// Shutdown releases what Start acquired.
	Shutdown(ctx context.Context) error
}
