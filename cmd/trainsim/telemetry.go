package main

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"go.opentelemetry.io/otel/exporters/otlp/otlplog/otlploggrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlplog/otlploghttp"
	"go.opentelemetry.io/otel/exporters/otlp/otlpmetric/otlpmetricgrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlpmetric/otlpmetrichttp"
	sdklog "go.opentelemetry.io/otel/sdk/log"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/resource"
)

// telemetry is one rank's SDK pipeline: a meter and a logger provider with that rank's resource,
// each with its own OTLP exporter, as a separate training process would have.
type telemetry struct {
	meters  *sdkmetric.MeterProvider
	loggers *sdklog.LoggerProvider
	once    sync.Once
	err     error
}

func newTelemetry(ctx context.Context, c config, res *resource.Resource) (*telemetry, error) {
	metricExp, logExp, err := newExporters(ctx, c)
	if err != nil {
		return nil, err
	}
	return &telemetry{
		meters: sdkmetric.NewMeterProvider(
			sdkmetric.WithResource(res),
			sdkmetric.WithReader(sdkmetric.NewPeriodicReader(metricExp, sdkmetric.WithInterval(c.exportInterval))),
		),
		loggers: sdklog.NewLoggerProvider(
			sdklog.WithResource(res),
			sdklog.WithProcessor(sdklog.NewBatchProcessor(logExp, sdklog.WithExportInterval(c.exportInterval))),
		),
	}, nil
}

func newExporters(ctx context.Context, c config) (sdkmetric.Exporter, sdklog.Exporter, error) {
	var metricExp sdkmetric.Exporter
	var logExp sdklog.Exporter
	var errM, errL error
	switch c.protocol {
	case "grpc":
		mOpts := []otlpmetricgrpc.Option{otlpmetricgrpc.WithEndpoint(c.endpoint)}
		lOpts := []otlploggrpc.Option{otlploggrpc.WithEndpoint(c.endpoint)}
		if c.insecure {
			mOpts = append(mOpts, otlpmetricgrpc.WithInsecure())
			lOpts = append(lOpts, otlploggrpc.WithInsecure())
		}
		metricExp, errM = otlpmetricgrpc.New(ctx, mOpts...)
		logExp, errL = otlploggrpc.New(ctx, lOpts...)
	case "http":
		mOpts := []otlpmetrichttp.Option{otlpmetrichttp.WithEndpoint(c.endpoint)}
		lOpts := []otlploghttp.Option{otlploghttp.WithEndpoint(c.endpoint)}
		if c.insecure {
			mOpts = append(mOpts, otlpmetrichttp.WithInsecure())
			lOpts = append(lOpts, otlploghttp.WithInsecure())
		}
		metricExp, errM = otlpmetrichttp.New(ctx, mOpts...)
		logExp, errL = otlploghttp.New(ctx, lOpts...)
	default:
		return nil, nil, fmt.Errorf("unknown protocol %q", c.protocol)
	}
	if err := errors.Join(errM, errL); err != nil {
		return nil, nil, fmt.Errorf("creating the OTLP/%s exporters for %s: %w", c.protocol, c.endpoint, err)
	}
	return metricExp, logExp, nil
}

// shutdown flushes and stops both providers; later calls return the first call's result.
func (t *telemetry) shutdown(ctx context.Context) error {
	t.once.Do(func() {
		t.err = errors.Join(t.meters.Shutdown(ctx), t.loggers.Shutdown(ctx))
		if t.err != nil {
			t.err = fmt.Errorf("flushing telemetry: %w", t.err)
		}
	})
	return t.err
}
