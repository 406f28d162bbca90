package thresholdprocessor // import "github.com/otelcol-gaudi/otelcol-gaudi/processor/thresholdprocessor"

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"
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
	dropSeriesLimit dropReason = "series_limit"
	dropRateLimit   dropReason = "samples_per_series_limit"
	dropOutOfOrder  dropReason = "out_of_order"
	dropTooOld      dropReason = "too_old"
	dropInvalid     dropReason = "invalid"
	dropUnsupported dropReason = "unsupported_type"
)

// storeLimits are the bounds of the store, resolved from LimitsConfig and the rules.
type storeLimits struct {
	maxSeries int
	// minGap is retention / max_samples_per_series: samples of one series closer than this to the previous
	// accepted one are dropped, so a series never holds more than max_samples_per_series within retention.
	minGap    int64
	retention int64
}

// seriesState is what the store tracks per input series, for limits and ordering.
type seriesState struct {
	lset labels.Labels
	// key is the hash of lset: the series' key in the store and in the processor's delta sums.
	key hash128
	ref storage.SeriesRef
	// lastT is the time of the last sample stored; math.MinInt64 until the first, which registers the series.
	lastT int64
}

// store is a bounded in-memory window of recent samples: a Prometheus TSDB head (the same structure
// Prometheus queries for recent data) plus a series index that enforces the limits before appending.
// Rule evaluation appends its own results (ALERTS, ALERTS_FOR_STATE, recording rules) to the same head,
// as Prometheus does; those are bounded by the rules and by retention, not by max_series.
type store struct {
	head   *tsdb.Head
	dir    string
	limits storeLimits
	hasher *seriesHasher
	series map[hash128]*seriesState
	// points maps OTLP series identities to their series (pointcache.go).
	points map[hash128]*pointEntry
	// truncatedTo is the last mint passed to the head's Truncate.
	truncatedTo int64
}

func newStore(limits storeLimits) (*store, error) {
	// The head memory-maps full chunks into a directory; it is private to this instance and removed on close.
	dir, err := os.MkdirTemp("", "otelcol-threshold-")
	if err != nil {
		return nil, fmt.Errorf("creating the sample store's chunk directory: %w", err)
	}
	opts := tsdb.DefaultHeadOptions()
	opts.ChunkDirRoot = dir
	head, err := tsdb.NewHead(nil, promslog.NewNopLogger(), nil, nil, opts, nil)
	if err != nil {
		_ = os.RemoveAll(dir)
		return nil, fmt.Errorf("creating the sample store: %w", err)
	}
	if err := head.Init(math.MinInt64); err != nil {
		_ = head.Close()
		_ = os.RemoveAll(dir)
		return nil, fmt.Errorf("initialising the sample store: %w", err)
	}
	return &store{
		head:        head,
		dir:         dir,
		limits:      limits,
		hasher:      newSeriesHasher(),
		series:      make(map[hash128]*seriesState),
		points:      make(map[hash128]*pointEntry),
		truncatedTo: math.MinInt64,
	}, nil
}

func (s *store) close() error {
	return errors.Join(s.head.Close(), os.RemoveAll(s.dir))
}

// appender adds input samples under the store's limits; Commit makes them visible to queries.
type appender struct {
	s     *store
	app   storage.Appender
	drops map[dropReason]int64
}

func (s *store) appender(ctx context.Context) *appender {
	return &appender{s: s, app: s.head.Appender(ctx), drops: make(map[dropReason]int64)}
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

// add appends one sample to st and reports whether it was stored. stale appends Prometheus' staleness
// marker instead of v.
func (a *appender) add(st *seriesState, t int64, v float64, stale bool) bool {
	s := a.s
	registered := st.lastT != math.MinInt64
	if !registered && len(s.series) >= s.limits.maxSeries {
		a.drops[dropSeriesLimit]++
		return false
	}
	if t <= st.lastT {
		a.drops[dropOutOfOrder]++
		return false
	}
	if !stale && registered && t-st.lastT < s.limits.minGap {
		a.drops[dropRateLimit]++
		return false
	}
	if t < s.truncatedTo {
		a.drops[dropTooOld]++
		return false
	}
	if stale {
		v = math.Float64frombits(value.StaleNaN)
	}
	// The ref lets the head skip its own label lookup; lset is only read when the head no longer knows it.
	ref, err := a.app.Append(st.ref, st.lset, t, v)
	if err != nil {
		switch {
		case errors.Is(err, storage.ErrOutOfOrderSample), errors.Is(err, storage.ErrDuplicateSampleForTimestamp):
			a.drops[dropOutOfOrder]++
		case errors.Is(err, storage.ErrOutOfBounds), errors.Is(err, storage.ErrTooOldSample):
			a.drops[dropTooOld]++
		default:
			a.drops[dropInvalid]++
		}
		return false
	}
	st.ref, st.lastT = ref, t
	if !registered {
		s.series[st.key] = st
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

// gc drops samples older than now-retention and forgets series with no sample since.
func (s *store) gc(now time.Time) error {
	mint := now.UnixMilli() - s.limits.retention
	if mint <= s.truncatedTo {
		return nil
	}
	for k, st := range s.series {
		if st.lastT < mint {
			delete(s.series, k)
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
