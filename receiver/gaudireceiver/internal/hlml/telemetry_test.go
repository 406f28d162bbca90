package hlml

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
)

// point is the value of a self-metric for one function.
func point(t *testing.T, tel *componenttest.Telemetry, name, function string) float64 {
	t.Helper()
	m, err := tel.GetMetric(name)
	require.NoError(t, err, name)
	want := attribute.NewSet(attribute.String("function", function))
	switch data := m.Data.(type) {
	case metricdata.Sum[int64]:
		for _, dp := range data.DataPoints {
			if dp.Attributes.Equals(&want) {
				return float64(dp.Value)
			}
		}
	case metricdata.Sum[float64]:
		for _, dp := range data.DataPoints {
			if dp.Attributes.Equals(&want) {
				return dp.Value
			}
		}
	case metricdata.Gauge[float64]:
		for _, dp := range data.DataPoints {
			if dp.Attributes.Equals(&want) {
				return dp.Value
			}
		}
	default:
		t.Fatalf("%s is a %T", name, m.Data)
	}
	t.Fatalf("%s has no point for %s", name, function)
	return 0
}

// TestCallLatency: the calls of a device's slow turn are timed per function into the collector's
// telemetry (the first Read is every device's): how many, their total time, the longest.
func TestCallLatency(t *testing.T) {
	s, tel, _ := observed(t, "delay 3 hlml_device_get_power_usage 30")
	readAt(t, s, time.Now())
	// Every collection reads all three; the longest is kept until it is collected.
	longest := point(t, tel, "otelcol_receiver_gaudi_hlml_call_duration_max", "hlml_device_get_power_usage")
	assert.GreaterOrEqual(t, longest, 0.030, "device 3's call slept 30 ms")
	assert.Equal(t, 8.0, point(t, tel, "otelcol_receiver_gaudi_hlml_calls", "hlml_device_get_power_usage"))
	assert.Equal(t, 8*24.0, point(t, tel, "otelcol_receiver_gaudi_hlml_calls", "hlml_nic_get_link"))
	assert.GreaterOrEqual(t, point(t, tel, "otelcol_receiver_gaudi_hlml_call_time", "hlml_device_get_power_usage"), longest)
	assert.Zero(t, point(t, tel, "otelcol_receiver_gaudi_hlml_call_duration_max", "hlml_device_get_power_usage"),
		"the longest since the last collection, and nothing was called since")
}
