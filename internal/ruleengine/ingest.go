package ruleengine // import "github.com/otelcol-gaudi/otelcol-gaudi/internal/ruleengine"

import (
	"context"
	"math"
	"time"

	"go.opentelemetry.io/collector/pdata/pmetric"
)

// ingest appends every gauge and sum data point of md to the store under the names the prometheus
// exporter gives them, and returns the latest timestamp stored (Unix ms; math.MinInt64 if none).
// Points later than now + max_future_skew, or older than now - retention, are refused. Callers hold e.mu.
func (e *Engine) ingest(ctx context.Context, md pmetric.Metrics, peer string, now time.Time) (int64, error) {
	app := e.store.appender(ctx)
	w := timeWindow{
		oldest: now.Add(-time.Duration(e.limits.retention) * time.Millisecond).UnixMilli(),
		newest: now.Add(e.cfg.Limits.MaxFutureSkew).UnixMilli(),
	}
	maxT := int64(math.MinInt64)
	rms := md.ResourceMetrics()
	for i := 0; i < rms.Len(); i++ {
		rm := rms.At(i)
		from := &resourceSender{ss: e.store.senders, peer: peer, res: rm.Resource().Attributes()}
		sms := rm.ScopeMetrics()
		for j := 0; j < sms.Len(); j++ {
			sm := sms.At(j)
			sc := seriesContext{resource: rm.Resource().Attributes(), scope: sm.Scope(), schema: sm.SchemaUrl()}
			sc.id = app.s.hasher.context(sc)
			ms := sm.Metrics()
			for k := 0; k < ms.Len(); k++ {
				maxT = max(maxT, e.ingestMetric(app, ms.At(k), sc, from, w))
			}
		}
	}
	if err := app.commit(); err != nil {
		return math.MinInt64, err
	}
	e.drops.record(ctx, app.drops)
	if len(app.drops) > 0 {
		e.drops.report(now, e.store.numSeries(), e.limits.maxSeries)
	}
	return maxT, nil
}

// timeWindow is the range of timestamps (Unix ms) the engine accepts at one moment.
type timeWindow struct{ oldest, newest int64 }

// ingestMetric follows the exporter's accumulator: gauges and cumulative sums as they are, monotonic
// delta sums accumulated into a cumulative series, non-monotonic delta sums and unspecified temporality
// refused, histograms and summaries not (yet) supported.
func (e *Engine) ingestMetric(app *appender, m pmetric.Metric, sc seriesContext, from *resourceSender, w timeWindow) int64 {
	var (
		dps   pmetric.NumberDataPointSlice
		delta bool
	)
	switch m.Type() {
	case pmetric.MetricTypeGauge:
		dps = m.Gauge().DataPoints()
	case pmetric.MetricTypeSum:
		dps = m.Sum().DataPoints()
		switch m.Sum().AggregationTemporality() {
		case pmetric.AggregationTemporalityCumulative:
		case pmetric.AggregationTemporalityDelta:
			if !m.Sum().IsMonotonic() {
				app.drop(dropUnsupported, from.get(), int64(dps.Len()))
				return math.MinInt64
			}
			delta = true
		default:
			app.drop(dropUnsupported, from.get(), int64(dps.Len()))
			return math.MinInt64
		}
	default:
		if n := dataPointCount(m); n > 0 {
			app.drop(dropUnsupported, from.get(), int64(n))
		}
		return math.MinInt64
	}
	name, err := e.namer.metricName(m)
	if err != nil {
		app.drop(dropInvalid, from.get(), int64(dps.Len()))
		return math.MinInt64
	}
	metricID := app.s.hasher.metric(sc.id, name)
	maxT := int64(math.MinInt64)
	for i := 0; i < dps.Len(); i++ {
		dp := dps.At(i)
		// OTLP's zero timestamp ("not set") is 1970, far older than any retention of a running collector.
		t := dp.Timestamp().AsTime().UnixMilli()
		switch {
		case t > w.newest:
			app.drop(dropFuture, from.get(), 1)
			continue
		case t < w.oldest:
			app.drop(dropTooOld, from.get(), 1)
			continue
		}
		var v float64
		switch dp.ValueType() {
		case pmetric.NumberDataPointValueTypeInt:
			v = float64(dp.IntValue())
		case pmetric.NumberDataPointValueTypeDouble:
			v = dp.DoubleValue()
		default:
			// A staleness marker carries no value: the prometheus receiver flags a series that went away
			// "no recorded value" and sets none.
			if !dp.Flags().NoRecordedValue() {
				app.drop(dropInvalid, from.get(), 1)
				continue
			}
		}
		// A series seen before skips naming: its identity leads straight to its labels and head reference.
		id := app.s.hasher.point(metricID, dp.Attributes())
		entry := app.s.cachedPoint(id)
		var st *seriesState
		if entry != nil {
			st = entry.st
		} else {
			lset, err := e.namer.seriesLabels(name, dp.Attributes(), sc)
			if err != nil {
				app.drop(dropInvalid, from.get(), 1)
				continue
			}
			st = app.series(lset)
		}
		stale := dp.Flags().NoRecordedValue()
		if delta && !stale {
			var reason dropReason
			if v, reason = e.accumulate(st.key, dp, v); reason != "" {
				app.drop(reason, from.get(), 1)
				continue
			}
		}
		if !app.add(st, from, t, v, stale) {
			continue
		}
		if entry != nil {
			entry.lastT = t
		} else {
			app.s.rememberPoint(id, st, t)
		}
		maxT = max(maxT, t)
	}
	return maxT
}

// accumulate adds a delta point to its series' running total when it continues the previous point
// (its start is the previous point's time), and starts a new run otherwise: the exporter's rule, which
// PromQL then sees as a counter reset.
func (e *Engine) accumulate(key hash128, dp pmetric.NumberDataPoint, v float64) (float64, dropReason) {
	start, ts := int64(dp.StartTimestamp()), int64(dp.Timestamp())
	d, ok := e.delta[key]
	if !ok {
		if len(e.delta) >= e.limits.maxSeries {
			return 0, dropSeriesLimit
		}
		e.delta[key] = &deltaState{start: start, last: ts, value: v}
		return v, ""
	}
	if ts < d.last {
		return 0, dropOutOfOrder
	}
	if start == d.last {
		d.value += v
	} else {
		d.start, d.value = start, v
	}
	d.last = ts
	return d.value, ""
}

func dataPointCount(m pmetric.Metric) int {
	switch m.Type() {
	case pmetric.MetricTypeHistogram:
		return m.Histogram().DataPoints().Len()
	case pmetric.MetricTypeExponentialHistogram:
		return m.ExponentialHistogram().DataPoints().Len()
	case pmetric.MetricTypeSummary:
		return m.Summary().DataPoints().Len()
	}
	return 0
}
