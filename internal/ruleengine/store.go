package ruleengine // import "github.com/otelcol-gaudi/otelcol-gaudi/internal/ruleengine"

import (
	"context"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/prometheus/common/promslog"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/value"
	"github.com/prometheus/prometheus/storage"
	"github.com/prometheus/prometheus/tsdb"
)

// dropReason says why a sample did not enter the store.
type dropReason string

const (
	dropSeriesLimit       dropReason = "series_limit"
	dropSenderSeriesLimit dropReason = "sender_series_limit"
	dropClientSeriesLimit dropReason = "client_series_limit"
	dropRateLimit         dropReason = "samples_per_series_limit"
	dropOutOfOrder        dropReason = "out_of_order"
	dropTooOld            dropReason = "too_old"
	dropFuture            dropReason = "future"
	dropInvalid           dropReason = "invalid"
	dropUnsupported       dropReason = "unsupported_type"
)

// storeLimits are the bounds of the store, resolved from LimitsConfig and the rules.
type storeLimits struct {
	maxSeries int
	// maxNetworkSeries is maxSeries less the series reserved for the collector's own receivers.
	maxNetworkSeries   int
	maxSeriesPerClient int
	maxSeriesPerSender int
	// minGap is retention / max_samples_per_series: samples of one series closer than this to the previous
	// accepted one are dropped, so a series never holds more than max_samples_per_series within retention.
	minGap    int64
	retention int64
	// futureSkew is limits::max_future_skew: how far past the wall clock a stored point may be.
	futureSkew int64
}

// seriesState is what the store tracks per input series, for limits and ordering.
type seriesState struct {
	lset labels.Labels
	// key is the hash of lset: the series' key in the store and in the engine's delta sums.
	key hash128
	ref storage.SeriesRef
	// lastT is the time of the last sample stored; math.MinInt64 until the first, which registers the series.
	lastT int64
	// owner is the sender whose sample registered the series; its budget counts the series.
	owner *sender
}

// store is a bounded in-memory window of recent samples: a Prometheus TSDB head (the same structure
// Prometheus queries for recent data) plus a series index that enforces the limits before appending.
// Rule evaluation appends its own results (ALERTS, ALERTS_FOR_STATE, recording rules) to the same head,
// as Prometheus does; those are bounded by the rules and by retention, not by max_series.
type store struct {
	head   *tsdb.Head
	dir    *chunkDir
	limits storeLimits
	hasher *seriesHasher
	series map[hash128]*seriesState
	// points maps OTLP series identities to their series (pointcache.go).
	points map[hash128]*pointEntry
	// senders are the senders holding at least one series (senders.go).
	senders *senders
	// truncatedTo is the last mint passed to the head's Truncate.
	truncatedTo int64
}

func newStore(limits storeLimits, dir *chunkDir) (*store, error) {
	opts := tsdb.DefaultHeadOptions()
	opts.ChunkDirRoot = dir.path
	opts.ChunkRange = chunkRange(limits)
	head, err := tsdb.NewHead(nil, promslog.NewNopLogger(), nil, nil, opts, nil)
	if err != nil {
		return nil, fmt.Errorf("creating the sample store: %w", err)
	}
	if err := head.Init(math.MinInt64); err != nil {
		_ = head.Close()
		return nil, fmt.Errorf("initialising the sample store: %w", err)
	}
	h := newSeriesHasher()
	return &store{
		head:        head,
		dir:         dir,
		limits:      limits,
		hasher:      h,
		series:      make(map[hash128]*seriesState),
		points:      make(map[hash128]*pointEntry),
		senders:     newSenders(h),
		truncatedTo: math.MinInt64,
	}, nil
}

// chunkRange sizes the head so that its own window never refuses a point the engine accepts. The head
// refuses samples older than its newest sample minus half the chunk range (its compaction window; the
// default 2h range makes that 1h). The newest sample may be a sender's, up to max_future_skew past the
// wall clock, and a late point may be up to retention behind it, so half the range must span both.
// Memory does not depend on the range: chunks are cut by sample count (about 120, at most 240), and
// gc's Truncate drops every chunk whose last sample has left the retention, as before.
func chunkRange(l storeLimits) int64 {
	return 2 * (l.retention + l.futureSkew)
}

func (s *store) close() error {
	return s.head.Close()
}

// dropKey counts drops by reason and by the sender whose sample was dropped.
type dropKey struct {
	reason dropReason
	sender *sender
}

// appender adds input samples under the store's limits; Commit makes them visible to queries.
type appender struct {
	s     *store
	app   storage.Appender
	drops map[dropKey]int64
}

func (s *store) appender(ctx context.Context) *appender {
	return &appender{s: s, app: s.head.Appender(ctx), drops: make(map[dropKey]int64)}
}

func (a *appender) drop(reason dropReason, from *sender, n int64) {
	a.drops[dropKey{reason, from}] += n
}

// series returns the state of the series lset: the stored one, or a new one that add registers once a
// sample of it is stored.
func (a *appender) series(lset labels.Labels) *seriesState {
	key := a.s.hasher.labels(lset)
	if st, ok := a.s.series[key]; ok {
		return st
	}
	return &seriesState{lset: lset, key: key, lastT: math.MinInt64}
}

// admit decides whether a new series from sender from fits: the global limit, the share of senders
// that come over the network (the rest is kept for the collector's own receivers), the sender's own
// budget, and the budget of its client address. It reports the reason when the series does not fit; a
// sender at its own budget is named for it before its client, the broader bound.
func (a *appender) admit(from *sender) dropReason {
	s := a.s
	switch {
	case len(s.series) >= s.limits.maxSeries:
		return dropSeriesLimit
	case !from.local() && s.senders.networkSeries >= s.limits.maxNetworkSeries:
		return dropSeriesLimit
	case from.series >= s.limits.maxSeriesPerSender:
		return dropSenderSeriesLimit
	case !from.local() && s.senders.clientSeries(from) >= s.limits.maxSeriesPerClient:
		return dropClientSeriesLimit
	}
	return ""
}

// add appends one sample of st, sent by the sender of from, and reports whether it was stored. stale
// appends Prometheus' staleness marker instead of v. Only a new series (its budget) and a drop (its
// count) need the sender.
func (a *appender) add(st *seriesState, from *resourceSender, t int64, v float64, stale bool) bool {
	s := a.s
	registered := st.lastT != math.MinInt64
	if !registered {
		if reason := a.admit(from.get()); reason != "" {
			a.drop(reason, from.get(), 1)
			return false
		}
	}
	if t <= st.lastT {
		a.drop(dropOutOfOrder, from.get(), 1)
		return false
	}
	if !stale && registered && t-st.lastT < s.limits.minGap {
		a.drop(dropRateLimit, from.get(), 1)
		return false
	}
	if t < s.truncatedTo {
		a.drop(dropTooOld, from.get(), 1)
		return false
	}
	if stale {
		v = math.Float64frombits(value.StaleNaN)
	}
	// The ref lets the head skip its own label lookup; lset is only read when the head no longer knows it.
	ref, err := a.app.Append(st.ref, st.lset, t, v)
	if err != nil {
		reason := dropInvalid
		switch {
		case errors.Is(err, storage.ErrOutOfOrderSample), errors.Is(err, storage.ErrDuplicateSampleForTimestamp):
			reason = dropOutOfOrder
		case errors.Is(err, storage.ErrOutOfBounds), errors.Is(err, storage.ErrTooOldSample):
			reason = dropTooOld
		}
		a.drop(reason, from.get(), 1)
		return false
	}
	st.ref, st.lastT = ref, t
	if !registered {
		s.series[st.key] = st
		st.owner = s.senders.hold(from.get())
		from.s = st.owner
	}
	return true
}

func (a *appender) commit() error {
	if err := a.app.Commit(); err != nil {
		return fmt.Errorf("committing samples to the store: %w", err)
	}
	return nil
}

// queryable reads the head like Prometheus reads its head block.
func (s *store) queryable() storage.Queryable {
	return storage.QueryableFunc(func(mint, maxt int64) (storage.Querier, error) {
		return tsdb.NewBlockQuerier(tsdb.NewRangeHead(s.head, mint, maxt), mint, maxt)
	})
}

// gc drops samples older than now-retention and forgets series with no sample since, releasing them
// from their senders' budgets.
func (s *store) gc(now time.Time) error {
	mint := now.UnixMilli() - s.limits.retention
	if mint <= s.truncatedTo {
		return nil
	}
	for k, st := range s.series {
		if st.lastT < mint {
			delete(s.series, k)
			s.senders.release(st.owner)
		}
	}
	s.forgetPoints(mint)
	s.truncatedTo = mint
	if err := s.head.Truncate(mint); err != nil {
		return fmt.Errorf("truncating the store at %s: %w", time.UnixMilli(mint).UTC(), err)
	}
	return nil
}

func (s *store) numSeries() int { return len(s.series) }
