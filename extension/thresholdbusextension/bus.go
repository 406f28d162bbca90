// Package thresholdbusextension provides the threshold_bus extension: it carries alert transitions from
// threshold processors to the threshold_events connectors that name them. Components reach it through
// component.Host.GetExtensions, so no package-level state is shared between them.
package thresholdbusextension // import "github.com/otelcol-gaudi/otelcol-gaudi/extension/thresholdbusextension"

import (
	"context"
	"sync"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/extension"

	"github.com/otelcol-gaudi/otelcol-gaudi/extension/thresholdbusextension/internal/metadata"
	"github.com/otelcol-gaudi/otelcol-gaudi/processor/thresholdprocessor"
)

// Handler receives the events of one publisher, synchronously, in evaluation order.
type Handler func(ctx context.Context, events []thresholdprocessor.AlertEvent)

// Bus is the threshold_bus extension.
type Bus struct {
	component.StartFunc
	component.ShutdownFunc

	mu   sync.RWMutex
	next uint64
	subs map[component.ID]map[uint64]Handler
}

var (
	_ extension.Extension         = (*Bus)(nil)
	_ thresholdprocessor.EventBus = (*Bus)(nil)
)

// Publish implements thresholdprocessor.EventBus.
func (b *Bus) Publish(ctx context.Context, from component.ID, events []thresholdprocessor.AlertEvent) {
	b.mu.RLock()
	handlers := make([]Handler, 0, len(b.subs[from]))
	for _, h := range b.subs[from] {
		handlers = append(handlers, h)
	}
	b.mu.RUnlock()
	for _, h := range handlers {
		h(ctx, events)
	}
}

// Subscribe registers h for the events of the processor from; the returned function unregisters it.
func (b *Bus) Subscribe(from component.ID, h Handler) (unsubscribe func()) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.subs == nil {
		b.subs = map[component.ID]map[uint64]Handler{}
	}
	if b.subs[from] == nil {
		b.subs[from] = map[uint64]Handler{}
	}
	id := b.next
	b.next++
	b.subs[from][id] = h
	return func() {
		b.mu.Lock()
		defer b.mu.Unlock()
		delete(b.subs[from], id)
	}
}

// Config has no settings.
type Config struct{}

// NewFactory returns the factory of the threshold_bus extension.
func NewFactory() extension.Factory {
	return extension.NewFactory(metadata.Type,
		func() component.Config { return &Config{} },
		func(context.Context, extension.Settings, component.Config) (extension.Extension, error) {
			return &Bus{}, nil
		},
		metadata.ExtensionStability)
}
