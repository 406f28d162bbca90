package simulator

import (
	"context"
	"regexp"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/otelcol-gaudi/otelcol-gaudi/receiver/gaudireceiver/internal/hpu"
)

var epoch = time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)

func read(t *testing.T, cfg Config, at time.Duration) []hpu.Device {
	t.Helper()
	s, err := New(cfg, epoch, time.Now, hpu.NICOptions{})
	require.NoError(t, err)
	devs, err := s.Read(context.Background(), epoch.Add(at), nil)
	require.NoError(t, err)
	require.Len(t, devs, cfg.Devices)
	return devs
}

func TestDeterministic(t *testing.T) {
	cfg := DefaultConfig()
	a := read(t, cfg, 90*time.Second)
	b := read(t, cfg, 90*time.Second)
	assert.Equal(t, a, b, "same seed and timestamp must give the same readings")

	cfg.Seed = 2
	c := read(t, cfg, 90*time.Second)
	assert.NotEqual(t, a[0].UUID, c[0].UUID, "another seed gives other identities")
	assert.NotEqual(t, a[0].Power, c[0].Power, "another seed gives other values")
}

func TestLoadMovesOverTime(t *testing.T) {
	cfg := DefaultConfig()
	first := read(t, cfg, 0)
	later := read(t, cfg, 2*time.Minute)
	assert.NotEqual(t, first[0].Utilization, later[0].Utilization)
	assert.NotEqual(t, first[0].Power, later[0].Power)
}

func TestGaudi3Facts(t *testing.T) {
	uuid := regexp.MustCompile(`^01P4-HL3090A0-\d{2}-[A-Z0-9]{6}-\d{2}-\d{2}-\d{2}$`)
	serial := regexp.MustCompile(`^AN\d{8}$`)
	modules := map[int64]bool{}
	uuids := map[string]bool{}
	for _, d := range read(t, DefaultConfig(), time.Minute) {
		require.NoError(t, d.Err)
		assert.Regexp(t, uuid, d.UUID)
		assert.Regexp(t, serial, d.Info.Serial)
		assert.Equal(t, "HL-325L", d.Info.Model)
		assert.Equal(t, int64(131072)<<20, d.MemoryTotal.V)
		assert.Equal(t, d.MemoryTotal.V, d.MemoryUsed.V+d.MemoryFree.V)
		assert.InDelta(t, 82, d.Utilization.V, 16, "training load")
		assert.Greater(t, d.Power.V, 226.0)
		assert.LessOrEqual(t, d.Power.V, 850.0)
		assert.Equal(t, 850.0, d.PowerLimit.V)
		assert.Less(t, d.TemperatureOnChip.V, 85.0, "a healthy device does not trip the high-temperature alert")
		assert.Less(t, d.TemperatureOnBoard.V, d.TemperatureOnChip.V)
		assert.Len(t, d.NICPorts, 24)
		external := 0
		for _, p := range d.NICPorts {
			assert.Equal(t, hpu.Some(true), p.Up)
			if p.External {
				external++
			}
		}
		assert.Equal(t, 3, external, "21 internal and 3 external ports")
		assert.Equal(t, hpu.HealthOK, d.Health())
		modules[d.Info.ModuleID] = true
		uuids[d.UUID] = true
	}
	assert.Len(t, modules, 8, "module ids are a permutation of the slots")
	assert.Len(t, uuids, 8)
}

func TestIdleGaudi3(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Load = LoadIdle
	for _, d := range read(t, cfg, time.Minute) {
		assert.InDelta(t, 226, d.Power.V, 12, "observed idle power 225-231 W")
		assert.InDelta(t, 36, d.TemperatureOnChip.V, 2, "observed idle temperature 36-40 °C")
		assert.Equal(t, int64(672)<<20, d.MemoryUsed.V)
		assert.Less(t, d.Utilization.V, 5.0)
	}
}

func TestGaudi2Facts(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Model = "gaudi2"
	for _, d := range read(t, cfg, time.Minute) {
		assert.Equal(t, "HL-225", d.Info.Model)
		assert.Equal(t, int64(98304)<<20, d.MemoryTotal.V)
		assert.LessOrEqual(t, d.Power.V, 600.0, "600 W cap")
		assert.Regexp(t, `^01P0-HL2080A0-`, d.UUID)
	}
}

func TestEnergyIsMonotonicAndMatchesPower(t *testing.T) {
	cfg := DefaultConfig()
	s, err := New(cfg, epoch, time.Now, hpu.NICOptions{})
	require.NoError(t, err)
	var prev []hpu.Device
	for step := time.Duration(0); step <= 20*time.Minute; step += 10 * time.Second {
		devs, err := s.Read(context.Background(), epoch.Add(step), nil)
		require.NoError(t, err)
		if prev != nil {
			for i := range devs {
				delta := devs[i].Energy.V - prev[i].Energy.V
				require.Positive(t, delta, "energy must only grow (device %d at %v)", i, step)
				avgPower := (devs[i].Power.V + prev[i].Power.V) / 2
				assert.InDelta(t, avgPower*10, delta, 0.05*avgPower*10, "energy is the integral of power")
			}
		}
		prev = devs
	}
}

func TestFaults(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Faults = []Fault{
		{Device: 3, Kind: FaultOverheat, After: time.Minute},
		{Device: 5, Kind: FaultFail, After: 30 * time.Second, Duration: time.Minute},
		{Device: 2, Kind: FaultNICLinkDown, Port: 8},
		{Device: 1, Kind: FaultRowsPending},
		{Device: 6, Kind: FaultSensorGlitch},
	}

	before := read(t, cfg, 50*time.Second)
	assert.Less(t, before[3].TemperatureOnChip.V, 85.0, "overheat has not started")
	assert.ErrorIs(t, before[5].Err, ErrDeviceLost)
	assert.Equal(t, hpu.HealthFailed, before[5].Health())
	assert.NotEmpty(t, before[5].UUID, "a failed device keeps its identity")
	assert.False(t, before[5].Power.Valid, "a failed device reports no values")
	assert.Equal(t, hpu.Some(false), before[2].NICPorts[8].Up)
	assert.True(t, before[2].NICPorts[8].External)
	assert.Equal(t, hpu.Some(true), before[2].NICPorts[7].Up)
	assert.True(t, before[1].RowsPending.V)
	assert.Equal(t, hpu.HealthDegraded, before[1].Health())
	assert.Equal(t, 6553.5, before[6].TemperatureOnBoard.V, "the glitched sensor reads all ones")
	assert.Less(t, before[6].TemperatureOnChip.V, 85.0, "only the on-board sensor glitches")

	hot := read(t, cfg, 3*time.Minute)
	assert.Greater(t, hot[3].TemperatureOnChip.V, 93.0, "past the slowdown threshold")
	assert.True(t, hot[3].ThrottledThermal.V)
	assert.Less(t, hot[3].ClockSoC.V, hot[3].ClockSoCMax.V)
	assert.NoError(t, hot[5].Err, "the fail fault lasted one minute")
	for i, d := range hot {
		if i != 3 {
			assert.False(t, d.ThrottledThermal.V, "device %d", i)
		}
	}
}

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name string
		edit func(*Config)
		want string
	}{
		{"no devices", func(c *Config) { c.Devices = 0 }, "devices must be between 1 and 64, got 0"},
		{"unknown model", func(c *Config) { c.Model = "gaudi9" }, `model must be one of [gaudi2 gaudi3], got "gaudi9"`},
		{"unknown load", func(c *Config) { c.Load = "busy" }, `load must be "training" or "idle", got "busy"`},
		{"fault on missing device", func(c *Config) { c.Faults = []Fault{{Device: 8, Kind: FaultFail}} }, "faults[0]: device must be between 0 and 7, got 8"},
		{"unknown fault", func(c *Config) { c.Faults = []Fault{{Kind: "melt"}} }, `faults[0]: kind must be one of [overheat fail nic_link_down rows_pending sensor_glitch], got "melt"`},
		{"bad port", func(c *Config) { c.Faults = []Fault{{Kind: FaultNICLinkDown, Port: 24}} }, "faults[0]: port must be between 0 and 23, got 24"},
		{"negative after", func(c *Config) { c.Faults = []Fault{{Kind: FaultFail, After: -time.Second}} }, "faults[0]: after and duration must not be negative"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := DefaultConfig()
			tt.edit(&cfg)
			assert.EqualError(t, cfg.Validate(), tt.want)
			_, err := New(cfg, epoch, time.Now, hpu.NICOptions{})
			assert.ErrorContains(t, err, tt.want)
		})
	}
	assert.NoError(t, DefaultConfig().Validate())
}

func TestEventsWhenFaultsStart(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Faults = []Fault{
		{Device: 5, Kind: FaultFail, After: 2 * time.Minute},
		{Device: 1, Kind: FaultRowsPending, After: time.Minute},
		{Device: 3, Kind: FaultOverheat},
	}
	clock := epoch
	s, err := New(cfg, epoch, func() time.Time { return clock }, hpu.NICOptions{})
	require.NoError(t, err)
	ctx := context.Background()

	events, err := s.WaitEvents(ctx, 0)
	require.NoError(t, err)
	assert.Empty(t, events, "nothing is due at start")

	clock = epoch.Add(90 * time.Second)
	events, err = s.WaitEvents(ctx, time.Second)
	require.NoError(t, err)
	require.Len(t, events, 1)
	assert.Equal(t, hpu.Event{Time: epoch.Add(time.Minute), Index: 1, UUID: s.devices[1].uuid, Kind: hpu.EventECCDoubleBit}, events[0])

	clock = epoch.Add(time.Hour)
	events, err = s.WaitEvents(ctx, time.Second)
	require.NoError(t, err)
	require.Len(t, events, 1, "each event is delivered once")
	assert.Equal(t, hpu.EventCritical, events[0].Kind)
	assert.Equal(t, int64(5), events[0].Index)

	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	_, err = s.WaitEvents(cancelled, time.Hour)
	assert.ErrorIs(t, err, context.Canceled, "waiting ends with the context")
}

// TestCountersGrow: the counters the simulator fills only grow (energy, throttle time, ECC
// errors, NIC counters), and a link that goes down stops its port's traffic.
func TestCountersGrow(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Faults = []Fault{{Device: 3, Kind: FaultOverheat}, {Device: 2, Kind: FaultNICLinkDown, Port: 8, After: time.Minute}}
	s, err := New(cfg, epoch, time.Now, hpu.NICOptions{Counters: true, Stats: true, StatNames: []string{"pcs_link_restores"}})
	require.NoError(t, err)
	var prev []hpu.Device
	for step := range 10 {
		devs, err := s.Read(context.Background(), epoch.Add(time.Duration(step)*20*time.Second), nil)
		require.NoError(t, err)
		for i, d := range devs {
			assert.Equal(t, d.PowerLimit, d.PowerLimitDefault)
			assert.Greater(t, d.TemperatureHBM.V, d.TemperatureOnBoard.V)
			assert.GreaterOrEqual(t, d.ECCErrors.CorrectedVolatile.V, d.ECCErrorsDRAM.CorrectedVolatile.V)
			external := 0
			for _, p := range d.NICPorts {
				if p.External {
					external++
					require.True(t, p.Counters.ReceiveBytes.Valid, "external ports have counters")
					assert.Equal(t, []hpu.NICStat{{Name: "pcs_link_restores", Value: boolInt(i == 2 && p.Port == 8 && step > 3)}}, p.Stats)
				} else {
					assert.Equal(t, hpu.NICCounters{}, p.Counters, "only the external ports' by default")
				}
			}
			assert.Equal(t, 3, external)
			if prev == nil {
				continue
			}
			was := prev[i]
			assert.GreaterOrEqual(t, d.Energy.V, was.Energy.V)
			assert.GreaterOrEqual(t, d.ThrottleTimeThermal.V, was.ThrottleTimeThermal.V)
			assert.GreaterOrEqual(t, d.ThrottleTimePower.V, was.ThrottleTimePower.V)
			assert.GreaterOrEqual(t, d.ECCErrors.CorrectedAggregate.V, was.ECCErrors.CorrectedAggregate.V)
			rx, wasRx := d.NICPorts[8].Counters.ReceiveBytes.V, was.NICPorts[8].Counters.ReceiveBytes.V
			if i == 2 && step > 3 {
				assert.Equal(t, wasRx, rx, "no traffic on a link that is down")
			} else {
				assert.Greater(t, rx, wasRx)
			}
		}
		prev = devs
	}
	assert.Positive(t, prev[3].ThrottleTimeThermal.V, "the overheating device was throttled")
	assert.Zero(t, prev[4].ThrottleTimeThermal.V)
}

func boolInt(b bool) int64 {
	if b {
		return 1
	}
	return 0
}
