package main

import (
	"context"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/value"
	"github.com/prometheus/prometheus/promql/parser"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pmetric"

	"github.com/otelcol-gaudi/otelcol-gaudi/internal/ruleengine"
)

// epsilon is the relative tolerance for expected sample values, as in current promtool.
const epsilon = 1e-6

// runFile runs every test group of one file and returns the problems found. The rule files are parsed
// once for all the groups.
func runFile(ctx context.Context, path string) []string {
	tf, err := readTestFile(path)
	if err != nil {
		return []string{err.Error()}
	}
	cfg := ruleengine.DefaultConfig()
	cfg.RuleFiles = tf.RuleFiles
	cfg.EvaluationInterval = time.Duration(tf.EvaluationInterval)
	// Test series may be dense and long; keep every sample and replay every evaluation, as promtool does.
	cfg.Limits.MaxSamplesPerSeries = 1_000_000
	cfg.Limits.MaxCatchUpEvaluations = 100_000
	cfg.Limits.MaxSeriesPerSender = cfg.Limits.MaxSeries
	if err := cfg.Check(); err != nil {
		return []string{err.Error()}
	}
	var problems []string
	for i, tg := range tf.Tests {
		name := tg.Name
		if name == "" {
			name = fmt.Sprintf("test %d", i+1)
		}
		for _, p := range runGroup(ctx, cfg, tg) {
			problems = append(problems, name+": "+p)
		}
	}
	return problems
}

type batch struct {
	t  time.Time
	md pmetric.Metrics
}

// clock is the simulated wall clock of a test group: data arrive when they are stamped.
type clock struct{ now time.Time }

func (c *clock) Now() time.Time { return c.now }

// runGroup feeds the group's input series through a fresh rule engine in time order, the clock moving
// with them from Unix 0 as promtool's does, and at each eval_time compares the firing alerts and query
// results with the expectations. The batches enter through the engine's OTLP ingest, so names and
// labels are translated as in the collector.
func runGroup(ctx context.Context, cfg ruleengine.Config, tg testGroup) []string {
	interval := time.Duration(tg.Interval)
	if interval == 0 {
		interval = defaultInterval
	}
	batches, err := buildBatches(tg.InputSeries, interval)
	if err != nil {
		return []string{err.Error()}
	}
	cfg.ExternalLabels = tg.ExternalLabels
	cfg.ExternalURL = tg.ExternalURL
	clk := &clock{now: time.Unix(0, 0)}
	eng, err := ruleengine.New(cfg, ruleengine.Settings{Clock: clk.Now})
	if err != nil {
		return []string{err.Error()}
	}
	if err := eng.Start(ctx, nil); err != nil {
		return []string{err.Error()}
	}
	defer func() { _ = eng.Close(ctx) }()

	var problems []string
	fed := 0
	// promtool evaluates from time 0 on; the first checkpoint starts the engine's timeline there.
	for _, at := range append([]time.Time{time.Unix(0, 0)}, checkpoints(tg)...) {
		for fed < len(batches) && !batches[fed].t.After(at) {
			clk.now = batches[fed].t
			if err := eng.Ingest(ctx, batches[fed].md, ""); err != nil {
				return append(problems, fmt.Sprintf("consuming input at %s: %v", batches[fed].t.UTC(), err))
			}
			fed++
		}
		clk.now = at
		if err := eng.AdvanceTo(ctx, at); err != nil {
			return append(problems, err.Error())
		}
		for _, at2 := range tg.AlertRuleTests {
			if evalTime(at2.EvalTime).Equal(at) {
				problems = append(problems, checkAlerts(eng, at2)...)
			}
		}
		for _, pt := range tg.PromQLTests {
			if evalTime(pt.EvalTime).Equal(at) {
				problems = append(problems, checkQuery(ctx, eng, pt)...)
			}
		}
	}
	return problems
}

func evalTime(d model.Duration) time.Time { return time.Unix(0, 0).Add(time.Duration(d)) }

func checkpoints(tg testGroup) []time.Time {
	var ts []time.Time
	for _, a := range tg.AlertRuleTests {
		ts = append(ts, evalTime(a.EvalTime))
	}
	for _, q := range tg.PromQLTests {
		ts = append(ts, evalTime(q.EvalTime))
	}
	slices.SortFunc(ts, func(a, b time.Time) int { return a.Compare(b) })
	return slices.Compact(ts)
}

// buildBatches turns the input series into one batch per timestamp: a gauge per metric name with the
// series' labels as data point attributes, named as written (the exporter's name translation leaves
// Prometheus names unchanged). A stale sample becomes a point flagged "no recorded value".
func buildBatches(series []inputSeries, interval time.Duration) ([]batch, error) {
	p := parser.NewParser(parser.Options{})
	type gaugeKey struct {
		t    int64
		name string
	}
	byTime := map[int64]pmetric.Metrics{}
	gauges := map[gaugeKey]pmetric.NumberDataPointSlice{}
	for _, s := range series {
		lset, vals, err := p.ParseSeriesDesc(s.Series + " " + s.Values)
		if err != nil {
			return nil, fmt.Errorf("input series %q: %w", s.Series, err)
		}
		name := lset.Get(labels.MetricName)
		if name == "" {
			return nil, fmt.Errorf("input series %q has no metric name", s.Series)
		}
		for i, v := range vals {
			if v.Omitted {
				continue
			}
			if v.Histogram != nil {
				return nil, fmt.Errorf("input series %q: native histograms are not supported", s.Series)
			}
			t := time.Unix(0, 0).Add(time.Duration(i) * interval)
			key := gaugeKey{t: t.UnixMilli(), name: name}
			dps, ok := gauges[key]
			if !ok {
				md, ok := byTime[key.t]
				if !ok {
					md = pmetric.NewMetrics()
					md.ResourceMetrics().AppendEmpty().ScopeMetrics().AppendEmpty()
					byTime[key.t] = md
				}
				m := md.ResourceMetrics().At(0).ScopeMetrics().At(0).Metrics().AppendEmpty()
				m.SetName(name)
				dps = m.SetEmptyGauge().DataPoints()
				gauges[key] = dps
			}
			dp := dps.AppendEmpty()
			dp.SetTimestamp(pcommon.NewTimestampFromTime(t))
			if value.IsStaleNaN(v.Value) {
				dp.SetFlags(pmetric.DefaultDataPointFlags.WithNoRecordedValue(true))
			} else {
				dp.SetDoubleValue(v.Value)
			}
			lset.Range(func(l labels.Label) {
				if l.Name != labels.MetricName {
					dp.Attributes().PutStr(l.Name, l.Value)
				}
			})
		}
	}
	out := make([]batch, 0, len(byTime))
	for t, md := range byTime {
		out = append(out, batch{t: time.UnixMilli(t), md: md})
	}
	slices.SortFunc(out, func(a, b batch) int { return a.t.Compare(b.t) })
	return out, nil
}

type alertView struct {
	labels, annotations labels.Labels
}

func (a alertView) String() string {
	return fmt.Sprintf("{labels: %s, annotations: %s}", a.labels, a.annotations)
}

func checkAlerts(eng *ruleengine.Engine, test alertRuleTest) []string {
	var exp, got []alertView
	for _, e := range test.ExpAlerts {
		lb := labels.NewBuilder(labels.FromMap(e.ExpLabels))
		lb.Set(labels.AlertName, test.Alertname)
		exp = append(exp, alertView{labels: lb.Labels(), annotations: labels.FromMap(e.ExpAnnotations)})
	}
	for _, a := range eng.FiringAlerts(test.Alertname) {
		got = append(got, alertView{labels: promLabels(a.Labels), annotations: promLabels(a.Annotations)})
	}
	cmp := func(a, b alertView) int {
		if c := labels.Compare(a.labels, b.labels); c != 0 {
			return c
		}
		return labels.Compare(a.annotations, b.annotations)
	}
	slices.SortFunc(exp, cmp)
	slices.SortFunc(got, cmp)
	if slices.EqualFunc(exp, got, func(a, b alertView) bool { return cmp(a, b) == 0 }) {
		return nil
	}
	return []string{fmt.Sprintf("alertname: %s, time: %s,\n        exp: %s,\n        got: %s",
		test.Alertname, test.EvalTime, listString(exp), listString(got))}
}

type sampleView struct {
	labels labels.Labels
	value  float64
}

func (s sampleView) String() string { return fmt.Sprintf("%s %g", s.labels, s.value) }

func checkQuery(ctx context.Context, eng *ruleengine.Engine, test promqlTest) []string {
	vec, err := eng.Query(ctx, test.Expr, evalTime(test.EvalTime))
	if err != nil {
		return []string{fmt.Sprintf("expr: %q, time: %s, err: %v", test.Expr, test.EvalTime, err)}
	}
	p := parser.NewParser(parser.Options{})
	var exp, got []sampleView
	for _, s := range test.ExpSamples {
		lset, err := p.ParseMetric(s.Labels)
		if err != nil {
			return []string{fmt.Sprintf("expr: %q, time: %s: expected labels %q: %v", test.Expr, test.EvalTime, s.Labels, err)}
		}
		exp = append(exp, sampleView{labels: lset, value: s.Value})
	}
	for _, s := range vec {
		got = append(got, sampleView{labels: promLabels(s.Labels), value: s.Value})
	}
	cmp := func(a, b sampleView) int { return labels.Compare(a.labels, b.labels) }
	slices.SortFunc(exp, cmp)
	slices.SortFunc(got, cmp)
	if slices.EqualFunc(exp, got, func(a, b sampleView) bool { return labels.Equal(a.labels, b.labels) && almostEqual(a.value, b.value) }) {
		return nil
	}
	return []string{fmt.Sprintf("expr: %q, time: %s,\n        exp: %s,\n        got: %s", test.Expr, test.EvalTime, listString(exp), listString(got))}
}

func almostEqual(a, b float64) bool {
	if math.IsNaN(a) || math.IsNaN(b) {
		return math.IsNaN(a) && math.IsNaN(b)
	}
	if a == b {
		return true
	}
	return math.Abs(a-b) <= epsilon*math.Max(math.Abs(a), math.Abs(b))
}

func listString[T fmt.Stringer](items []T) string {
	parts := make([]string, len(items))
	for i, it := range items {
		parts[i] = it.String()
	}
	return "[" + strings.Join(parts, ", ") + "]"
}

// promLabels turns the engine's labels into Prometheus', which promtool compares and prints.
func promLabels(ls ruleengine.Labels) labels.Labels {
	b := labels.NewScratchBuilder(len(ls))
	for _, l := range ls {
		b.Add(l.Name, l.Value)
	}
	return b.Labels()
}
