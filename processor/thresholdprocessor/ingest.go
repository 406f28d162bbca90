package thresholdprocessor // import "github.com/otelcol-gaudi/otelcol-gaudi/processor/thresholdprocessor"

import (
	"context"
	"math"
	"time"

	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.uber.org/zap"
)

// ingest appends every gauge and sum data point of md to the store under the names the prometheus
// exporter gives them, and returns the latest data timestamp. Callers hold p.mu.
func (p *thresholdProcessor) ingest(ctx context.Context, md pmetric.Metrics) (time.Time, error) {
	app := p.store.appender(ctx)
	maxT := int64(math.MinInt64)
	forEachScope(md, func(sc seriesContext, ms pmetric.MetricSlice) {
		sc.id = app.s.hasher.context(sc)
		for k := 0; k < ms.Len(); k++ {
			maxT = max(maxT, p.ingestMetric(app, ms.At(k), sc))
		}
	})
	if err := app.commit(); err != nil {
		return time.Time{}, err
	}
	p.recordDrops(ctx, app.drops)
	if maxT == math.MinInt64 {
		return time.Time{}, nil
	}
	return time.UnixMilli(maxT), nil
}

// ingestMetric follows the exporter's accumulator: gauges and cumulative sums as they are, monotonic
// delta sums accumulated into a cumulative series, non-monotonic delta sums and unspecified temporality
// refused, histograms and summaries not (yet) supported.
func (p *thresholdProcessor) ingestMetric(app *appender, m pmetric.Metric, sc seriesContext) int64 {
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
				app.drops[dropUnsupported] += int64(dps.Len())
				return math.MinInt64
			}
			delta = true
		default:
			app.drops[dropUnsupported] += int64(dps.Len())
			return math.MinInt64
		}
	default:
		app.drops[dropUnsupported] += int64(dataPointCount(m))
		return math.MinInt64
	}
	name, err := p.namer.metricName(m)
	if err != nil {
		app.drops[dropInvalid] += int64(dps.Len())
		return math.MinInt64
	}
	metricID := app.s.hasher.metric(sc.id, name)
	maxT := int64(math.MinInt64)
	for i := 0; i < dps.Len(); i++ {
		dp := dps.At(i)
		// OTLP's zero timestamp means "not set"; only rule unit tests, whose series start at 0, use it.
		if dp.Timestamp() == 0 && !p.zeroTimeValid {
			app.drops[dropInvalid]++
			continue
		}
		t := dp.Timestamp().AsTime().UnixMilli()
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
				app.drops[dropInvalid]++
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
			lset, err := p.namer.seriesLabels(name, dp.Attributes(), sc)
			if err != nil {
				app.drops[dropInvalid]++
				continue
			}
			st = app.series(lset)
		}
		stale := dp.Flags().NoRecordedValue()
		if delta && !stale {
			var reason dropReason
			if v, reason = p.accumulate(st.key, dp, v); reason != "" {
				app.drops[reason]++
				continue
			}
		}
		if !app.add(st, t, v, stale) {
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
func (p *thresholdProcessor) accumulate(key hash128, dp pmetric.NumberDataPoint, v float64) (float64, dropReason) {
	start, ts := int64(dp.StartTimestamp()), int64(dp.Timestamp())
	d, ok := p.delta[key]
	if !ok {
		if len(p.delta) >= p.limits.maxSeries {
			return 0, dropSeriesLimit
		}
		p.delta[key] = &deltaState{start: start, last: ts, value: v}
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

// recordDrops counts dropped samples and logs them at most once per dropLogInterval.
func (p *thresholdProcessor) recordDrops(ctx context.Context, drops map[dropReason]int64) {
	for r, n := range drops {
		if n == 0 {
			continue
		}
		p.tel.recordDropped(ctx, r, n)
		p.pendingDrops[r] += n
	}
	if len(p.pendingDrops) == 0 {
		return
	}
	now := p.wallNow()
	if now.Sub(p.lastDropLog) < dropLogInterval {
		return
	}
	fields := make([]zap.Field, 0, len(p.pendingDrops)+2)
	for r, n := range p.pendingDrops {
		fields = append(fields, zap.Int64(string(r), n))
	}
	fields = append(fields, zap.Int("series", p.store.numSeries()), zap.Int("max_series", p.limits.maxSeries))
	p.logger.Warn("Samples were not stored for rule evaluation", fields...)
	p.pendingDrops = map[dropReason]int64{}
	p.lastDropLog = now
}
