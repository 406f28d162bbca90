package thresholdconnector

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/connector/connectortest"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/extension/xextension/storage"

	"github.com/otelcol-gaudi/otelcol-gaudi/connector/thresholdconnector/internal/metadata"
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

type extensionHost struct {
	component.Host
	ext map[component.ID]component.Component
}

func (h extensionHost) GetExtensions() map[component.ID]component.Component { return h.ext }

// TestForStateSurvivesRestart: HPUHighTemperature (for: 2m) has been pending since 15s when the collector
// stops after the 75s evaluation. Prometheus' RestoreForState, run at the second evaluation after the
// restart (135s), keeps the 60s already spent and shifts ActiveAt by the downtime (75s → 135s): the alert
// fires at 195s instead of 240s (2m after restarting at 120s).
func TestForStateSurvivesRestart(t *testing.T) {
	storageID := component.MustNewID("file_storage")
	st := &memStorage{data: map[string][]byte{}}
	host := extensionHost{ext: map[component.ID]component.Component{storageID: st}}
	cfg := testConfig("testdata/semantics.rules.yaml")
	cfg.Storage = &storageID

	p := newPipelineOn(t, cfg, true, false, componenttest.NewNopTelemetrySettings(), host, nil)
	for k := 0; k <= 5; k++ { // 86 from 15s: pending since 15s
		v := 86.0
		if k == 0 {
			v = 80
		}
		p.consume(t, temperature(epoch.Add(time.Duration(k)*15*time.Second), v))
	}
	p.shutdown(t)
	require.Contains(t, string(st.data["alerts_for_state"]), `"active_at":1767225615`)

	p = newPipelineOn(t, cfg, true, false, componenttest.NewNopTelemetrySettings(), host, nil)
	for k := 8; k <= 16; k++ {
		p.consume(t, temperature(epoch.Add(time.Duration(k)*15*time.Second), 86))
	}
	alerts := p.alerts()
	assert.Contains(t, alerts, "HPUHighTemperature/pending@180")
	assert.Contains(t, alerts, "HPUHighTemperature/firing@195")
	assert.NotContains(t, alerts, "HPUHighTemperature/firing@180")
}

// TestStorageMustBeAStorageExtension: a storage setting naming no configured storage extension stops
// the start with the reason.
func TestStorageMustBeAStorageExtension(t *testing.T) {
	storageID := component.MustNewID("file_storage")
	cfg := testConfig("testdata/semantics.rules.yaml")
	cfg.Storage = &storageID
	notStorage := struct {
		component.StartFunc
		component.ShutdownFunc
	}{}
	for _, tc := range []struct {
		host component.Host
		want string
	}{
		{componenttest.NewNopHost(), "storage: extension file_storage is not configured in service.extensions"},
		{extensionHost{ext: map[component.ID]component.Component{storageID: notStorage}}, "storage: extension file_storage is not a storage extension"},
	} {
		c, err := newFactory(time.Now).CreateMetricsToLogs(context.Background(), connectortest.NewNopSettings(metadata.Type), cfg, consumertest.NewNop())
		require.NoError(t, err)
		assert.EqualError(t, c.Start(context.Background(), tc.host), tc.want)
		require.NoError(t, c.Shutdown(context.Background()))
	}
}
