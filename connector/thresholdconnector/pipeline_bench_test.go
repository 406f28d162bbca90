package thresholdconnector

import (
	"context"
	"errors"
	"net"
	"testing"
	"time"

	"github.com/open-telemetry/opentelemetry-collector-contrib/exporter/prometheusexporter"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/config/configoptional"
	"go.opentelemetry.io/collector/connector/connectortest"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/exporter"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/pmetric/pmetricotlp"
	"go.opentelemetry.io/collector/processor/batchprocessor"
	"go.opentelemetry.io/collector/processor/processortest"
	"go.opentelemetry.io/collector/receiver/otlpreceiver"
	"go.opentelemetry.io/collector/receiver/receivertest"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/otelcol-gaudi/otelcol-gaudi/connector/thresholdconnector/internal/metadata"
	"github.com/otelcol-gaudi/otelcol-gaudi/internal/ruleengine/enginetest"
)

// benchWarmScrapes is 6 minutes of history, so that range rules see full windows before timing starts.
const benchWarmScrapes = 24

// BenchmarkPipeline pushes 15 s scrapes of 10,000 series through a node's metrics pipeline, OTLP gRPC
// receiver → (threshold connector) → batch → prometheus exporter, built from the real factories, and
// reports data points per second delivered to the exporter. The client sends prepared pmetric.Metrics
// with a raw pmetricotlp.GRPCClient rather than the OTel SDK, so no SDK aggregation is measured; its
// protobuf marshal is, in every arm alike.
//
// Each scrape is 15 s of data time after the previous one, so with evaluation_interval 15s the connector
// evaluates its rules once per scrape, as it does in production. The pipeline runs faster than real
// time, so evaluation takes a far larger share here than at a real 15 s cadence; ingest_only isolates
// the data path with a 24h interval, under which no evaluation falls due during the timed loop. The
// connector's wall clock is the data time of the scrape being sent, as if each arrived when stamped.
func BenchmarkPipeline(b *testing.B) {
	rules, err := enginetest.Rules("../..", b.TempDir())
	require.NoError(b, err)
	b.Run("without_threshold", func(b *testing.B) { benchPipeline(b, nil) })
	b.Run("with_threshold", func(b *testing.B) {
		cfg := testConfig(rules...)
		cfg.EvaluationInterval = enginetest.Interval
		benchPipeline(b, cfg)
	})
	b.Run("with_threshold_ingest_only", func(b *testing.B) {
		cfg := testConfig(rules...)
		cfg.EvaluationInterval = 24 * time.Hour
		// The long interval stretches the derived retention to 49h; more samples per series keep the
		// minimum gap between samples (retention / max_samples_per_series) at 3.5s, below the 15s scrape.
		cfg.Limits.MaxSamplesPerSeries = 50_000
		benchPipeline(b, cfg)
	})
}

// benchPipeline runs the pipeline, with the threshold connector when cfg is set. The rate counts the
// input points only (not ALERTS) and the time until the batch processor has flushed them all.
func benchPipeline(b *testing.B, cfg *Config) {
	ctx := context.Background()
	pl := startPipeline(b, cfg)
	// A few distinct scrapes in rotation; restamping one costs far less than building it.
	ring := make([]pmetric.Metrics, 8)
	for i := range ring {
		ring[i] = enginetest.Scrape(i)
	}
	points := ring[0].DataPointCount()
	send := func(k int) {
		md := ring[k%len(ring)]
		enginetest.Restamp(md, k)
		pl.clock.Reach(enginetest.Time(k))
		if _, err := pl.client.Export(ctx, pmetricotlp.NewExportRequestFromMetrics(md)); err != nil {
			b.Fatalf("exporting scrape %d: %v", k, err)
		}
	}
	for k := range benchWarmScrapes {
		send(k)
	}
	k := benchWarmScrapes
	cpuStart, cpuOK := enginetest.ProcessCPU()
	start := time.Now()
	for b.Loop() {
		send(k)
		k++
	}
	require.NoError(b, pl.drain(ctx))
	elapsed := time.Since(start)
	cpuEnd, _ := enginetest.ProcessCPU()
	// The connector warns about any sample it does not store: every point must have been stored.
	require.Zero(b, pl.warnings.Len(), "%v", pl.warnings.All())
	n := float64((k - benchWarmScrapes) * points)
	b.ReportMetric(n/elapsed.Seconds(), "points/s")
	// On two cores the pipeline's stages overlap, so CPU time shows costs that throughput can hide. It
	// includes the client's marshalling, the same in every arm.
	if cpuOK {
		b.ReportMetric(float64((cpuEnd-cpuStart).Nanoseconds())/n, "cpu-ns/point")
	}
}

// benchPipelineRun is a started pipeline and the OTLP client connected to its receiver.
type benchPipelineRun struct {
	clock    *enginetest.Clock
	client   pmetricotlp.GRPCClient
	recv     component.Component
	batch    component.Component
	warnings *observer.ObservedLogs
	drained  bool
}

func startPipeline(b *testing.B, thresholdCfg *Config) *benchPipelineRun {
	b.Helper()
	ctx := context.Background()
	host := componenttest.NewNopHost()

	expFactory := prometheusexporter.NewFactory()
	expCfg := expFactory.CreateDefaultConfig().(*prometheusexporter.Config)
	expCfg.ServerConfig.NetAddr.Endpoint = "127.0.0.1:0" // nothing scrapes it; any port will do
	exp, err := expFactory.CreateMetrics(ctx, exporter.Settings{
		ID:                component.NewID(expFactory.Type()),
		TelemetrySettings: componenttest.NewNopTelemetrySettings(),
		BuildInfo:         component.NewDefaultBuildInfo(),
	}, expCfg)
	require.NoError(b, err)
	require.NoError(b, exp.Start(ctx, host))
	b.Cleanup(func() { require.NoError(b, exp.Shutdown(ctx)) })

	batchFactory := batchprocessor.NewFactory()
	batch, err := batchFactory.CreateMetrics(ctx, processortest.NewNopSettings(batchFactory.Type()), batchFactory.CreateDefaultConfig(), exp)
	require.NoError(b, err)
	require.NoError(b, batch.Start(ctx, host))
	core, warnings := observer.New(zap.WarnLevel)
	pl := &benchPipelineRun{clock: enginetest.NewClock(enginetest.Epoch), batch: batch, warnings: warnings}
	b.Cleanup(func() { require.NoError(b, pl.drain(ctx)) })

	var next consumer.Metrics = batch
	if thresholdCfg != nil {
		set := connectortest.NewNopSettings(metadata.Type)
		set.Logger = zap.New(core)
		conn, err := newFactory(pl.clock.Now).CreateMetricsToMetrics(ctx, set, thresholdCfg, batch)
		require.NoError(b, err)
		require.NoError(b, conn.Start(ctx, host))
		b.Cleanup(func() { require.NoError(b, conn.Shutdown(ctx)) })
		next = conn
	}

	recvFactory := otlpreceiver.NewFactory()
	recvCfg := recvFactory.CreateDefaultConfig().(*otlpreceiver.Config)
	// gRPC on, with the receiver's defaults; HTTP off.
	grpcCfg := recvCfg.Protocols.GRPC.GetOrInsertDefault()
	grpcCfg.NetAddr.Endpoint = freeLoopbackAddr(b)
	recvCfg.Protocols.HTTP = configoptional.None[otlpreceiver.HTTPConfig]()
	recv, err := recvFactory.CreateMetrics(ctx, receivertest.NewNopSettings(recvFactory.Type()), recvCfg, next)
	require.NoError(b, err)
	require.NoError(b, recv.Start(ctx, host))
	pl.recv = recv

	conn, err := grpc.NewClient(grpcCfg.NetAddr.Endpoint, grpc.WithTransportCredentials(insecure.NewCredentials()))
	require.NoError(b, err)
	b.Cleanup(func() { require.NoError(b, conn.Close()) })
	pl.client = pmetricotlp.NewGRPCClient(conn)
	return pl
}

// drain stops the receiver and shuts the batch processor down, which sends what it still holds to the
// exporter: afterwards every point sent has been exported. The threshold connector has nothing to drain:
// it works inside the receiver's call.
func (pl *benchPipelineRun) drain(ctx context.Context) error {
	if pl.drained {
		return nil
	}
	pl.drained = true
	var err error
	if pl.recv != nil {
		err = pl.recv.Shutdown(ctx)
	}
	return errors.Join(err, pl.batch.Shutdown(ctx))
}

// freeLoopbackAddr is a loopback address with a port that was free a moment ago.
func freeLoopbackAddr(b *testing.B) string {
	b.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(b, err)
	addr := ln.Addr().String()
	require.NoError(b, ln.Close())
	return addr
}
