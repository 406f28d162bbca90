package thresholdbusextension

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/extension/extensiontest"
	"go.uber.org/goleak"

	"github.com/otelcol-gaudi/otelcol-gaudi/extension/thresholdbusextension/internal/metadata"
	"github.com/otelcol-gaudi/otelcol-gaudi/processor/thresholdprocessor"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

func TestPublishReachesSubscribersOfThatProcessorOnly(t *testing.T) {
	ext, err := NewFactory().Create(context.Background(), extensiontest.NewNopSettings(metadata.Type), &Config{})
	require.NoError(t, err)
	require.NoError(t, ext.Start(context.Background(), componenttest.NewNopHost()))
	bus := ext.(*Bus)
	a, b := component.MustNewID("threshold"), component.MustNewIDWithName("threshold", "b")
	var gotA, gotB int
	unsubscribe := bus.Subscribe(a, func(_ context.Context, evs []thresholdprocessor.AlertEvent) { gotA += len(evs) })
	bus.Subscribe(b, func(_ context.Context, evs []thresholdprocessor.AlertEvent) { gotB += len(evs) })

	bus.Publish(context.Background(), a, make([]thresholdprocessor.AlertEvent, 2))
	assert.Equal(t, 2, gotA)
	assert.Equal(t, 0, gotB)

	unsubscribe()
	bus.Publish(context.Background(), a, make([]thresholdprocessor.AlertEvent, 1))
	assert.Equal(t, 2, gotA)
	require.NoError(t, ext.Shutdown(context.Background()))
}
