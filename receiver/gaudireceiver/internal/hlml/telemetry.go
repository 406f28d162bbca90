package hlml

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/metric/noop"
	"go.uber.org/zap"

	"github.com/otelcol-gaudi/otelcol-gaudi/receiver/gaudireceiver/internal/hpu"
)

// Settings are what the source gets from the receiver rather than from the user.
type Settings struct {
	// Logger logs each call's state changes (failing, backing off, recovered), once each.
	Logger *zap.Logger
	// MeterProvider receives the source's own telemetry: per-call latency and errors.
	MeterProvider metric.MeterProvider
	// MeterName names the meter (the receiver's scope name).
	MeterName string
	// HostRoot is where the host's /sys and /etc are mounted, for hwmon temperatures.
	HostRoot string
	// CollectionInterval chooses the cadence of the slow calls when SlowCallsEvery is 0.
	CollectionInterval time.Duration
	// NIC says which NIC port counters to read.
	NIC hpu.NICOptions
}

// Names of the source's own metrics in the collector's telemetry.
const (
	callsMetric       = "otelcol_receiver_gaudi_hlml_calls"
	callTimeMetric    = "otelcol_receiver_gaudi_hlml_call_time"
	callMaxMetric     = "otelcol_receiver_gaudi_hlml_call_duration_max"
	callErrorsMetric  = "otelcol_receiver_gaudi_hlml_call_errors"
	telemetryCategory = "creating the HLML telemetry"
)

// monitor measures every library call and reports its errors. The latency is a summary per
// function (calls, their total time, the longest since the last collection), kept in atomics and
// observed when the telemetry is collected: a synchronous histogram would cost more per call than
// a call into the fake library, and a Read makes about 400 of them.
type monitor struct {
	logger *zap.Logger
	ctx    context.Context
	errors metric.Int64Counter
	// base is the monotonic origin of the call timings: time.Since(base) reads only the
	// monotonic clock, where time.Now also reads the wall clock.
	base  time.Time
	stats [numSymbols]callStats
	attrs [numSymbols]metric.MeasurementOption
	reg   metric.Registration
	once  sync.Once
}

type callStats struct {
	calls, nanos, maxNanos atomic.Int64
}

func newMonitor(set Settings) (*monitor, error) {
	mp := set.MeterProvider
	if mp == nil {
		mp = noop.NewMeterProvider()
	}
	logger := set.Logger
	if logger == nil {
		logger = zap.NewNop()
	}
	m := mp.Meter(set.MeterName)
	mon := &monitor{logger: logger, ctx: context.Background(), base: time.Now()}
	for fn := range numSymbols {
		mon.attrs[fn] = metric.WithAttributeSet(attribute.NewSet(attribute.String("function", fn.String())))
	}
	calls, err := m.Int64ObservableCounter(callsMetric,
		metric.WithDescription("HLML library calls made, by function."), metric.WithUnit("{call}"))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", telemetryCategory, err)
	}
	total, err := m.Float64ObservableCounter(callTimeMetric,
		metric.WithDescription("Time spent in HLML library calls, by function: divided by the calls, the mean latency of a call."),
		metric.WithUnit("s"))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", telemetryCategory, err)
	}
	longest, err := m.Float64ObservableGauge(callMaxMetric,
		metric.WithDescription("The longest HLML library call since the telemetry was last collected, by function."), metric.WithUnit("s"))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", telemetryCategory, err)
	}
	if mon.errors, err = m.Int64Counter(callErrorsMetric,
		metric.WithDescription("HLML library calls that returned an error (NOT_SUPPORTED and NO_DATA are no errors), by function and return code."),
		metric.WithUnit("{call}")); err != nil {
		return nil, fmt.Errorf("%s: %w", telemetryCategory, err)
	}
	mon.reg, err = m.RegisterCallback(func(_ context.Context, o metric.Observer) error {
		for fn := range numSymbols {
			st := &mon.stats[fn]
			n := st.calls.Load()
			if n == 0 {
				continue
			}
			o.ObserveInt64(calls, n, mon.attrs[fn])
			o.ObserveFloat64(total, float64(st.nanos.Load())/1e9, mon.attrs[fn])
			o.ObserveFloat64(longest, float64(st.maxNanos.Swap(0))/1e9, mon.attrs[fn])
		}
		return nil
	}, calls, total, longest)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", telemetryCategory, err)
	}
	return mon, nil
}

// clock is the time since base, from the monotonic clock only.
func (m *monitor) clock() time.Duration { return time.Since(m.base) }

func (m *monitor) called(fn symbol, took time.Duration) {
	st := &m.stats[fn]
	st.calls.Add(1)
	st.nanos.Add(int64(took))
	for {
		longest := st.maxNanos.Load()
		if int64(took) <= longest || st.maxNanos.CompareAndSwap(longest, int64(took)) {
			return
		}
	}
}

func (m *monitor) failed(fn symbol, rc Return) {
	m.errors.Add(m.ctx, 1, metric.WithAttributes(attribute.String("function", fn.String()), attribute.String("code", rc.String())))
}

// close stops the observation of the calls, once.
func (m *monitor) close() error {
	var err error
	m.once.Do(func() { err = m.reg.Unregister() })
	return err
}
