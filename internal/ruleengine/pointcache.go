package ruleengine // import "github.com/otelcol-gaudi/otelcol-gaudi/internal/ruleengine"

// pointEntry caches the series of one OTLP series identity (resource, scope, metric name, attributes), so
// that its later points skip building labels and looking them up: the series' state holds the labels
// and the head's reference.
type pointEntry struct {
	st *seriesState
	// lastT is the time of the last sample stored through this identity.
	lastT int64
}

// cachedPoint returns the entry of the identity id, or nil.
func (s *store) cachedPoint(id hash128) *pointEntry {
	return s.points[id]
}

// rememberPoint caches a registered series under the identity id. The cache holds at most max_series
// identities; beyond that, points of new identities take the uncached path until gc makes room.
func (s *store) rememberPoint(id hash128, st *seriesState, t int64) {
	if len(s.points) >= s.limits.maxSeries {
		return
	}
	s.points[id] = &pointEntry{st: st, lastT: t}
}

// forgetPoints drops identities that stored nothing since mint. An entry's lastT is never later than its
// series' lastT, so every series the store forgets at mint loses its entries here too. Several identities
// can share a series (they differ only in what becomes no label), so an identity that stopped sending is
// dropped even while its series lives on.
func (s *store) forgetPoints(mint int64) {
	for id, e := range s.points {
		if e.lastT < mint {
			delete(s.points, id)
		}
	}
}
