package ruleengine // import "github.com/otelcol-gaudi/otelcol-gaudi/internal/ruleengine"

import (
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/prometheus/model/labels"
)

// Label is one label of a series or an alert.
type Label struct{ Name, Value string }

// Labels is a label set sorted by name.
type Labels []Label

// Get returns the value of the label name, or "".
func (ls Labels) Get(name string) string {
	for _, l := range ls {
		if l.Name == name {
			return l.Value
		}
	}
	return ""
}

// String renders the set as {name="value", ...}.
func (ls Labels) String() string {
	var b strings.Builder
	b.WriteByte('{')
	for i, l := range ls {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(l.Name)
		b.WriteByte('=')
		b.WriteString(strconv.Quote(l.Value))
	}
	b.WriteByte('}')
	return b.String()
}

func fromPromLabels(lset labels.Labels) Labels {
	out := make(Labels, 0, lset.Len())
	lset.Range(func(l labels.Label) { out = append(out, Label{Name: l.Name, Value: l.Value}) })
	return out
}

// AlertState is the state of an alert as ALERTS{alertstate} and transitions name it.
type AlertState string

const (
	// StateInactive is an alert that is not active: before it became pending, or a pending alert whose
	// condition cleared (Prometheus drops it without notification).
	StateInactive AlertState = "inactive"
	StatePending  AlertState = "pending"
	StateFiring   AlertState = "firing"
	// StateResolved is a firing alert whose condition cleared (after any keep_firing_for).
	StateResolved AlertState = "resolved"
)

// Transition is one change of an alert's state: a new pending alert, pending → firing (or straight to
// firing without `for`), firing → resolved, or pending → inactive.
type Transition struct {
	// Time is the evaluation timestamp at which the transition happened.
	Time          time.Time
	State         AlertState
	PreviousState AlertState
	// Labels are the alert's labels, alertname included; Annotations are rendered.
	Labels      Labels
	Annotations Labels
	Value       float64
	ActiveAt    time.Time
	FiredAt     time.Time
	ResolvedAt  time.Time
	RuleGroup   string
	RuleFile    string
}

// AlertSample is one point of the ALERTS series: an alert (labels, alertname included) in a state at an
// evaluation. Stale marks the end of that series (resolved, or pending → firing).
type AlertSample struct {
	Labels Labels
	State  AlertState
	Stale  bool
}

// Evaluation is the outcome of evaluating one rule group at one timestamp.
type Evaluation struct {
	Time        time.Time
	Group       string
	Alerts      []AlertSample
	Transitions []Transition
}

// Result is what one call of Ingest, AdvanceTo or Tick evaluated, in evaluation order.
type Result struct {
	Evaluations []Evaluation
}

// Transitions lists the transitions of every evaluation, in evaluation order.
func (r Result) Transitions() []Transition {
	var out []Transition
	for _, ev := range r.Evaluations {
		out = append(out, ev.Transitions...)
	}
	return out
}

// Alert is an active alert as promtool's unit tests compare it.
type Alert struct {
	Labels      Labels
	Annotations Labels
}

// Sample is one sample of an instant query's result.
type Sample struct {
	Labels Labels
	Value  float64
}
