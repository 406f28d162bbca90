package gaudireceiver

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/receiver"
	"go.opentelemetry.io/collector/receiver/receivertest"

	"github.com/otelcol-gaudi/otelcol-gaudi/receiver/gaudireceiver/internal/metadata"
	"github.com/otelcol-gaudi/otelcol-gaudi/receiver/gaudireceiver/internal/sysfs/sysfstest"
)

func TestFactory(t *testing.T) {
	f := NewFactory()
	assert.Equal(t, "gaudi", f.Type().String())
	assert.Equal(t, metadata.MetricsStability, f.MetricsStability())
	require.NoError(t, componenttest.CheckConfigStruct(f.CreateDefaultConfig()))
}

func TestReceiverLifecycleDeliversMetrics(t *testing.T) {
	f := NewFactory()
	cfg := f.CreateDefaultConfig().(*Config)
	cfg.Source = SourceSimulator
	cfg.CollectionInterval = 10 * time.Millisecond
	cfg.InitialDelay = 0
	sink := new(consumertest.MetricsSink)

	r, err := f.CreateMetrics(context.Background(), receivertest.NewNopSettings(metadata.Type), cfg, sink)
	require.NoError(t, err)
	require.NoError(t, r.Start(context.Background(), componenttest.NewNopHost()))
	require.Eventually(t, func() bool { return len(sink.AllMetrics()) >= 2 }, 30*time.Second, 5*time.Millisecond)
	require.NoError(t, r.Shutdown(context.Background()))

	md := sink.AllMetrics()[0]
	assert.NotNil(t, lookupMetric(md, "hpu.utilization"))
	assert.Equal(t, 8, findMetric(t, md, "hpu.utilization").Gauge().DataPoints().Len())
}

func TestReceiverFailsToStartOnMissingBackend(t *testing.T) {
	f := NewFactory()
	cfg := f.CreateDefaultConfig().(*Config)
	cfg.Source = SourceHLML
	cfg.HLML.LibraryPath = filepath.Join(t.TempDir(), "libhlml.so")
	r, err := f.CreateMetrics(context.Background(), receivertest.NewNopSettings(metadata.Type), cfg, consumertest.NewNop())
	require.NoError(t, err)
	err = r.Start(context.Background(), componenttest.NewNopHost())
	require.ErrorContains(t, err, cfg.HLML.LibraryPath)
	require.NoError(t, r.Shutdown(context.Background()))
}

// Every source but the simulator reads all of this node's devices: a second receiver on them
// would report each twice (and hpu_health would count 16 HPUs on an 8-HPU node), so its start
// is refused; its own metrics and logs receivers share one source. Simulated nodes may be many.
func TestSecondReceiverOnTheNodeIsRefused(t *testing.T) {
	root := t.TempDir()
	sysfstest.WriteTree(t, root, sysfstest.Gaudi2Device(t, 0, "0000:43:00.0"))
	f := NewFactory()
	create := func(name string, source SourceKind) (receiver.Metrics, receiver.Logs) {
		cfg := f.CreateDefaultConfig().(*Config)
		cfg.Source, cfg.Sysfs.Root = source, root
		set := receivertest.NewNopSettings(metadata.Type)
		set.ID = component.MustNewIDWithName("gaudi", name)
		mr, err := f.CreateMetrics(context.Background(), set, cfg, consumertest.NewNop())
		require.NoError(t, err)
		lr, err := f.CreateLogs(context.Background(), set, cfg, consumertest.NewNop())
		require.NoError(t, err)
		return mr, lr
	}
	ctx, host := context.Background(), componenttest.NewNopHost()

	first, firstLogs := create("node", SourceSysfs)
	require.NoError(t, first.Start(ctx, host))
	require.NoError(t, firstLogs.Start(ctx, host), "the logs receiver of the same id shares the source")

	for _, source := range []SourceKind{SourceSysfs, SourceAuto} {
		second, _ := create("again", source)
		err := second.Start(ctx, host)
		require.ErrorContains(t, err, "receiver gaudi/node already reads this node's HPUs (source sysfs); a second gaudi receiver (source "+string(source)+") would report every device twice")
		require.NoError(t, second.Shutdown(ctx))
	}
	sim1, _ := create("sim1", SourceSimulator)
	sim2, _ := create("sim2", SourceSimulator)
	require.NoError(t, sim1.Start(ctx, host))
	require.NoError(t, sim2.Start(ctx, host))
	require.NoError(t, sim1.Shutdown(ctx))
	require.NoError(t, sim2.Shutdown(ctx))

	require.NoError(t, firstLogs.Shutdown(ctx))
	require.NoError(t, first.Shutdown(ctx))
	second, _ := create("again", SourceSysfs)
	require.NoError(t, second.Start(ctx, host), "once the first stopped, another may read the node")
	require.NoError(t, second.Shutdown(ctx))
}
