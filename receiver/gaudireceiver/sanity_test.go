package gaudireceiver

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/pdata/pmetric"

	"github.com/otelcol-gaudi/otelcol-gaudi/receiver/gaudireceiver/internal/hpu"
	"github.com/otelcol-gaudi/otelcol-gaudi/receiver/gaudireceiver/internal/simulator"
)

// fixedSource reports the same devices on every read: readings from the field, good and bad.
type fixedSource struct{ devices []hpu.Device }

func (*fixedSource) Name() string                   { return "fixed" }
func (*fixedSource) Start(context.Context) error    { return nil }
func (*fixedSource) Shutdown(context.Context) error { return nil }
func (f *fixedSource) Read(_ context.Context, _ time.Time, dst []hpu.Device) ([]hpu.Device, error) {
	return append(dst, f.devices...), nil
}

func TestImpossibleReadingsAreDroppedAndCounted(t *testing.T) {
	src := &fixedSource{devices: []hpu.Device{
		{Index: 0, UUID: "u0", TemperatureOnChip: hpu.Some(505712272.0), TemperatureOnBoard: hpu.Some(31.0), Power: hpu.Some(226.0), PowerLimit: hpu.Some(850.0)},
		{Index: 1, UUID: "u1", TemperatureOnChip: hpu.Some(40.0), Power: hpu.Some(1900.0), PowerLimit: hpu.Some(600.0), Utilization: hpu.Some(101.0)},
		{Index: 2, UUID: "u2", TemperatureOnChip: hpu.Some(41.0), Power: hpu.Some(580.0), PowerLimit: hpu.Some(600.0),
			MemoryUsed: hpu.Some(int64(200)), MemoryFree: hpu.Some(int64(-100)), MemoryTotal: hpu.Some(int64(100))},
	}}
	cfg := simulatorConfig()
	s := newTestScraper(cfg, time.Now, fixed(src))
	require.NoError(t, s.start(context.Background(), componenttest.NewNopHost()))
	defer func() { require.NoError(t, s.shutdown(context.Background())) }()

	_, err := s.scrape(context.Background())
	require.NoError(t, err)
	md, err := s.scrape(context.Background())
	require.NoError(t, err)

	assert.Equal(t, map[string]float64{"0/on_board": 31, "1/on_chip": 40, "2/on_chip": 41},
		values(md, "hpu.temperature", "hpu.sensor"), "the bogus on-chip reading of device 0 is dropped, nothing else")
	assert.Equal(t, map[string]float64{"0/": 226, "2/": 580}, values(md, "hpu.power", ""), "1900 W on a 600 W card is dropped")
	assert.Empty(t, values(md, "hpu.utilization", ""), "101 % is not a utilization")
	assert.Empty(t, values(md, "hpu.memory.used", ""), "more used than total")
	assert.Empty(t, values(md, "hpu.memory.free", ""), "free follows used")
	assert.Equal(t, map[string]float64{"2/": 100}, values(md, "hpu.memory.total", ""))
	assert.Equal(t, map[string]float64{
		"0/hpu.temperature": 2, "1/hpu.power": 2, "1/hpu.utilization": 2, "2/hpu.memory.used": 2,
	}, values(md, "hpu.readings.rejected", "hpu.metric"), "counted per device and metric, cumulatively")
}

// The simulator's sensor_glitch fault reads as a sensor that does not answer; the receiver drops that
// one reading and counts it, and the device's other temperature stays.
func TestSimulatedSensorGlitchIsRejected(t *testing.T) {
	s, _ := startScraper(t, simulatorConfig(simulator.Fault{Device: 2, Kind: simulator.FaultSensorGlitch}))
	md, err := s.scrape(context.Background())
	require.NoError(t, err)

	temps := values(md, "hpu.temperature", "hpu.sensor")
	assert.NotContains(t, temps, "2/on_board", "the glitched reading is dropped")
	assert.Contains(t, temps, "2/on_chip")
	assert.Contains(t, temps, "3/on_board")
	assert.Equal(t, map[string]float64{"2/hpu.temperature": 1}, values(md, "hpu.readings.rejected", "hpu.metric"))
}

func TestSanityBoundsAreConfigurable(t *testing.T) {
	src := &fixedSource{devices: []hpu.Device{{Index: 0, UUID: "u0", Power: hpu.Some(1900.0), PowerLimit: hpu.Some(600.0)}}}
	cfg := simulatorConfig()
	cfg.Sanity.Power.LimitRatio = 0
	cfg.Sanity.Power.Max = 5000
	s := newTestScraper(cfg, time.Now, fixed(src))
	require.NoError(t, s.start(context.Background(), componenttest.NewNopHost()))
	defer func() { require.NoError(t, s.shutdown(context.Background())) }()
	md, err := s.scrape(context.Background())
	require.NoError(t, err)
	assert.Equal(t, map[string]float64{"0/": 1900}, values(md, "hpu.power", ""), "limit_ratio 0 turns the relative bound off")
}

// values maps "<hpu.index>/<attr>" to the value of every data point of a metric.
func values(md pmetric.Metrics, name, attr string) map[string]float64 {
	out := map[string]float64{}
	m := lookupMetric(md, name)
	if m == nil {
		return out
	}
	var dps pmetric.NumberDataPointSlice
	if m.Type() == pmetric.MetricTypeSum {
		dps = m.Sum().DataPoints()
	} else {
		dps = m.Gauge().DataPoints()
	}
	for i := range dps.Len() {
		dp := dps.At(i)
		index, _ := dp.Attributes().Get("hpu.index")
		key := index.AsString() + "/"
		if v, ok := dp.Attributes().Get(attr); ok {
			key += v.AsString()
		}
		v := dp.DoubleValue()
		if dp.ValueType() == pmetric.NumberDataPointValueTypeInt {
			v = float64(dp.IntValue())
		}
		out[key] = v
	}
	return out
}

// TestPowerAgainstDefaultLimitWithoutCap: a source that cannot tell the cap in force (an older
// libhlml) has the draw checked against the default limit.
func TestPowerAgainstDefaultLimitWithoutCap(t *testing.T) {
	src := &fixedSource{devices: []hpu.Device{
		{Index: 0, UUID: "u0", Power: hpu.Some(1900.0), PowerLimitDefault: hpu.Some(600.0)},
		{Index: 1, UUID: "u1", Power: hpu.Some(700.0), PowerLimitDefault: hpu.Some(600.0), TemperatureHBM: hpu.Some(6553.5)},
	}}
	s := newTestScraper(simulatorConfig(), time.Now, fixed(src))
	require.NoError(t, s.start(context.Background(), componenttest.NewNopHost()))
	defer func() { require.NoError(t, s.shutdown(context.Background())) }()
	md, err := s.scrape(context.Background())
	require.NoError(t, err)
	assert.Equal(t, map[string]float64{"1/": 700}, values(md, "hpu.power", ""))
	assert.Empty(t, values(md, "hpu.memory.temperature", ""), "an impossible HBM temperature is dropped too")
	assert.Equal(t, map[string]float64{"0/hpu.power": 1, "1/hpu.memory.temperature": 1}, values(md, "hpu.readings.rejected", "hpu.metric"))
}
