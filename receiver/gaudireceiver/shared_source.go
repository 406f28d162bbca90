package gaudireceiver

import (
	"context"
	"fmt"
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
	// claim, when set, is asked before the backend is opened whether this receiver may read
	// the node's devices (see sourceRegistry.claim); unclaim undoes it.
	claim   func() error
	unclaim func()

	mu   sync.Mutex
	refs int
	src  hpu.Source
}

// acquire starts the source on first use and returns it.
func (s *sharedSource) acquire(ctx context.Context) (hpu.Source, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.refs == 0 {
		if s.claim != nil {
			if err := s.claim(); err != nil {
				return nil, err
			}
		}
		src, err := s.open(ctx, s.cfg, s.now, s.tel)
		if err != nil {
			if s.unclaim != nil {
				s.unclaim()
			}
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
// collectors in one process (tests) do not share state. It also refuses a second receiver on
// the node's devices.
type sourceRegistry struct {
	mu      sync.Mutex
	sources map[component.ID]*sharedSource
	// reading are the started receivers that read this node's devices, with their source.
	reading map[component.ID]SourceKind
}

func newSourceRegistry() *sourceRegistry {
	return &sourceRegistry{sources: map[component.ID]*sharedSource{}, reading: map[component.ID]SourceKind{}}
}

// claim records that receiver id starts reading with cfg's source. Every source but the
// simulator reads the devices of this node (none can be limited to some of them), so a second
// such receiver would report each device twice: as two sets of series and twice in hpu_health's
// count. It is refused, naming the first; its metrics and logs pipelines share one receiver
// anyway. Simulated nodes are independent and may be many.
func (r *sourceRegistry) claim(id component.ID, cfg *Config) error {
	if cfg.Source == SourceSimulator {
		return nil
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for other, kind := range r.reading {
		if other != id {
			return fmt.Errorf("receiver %s already reads this node's HPUs (source %s); a second gaudi receiver (source %s) would report every device twice: "+
				"configure one gaudi receiver per collector and name it in both the metrics and the logs pipeline", other, kind, cfg.Source)
		}
	}
	r.reading[id] = cfg.Source
	return nil
}

func (r *sourceRegistry) get(id component.ID, cfg *Config, tel component.TelemetrySettings) *sharedSource {
	r.mu.Lock()
	defer r.mu.Unlock()
	// The metrics and logs receivers of one id are created from the same *Config; a new one
	// (a reload, or a receiver that never started) gets a new source.
	if s, ok := r.sources[id]; ok && s.cfg == cfg {
		return s
	}
	s := &sharedSource{cfg: cfg, now: time.Now, tel: tel, open: openSource}
	s.claim = func() error { return r.claim(id, cfg) }
	s.unclaim = func() {
		r.mu.Lock()
		defer r.mu.Unlock()
		delete(r.reading, id)
	}
	s.onRelease = func() {
		r.mu.Lock()
		defer r.mu.Unlock()
		delete(r.reading, id)
		if r.sources[id] == s {
			delete(r.sources, id)
		}
	}
	r.sources[id] = s
	return s
}
