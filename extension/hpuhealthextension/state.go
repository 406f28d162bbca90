package hpuhealthextension // import "github.com/otelcol-gaudi/otelcol-gaudi/extension/hpuhealthextension"

import (
	"sort"
	"sync"
	"time"

	"go.opentelemetry.io/collector/component"
)

// staleAfter is how many collection intervals may pass without a scrape before a receiver is stale.
const staleAfter = 3

// scrape is the last report of one receiver.
type scrape struct {
	source   string
	devices  int
	readable int
	at       time.Time
	interval time.Duration
}

// state holds the last scrape of every reporting receiver and whether any scrape ever read a device.
type state struct {
	mu    sync.Mutex
	last  map[component.ID]scrape
	ready bool
}

func (s *state) report(id component.ID, sc scrape) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.last == nil {
		s.last = map[component.ID]scrape{}
	}
	s.last[id] = sc
	if sc.readable > 0 {
		s.ready = true
	}
}

// receiverHealth is one receiver's part of the /health body.
type receiverHealth struct {
	Receiver   string `json:"receiver"`
	Source     string `json:"source"`
	Devices    int    `json:"devices"`
	HPUCount   int    `json:"hpu_count"`
	LastScrape string `json:"last_scrape"`
	Stale      bool   `json:"stale"`
	Healthy    bool   `json:"healthy"`
	at         time.Time
}

// snapshot returns the per-receiver health at now, ordered by receiver id, and whether any
// receiver has reported.
func (s *state) snapshot(now time.Time) (receivers []receiverHealth, ready bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	receivers = make([]receiverHealth, 0, len(s.last))
	for id, sc := range s.last {
		stale := now.Sub(sc.at) > staleAfter*sc.interval
		receivers = append(receivers, receiverHealth{
			Receiver:   id.String(),
			Source:     sc.source,
			Devices:    sc.devices,
			HPUCount:   sc.readable,
			LastScrape: timestamp(sc.at),
			Stale:      stale,
			Healthy:    sc.readable > 0 && !stale,
			at:         sc.at,
		})
	}
	sort.Slice(receivers, func(i, j int) bool { return receivers[i].Receiver < receivers[j].Receiver })
	return receivers, s.ready
}

// timestamp formats t as RFC 3339 in UTC, as both endpoints report times.
func timestamp(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }
