package hpu

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

// NICPort is the link state of one NIC port.
type NICPort struct {
	Port     int64
	External bool
	Up       bool
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
	TemperatureLimits  TemperatureLimits

	Power      Value[float64]
	PowerLimit Value[float64]
	Energy     Value[float64]

	ClockSoC    Value[int64]
	ClockSoCMax Value[int64]
	// ThrottledPower and ThrottledThermal say whether the clocks are throttled for that reason.
	ThrottledPower   Value[bool]
	ThrottledThermal Value[bool]

	PCIeReceive   Value[float64]
	PCIeTransmit  Value[float64]
	PCIeReplays   Value[int64]
	PCIeLinkGen   Value[int64]
	PCIeLinkWidth Value[int64]

	ECCEnabled         Value[bool]
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
