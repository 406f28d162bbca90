package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"

	"go.opentelemetry.io/otel/exporters/otlp/otlplog/otlploggrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlplog/otlploghttp"
	"go.opentelemetry.io/otel/exporters/otlp/otlpmetric/otlpmetricgrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlpmetric/otlpmetrichttp"
	sdklog "go.opentelemetry.io/otel/sdk/log"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/resource"
	"google.golang.org/grpc/credentials"
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
	tlsCfg, headers, err := c.security()
	if err != nil {
		return nil, nil, err
	}
	var metricExp sdkmetric.Exporter
	var logExp sdklog.Exporter
	var errM, errL error
	switch c.protocol {
	case "grpc":
		mOpts := []otlpmetricgrpc.Option{otlpmetricgrpc.WithEndpoint(c.endpoint), otlpmetricgrpc.WithHeaders(headers)}
		lOpts := []otlploggrpc.Option{otlploggrpc.WithEndpoint(c.endpoint), otlploggrpc.WithHeaders(headers)}
		if c.insecure {
			mOpts = append(mOpts, otlpmetricgrpc.WithInsecure())
			lOpts = append(lOpts, otlploggrpc.WithInsecure())
		} else {
			mOpts = append(mOpts, otlpmetricgrpc.WithTLSCredentials(credentials.NewTLS(tlsCfg)))
			lOpts = append(lOpts, otlploggrpc.WithTLSCredentials(credentials.NewTLS(tlsCfg)))
		}
		metricExp, errM = otlpmetricgrpc.New(ctx, mOpts...)
		logExp, errL = otlploggrpc.New(ctx, lOpts...)
	case "http":
		mOpts := []otlpmetrichttp.Option{otlpmetrichttp.WithEndpoint(c.endpoint), otlpmetrichttp.WithHeaders(headers)}
		lOpts := []otlploghttp.Option{otlploghttp.WithEndpoint(c.endpoint), otlploghttp.WithHeaders(headers)}
		if c.insecure {
			mOpts = append(mOpts, otlpmetrichttp.WithInsecure())
			lOpts = append(lOpts, otlploghttp.WithInsecure())
		} else {
			mOpts = append(mOpts, otlpmetrichttp.WithTLSClientConfig(tlsCfg))
			lOpts = append(lOpts, otlploghttp.WithTLSClientConfig(tlsCfg))
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

// security reads the TLS files and the bearer token the flags name: the client TLS configuration
// (nil with -insecure) and the headers every export carries.
func (c config) security() (*tls.Config, map[string]string, error) {
	headers := map[string]string{}
	if c.tokenFile != "" {
		raw, err := os.ReadFile(c.tokenFile)
		if err != nil {
			return nil, nil, fmt.Errorf("-bearer-token-file: %w", err)
		}
		token := strings.TrimSpace(string(raw))
		if token == "" || strings.ContainsAny(token, "\r\n") {
			return nil, nil, fmt.Errorf("-bearer-token-file %s: want one non-empty line", c.tokenFile)
		}
		headers["Authorization"] = "Bearer " + token
	}
	if c.insecure {
		return nil, headers, nil
	}
	cfg := &tls.Config{MinVersion: tls.VersionTLS12}
	if c.caFile != "" {
		pem, err := os.ReadFile(c.caFile)
		if err != nil {
			return nil, nil, fmt.Errorf("-ca-file: %w", err)
		}
		cfg.RootCAs = x509.NewCertPool()
		if !cfg.RootCAs.AppendCertsFromPEM(pem) {
			return nil, nil, fmt.Errorf("-ca-file %s: no PEM certificate in it", c.caFile)
		}
	}
	if c.certFile != "" {
		pair, err := tls.LoadX509KeyPair(c.certFile, c.keyFile)
		if err != nil {
			return nil, nil, fmt.Errorf("-cert-file/-key-file: %w", err)
		}
		cfg.Certificates = []tls.Certificate{pair}
	}
	return cfg, headers, nil
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
