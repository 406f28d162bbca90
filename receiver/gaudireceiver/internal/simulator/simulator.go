// Package simulator is a deterministic HPU source for demos and tests: readings are pure
// functions of the seed, the device and the time since the simulated driver load, shaped by
// the physical facts of a Gaudi generation and by a scenario of scripted faults.
package simulator

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/otelcol-gaudi/otelcol-gaudi/receiver/gaudireceiver/internal/hpu"
)

// ErrDeviceLost is what a device with a "fail" fault reports, named after HLML's AIP_IS_LOST.
var ErrDeviceLost = errors.New("device lost (simulated HLML_ERROR_AIP_IS_LOST)")

const (
	// loadPeriod is the period of the slow utilization swing of a training job.
	loadPeriod = 5 * time.Minute
	// overheatRamp is how long an overheating device takes to reach its overheat temperature.
	overheatRamp = time.Minute
	// glitchedSensorReading is 0xFFFF tenths of a degree: what a sensor that does not answer reads as.
	glitchedSensorReading = 6553.5
	// driverUptime is how long the simulated driver has been loaded when the receiver starts,
	// so that energy and replay counters do not start at zero.
	driverUptime = 6 * time.Hour
)

// Signals for the noise function; each reading gets its own stream.
const (
	sigUtilization uint64 = iota + 1
	sigPower
	sigTemperature
	sigMemory
	sigPCIe
	sigIdentity
)

type device struct {
	uuid     string
	serial   string
	moduleID int64
	busID    string
	phase    float64 // radians; devices do not swing in lockstep
	wattSkew float64
}

// Simulator implements hpu.Source and hpu.EventSource.
type Simulator struct {
	cfg     Config
	nic     hpu.NICOptions
	model   model
	epoch   time.Time
	now     func() time.Time
	devices []device
	events  eventLog
}

var _ hpu.Source = (*Simulator)(nil)

// New returns a simulator whose scenario clock starts at epoch (the receiver's start); now is
// the clock that times device events; nic says which NIC port counters to fill.
func New(cfg Config, epoch time.Time, now func() time.Time, nic hpu.NICOptions) (*Simulator, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("simulator config: %w", err)
	}
	m := models[cfg.Model]
	rng := rand.New(rand.NewPCG(uint64(cfg.Seed), 0x6761756469)) // "gaudi"
	modules := rng.Perm(max(cfg.Devices, len(m.busIDs)))
	devs := make([]device, cfg.Devices)
	for i := range devs {
		devs[i] = device{
			uuid:     fmt.Sprintf("%s-%02d-%s-%02d-%02d-%02d", m.uuidPrefix, 10+rng.IntN(90), randomAlnum(rng, 6), rng.IntN(53), rng.IntN(13), rng.IntN(8)),
			serial:   fmt.Sprintf("%s%08d", m.serialPrefix, rng.IntN(100_000_000)),
			moduleID: int64(modules[i]),
			busID:    busID(m, i),
			phase:    rng.Float64() * 2 * math.Pi,
			wattSkew: (rng.Float64()*2 - 1) * m.perDeviceWattSkew,
		}
	}
	s := &Simulator{cfg: cfg, nic: nic, model: m, epoch: epoch, now: now, devices: devs}
	s.scheduleEvents()
	return s, nil
}

func busID(m model, i int) string {
	if i < len(m.busIDs) {
		return m.busIDs[i]
	}
	return fmt.Sprintf("0000:%02x:00.0", 0x10+i)
}

func randomAlnum(rng *rand.Rand, n int) string {
	const alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZ0123456789"
	b := make([]byte, n)
	for i := range b {
		b[i] = alphabet[rng.IntN(len(alphabet))]
	}
	return string(b)
}

// Name implements hpu.Source.
func (*Simulator) Name() string { return "simulator" }

// Start implements hpu.Source.
func (*Simulator) Start(context.Context) error { return nil }

// Shutdown implements hpu.Source.
func (*Simulator) Shutdown(context.Context) error { return nil }

// Read implements hpu.Source.
func (s *Simulator) Read(_ context.Context, now time.Time, dst []hpu.Device) ([]hpu.Device, error) {
	since := now.Sub(s.epoch)
	for i := range s.devices {
		dst = append(dst, s.read(i, now, since))
	}
	return dst, nil
}

func (s *Simulator) read(i int, now time.Time, since time.Duration) hpu.Device {
	dev := &s.devices[i]
	m := &s.model
	d := hpu.Device{Index: int64(i), UUID: dev.uuid}
	faults := s.faultsAt(i, since)
	if faults.fail {
		d.Err = ErrDeviceLost
		return d
	}
	step := now.Unix()
	uptime := (since + driverUptime).Seconds()

	d.Info = hpu.Info{
		Model: m.name, Serial: dev.serial, ModuleID: dev.moduleID, PCIBusID: dev.busID,
		DriverVersion: m.driverVersion, FirmwareVersion: m.firmwareVersion,
	}
	d.Operational = hpu.Some(true)

	util := s.smoothUtilization(dev, uptime) + 3*noise(s.cfg.Seed, i, sigUtilization, step)
	util = clamp(util, 0, 100)
	d.Utilization = hpu.Some(round(util, 1))

	smoothPower := s.smoothPower(dev, uptime)
	power := smoothPower + (2+0.01*(smoothPower-m.idlePower))*noise(s.cfg.Seed, i, sigPower, step)
	d.Power = hpu.Some(round(power, 1))
	d.PowerLimit = hpu.Some(m.powerLimit)
	d.PowerLimitDefault = hpu.Some(m.powerLimit)
	d.Energy = hpu.Some(round(s.energy(dev, uptime), 3))

	chip := m.idleTemperature + (smoothPower-m.idlePower)*m.heatPerWatt + 0.5*noise(s.cfg.Seed, i, sigTemperature, step)
	if faults.overheatFor > 0 {
		target := m.limits.Slowdown.V + 4
		ramp := min(1, faults.overheatFor.Seconds()/overheatRamp.Seconds())
		chip += (target - chip) * ramp
	}
	d.TemperatureOnChip = hpu.Some(round(chip, 1))
	d.TemperatureOnBoard = hpu.Some(round(m.idleTemperature-4+(chip-m.idleTemperature)*0.5, 1))
	if faults.sensorGlitch {
		d.TemperatureOnBoard = hpu.Some(glitchedSensorReading)
	}
	// HBM runs a few degrees warmer than the chip at idle and follows it at 70 %.
	d.TemperatureHBM = hpu.Some(round(m.idleTemperature+3+(chip-m.idleTemperature)*0.7, 1))
	d.TemperatureLimits = m.limits

	thermal := chip >= m.limits.Slowdown.V
	d.ThrottledThermal = hpu.Some(thermal)
	d.ThrottledPower = hpu.Some(power >= m.powerLimit)
	d.ThrottleTimeThermal = hpu.Some(round(s.thermalThrottleTime(faults.overheatFor), 3))
	d.ThrottleTimePower = hpu.Some(round(s.powerThrottleTime(uptime), 3))
	d.ClockSoCMax = hpu.Some(m.clockMax)
	if thermal {
		d.ClockSoC = hpu.Some(m.clockMax * 7 / 10)
	} else {
		d.ClockSoC = hpu.Some(m.clockMax)
	}

	used := m.idleMemoryUsed
	if s.cfg.Load == LoadTraining {
		// A training job holds most of HBM, with a little churn between steps.
		frac := 0.82 + 0.02*noise(s.cfg.Seed, i, sigMemory, step/30)
		used = int64(frac*float64(m.memoryTotal)) / mib * mib
	}
	d.MemoryTotal = hpu.Some(m.memoryTotal)
	d.MemoryUsed = hpu.Some(used)
	d.MemoryFree = hpu.Some(m.memoryTotal - used)

	busy := util / 100
	d.PCIeReceive = hpu.Some(math.Round(m.pcieMax * busy * 0.12 * (1 + 0.2*noise(s.cfg.Seed, i, sigPCIe, step))))
	d.PCIeTransmit = hpu.Some(math.Round(m.pcieMax * busy * 0.05 * (1 + 0.2*noise(s.cfg.Seed, i, sigPCIe+100, step))))
	d.PCIeReplays = hpu.Some(int64(uptime) / int64(3600*(2+i)))
	d.PCIeLinkGen = hpu.Some(m.pcieGen)
	d.PCIeLinkWidth = hpu.Some(m.pcieWidth)

	d.ECCEnabled = hpu.Some(true)
	d.ECCErrors, d.ECCErrorsDRAM = s.eccErrors(i, uptime, faults.rowsPending)
	d.RowsReplacedSingle = hpu.Some(int64(splitmix64(uint64(s.cfg.Seed)^uint64(i)^sigIdentity) % 3))
	d.RowsReplacedDouble = hpu.Some(int64(0))
	d.RowsPending = hpu.Some(faults.rowsPending)
	if faults.rowsPending {
		d.RowsReplacedDouble = hpu.Some(int64(1))
	}

	d.NICPorts = make([]hpu.NICPort, nicPorts)
	for p := range d.NICPorts {
		port := int64(p)
		np := hpu.NICPort{Port: port, External: slices.Contains(m.externalPorts, port), Up: hpu.Some(!faults.portDown[p])}
		if s.nic.Wanted(np.External) {
			np.Counters, np.Stats = s.nicCounters(i, p, uptime, faults.portDownFor[p])
		}
		d.NICPorts[p] = np
	}
	return d
}

// thermalThrottleTime is the seconds an overheating device has been throttled: from when its
// ramp crosses the slowdown threshold (4 °C below where it ends), taken from the idle
// temperature so that the counter never goes back.
func (s *Simulator) thermalThrottleTime(overheatFor time.Duration) float64 {
	target := s.model.limits.Slowdown.V + 4
	crossing := (1 - 4/(target-s.model.idleTemperature)) * overheatRamp.Seconds()
	return max(0, overheatFor.Seconds()-crossing)
}

// powerThrottleTime: a training Gaudi 3 runs at its cap now and then (a tenth of a percent of
// the time), Gaudi 2 and idle devices do not.
func (s *Simulator) powerThrottleTime(uptime float64) float64 {
	if s.cfg.Load != LoadTraining || s.model.loadedPower < s.model.powerLimit {
		return 0
	}
	return 0.001 * uptime
}

// eccErrors are corrected errors trickling in (one every few hours, three quarters of them in
// HBM), lifetime counts above them, and the uncorrectable error behind a pending row replacement.
func (s *Simulator) eccErrors(i int, uptime float64, rowsPending bool) (all, dram hpu.ECCErrors) {
	corrected := int64(uptime) / int64(3600*(3+i))
	lifetime := int64(40 + 7*i)
	var uncorrected int64
	if rowsPending {
		uncorrected = 1
	}
	all = hpu.ECCErrors{
		CorrectedVolatile: hpu.Some(corrected), UncorrectedVolatile: hpu.Some(uncorrected),
		CorrectedAggregate: hpu.Some(lifetime + corrected), UncorrectedAggregate: hpu.Some(uncorrected),
	}
	dram = hpu.ECCErrors{
		CorrectedVolatile: hpu.Some(corrected * 3 / 4), UncorrectedVolatile: hpu.Some(uncorrected),
		CorrectedAggregate: hpu.Some((lifetime + corrected) * 3 / 4), UncorrectedAggregate: hpu.Some(uncorrected),
	}
	return all, dram
}

// nicCounters are a port's counters: in training each port moves a steady share of the
// all-reduce traffic (about 2 GB/s each way on a scale-out port, 1 GB/s on a scale-up one) in
// 4 KiB frames, nothing while its link is down; an error now and then, no drops.
func (s *Simulator) nicCounters(i, port int, uptime float64, downFor time.Duration) (hpu.NICCounters, []hpu.NICStat) {
	rate := 1e9
	if slices.Contains(s.model.externalPorts, int64(port)) {
		rate = 2e9
	}
	if s.cfg.Load == LoadIdle {
		rate = 1e5
	}
	up := max(0, uptime-downFor.Seconds())
	rx := int64(rate * up * (1 + 0.01*float64(i)))
	tx := int64(rate * up * (1 - 0.01*float64(i)))
	var linkRestores int64
	if downFor > 0 {
		linkRestores = 1
	}
	c := hpu.NICCounters{
		ReceiveBytes: hpu.Some(rx), TransmitBytes: hpu.Some(tx),
		ReceivePackets: hpu.Some(rx / 4096), TransmitPackets: hpu.Some(tx / 4096),
		ReceiveErrors: hpu.Some(int64(up) / 86400), TransmitErrors: hpu.Some(int64(0)),
		ReceiveDropped: hpu.Some(int64(0)), TransmitDropped: hpu.Some(int64(0)),
	}
	var stats []hpu.NICStat
	for _, st := range [...]hpu.NICStat{
		{Name: "pcs_local_faults", Value: linkRestores}, {Name: "pcs_remote_faults", Value: 0},
		{Name: "pcs_link_restores", Value: linkRestores}, {Name: "aFrameCheckSequenceErrors", Value: int64(up) / 86400},
	} {
		if s.nic.KeepStat(st.Name) {
			stats = append(stats, st)
		}
	}
	return c, stats
}

type activeFaults struct {
	fail         bool
	rowsPending  bool
	sensorGlitch bool
	overheatFor  time.Duration
	portDown     [nicPorts]bool
	portDownFor  [nicPorts]time.Duration
}

func (s *Simulator) faultsAt(device int, since time.Duration) activeFaults {
	var a activeFaults
	for _, f := range s.cfg.Faults {
		if f.Device != device || !f.activeAt(since) {
			continue
		}
		switch f.Kind {
		case FaultFail:
			a.fail = true
		case FaultRowsPending:
			a.rowsPending = true
		case FaultSensorGlitch:
			a.sensorGlitch = true
		case FaultOverheat:
			a.overheatFor = max(a.overheatFor, since-f.After)
		case FaultNICLinkDown:
			a.portDown[f.Port] = true
			a.portDownFor[f.Port] = max(a.portDownFor[f.Port], since-f.After)
		}
	}
	return a
}

// utilizationShape is the mean and amplitude (percent) of the load's slow swing.
func (s *Simulator) utilizationShape() (mean, amplitude float64) {
	if s.cfg.Load == LoadIdle {
		return 0.2, 0.2
	}
	return 82, 10
}

func (s *Simulator) smoothUtilization(dev *device, uptime float64) float64 {
	mean, amp := s.utilizationShape()
	return mean + amp*math.Sin(omega*uptime+dev.phase)
}

var omega = 2 * math.Pi / loadPeriod.Seconds()

// smoothPower is the noise-free power draw; energy is its exact integral, which keeps the
// energy counter monotonic and consistent with the power readings.
func (s *Simulator) smoothPower(dev *device, uptime float64) float64 {
	return s.model.idlePower + dev.wattSkew + s.wattsPerPercent()*s.smoothUtilization(dev, uptime)
}

func (s *Simulator) wattsPerPercent() float64 {
	return (s.model.loadedPower - s.model.idlePower) / 100
}

func (s *Simulator) energy(dev *device, uptime float64) float64 {
	mean, amp := s.utilizationShape()
	k := s.wattsPerPercent()
	constant := (s.model.idlePower + dev.wattSkew + k*mean) * uptime
	swing := k * amp / omega * (math.Cos(dev.phase) - math.Cos(omega*uptime+dev.phase))
	return constant + swing
}

func clamp(v, lo, hi float64) float64 { return math.Max(lo, math.Min(hi, v)) }

func round(v float64, decimals int) float64 {
	p := math.Pow10(decimals)
	return math.Round(v*p) / p
}
