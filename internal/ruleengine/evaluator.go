package ruleengine // import "github.com/otelcol-gaudi/otelcol-gaudi/internal/ruleengine"

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/common/promslog"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql"
	"github.com/prometheus/prometheus/rules"
	"github.com/prometheus/prometheus/storage"
	"go.uber.org/zap"
)

// forState is an ALERTS_FOR_STATE sample: when an active alert became active.
type forState struct {
	Labels   map[string]string `json:"labels"`
	ActiveAt int64             `json:"active_at"`
}

type trackedAlert struct {
	state  AlertState
	labels labels.Labels
}

// evalGroup is a Prometheus rule group with the next timestamp at which it is due.
type evalGroup struct {
	g        *rules.Group
	key      string
	next     time.Time
	evals    int
	restored bool
	// alerting are the group's alerting rules in file order; names are the metric names each selects.
	alerting []*rules.AlertingRule
	names    [][]string
	// tracked is the state of every pending or firing alert after the previous evaluation, for transitions.
	tracked map[string]trackedAlert
	// lastErr is the last error logged per rule, so a persistent failure is logged once.
	lastErr map[string]string
}

// evaluator runs the rule groups with Prometheus' rules package over the store, on a timeline set by
// advance: every group is evaluated at each multiple of its interval, like promtool does from time 0.
type evaluator struct {
	logger     *zap.Logger
	store      *store
	groups     []*evalGroup
	maxCatchUp int
	skipped    int64
	engine     *promql.Engine
	queryable  storage.Queryable
}

func newEvaluator(cfg *Config, rf *ruleFiles, st *store, logger *zap.Logger) (*evaluator, error) {
	engine := promql.NewEngine(promql.EngineOpts{
		Logger:               promslog.NewNopLogger(),
		MaxSamples:           cfg.MaxQuerySamples,
		Timeout:              cfg.QueryTimeout,
		LookbackDelta:        cfg.LookbackDelta,
		EnableAtModifier:     true,
		EnableNegativeOffset: true,
		// Prometheus' default step for subqueries without one is the global evaluation interval.
		NoStepSubqueryIntervalFn: func(int64) int64 { return cfg.EvaluationInterval.Milliseconds() },
	})
	queryable := st.queryable()
	opts := &rules.ManagerOptions{
		NameValidationScheme: nameValidation,
		QueryFunc:            rules.EngineQueryFunc(engine, queryable),
		// Pending alerts are never sent; firing and resolved ones are reported as events instead.
		NotifyFunc:      func(context.Context, string, ...*rules.Alert) {},
		Context:         context.Background(),
		Appendable:      st.head,
		Queryable:       queryable,
		Logger:          promslog.NewNopLogger(),
		OutageTolerance: cfg.OutageTolerance,
		ForGracePeriod:  cfg.ForGracePeriod,
		ResendDelay:     time.Minute,
		// The groups are built from the one parse of the rule files.
		GroupLoader: rf,
	}
	if cfg.ExternalURL != "" {
		u, err := url.Parse(cfg.ExternalURL)
		if err != nil {
			return nil, fmt.Errorf("external_url: %w", err)
		}
		opts.ExternalURL = u
	}
	// The manager is only used to turn rule files into groups exactly as Prometheus does; it never runs.
	m := rules.NewManager(opts)
	loaded, errs := m.LoadGroups(cfg.EvaluationInterval, labels.FromMap(cfg.ExternalLabels), cfg.ExternalURL, nil, false, cfg.RuleFiles...)
	if len(errs) > 0 {
		return nil, fmt.Errorf("loading rule files: %w", errors.Join(errs...))
	}
	e := &evaluator{logger: logger, store: st, maxCatchUp: cfg.Limits.MaxCatchUpEvaluations, engine: engine, queryable: queryable}
	for key, g := range loaded {
		eg := &evalGroup{g: g, key: key, tracked: map[string]trackedAlert{}, lastErr: map[string]string{}}
		for _, r := range g.Rules() {
			if ar, ok := r.(*rules.AlertingRule); ok {
				eg.alerting = append(eg.alerting, ar)
				eg.names = append(eg.names, selectedNames(ar.Query()))
			}
		}
		e.groups = append(e.groups, eg)
	}
	// Map order is random; a fixed order keeps evaluation and output deterministic.
	slices.SortFunc(e.groups, func(a, b *evalGroup) int { return strings.Compare(a.key, b.key) })
	return e, nil
}

// startAt sets the first evaluation of every group to the first multiple of its interval at or after t.
func (e *evaluator) startAt(t time.Time) {
	for _, g := range e.groups {
		if g.next.IsZero() {
			g.next = ceilTime(t, g.g.Interval())
		}
	}
}

// ceilTime is the first multiple of d since the Unix epoch at or after t (time.Truncate counts from
// year 1, which differs for intervals that do not divide a day).
func ceilTime(t time.Time, d time.Duration) time.Time {
	ns, step := t.UnixNano(), d.Nanoseconds()
	f := ns - ns%step
	if ns%step < 0 {
		f -= step
	}
	if f < ns {
		f += step
	}
	return time.Unix(0, f).UTC()
}

// advance evaluates, in time order, every group evaluation due at or before target.
func (e *evaluator) advance(ctx context.Context, target time.Time) []Evaluation {
	e.startAt(target)
	for _, g := range e.groups {
		iv := g.g.Interval()
		if due := int(target.Sub(g.next)/iv) + 1; due > e.maxCatchUp {
			// Evaluations older than the catch-up window would read data the store no longer holds.
			skip := due - e.maxCatchUp
			g.next = g.next.Add(time.Duration(skip) * iv)
			e.skipped += int64(skip)
		}
	}
	var out []Evaluation
	for {
		var due *evalGroup
		for _, g := range e.groups {
			if !g.next.After(target) && (due == nil || g.next.Before(due.next)) {
				due = g
			}
		}
		if due == nil || ctx.Err() != nil {
			return out
		}
		out = append(out, e.evalGroup(ctx, due, due.next))
		due.next = due.next.Add(due.g.Interval())
	}
}

func stateOf(a *rules.Alert) AlertState {
	switch a.State {
	case rules.StatePending:
		return StatePending
	case rules.StateFiring:
		return StateFiring
	}
	return StateResolved
}

func (e *evaluator) evalGroup(ctx context.Context, g *evalGroup, ts time.Time) Evaluation {
	g.g.Eval(ctx, ts)
	g.evals++
	// Prometheus restores `for` state from ALERTS_FOR_STATE after the group's second evaluation, once
	// recording rules the alerts depend on have run; state.go puts persisted samples in the store first.
	if !g.restored && g.evals == 2 {
		g.g.RestoreForState(ts)
		g.restored = true
	}
	ev := Evaluation{Time: ts, Group: g.key}
	// ALERTS points are ordered by their series' labels, as Prometheus sorts series.
	type alertPoint struct {
		series labels.Labels
		sample AlertSample
	}
	var points []alertPoint
	current := make(map[string]trackedAlert, len(g.tracked))
	seen := make(map[string]bool, len(g.tracked))
	for i, r := range g.alerting {
		e.logRuleError(g, r)
		prefix := strconv.Itoa(i) + "\xff"
		r.ForEachActiveAlert(func(a *rules.Alert) {
			key := prefix + a.Labels.String()
			seen[key] = true
			prev, had := g.tracked[key]
			state := stateOf(a)
			if state != StateResolved {
				current[key] = trackedAlert{state: state, labels: a.Labels}
				points = append(points, alertPoint{alertsLabels(a.Labels, state), AlertSample{Labels: fromPromLabels(a.Labels), State: state}})
			}
			if (had && prev.state == state) || (!had && state == StateResolved) {
				return
			}
			prevState := StateInactive
			if had {
				prevState = prev.state
			}
			ev.Transitions = append(ev.Transitions, Transition{
				Time: ts, State: state, PreviousState: prevState,
				Labels: fromPromLabels(a.Labels), Annotations: fromPromLabels(a.Annotations), Value: a.Value,
				ActiveAt: a.ActiveAt, FiredAt: a.FiredAt, ResolvedAt: a.ResolvedAt,
				RuleGroup: g.g.Name(), RuleFile: g.g.File(),
			})
		})
	}
	// A tracked alert can vanish without a resolved state: a pending alert whose condition cleared, or
	// every alert of a rule that exceeded its group's limit.
	for key, prev := range g.tracked {
		if seen[key] {
			continue
		}
		next := StateInactive
		if prev.state == StateFiring {
			next = StateResolved
		}
		ev.Transitions = append(ev.Transitions, Transition{
			Time: ts, State: next, PreviousState: prev.state, Labels: fromPromLabels(prev.labels),
			RuleGroup: g.g.Name(), RuleFile: g.g.File(),
		})
	}
	// ALERTS series that ended get a staleness marker, as Prometheus writes one.
	for key, prev := range g.tracked {
		if cur, ok := current[key]; !ok || cur.state != prev.state {
			points = append(points, alertPoint{alertsLabels(prev.labels, prev.state), AlertSample{Labels: fromPromLabels(prev.labels), State: prev.state, Stale: true}})
		}
	}
	g.tracked = current
	slices.SortFunc(ev.Transitions, func(a, b Transition) int { return compareLabels(a.Labels, b.Labels) })
	slices.SortFunc(points, func(a, b alertPoint) int { return labels.Compare(a.series, b.series) })
	for _, p := range points {
		ev.Alerts = append(ev.Alerts, p.sample)
	}
	return ev
}

// compareLabels orders label sets as labels.Compare does.
func compareLabels(a, b Labels) int {
	for i := 0; i < len(a) && i < len(b); i++ {
		if c := strings.Compare(a[i].Name, b[i].Name); c != 0 {
			return c
		}
		if c := strings.Compare(a[i].Value, b[i].Value); c != 0 {
			return c
		}
	}
	return len(a) - len(b)
}

// alertsLabels is the ALERTS series of an alert in a state (rules.AlertingRule.sample does the same).
func alertsLabels(alert labels.Labels, state AlertState) labels.Labels {
	b := labels.NewBuilder(alert)
	b.Set(labels.MetricName, alertsMetric)
	b.Set("alertstate", string(state))
	return b.Labels()
}

func (e *evaluator) logRuleError(g *evalGroup, r *rules.AlertingRule) {
	err := r.LastError()
	msg := ""
	if err != nil {
		msg = err.Error()
	}
	if g.lastErr[r.Name()] == msg {
		return
	}
	g.lastErr[r.Name()] = msg
	if err != nil {
		e.logger.Warn("Evaluating alerting rule failed", zap.String("group", g.key), zap.String("alertname", r.Name()), zap.Error(err))
	} else {
		e.logger.Info("Alerting rule evaluates again", zap.String("group", g.key), zap.String("alertname", r.Name()))
	}
}

// forStates lists the ALERTS_FOR_STATE of every pending or firing alert, for persistence.
func (e *evaluator) forStates() []forState {
	var out []forState
	for _, g := range e.groups {
		for _, r := range g.alerting {
			r.ForEachActiveAlert(func(a *rules.Alert) {
				if a.State == rules.StatePending || a.State == rules.StateFiring {
					out = append(out, forState{Labels: a.Labels.Map(), ActiveAt: a.ActiveAt.Unix()})
				}
			})
		}
	}
	return out
}

// firingAlerts lists the firing alerts of the rule named alertname, as promtool compares them.
func (e *evaluator) firingAlerts(alertname string) []*rules.Alert {
	var out []*rules.Alert
	for _, g := range e.groups {
		for _, r := range g.alerting {
			if r.Name() != alertname {
				continue
			}
			for _, a := range r.ActiveAlerts() {
				if a.State == rules.StateFiring {
					out = append(out, a)
				}
			}
		}
	}
	return out
}

// activeIndex maps a metric name to the pending or firing alerts of the rules that select it, for
// alert_state_attributes.
type activeAlert struct {
	name  string
	state AlertState
	// match are the alert's labels that come from the series (rule labels and alertname removed).
	match labels.Labels
}

func (e *evaluator) activeIndex() map[string][]activeAlert {
	idx := map[string][]activeAlert{}
	for _, g := range e.groups {
		for i, r := range g.alerting {
			if len(g.names[i]) == 0 {
				continue
			}
			ruleLabels := r.Labels()
			r.ForEachActiveAlert(func(a *rules.Alert) {
				state := stateOf(a)
				if state == StateResolved {
					return
				}
				b := labels.NewBuilder(a.Labels)
				b.Del(labels.AlertName)
				ruleLabels.Range(func(l labels.Label) { b.Del(l.Name) })
				aa := activeAlert{name: r.Name(), state: state, match: b.Labels()}
				for _, n := range g.names[i] {
					idx[n] = append(idx[n], aa)
				}
			})
		}
	}
	return idx
}

// takeSkipped returns and resets the number of evaluations skipped by the catch-up bound.
func (e *evaluator) takeSkipped() int64 {
	n := e.skipped
	e.skipped = 0
	return n
}

// restoring reports whether some group has not yet restored its `for` state.
func (e *evaluator) restoring() bool {
	for _, g := range e.groups {
		if !g.restored {
			return true
		}
	}
	return false
}

// query runs an instant PromQL query over the store; a scalar result becomes one sample without labels,
// as promtool reports it.
func (e *evaluator) query(ctx context.Context, expr string, ts time.Time) (promql.Vector, error) {
	q, err := e.engine.NewInstantQuery(ctx, e.queryable, nil, expr, ts)
	if err != nil {
		return nil, fmt.Errorf("query %q: %w", expr, err)
	}
	defer q.Close()
	res := q.Exec(ctx)
	if res.Err != nil {
		return nil, fmt.Errorf("query %q: %w", expr, res.Err)
	}
	switch v := res.Value.(type) {
	case promql.Vector:
		return v, nil
	case promql.Scalar:
		return promql.Vector{{T: v.T, F: v.V, Metric: labels.EmptyLabels()}}, nil
	}
	return nil, fmt.Errorf("query %q: result of type %s, want an instant vector or a scalar", expr, res.Value.Type())
}
