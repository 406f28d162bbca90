package gaudireceiver

import (
	"context"
	"sync"
	"time"

	"go.opentelemetry.io/collector/component"

	"github.com/otelcol-gaudi/otelcol-gaudi/receiver/gaudireceiver/internal/hpu"
)

// sharedSource lets the metrics and the logs receiver of one configured `gaudi` receiver use a
// single backend: HLML must be initialised once per process, and both signals must see the
// same devices.
type sharedSource struct {
	cfg *Config
	now func() time.Time
	tel component.TelemetrySettings
	// open builds and starts the backend; openSource outside tests.
	open      func(context.Context, *Config, func() time.Time, component.TelemetrySettings) (hpu.Source, error)
	onRelease func()

	mu   sync.Mutex
	refs int
	src  hpu.Source
}

// acquire starts the source on first use and returns it.
func (s *sharedSource) acquire(ctx context.Context) (hpu.Source, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.refs == 0 {
		src, err := s.open(ctx, s.cfg, s.now, s.tel)
		if err != nil {
			return nil, err
		}
		s.src = src
	}
	s.refs++
	return s.src, nil
}

// release stops the source when its last user is done.
func (s *sharedSource) release(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.refs == 0 {
		return nil
	}
	s.refs--
	if s.refs > 0 {
		return nil
	}
	src := s.src
	s.src = nil
	if s.onRelease != nil {
		s.onRelease()
	}
	return src.Shutdown(ctx)
}

// sourceRegistry hands out one sharedSource per component ID; it lives in the factory, so two
// collectors in one process (tests) do not share state.
type sourceRegistry struct {
	mu      sync.Mutex
	sources map[component.ID]*sharedSource
}

func newSourceRegistry() *sourceRegistry {
	return &sourceRegistry{sources: map[component.ID]*sharedSource{}}
}

func (r *sourceRegistry) get(id component.ID, cfg *Config, tel component.TelemetrySettings) *sharedSource {
	r.mu.Lock()
	defer r.mu.Unlock()
	if s, ok := r.sources[id]; ok {
		return s
	}
	s := &sharedSource{cfg: cfg, now: time.Now, tel: tel, open: openSource}
	s.onRelease = func() {
		r.mu.Lock()
		defer r.mu.Unlock()
		if r.sources[id] == s {
			delete(r.sources, id)
		}
	}
	r.sources[id] = s
	return s
}
