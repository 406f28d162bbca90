package ruleengine // import "github.com/otelcol-gaudi/otelcol-gaudi/internal/ruleengine"

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/prometheus/prometheus/model/labels"
	"go.opentelemetry.io/collector/extension/xextension/storage"
	"go.uber.org/zap"
)

const (
	stateKey = "alerts_for_state"
	// stateRefresh is how often unchanged state is rewritten, so that its timestamp tells the restore
	// how long the collector was down (Prometheus' ALERTS_FOR_STATE is written at every evaluation).
	stateRefresh = time.Minute
	// storageTimeout bounds one storage call; the data path waits for it.
	storageTimeout = 5 * time.Second
	forStateMetric = "ALERTS_FOR_STATE"
)

// persistedState is the ALERTS_FOR_STATE samples of one moment: the analogue of what Prometheus reads
// back from its TSDB to restore `for` progress after a restart.
type persistedState struct {
	// Time is the evaluation time the state was taken at, in Unix milliseconds.
	Time   int64      `json:"time"`
	Alerts []forState `json:"alerts"`
}

type persister struct {
	client storage.Client
	last   persistedState
}

// save writes the state when it changed, when the last write is older than stateRefresh, or when forced.
func (ps *persister) save(ctx context.Context, at time.Time, alerts []forState, force bool) error {
	slices.SortFunc(alerts, func(a, b forState) int {
		return labels.Compare(labels.FromMap(a.Labels), labels.FromMap(b.Labels))
	})
	st := persistedState{Time: at.UnixMilli(), Alerts: alerts}
	if !force && sameAlerts(ps.last.Alerts, alerts) && st.Time-ps.last.Time < stateRefresh.Milliseconds() {
		return nil
	}
	b, err := json.Marshal(st)
	if err != nil {
		return fmt.Errorf("encoding alert state: %w", err)
	}
	ctx, cancel := context.WithTimeout(ctx, storageTimeout)
	defer cancel()
	if err := ps.client.Set(ctx, stateKey, b); err != nil {
		return fmt.Errorf("writing alert state: %w", err)
	}
	ps.last = st
	return nil
}

func sameAlerts(a, b []forState) bool {
	return slices.EqualFunc(a, b, func(x, y forState) bool {
		return x.ActiveAt == y.ActiveAt && labels.Equal(labels.FromMap(x.Labels), labels.FromMap(y.Labels))
	})
}

func (ps *persister) load(ctx context.Context) (persistedState, bool, error) {
	ctx, cancel := context.WithTimeout(ctx, storageTimeout)
	defer cancel()
	b, err := ps.client.Get(ctx, stateKey)
	if err != nil {
		return persistedState{}, false, fmt.Errorf("reading alert state: %w", err)
	}
	if b == nil {
		return persistedState{}, false, nil
	}
	var st persistedState
	if err := json.Unmarshal(b, &st); err != nil {
		return persistedState{}, false, fmt.Errorf("decoding alert state: %w", err)
	}
	return st, true, nil
}

func (ps *persister) close(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, storageTimeout)
	defer cancel()
	return ps.client.Close(ctx)
}

// restore puts the persisted ALERTS_FOR_STATE samples into the store, where Prometheus' own
// Group.RestoreForState finds them after the second evaluation and applies for_outage_tolerance and
// for_grace_period exactly as Prometheus does after a restart.
// Callers hold e.mu.
func (e *Engine) restore(ctx context.Context) error {
	st, ok, err := e.persist.load(ctx)
	if err != nil || !ok {
		return err
	}
	app := e.store.head.Appender(ctx)
	for _, a := range st.Alerts {
		b := labels.NewBuilder(labels.FromMap(a.Labels))
		b.Set(labels.MetricName, forStateMetric)
		if _, err := app.Append(0, b.Labels(), st.Time, float64(a.ActiveAt)); err != nil {
			_ = app.Rollback()
			return fmt.Errorf("restoring alert state: %w", err)
		}
	}
	if err := app.Commit(); err != nil {
		return fmt.Errorf("restoring alert state: %w", err)
	}
	e.persist.last = st
	e.logger.Info("Restored alert state", zap.Int("alerts", len(st.Alerts)), zap.Time("saved_at", time.UnixMilli(st.Time)))
	return nil
}
