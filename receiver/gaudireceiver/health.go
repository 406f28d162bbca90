package gaudireceiver

import (
	"fmt"
	"time"

	"go.opentelemetry.io/collector/component"
)

// HealthReporter is told the outcome of every scrape; the hpu_health extension implements it to
// serve /health and /ready. It is defined here, by its caller: the extension imports the receiver, so
// the receiver depends on no extension package.
type HealthReporter interface {
	// ReportScrape records that receiver id's scrape at time at, through source, found devices
	// devices of which readable were read without error; interval is the receiver's
	// collection_interval, by which the reporter judges a missing scrape.
	ReportScrape(id component.ID, source string, devices, readable int, at time.Time, interval time.Duration)
}

func healthReporterFromHost(host component.Host, extID component.ID) (HealthReporter, error) {
	ext, ok := host.GetExtensions()[extID]
	if !ok {
		return nil, fmt.Errorf("health_extension: extension %s is not configured in service.extensions", extID)
	}
	reporter, ok := ext.(HealthReporter)
	if !ok {
		return nil, fmt.Errorf("health_extension: extension %s is not an hpu_health extension", extID)
	}
	return reporter, nil
}
