package hlml

import (
	"context"
	"fmt"
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
	callDurationMetric = "otelcol_receiver_gaudi_hlml_call_duration"
	callErrorsMetric   = "otelcol_receiver_gaudi_hlml_call_errors"
)

// callDurationBuckets span a fast call against the fake (a few µs) to a firmware call on hardware
// (PCIe throughput: about 25 ms) and a hung one.
var callDurationBuckets = []float64{0.00001, 0.0001, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 5}

// monitor measures every library call and reports its errors. The per-function attribute options
// are built once, so that recording a call allocates nothing.
type monitor struct {
	logger   *zap.Logger
	ctx      context.Context
	duration metric.Float64Histogram
	errors   metric.Int64Counter
	byFunc   [numSymbols][]metric.RecordOption
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
	mon := &monitor{logger: logger, ctx: context.Background()}
	var err error
	if mon.duration, err = m.Float64Histogram(callDurationMetric,
		metric.WithDescription("Time each HLML library call took, by function."), metric.WithUnit("s"),
		metric.WithExplicitBucketBoundaries(callDurationBuckets...)); err != nil {
		return nil, fmt.Errorf("creating the HLML telemetry: %w", err)
	}
	if mon.errors, err = m.Int64Counter(callErrorsMetric,
		metric.WithDescription("HLML library calls that returned an error (NOT_SUPPORTED and NO_DATA are no errors), by function and return code."),
		metric.WithUnit("{call}")); err != nil {
		return nil, fmt.Errorf("creating the HLML telemetry: %w", err)
	}
	for fn := range numSymbols {
		mon.byFunc[fn] = []metric.RecordOption{metric.WithAttributeSet(attribute.NewSet(attribute.String("function", fn.String())))}
	}
	return mon, nil
}

func (m *monitor) called(fn symbol, took time.Duration) {
	m.duration.Record(m.ctx, took.Seconds(), m.byFunc[fn]...)
}

func (m *monitor) failed(fn symbol, rc Return) {
	m.errors.Add(m.ctx, 1, metric.WithAttributes(attribute.String("function", fn.String()), attribute.String("code", rc.String())))
}
