package thresholdconnector // import "github.com/otelcol-gaudi/otelcol-gaudi/connector/thresholdconnector"

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"time"

	"go.opentelemetry.io/collector/client"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/connector"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/extension/xextension/storage"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.uber.org/zap"

	"github.com/otelcol-gaudi/otelcol-gaudi/connector/thresholdconnector/internal/metadata"
	"github.com/otelcol-gaudi/otelcol-gaudi/internal/ruleengine"
)

const (
	// maxTickPeriod bounds the time between two ticks, which also report dropped samples.
	maxTickPeriod = 10 * time.Second
	// storageTimeout bounds getting the storage client at start-up.
	storageTimeout = 5 * time.Second
)

// cores holds the core of every threshold connector ID: the metrics → metrics and metrics → logs
// instances of one ID are created separately and share it. It belongs to one factory, not the package.
type cores struct {
	clock func() time.Time
	mu    sync.Mutex
	byID  map[component.ID]*core
}

func newCores(clock func() time.Time) *cores {
	return &cores{clock: clock, byID: map[component.ID]*core{}}
}

func (cs *cores) get(set connector.Settings, cfg *Config) (*core, error) {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	if c, ok := cs.byID[set.ID]; ok {
		return c, nil
	}
	c, err := newCore(set, cfg, cs.clock)
	if err != nil {
		return nil, err
	}
	c.remove = func() {
		cs.mu.Lock()
		defer cs.mu.Unlock()
		delete(cs.byID, set.ID)
	}
	cs.byID[set.ID] = c
	return c, nil
}

// core is the rule engine of one connector ID and the outputs of its instances. It starts with the
// first instance and stops with the first one shut down: the collector shuts every instance down
// before anything downstream of them.
type core struct {
	cfg    *Config
	id     component.ID
	logger *zap.Logger
	engine *ruleengine.Engine
	// self names the collector; it stands in for an alert without job or instance labels.
	self service
	// metrics and logs are the next consumers of the instances, set when they are created, before
	// Start; nil when the connector has no such output.
	metrics consumer.Metrics
	logs    consumer.Logs

	startOnce, stopOnce sync.Once
	startErr            error
	remove              func()
	done                chan struct{}
	wg                  sync.WaitGroup
}

func newCore(set connector.Settings, cfg *Config, clock func() time.Time) (*core, error) {
	c := &core{cfg: cfg, id: set.ID, logger: set.Logger, self: collectorService(set.Resource), done: make(chan struct{})}
	e, err := ruleengine.New(cfg.Config, ruleengine.Settings{
		Logger: set.Logger,
		Meter:  set.MeterProvider.Meter(metadata.ScopeName),
		Clock:  clock,
		Output: c.output,
	})
	if err != nil {
		return nil, err
	}
	c.engine = e
	return c, nil
}

func (c *core) Start(ctx context.Context, host component.Host) error {
	c.startOnce.Do(func() { c.startErr = c.start(ctx, host) })
	return c.startErr
}

func (c *core) start(ctx context.Context, host component.Host) error {
	var state storage.Client
	if c.cfg.Storage != nil {
		var err error
		if state, err = storageClient(ctx, host, *c.cfg.Storage, c.id); err != nil {
			return err
		}
	}
	if err := c.engine.Start(ctx, state); err != nil {
		return err
	}
	c.wg.Go(c.tick)
	return nil
}

func storageClient(ctx context.Context, host component.Host, storageID, self component.ID) (storage.Client, error) {
	ext, ok := host.GetExtensions()[storageID]
	if !ok {
		return nil, fmt.Errorf("storage: extension %s is not configured in service.extensions", storageID)
	}
	se, ok := ext.(storage.Extension)
	if !ok {
		return nil, fmt.Errorf("storage: extension %s is not a storage extension", storageID)
	}
	ctx, cancel := context.WithTimeout(ctx, storageTimeout)
	defer cancel()
	client, err := se.GetClient(ctx, component.KindConnector, self, "")
	if err != nil {
		return nil, fmt.Errorf("storage: getting a client from %s: %w", storageID, err)
	}
	return client, nil
}

func (c *core) Shutdown(ctx context.Context) error {
	var err error
	c.stopOnce.Do(func() {
		close(c.done)
		c.wg.Wait()
		err = c.engine.Close(ctx)
		if c.remove != nil {
			c.remove()
		}
	})
	return err
}

// tick lets the engine advance time while no data arrives and report what its limits dropped.
func (c *core) tick() {
	period := min(c.cfg.EvaluationInterval, maxTickPeriod)
	t := time.NewTicker(period)
	defer t.Stop()
	for {
		select {
		case <-c.done:
			return
		case <-t.C:
			ctx, cancel := context.WithTimeout(context.Background(), c.cfg.EvaluationInterval)
			c.engine.Tick(ctx)
			cancel()
		}
	}
}

// ingest hands md to the engine with the address of the client that sent it, if it came over the
// network. A failure there is the alerting's, not the data's: it is logged, and the data flows on.
func (c *core) ingest(ctx context.Context, md pmetric.Metrics) {
	if err := c.engine.Ingest(ctx, md, peer(ctx)); err != nil {
		c.logger.Warn("Evaluating rules on a batch failed", zap.Error(err))
	}
}

// peer is the host of the client that sent the batch of ctx, or "" for the collector's own receivers,
// which put no client address in the context.
func peer(ctx context.Context) string {
	addr := client.FromContext(ctx).Addr
	if addr == nil {
		return ""
	}
	s := addr.String()
	if host, _, err := net.SplitHostPort(s); err == nil {
		return host
	}
	return s
}

// output sends what evaluations produced: ALERTS to the metrics output, transitions to the logs
// output. The engine calls it in evaluation order, one call at a time.
func (c *core) output(ctx context.Context, r ruleengine.Result) {
	var errs []error
	if c.metrics != nil {
		if md := c.engine.AlertsMetrics(r.Evaluations); md.DataPointCount() > 0 {
			if err := c.metrics.ConsumeMetrics(ctx, md); err != nil {
				errs = append(errs, fmt.Errorf("sending ALERTS: %w", err))
			}
		}
	}
	if c.logs != nil {
		if ld := toLogs(r.Transitions(), c.cfg.IncludePending, c.self); ld.LogRecordCount() > 0 {
			if err := c.logs.ConsumeLogs(ctx, ld); err != nil {
				errs = append(errs, fmt.Errorf("sending %d alert transitions: %w", ld.LogRecordCount(), err))
			}
		}
	}
	if err := errors.Join(errs...); err != nil {
		c.logger.Warn("Sending alert output failed", zap.Error(err))
	}
}

// metricsConnector is the metrics → metrics instance: it passes every batch on, after the engine has
// taken its samples (and, with alert_state_attributes, marked the points alerts are about); ALERTS
// follow as batches of their own.
type metricsConnector struct {
	core *core
	next consumer.Metrics
}

func (m *metricsConnector) Start(ctx context.Context, host component.Host) error {
	return m.core.Start(ctx, host)
}

func (m *metricsConnector) Shutdown(ctx context.Context) error { return m.core.Shutdown(ctx) }

func (m *metricsConnector) Capabilities() consumer.Capabilities {
	return consumer.Capabilities{MutatesData: m.core.cfg.AlertStateAttributes}
}

func (m *metricsConnector) ConsumeMetrics(ctx context.Context, md pmetric.Metrics) error {
	m.core.ingest(ctx, md)
	if m.core.cfg.AlertStateAttributes {
		m.core.engine.Annotate(md)
	}
	return m.next.ConsumeMetrics(ctx, md)
}

// logsConnector is the metrics → logs instance. The metrics reach it too; it hands them to the engine
// only when the connector has no metrics output, which otherwise does.
type logsConnector struct {
	core *core
}

func (l *logsConnector) Start(ctx context.Context, host component.Host) error {
	return l.core.Start(ctx, host)
}

func (l *logsConnector) Shutdown(ctx context.Context) error { return l.core.Shutdown(ctx) }

func (*logsConnector) Capabilities() consumer.Capabilities {
	return consumer.Capabilities{MutatesData: false}
}

func (l *logsConnector) ConsumeMetrics(ctx context.Context, md pmetric.Metrics) error {
	if l.core.metrics == nil {
		l.core.ingest(ctx, md)
	}
	return nil
}
