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

// NICOptions say which NIC port counters a source reads, from the metrics that are enabled.
type NICOptions struct {
	// Counters asks for NICCounters (bytes, packets, errors, drops).
	Counters bool
	// Stats asks for the raw counters; StatNames keeps only those (all when empty).
	Stats     bool
	StatNames []string
	// AllPorts reads every port's counters, not only the external (scale-out) ones'.
	AllPorts bool
}

// Wanted says whether a source should read the counters of a port at all.
func (o NICOptions) Wanted(external bool) bool {
	return (o.Counters || o.Stats) && (external || o.AllPorts)
}

// KeepStat says whether the raw counter name is wanted.
func (o NICOptions) KeepStat(name string) bool {
	if !o.Stats {
		return false
	}
	if len(o.StatNames) == 0 {
		return true
	}
	for _, n := range o.StatNames {
		if n == name {
			return true
		}
	}
	return false
}

// slowPeriod is how often a source makes its expensive reads when left to choose: at most once
// per this period of collection interval, and on every scrape when the interval is this long.
const slowPeriod = 10 * time.Second

// SlowEvery is the scrapes between two of a source's expensive reads for a collection interval.
func SlowEvery(interval time.Duration) int {
	if interval <= 0 || interval >= slowPeriod {
		return 1
	}
	return int((slowPeriod + interval - 1) / interval)
}
