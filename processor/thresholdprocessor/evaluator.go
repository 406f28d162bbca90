package thresholdprocessor // import "github.com/otelcol-gaudi/otelcol-gaudi/processor/thresholdprocessor"

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"time"

	"github.com/prometheus/common/promslog"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql"
	"github.com/prometheus/prometheus/rules"
	"github.com/prometheus/prometheus/storage"
	"go.uber.org/zap"
)

// Alert states as they appear in ALERTS{alertstate} and in events.
const (
	statePending  = "pending"
	stateFiring   = "firing"
	stateResolved = "resolved"
	// stateInactive is an alert that is no longer pending (Prometheus drops it without notification).
	stateInactive = "inactive"
)

// AlertEvent is one alert transition: a new pending alert, pending → firing (or straight to firing without
// `for`), firing → resolved, or a pending alert whose condition cleared (inactive).
type AlertEvent struct {
	// Time is the evaluation timestamp at which the transition happened.
	Time          time.Time
	State         string
	PreviousState string
	// Labels are the alert's labels, alertname included; Annotations are rendered.
	Labels      labels.Labels
	Annotations labels.Labels
	Value       float64
	ActiveAt    time.Time
	FiredAt     time.Time
	ResolvedAt  time.Time
	RuleGroup   string
	RuleFile    string
}

// alertSample is one ALERTS series point of an evaluation.
type alertSample struct {
	labels labels.Labels
	stale  bool
}

// forState is an ALERTS_FOR_STATE sample: when an active alert became active.
type forState struct {
	Labels   map[string]string `json:"labels"`
	ActiveAt int64             `json:"active_at"`
}

// evaluation is the outcome of evaluating one rule group at one timestamp.
type evaluation struct {
	ts     time.Time
	alerts []alertSample
	events []AlertEvent
}

type trackedAlert struct {
	state  string
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

func newEvaluator(cfg *Config, st *store, logger *zap.Logger) (*evaluator, error) {
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
	slices.SortFunc(e.groups, func(a, b *evalGroup) int { return compareStrings(a.key, b.key) })
	return e, nil
}

func compareStrings(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// startAt sets the first evaluation of every group to the first multiple of its interval at or after t.
func (e *evaluator) startAt(t time.Time) {
	for _, g := range e.groups {
		if g.next.IsZero() {
			g.next = ceilTime(t, g.g.Interval())
		}
	}
}

func ceilTime(t time.Time, d time.Duration) time.Time {
	f := t.Truncate(d)
	if f.Before(t) {
		return f.Add(d)
	}
	return f
}

// advance evaluates, in time order, every group evaluation due at or before target.
func (e *evaluator) advance(ctx context.Context, target time.Time) []evaluation {
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
	var out []evaluation
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

func (e *evaluator) evalGroup(ctx context.Context, g *evalGroup, ts time.Time) evaluation {
	g.g.Eval(ctx, ts)
	g.evals++
	// Prometheus restores `for` state from ALERTS_FOR_STATE after the group's second evaluation, once
	// recording rules the alerts depend on have run; state.go puts persisted samples in the store first.
	if !g.restored && g.evals == 2 {
		g.g.RestoreForState(ts)
		g.restored = true
	}
	ev := evaluation{ts: ts}
	current := make(map[string]trackedAlert, len(g.tracked))
	seen := make(map[string]bool, len(g.tracked))
	for i, r := range g.alerting {
		e.logRuleError(g, r)
		prefix := strconv.Itoa(i) + "\xff"
		r.ForEachActiveAlert(func(a *rules.Alert) {
			key := prefix + a.Labels.String()
			seen[key] = true
			prev, had := g.tracked[key]
			state := stateResolved
			switch a.State {
			case rules.StatePending:
				state = statePending
			case rules.StateFiring:
				state = stateFiring
			}
			if state != stateResolved {
				current[key] = trackedAlert{state: state, labels: a.Labels}
				ev.alerts = append(ev.alerts, alertSample{labels: alertsLabels(a.Labels, state)})
			}
			if (had && prev.state == state) || (!had && state == stateResolved) {
				return
			}
			prevState := stateInactive
			if had {
				prevState = prev.state
			}
			ev.events = append(ev.events, AlertEvent{
				Time: ts, State: state, PreviousState: prevState,
				Labels: a.Labels, Annotations: a.Annotations, Value: a.Value,
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
		next := stateInactive
		if prev.state == stateFiring {
			next = stateResolved
		}
		ev.events = append(ev.events, AlertEvent{
			Time: ts, State: next, PreviousState: prev.state, Labels: prev.labels,
			RuleGroup: g.g.Name(), RuleFile: g.g.File(),
		})
	}
	// ALERTS series that ended get a staleness marker, as Prometheus writes one.
	for key, prev := range g.tracked {
		if cur, ok := current[key]; !ok || cur.state != prev.state {
			ev.alerts = append(ev.alerts, alertSample{labels: alertsLabels(prev.labels, prev.state), stale: true})
		}
	}
	g.tracked = current
	sortEvents(ev.events)
	slices.SortFunc(ev.alerts, func(a, b alertSample) int { return labels.Compare(a.labels, b.labels) })
	return ev
}

func sortEvents(events []AlertEvent) {
	slices.SortFunc(events, func(a, b AlertEvent) int { return labels.Compare(a.Labels, b.Labels) })
}

// alertsLabels is the ALERTS series of an alert in a state (rules.AlertingRule.sample does the same).
func alertsLabels(alert labels.Labels, state string) labels.Labels {
	b := labels.NewBuilder(alert)
	b.Set(labels.MetricName, "ALERTS")
	b.Set("alertstate", state)
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
	state string
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
				state := statePending
				switch a.State {
				case rules.StatePending:
				case rules.StateFiring:
					state = stateFiring
				default:
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
