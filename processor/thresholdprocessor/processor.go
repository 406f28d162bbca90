package thresholdprocessor // import "github.com/otelcol-gaudi/otelcol-gaudi/processor/thresholdprocessor"

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/prometheus/prometheus/promql"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.uber.org/zap"
)

// dropLogInterval spaces the warnings about dropped samples.
const dropLogInterval = time.Minute

// deltaState accumulates a delta monotonic sum into the cumulative series the exporter would expose.
type deltaState struct {
	start, last int64 // unix nanos of the run's start and of the last point
	value       float64
}

type thresholdProcessor struct {
	cfg    *Config
	id     component.ID
	logger *zap.Logger
	tel    *telemetry
	next   consumer.Metrics
	limits storeLimits
	// wallNow is the wall clock; only the idle tick reads it.
	wallNow func() time.Time
	// zeroTimeValid accepts data at Unix time 0, for rule unit tests.
	zeroTimeValid bool

	mu    sync.Mutex
	namer *namer
	store *store
	eval  *evaluator
	// delta are the running totals of delta sums, by series key.
	delta map[hash128]*deltaState
	// dataTime is the latest data timestamp seen, dataWall the wall time it was seen at.
	dataTime time.Time
	dataWall time.Time
	// evaluatedTo is the time up to which evaluations have run.
	evaluatedTo  time.Time
	pendingDrops map[dropReason]int64
	lastDropLog  time.Time
	persist      *persister
	events       EventBus

	done      chan struct{}
	wg        sync.WaitGroup
	closeOnce sync.Once
}

func newThresholdProcessor(cfg *Config, id component.ID, set component.TelemetrySettings, next consumer.Metrics) (*thresholdProcessor, error) {
	info, err := loadRules(cfg)
	if err != nil {
		return nil, err
	}
	retention, err := resolveRetention(cfg, info)
	if err != nil {
		return nil, err
	}
	tel, err := newTelemetry(set)
	if err != nil {
		return nil, err
	}
	return &thresholdProcessor{
		cfg:    cfg,
		id:     id,
		logger: set.Logger,
		tel:    tel,
		next:   next,
		limits: storeLimits{
			maxSeries: cfg.Limits.MaxSeries,
			minGap:    max(retention.Milliseconds()/int64(cfg.Limits.MaxSamplesPerSeries), 1),
			retention: retention.Milliseconds(),
		},
		wallNow:      time.Now,
		namer:        newNamer(cfg.Translation),
		delta:        map[hash128]*deltaState{},
		pendingDrops: map[dropReason]int64{},
		done:         make(chan struct{}),
	}, nil
}

// resolveRetention keeps what the rules read: their longest lookbehind plus the lookback delta plus two
// evaluation intervals of slack for late data.
func resolveRetention(cfg *Config, info ruleInfo) (time.Duration, error) {
	need := info.lookbehind + cfg.LookbackDelta + 2*info.longestInterval
	if cfg.Limits.Retention == 0 {
		return need, nil
	}
	if cfg.Limits.Retention < need {
		return 0, fmt.Errorf("limits.retention %s is shorter than the %s the rules read (longest range and offset %s + lookback_delta %s + 2 × evaluation interval %s)",
			cfg.Limits.Retention, need, info.lookbehind, cfg.LookbackDelta, info.longestInterval)
	}
	return cfg.Limits.Retention, nil
}

func (p *thresholdProcessor) start(ctx context.Context, host component.Host) error {
	st, err := newStore(p.limits)
	if err != nil {
		return err
	}
	ev, err := newEvaluator(p.cfg, st, p.logger)
	if err != nil {
		return errors.Join(err, st.close())
	}
	p.mu.Lock()
	p.store, p.eval = st, ev
	p.mu.Unlock()
	if p.cfg.Storage != nil {
		if p.persist, err = newPersister(ctx, host, *p.cfg.Storage, p.id); err != nil {
			return err
		}
		if err := p.restore(ctx); err != nil {
			return err
		}
	}
	if p.cfg.Events != nil {
		if p.events, err = eventBusFromHost(host, *p.cfg.Events); err != nil {
			return err
		}
	}
	p.wg.Go(p.runIdleTicker)
	return nil
}

func (p *thresholdProcessor) shutdown(ctx context.Context) error {
	var errs []error
	p.closeOnce.Do(func() {
		close(p.done)
		p.wg.Wait()
		p.mu.Lock()
		defer p.mu.Unlock()
		if p.persist != nil && p.eval != nil {
			errs = append(errs, p.persist.save(ctx, p.evaluatedTo, p.eval.forStates(), true), p.persist.close(ctx))
		}
		if p.store != nil {
			errs = append(errs, p.store.close())
		}
	})
	return errors.Join(errs...)
}

// processMetrics stores the batch's samples, runs the evaluations the batch's timestamps make due, and
// returns the batch with the ALERTS series (and optionally alert-state attributes) added.
func (p *thresholdProcessor) processMetrics(ctx context.Context, md pmetric.Metrics) (pmetric.Metrics, error) {
	p.mu.Lock()
	maxT, err := p.ingest(ctx, md)
	if err != nil {
		p.mu.Unlock()
		return md, err
	}
	var evals []evaluation
	if maxT.After(p.dataTime) {
		p.dataTime, p.dataWall = maxT, p.wallNow()
		evals = p.evaluateTo(ctx, maxT)
	}
	if p.cfg.AlertStateAttributes {
		p.annotate(md)
	}
	if p.cfg.AlertsMetric {
		appendAlerts(md, evals, p.cfg.Translation)
	}
	p.mu.Unlock()
	p.publish(ctx, evals)
	return md, nil
}

// evaluateTo runs every evaluation due up to target and then trims the store. Callers hold p.mu.
func (p *thresholdProcessor) evaluateTo(ctx context.Context, target time.Time) []evaluation {
	if !target.After(p.evaluatedTo) {
		return nil
	}
	p.evaluatedTo = target
	begin := time.Now()
	evals := p.eval.advance(ctx, target)
	if len(evals) > 0 {
		p.tel.recordEvaluations(ctx, len(evals), time.Since(begin))
	}
	p.tel.recordSkipped(ctx, p.eval.takeSkipped())
	// Until restored, the store must keep the persisted ALERTS_FOR_STATE samples, however old.
	if !p.eval.restoring() {
		if err := p.store.gc(target); err != nil {
			p.logger.Warn("Trimming the sample store failed", zap.Error(err))
		}
		p.dropDelta(target)
	}
	if p.persist != nil && len(evals) > 0 {
		if err := p.persist.save(ctx, target, p.eval.forStates(), false); err != nil {
			p.logger.Warn("Persisting alert state failed", zap.Error(err))
		}
	}
	return evals
}

// dropDelta forgets accumulated delta sums that have not been updated within retention.
func (p *thresholdProcessor) dropDelta(now time.Time) {
	mint := now.UnixNano() - p.limits.retention*int64(time.Millisecond)
	for k, d := range p.delta {
		if d.last < mint {
			delete(p.delta, k)
		}
	}
}

func (p *thresholdProcessor) publish(ctx context.Context, evals []evaluation) {
	if p.events == nil {
		return
	}
	var events []AlertEvent
	for _, ev := range evals {
		events = append(events, ev.events...)
	}
	if len(events) > 0 {
		p.events.Publish(ctx, p.id, events)
	}
}

// runIdleTicker advances time by the wall clock while no data arrives, so rules about missing data
// (absent, rate == 0 of a job that stopped sending) still fire and later resolve.
func (p *thresholdProcessor) runIdleTicker() {
	t := time.NewTicker(p.cfg.EvaluationInterval)
	defer t.Stop()
	for {
		select {
		case <-p.done:
			return
		case <-t.C:
			ctx, cancel := context.WithTimeout(context.Background(), p.cfg.EvaluationInterval)
			if err := p.idleTick(ctx, p.wallNow()); err != nil {
				p.logger.Warn("Sending alerts evaluated while no data arrived failed", zap.Error(err))
			}
			cancel()
		}
	}
}

// idleTick evaluates up to the data time extrapolated by the wall time elapsed since data last arrived,
// once at least one evaluation interval has passed without data, and sends the ALERTS series downstream.
func (p *thresholdProcessor) idleTick(ctx context.Context, wall time.Time) error {
	p.mu.Lock()
	if p.dataWall.IsZero() {
		p.mu.Unlock()
		return nil
	}
	idle := wall.Sub(p.dataWall)
	if idle < p.cfg.EvaluationInterval {
		p.mu.Unlock()
		return nil
	}
	evals := p.evaluateTo(ctx, p.dataTime.Add(idle))
	md := pmetric.NewMetrics()
	if p.cfg.AlertsMetric {
		appendAlerts(md, evals, p.cfg.Translation)
	}
	p.mu.Unlock()
	p.publish(ctx, evals)
	if md.DataPointCount() == 0 {
		return nil
	}
	return p.next.ConsumeMetrics(ctx, md)
}

func (p *thresholdProcessor) query(ctx context.Context, expr string, ts time.Time) (promql.Vector, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.eval.query(ctx, expr, ts)
}
