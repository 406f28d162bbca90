package ruleengine // import "github.com/otelcol-gaudi/otelcol-gaudi/internal/ruleengine"

import (
	"context"
	"errors"
	"math"
	"sync"
	"time"

	"go.opentelemetry.io/collector/extension/xextension/storage"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/metric/noop"
	"go.uber.org/zap"
)

// Output receives the outcome of evaluations. The engine calls it one call at a time, in evaluation
// order, from the Ingest, AdvanceTo or Tick call that ran the evaluations, without holding the lock
// that ingestion takes: a slow consumer delays the calls that wait to deliver outputs after it, not
// the calls that run no evaluation.
type Output func(ctx context.Context, r Result)

// Settings are what the engine gets from its host.
type Settings struct {
	Logger *zap.Logger
	// Meter records the engine's telemetry; nil records nothing.
	Meter metric.Meter
	// Clock is the wall clock that bounds time (nil: time.Now). Rule unit tests run on a simulated one.
	Clock func() time.Time
	// Output receives every evaluation's outcome; nil drops them (queries and FiringAlerts still work).
	Output Output
}

// deltaState accumulates a delta monotonic sum into the cumulative series the exporter would expose.
type deltaState struct {
	start, last int64 // unix nanos of the run's start and of the last point
	value       float64
}

// Engine evaluates Prometheus rule files over OTLP metrics. It is safe for concurrent use.
type Engine struct {
	cfg    Config
	rules  *ruleFiles
	logger *zap.Logger
	tel    *telemetry
	clock  func() time.Time
	output Output
	limits storeLimits

	mu    sync.Mutex
	namer *namer
	store *store
	eval  *evaluator
	drops *dropReporter
	// delta are the running totals of delta sums, by series key.
	delta map[hash128]*deltaState
	// dataTime is the latest evaluation time data asked for (capped by the wall clock), dataWall the wall
	// time it was asked at.
	dataTime time.Time
	dataWall time.Time
	// evaluatedTo is the time up to which evaluations have run.
	evaluatedTo time.Time
	persist     *persister
	closed      bool

	// Outputs are served in the order of their tickets, which are taken under mu in evaluation order.
	nextTicket uint64
	outMu      sync.Mutex
	outTurn    *sync.Cond
	serving    uint64
}

// New checks cfg, takes its parsed rule files (or parses them) and returns an engine to Start.
func New(cfg Config, set Settings) (*Engine, error) {
	rf, err := cfg.ruleFiles()
	if err != nil {
		return nil, err
	}
	retention, err := resolveRetention(&cfg, rf)
	if err != nil {
		return nil, err
	}
	meter := set.Meter
	if meter == nil {
		meter = noop.NewMeterProvider().Meter("")
	}
	tel, err := newTelemetry(meter)
	if err != nil {
		return nil, err
	}
	logger := set.Logger
	if logger == nil {
		logger = zap.NewNop()
	}
	clock := set.Clock
	if clock == nil {
		clock = time.Now
	}
	l := cfg.Limits
	e := &Engine{
		cfg:    cfg,
		rules:  rf,
		logger: logger,
		tel:    tel,
		clock:  clock,
		output: set.Output,
		limits: storeLimits{
			maxSeries:          l.MaxSeries,
			maxNetworkSeries:   l.MaxSeries - l.reservedLocal(),
			maxSeriesPerClient: l.perClient(),
			maxSeriesPerSender: l.perSender(),
			minGap:             max(retention.Milliseconds()/int64(l.MaxSamplesPerSeries), 1),
			retention:          retention.Milliseconds(),
			futureSkew:         l.MaxFutureSkew.Milliseconds(),
		},
		namer: newNamer(cfg.Translation),
		drops: newDropReporter(tel, logger),
		delta: map[hash128]*deltaState{},
	}
	e.outTurn = sync.NewCond(&e.outMu)
	return e, nil
}

// Start creates the sample store and the rule groups and, with state (a storage client the engine then
// owns), restores the pending and firing alerts persisted by an earlier run.
func (e *Engine) Start(ctx context.Context, state storage.Client) error {
	dir, err := newChunkDir(e.logger)
	if err != nil {
		return err
	}
	st, err := newStore(e.limits, dir)
	if err != nil {
		return errors.Join(err, dir.remove())
	}
	ev, err := newEvaluator(&e.cfg, e.rules, st, e.logger)
	if err != nil {
		return errors.Join(err, st.close(), dir.remove())
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	e.store, e.eval = st, ev
	if state != nil {
		e.persist = &persister{client: state}
		if err := e.restore(ctx); err != nil {
			return err
		}
	}
	return nil
}

// Close persists the alert state, closes the storage client and removes the sample store.
func (e *Engine) Close(ctx context.Context) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		return nil
	}
	e.closed = true
	var errs []error
	if e.persist != nil {
		if e.eval != nil {
			errs = append(errs, e.persist.save(ctx, e.evaluatedTo, e.eval.forStates(), true))
		}
		errs = append(errs, e.persist.close(ctx))
	}
	if e.store != nil {
		errs = append(errs, e.store.close(), e.store.dir.remove())
	}
	return errors.Join(errs...)
}

var errNotRunning = errors.New("the rule engine is not running")

// Ingest stores the gauge and sum points of md, received from peer (the client's address; "" for the
// collector's own receivers), and runs the evaluations they make due. Data time drives evaluation, but
// never past the wall clock: points later than the wall clock plus limits::max_future_skew are refused,
// and an evaluation at T runs once data at or after T arrives and the wall clock has reached T.
func (e *Engine) Ingest(ctx context.Context, md pmetric.Metrics, peer string) error {
	e.mu.Lock()
	if e.store == nil || e.closed {
		e.mu.Unlock()
		return errNotRunning
	}
	now := e.clock()
	maxT, err := e.ingest(ctx, md, peer, now)
	if err != nil {
		e.mu.Unlock()
		return err
	}
	var evals []Evaluation
	if maxT != math.MinInt64 {
		target := time.UnixMilli(min(maxT, now.UnixMilli()))
		if target.After(e.dataTime) {
			e.dataTime, e.dataWall = target, now
			evals = e.evaluateTo(ctx, target)
		}
	}
	e.deliver(ctx, evals)
	return nil
}

// Annotate adds alert.state and alert.names to the points of md that pending or firing alerts are
// about (alert_state_attributes): those of a metric a rule with an active alert selects by name, whose
// labels contain every label the alert took from the series.
func (e *Engine) Annotate(md pmetric.Metrics) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.eval != nil {
		e.annotate(md)
	}
}

// AdvanceTo runs every evaluation due at or before t, and not after the wall clock.
func (e *Engine) AdvanceTo(ctx context.Context, t time.Time) error {
	e.mu.Lock()
	if e.store == nil || e.closed {
		e.mu.Unlock()
		return errNotRunning
	}
	if now := e.clock(); t.After(now) {
		t = now
	}
	e.deliver(ctx, e.evaluateTo(ctx, t))
	return nil
}

// Tick is called at least once per evaluation interval. When no data has arrived for an interval, it
// advances time by the wall time elapsed since the last data, so that rules about missing data
// (absent, a job that stopped sending) still fire and later resolve. It also logs the samples dropped
// since the last warning once dropLogInterval has passed, so that no drop waits for the next one to be
// reported.
func (e *Engine) Tick(ctx context.Context) {
	e.mu.Lock()
	if e.store == nil || e.closed {
		e.mu.Unlock()
		return
	}
	now := e.clock()
	e.drops.report(now, e.store.numSeries(), e.limits.maxSeries)
	var evals []Evaluation
	if idle := now.Sub(e.dataWall); !e.dataWall.IsZero() && idle >= e.cfg.EvaluationInterval {
		evals = e.evaluateTo(ctx, e.dataTime.Add(idle))
	}
	e.deliver(ctx, evals)
}

// deliver hands evals to the output in evaluation order. Callers hold e.mu, under which deliver takes a
// ticket before releasing it; the output then waits for the outputs of earlier tickets, and ingestion
// goes on meanwhile.
func (e *Engine) deliver(ctx context.Context, evals []Evaluation) {
	if len(evals) == 0 || e.output == nil {
		e.mu.Unlock()
		return
	}
	ticket := e.nextTicket
	e.nextTicket++
	e.mu.Unlock()

	e.outMu.Lock()
	for e.serving != ticket {
		e.outTurn.Wait()
	}
	e.outMu.Unlock()
	defer func() {
		e.outMu.Lock()
		e.serving++
		e.outTurn.Broadcast()
		e.outMu.Unlock()
	}()
	e.output(ctx, Result{Evaluations: evals})
}

// evaluateTo runs every evaluation due up to target and then trims the store. Callers hold e.mu.
func (e *Engine) evaluateTo(ctx context.Context, target time.Time) []Evaluation {
	if !target.After(e.evaluatedTo) {
		return nil
	}
	e.evaluatedTo = target
	begin := time.Now()
	evals := e.eval.advance(ctx, target)
	if len(evals) > 0 {
		e.tel.recordEvaluations(ctx, len(evals), time.Since(begin))
	}
	e.tel.recordSkipped(ctx, e.eval.takeSkipped())
	// Until restored, the store must keep the persisted ALERTS_FOR_STATE samples, however old.
	if !e.eval.restoring() {
		if err := e.store.gc(target); err != nil {
			e.logger.Warn("Trimming the sample store failed", zap.Error(err))
		}
		e.dropDelta(target)
	}
	if e.persist != nil && len(evals) > 0 {
		if err := e.persist.save(ctx, target, e.eval.forStates(), false); err != nil {
			e.logger.Warn("Persisting alert state failed", zap.Error(err))
		}
	}
	return evals
}

// dropDelta forgets accumulated delta sums that have not been updated within retention.
func (e *Engine) dropDelta(now time.Time) {
	mint := now.UnixNano() - e.limits.retention*int64(time.Millisecond)
	for k, d := range e.delta {
		if d.last < mint {
			delete(e.delta, k)
		}
	}
}

// Query runs an instant PromQL query over the stored samples at t; a scalar result is one sample
// without labels, as promtool reports it.
func (e *Engine) Query(ctx context.Context, expr string, t time.Time) ([]Sample, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.eval == nil {
		return nil, errNotRunning
	}
	vec, err := e.eval.query(ctx, expr, t)
	if err != nil {
		return nil, err
	}
	out := make([]Sample, 0, len(vec))
	for _, s := range vec {
		out = append(out, Sample{Labels: fromPromLabels(s.Metric), Value: s.F})
	}
	return out, nil
}

// FiringAlerts lists the firing alerts of the alerting rules named alertname.
func (e *Engine) FiringAlerts(alertname string) []Alert {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.eval == nil {
		return nil
	}
	var out []Alert
	for _, a := range e.eval.firingAlerts(alertname) {
		out = append(out, Alert{Labels: fromPromLabels(a.Labels), Annotations: fromPromLabels(a.Annotations)})
	}
	return out
}
