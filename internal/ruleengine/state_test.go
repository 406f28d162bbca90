package ruleengine

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/extension/xextension/storage"

	"github.com/otelcol-gaudi/otelcol-gaudi/internal/ruleengine/enginetest"
)

// memStorage is a storage extension keeping one in-memory map, shared by every client, like file_storage
// keeps one file per component across restarts.
type memStorage struct {
	component.StartFunc
	component.ShutdownFunc
	mu   sync.Mutex
	data map[string][]byte
}

func (s *memStorage) GetClient(context.Context, component.Kind, component.ID, string) (storage.Client, error) {
	return &memClient{s: s}, nil
}

type memClient struct{ s *memStorage }

func (c *memClient) Get(_ context.Context, key string) ([]byte, error) {
	c.s.mu.Lock()
	defer c.s.mu.Unlock()
	return c.s.data[key], nil
}

func (c *memClient) Set(_ context.Context, key string, v []byte) error {
	c.s.mu.Lock()
	defer c.s.mu.Unlock()
	c.s.data[key] = v
	return nil
}

func (c *memClient) Delete(_ context.Context, key string) error {
	c.s.mu.Lock()
	defer c.s.mu.Unlock()
	delete(c.s.data, key)
	return nil
}

func (*memClient) Batch(context.Context, ...*storage.Operation) error { return nil }
func (*memClient) Close(context.Context) error                        { return nil }

// TestForStateSurvivesRestart: HPUHighTemperature (for: 2m) has been pending since 15s when the collector
// stops after the 75s evaluation. Prometheus' RestoreForState, run at the second evaluation after the
// restart (135s), keeps the 60s already spent and shifts ActiveAt by the downtime (75s → 135s): the alert
// fires at 195s instead of 240s (2m after restarting at 120s).
func TestForStateSurvivesRestart(t *testing.T) {
	st := &memStorage{data: map[string][]byte{}}
	cfg := testConfig("testdata/semantics.rules.yaml")
	dev := map[string]any{"hpu.index": int64(0)}

	start := func() (*harness, func()) {
		h := &harness{t: t, clock: enginetest.NewClock(epoch), sink: new(consumertest.MetricsSink)}
		e, err := New(cfg, Settings{Clock: h.clock.Now, Output: func(ctx context.Context, r Result) {
			_ = h.sink.ConsumeMetrics(ctx, h.e.AlertsMetrics(r.Evaluations))
		}})
		require.NoError(t, err)
		h.e = e
		client, err := st.GetClient(context.Background(), component.KindConnector, component.MustNewID("threshold"), "")
		require.NoError(t, err)
		require.NoError(t, e.Start(context.Background(), client))
		return h, func() { require.NoError(t, e.Close(context.Background())) }
	}

	h, stop := start()
	for k := 0; k <= 5; k++ { // 86 from 15s: pending since 15s
		v := 86.0
		if k == 0 {
			v = 80
		}
		h.consume(gaugeBatch("hpu.temperature", "Cel", epoch.Add(time.Duration(k)*15*time.Second), point{dev, v}))
	}
	stop()
	require.Contains(t, string(st.data[stateKey]), `"active_at":1767225615`)

	h, stop = start()
	defer stop()
	for k := 8; k <= 16; k++ {
		h.consume(gaugeBatch("hpu.temperature", "Cel", epoch.Add(time.Duration(k)*15*time.Second), point{dev, 86}))
	}
	firing := "HPUHighTemperature/firing{hpu_index=0,severity=critical}"
	pending := "HPUHighTemperature/pending{hpu_index=0,severity=critical}"
	assert.Equal(t, []string{pending}, h.alertsAt(epoch.Add(180*time.Second)))
	assert.Equal(t, []string{firing, "stale:" + pending}, h.alertsAt(epoch.Add(195*time.Second)))
}
