package hpujobprocessor

import (
	"context"
	"errors"
	"os"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/processor/processortest"

	"github.com/otelcol-gaudi/otelcol-gaudi/processor/hpujobprocessor/internal/metadata"
)

func TestFactory(t *testing.T) {
	f := NewFactory()
	assert.Equal(t, component.MustNewType("hpu_job"), f.Type())
	assert.Equal(t, component.StabilityLevelDevelopment, f.MetricsStability())
	assert.Equal(t, createDefaultConfig(), f.CreateDefaultConfig())
	_, err := f.CreateTraces(context.Background(), processortest.NewNopSettings(metadata.Type), f.CreateDefaultConfig(), consumertest.NewNop())
	assert.Error(t, err, "metrics only")
}

func TestLifecycleWithOSHostname(t *testing.T) {
	// With host_name unset, the gaudi receiver's metrics are this machine's: a job whose SDK reports
	// os.Hostname() as host.name is attributed.
	hostname, err := os.Hostname()
	require.NoError(t, err)
	f := NewFactory()
	sink := new(consumertest.MetricsSink)
	proc, err := f.CreateMetrics(context.Background(), processortest.NewNopSettings(metadata.Type), f.CreateDefaultConfig(), sink)
	require.NoError(t, err)
	assert.True(t, proc.Capabilities().MutatesData)
	require.NoError(t, proc.Start(context.Background(), componenttest.NewNopHost()))
	require.NoError(t, proc.ConsumeMetrics(context.Background(), jobBatch(job("A", 2, attrIndex, int64(4), attrHostName, hostname))))
	require.NoError(t, proc.ConsumeMetrics(context.Background(), gaudiBatch("", testDevices(8))))
	assert.Equal(t, []string{"4=A/2"}, annotated(t, sink.AllMetrics()[1]))
	require.NoError(t, proc.Shutdown(context.Background()))
}

func TestShutdownWithoutStart(t *testing.T) {
	f := NewFactory()
	proc, err := f.CreateMetrics(context.Background(), processortest.NewNopSettings(metadata.Type), f.CreateDefaultConfig(), consumertest.NewNop())
	require.NoError(t, err)
	require.NoError(t, proc.Shutdown(context.Background()))
}

func TestCreateFailsWithoutHostName(t *testing.T) {
	_, err := newHPUJobProcessor(createDefaultConfig().(*Config), componenttest.NewNopTelemetrySettings(), nil,
		func() (string, error) { return "", errors.New("no uts namespace") })
	require.EqualError(t, err, "host_name is not set and the OS hostname cannot be read: no uts namespace")
}

func TestInstancesShareNoState(t *testing.T) {
	// Two processors (two pipelines, or two collectors in one test binary) learn independently.
	a := newTestProcessor(t, testConfig())
	b := newTestProcessor(t, testConfig())
	a.send(t, jobBatch(job("A", 0, attrIndex, int64(1))), gaudiBatch("", testDevices(8)))
	b.send(t, gaudiBatch("", testDevices(8)))
	assert.Equal(t, []string{"1=A/0"}, annotated(t, a.last(t)))
	assert.Empty(t, annotated(t, b.last(t)))
}
