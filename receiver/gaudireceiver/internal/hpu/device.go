package hpu

import "math"

// Value is a reading that a source may or may not be able to provide; sources differ in
// which metrics they can fill, and an absent reading must not be reported as zero.
type Value[T int64 | float64 | bool] struct {
	V     T
	Valid bool
}

// Some returns a valid Value holding v.
func Some[T int64 | float64 | bool](v T) Value[T] { return Value[T]{V: v, Valid: true} }

// UnknownModuleID is Info.ModuleID when the source cannot tell the slot; 0 is a real slot.
const UnknownModuleID = -1

// Info is the descriptive identity of a device, reported once per scrape on the info metric.
type Info struct {
	Model           string
	Serial          string
	ModuleID        int64 // UnknownModuleID when unknown
	PCIBusID        string
	DriverVersion   string
	FirmwareVersion string
}

// TemperatureLimits are the device's own thermal thresholds in °C.
type TemperatureLimits struct {
	Slowdown  Value[float64]
	Shutdown  Value[float64]
	MemoryMax Value[float64]
	AIPMax    Value[float64]
}

// MaxNICPorts bounds NIC port numbers for every source: HLML's port masks hold 128 bits, Gaudi 2
// and 3 have 24 ports. Garbled input must not make a series per number.
const MaxNICPorts = 128

// NICPort is one NIC port: its link state and its traffic counters.
type NICPort struct {
	Port     int64
	External bool
	// Up is whether the link is up; invalid when the link state could not be read.
	Up       Value[bool]
	Counters NICCounters
	// Stats are the port's raw counters by their driver names, filled only when asked for.
	Stats []NICStat
}

// NICCounters are the counters of a NIC port since the driver was loaded.
type NICCounters struct {
	ReceiveBytes, TransmitBytes     Value[int64]
	ReceivePackets, TransmitPackets Value[int64]
	ReceiveErrors, TransmitErrors   Value[int64]
	ReceiveDropped, TransmitDropped Value[int64]
}

// NICStat is one raw counter of a NIC port, named as the driver names it.
type NICStat struct {
	Name  string
	Value int64
}

// ECCErrors counts memory ECC errors by type, since the driver was loaded (volatile) and over
// the device's life (aggregate).
type ECCErrors struct {
	CorrectedVolatile, UncorrectedVolatile   Value[int64]
	CorrectedAggregate, UncorrectedAggregate Value[int64]
}

// Device is one scrape's reading of one HPU, in SI units (bytes, watts, joules, °C, Hz, B/s).
type Device struct {
	Index int64
	UUID  string
	// Err is set when the device could not be read this time; then only Index and UUID are valid.
	Err  error
	Info Info
	// Operational is false when the driver reports the device not operational (in reset, disabled).
	Operational Value[bool]

	Utilization Value[float64]
	MemoryUsed  Value[int64]
	MemoryFree  Value[int64]
	MemoryTotal Value[int64]

	TemperatureOnChip  Value[float64]
	TemperatureOnBoard Value[float64]
	// TemperatureHBM is the hottest HBM stack.
	TemperatureHBM    Value[float64]
	TemperatureLimits TemperatureLimits

	Power Value[float64]
	// PowerLimit is the power cap in force (hl-smi -p sets it); PowerLimitDefault the default one.
	PowerLimit        Value[float64]
	PowerLimitDefault Value[float64]
	Energy            Value[float64]

	ClockSoC    Value[int64]
	ClockSoCMax Value[int64]
	// ThrottledPower and ThrottledThermal say whether the clocks are throttled for that reason.
	ThrottledPower   Value[bool]
	ThrottledThermal Value[bool]
	// ThrottleTimePower and ThrottleTimeThermal are the seconds the clocks were throttled for
	// that reason since the driver was loaded.
	ThrottleTimePower   Value[float64]
	ThrottleTimeThermal Value[float64]

	PCIeReceive   Value[float64]
	PCIeTransmit  Value[float64]
	PCIeReplays   Value[int64]
	PCIeLinkGen   Value[int64]
	PCIeLinkWidth Value[int64]

	ECCEnabled Value[bool]
	// ECCErrors counts the errors of all the device's memories, ECCErrorsDRAM those of its HBM.
	ECCErrors          ECCErrors
	ECCErrorsDRAM      ECCErrors
	RowsReplacedSingle Value[int64]
	RowsReplacedDouble Value[int64]
	RowsPending        Value[bool]

	NICPorts []NICPort
}

// Health is the device's state as the receiver reports it on hpu.health.
type Health int

const (
	HealthOK Health = iota
	HealthDegraded
	HealthFailed
	// HealthUnknown is never derived from a reading: the receiver reports it for a device it
	// saw earlier that the source did not report this time (the whole read failed, or the
	// device is missing from the output), so that its last state is not shown as current.
	HealthUnknown
)

// Health derives the state: failed when the device could not be read, degraded when it is
// readable but not operational or waits for a row replacement (it needs a reset).
func (d *Device) Health() Health {
	switch {
	case d.Err != nil:
		return HealthFailed
	case d.Operational.Valid && !d.Operational.V:
		return HealthDegraded
	case d.RowsPending.Valid && d.RowsPending.V:
		return HealthDegraded
	default:
		return HealthOK
	}
}

// driverCounters are the habanalabs NIC driver's MAC counters (IEEE 802.3 and RMON names, as
// hlml_nic_get_statistics and hl-smi -n stats report them) that NICCounters holds; newer drivers
// drop the etherStats prefix. Every other counter is a raw NICStat.
var driverCounters = map[string]func(*NICCounters) *Value[int64]{
	"OctetsReceivedOK":     func(c *NICCounters) *Value[int64] { return &c.ReceiveBytes },
	"OctetsTransmittedOK":  func(c *NICCounters) *Value[int64] { return &c.TransmitBytes },
	"aFramesReceivedOK":    func(c *NICCounters) *Value[int64] { return &c.ReceivePackets },
	"aFramesTransmittedOK": func(c *NICCounters) *Value[int64] { return &c.TransmitPackets },
	"ifInErrors":           func(c *NICCounters) *Value[int64] { return &c.ReceiveErrors },
	"ifOutErrors":          func(c *NICCounters) *Value[int64] { return &c.TransmitErrors },
	"etherStatsDropEvents": func(c *NICCounters) *Value[int64] { return &c.ReceiveDropped },
	"DropEvents":           func(c *NICCounters) *Value[int64] { return &c.ReceiveDropped },
}

// SetDriverCounter fills the counter a driver counter name stands for, unless it is filled
// already (the first of duplicate names wins); false when the name is none of them.
func (c *NICCounters) SetDriverCounter(name []byte, v uint64) bool {
	field, ok := driverCounters[string(name)]
	if !ok {
		return false
	}
	if dst := field(c); !dst.Valid && v <= math.MaxInt64 {
		*dst = Some(int64(v))
	}
	return true
}
