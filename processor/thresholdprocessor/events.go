package thresholdprocessor // import "github.com/otelcol-gaudi/otelcol-gaudi/processor/thresholdprocessor"

import (
	"context"
	"fmt"

	"go.opentelemetry.io/collector/component"
)

// EventBus carries alert transitions from a threshold processor to the threshold_events connectors that
// name it. The threshold_bus extension implements it; a processor finds it among the host's extensions,
// which is how collector components share state without package-level variables.
type EventBus interface {
	// Publish delivers events of the processor from to every subscriber of from.
	Publish(ctx context.Context, from component.ID, events []AlertEvent)
}

func eventBusFromHost(host component.Host, busID component.ID) (EventBus, error) {
	ext, ok := host.GetExtensions()[busID]
	if !ok {
		return nil, fmt.Errorf("events: extension %s is not configured in service.extensions", busID)
	}
	bus, ok := ext.(EventBus)
	if !ok {
		return nil, fmt.Errorf("events: extension %s is not a threshold_bus extension", busID)
	}
	return bus, nil
}
