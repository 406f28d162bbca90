package hlml

import (
	"strings"

	"github.com/otelcol-gaudi/otelcol-gaudi/receiver/gaudireceiver/internal/hpu"
)

// Enumerations and bits of the HLML calls the source makes.
const (
	temperatureOnAIP   = 0 // HLML_TEMPERATURE_ON_AIP
	temperatureOnBoard = 1 // HLML_TEMPERATURE_ON_BOARD

	thresholdShutdown = 0 // HLML_TEMPERATURE_THRESHOLD_SHUTDOWN
	thresholdSlowdown = 1 // HLML_TEMPERATURE_THRESHOLD_SLOWDOWN
	thresholdMemMax   = 2 // HLML_TEMPERATURE_THRESHOLD_MEM_MAX
	thresholdAIPMax   = 3 // HLML_TEMPERATURE_THRESHOLD_GPU_MAX

	clockSoC = 0 // HLML_CLOCK_SOC

	throttlePower   = 1 << 0 // HLML_CLOCKS_THROTTLE_REASON_POWER
	throttleThermal = 1 << 1 // HLML_CLOCKS_THROTTLE_REASON_THERMAL

	pcieTX = 0 // HLML_PCIE_UTIL_TX_BYTES
	pcieRX = 1 // HLML_PCIE_UTIL_RX_BYTES

	rowsSingleBit = 0 // HLML_ROW_REPLACEMENT_CAUSE_MULTIPLE_SINGLE_BIT_ECC_ERRORS
	rowsDoubleBit = 1 // HLML_ROW_REPLACEMENT_CAUSE_DOUBLE_BIT_ECC_ERROR

	featureEnabled = 1 // HLML_FEATURE_ENABLED

	// pcieThroughputUnit is the bytes per unit of hlml_device_get_pcie_throughput. HLML does
	// not document it; NVML's analogue reports KB/s, and HLML's other units are decimal SI
	// (mW, mJ, MHz), so KB is taken as 1000 bytes.
	pcieThroughputUnit = 1000
)

// identity is what does not change while a device handle stays the same, read once per handle
// so that a steady-state Read allocates no strings.
type identity struct {
	handle   uintptr
	complete bool
	uuid     string
	info     hpu.Info
	// ports are the NIC ports present, with External set; Up is read on every Read.
	ports []hpu.NICPort
}

// readIdentity (re)reads id for handle h; id.complete stays false when a call failed.
func readIdentity(c *caller, h uintptr, id *identity, driverVersion string) {
	id.handle, id.complete = h, false
	uuid := c.string(symGetUUID, h)
	if c.err != nil {
		return // keep the last known UUID to name the failing device
	}
	id.uuid = uuid
	id.info = hpu.Info{
		Model:           c.string(symGetName, h),
		Serial:          c.string(symGetSerial, h),
		ModuleID:        hpu.UnknownModuleID,
		DriverVersion:   driverVersion,
		FirmwareVersion: c.string(symGetFirmwareFITVersion, h),
	}
	if m, ok := c.uint32(symGetModuleID, h); ok {
		id.info.ModuleID = int64(m)
	}
	pci := c.buf.pci
	if c.invoke(symGetPCIInfo, []uintptr{h, pci.ptr()}, pci) == Success {
		id.info.PCIBusID = strings.TrimSpace(string(pci.cstring(pciBusIDOffset, pciBusIDMaxLen)))
	}
	id.ports = id.ports[:0]
	mask, ext := c.buf.mask, c.buf.extMask
	if c.invoke(symGetMACAddrInfo, []uintptr{h, mask.ptr(), ext.ptr()}, mask, ext) == Success {
		for w := range portMaskWords {
			present, external := mask.uint64(8*w), ext.uint64(8*w)
			for bit := range 64 {
				if present&(1<<bit) != 0 {
					id.ports = append(id.ports, hpu.NICPort{Port: int64(64*w + bit), External: external&(1<<bit) != 0})
				}
			}
		}
	}
	id.complete = c.err == nil
}

// readReadings fills d's readings from device h; a hard error stops at c.err.
func readReadings(c *caller, h uintptr, id *identity, d *hpu.Device) {
	b := c.buf
	d.Operational = operational(c.bytes(symGetOperStatus, h))
	if c.invoke(symGetUtilizationRates, []uintptr{h, b.utilization.ptr()}, b.utilization) == Success {
		d.Utilization = hpu.Some(float64(b.utilization.uint32(utilizationAIPOffset)))
	}
	if c.invoke(symGetMemoryInfo, []uintptr{h, b.memory.ptr()}, b.memory) == Success {
		d.MemoryFree = hpu.Some(int64(b.memory.uint64(memoryFreeOffset)))
		d.MemoryTotal = hpu.Some(int64(b.memory.uint64(memoryTotalOffset)))
		d.MemoryUsed = hpu.Some(int64(b.memory.uint64(memoryUsedOffset)))
	}

	d.TemperatureOnChip = celsius(c.uint32(symGetTemperature, h, temperatureOnAIP))
	d.TemperatureOnBoard = celsius(c.uint32(symGetTemperature, h, temperatureOnBoard))
	d.TemperatureLimits = hpu.TemperatureLimits{
		Shutdown:  celsius(c.uint32(symGetTemperatureThreshold, h, thresholdShutdown)),
		Slowdown:  celsius(c.uint32(symGetTemperatureThreshold, h, thresholdSlowdown)),
		MemoryMax: celsius(c.uint32(symGetTemperatureThreshold, h, thresholdMemMax)),
		AIPMax:    celsius(c.uint32(symGetTemperatureThreshold, h, thresholdAIPMax)),
	}

	d.Power = milli(c.uint32(symGetPowerUsage, h))
	d.PowerLimit = milli(c.uint32(symGetPowerDefaultLimit, h))
	d.Energy = milli64(c.uint64(symGetTotalEnergy, h))

	d.ClockSoC = megahertz(c.uint32(symGetClockInfo, h, clockSoC))
	d.ClockSoCMax = megahertz(c.uint32(symGetMaxClockInfo, h, clockSoC))
	if reasons, ok := c.uint64(symGetThrottleReasons, h); ok {
		d.ThrottledPower = hpu.Some(reasons&throttlePower != 0)
		d.ThrottledThermal = hpu.Some(reasons&throttleThermal != 0)
	}

	d.PCIeReceive = pcieRate(c.uint32(symGetPCIeThroughput, h, pcieRX))
	d.PCIeTransmit = pcieRate(c.uint32(symGetPCIeThroughput, h, pcieTX))
	d.PCIeReplays = count(c.uint32(symGetPCIeReplayCounter, h))
	d.PCIeLinkGen = count(c.uint32(symGetPCIeLinkGeneration, h))
	d.PCIeLinkWidth = count(c.uint32(symGetPCIeLinkWidth, h))

	// hlml_device_get_ecc_mode(dev, *current, *pending): only the current mode is reported.
	if c.invoke(symGetECCMode, []uintptr{h, b.scalar.ptr(), b.scalar2.ptr()}, b.scalar, b.scalar2) == Success {
		d.ECCEnabled = hpu.Some(b.scalar.uint32(0) == featureEnabled)
	}
	d.RowsReplacedSingle = replacedRows(c, h, rowsSingleBit)
	d.RowsReplacedDouble = replacedRows(c, h, rowsDoubleBit)
	d.RowsPending = enabled(c.uint32(symGetReplacedRowsPending, h))

	d.NICPorts = d.NICPorts[:0]
	for _, p := range id.ports {
		// A port whose link cannot be read is left out rather than reported down.
		if up, ok := c.flag(symNICGetLink, h, uintptr(p.Port)); ok {
			p.Up = up
			d.NICPorts = append(d.NICPorts, p)
		}
	}
}

// replacedRows counts the rows replaced for cause: hlml_device_get_replaced_rows(dev, cause,
// *row_count, NULL) with a NULL address array returns only the count.
func replacedRows(c *caller, h uintptr, cause uintptr) hpu.Value[int64] {
	if c.invoke(symGetReplacedRows, []uintptr{h, cause, c.buf.scalar.ptr(), 0}, c.buf.scalar) != Success {
		return hpu.Value[int64]{}
	}
	return hpu.Some(int64(c.buf.scalar.uint32(0)))
}

// operational maps hlml_device_get_oper_status (recent releases) onto the driver's device
// states (the habanalabs sysfs "status" strings). A status it does not know stays invalid
// rather than marking the device degraded on a guess.
func operational(status []byte, ok bool) hpu.Value[bool] {
	if !ok {
		return hpu.Value[bool]{}
	}
	s := strings.TrimSpace(string(status))
	switch {
	case strings.EqualFold(s, "operational"):
		return hpu.Some(true)
	case strings.EqualFold(s, "in reset"), strings.EqualFold(s, "disabled"), strings.EqualFold(s, "needs reset"),
		strings.EqualFold(s, "in device creation"), strings.EqualFold(s, "in reset after device release"),
		strings.EqualFold(s, "malfunction"):
		return hpu.Some(false)
	default:
		return hpu.Value[bool]{}
	}
}

func celsius(v uint32, ok bool) hpu.Value[float64] {
	if !ok {
		return hpu.Value[float64]{}
	}
	return hpu.Some(float64(v))
}

// milli converts mW to W (and mJ to J).
func milli(v uint32, ok bool) hpu.Value[float64] {
	if !ok {
		return hpu.Value[float64]{}
	}
	return hpu.Some(float64(v) / 1000)
}

func milli64(v uint64, ok bool) hpu.Value[float64] {
	if !ok {
		return hpu.Value[float64]{}
	}
	return hpu.Some(float64(v) / 1000)
}

func megahertz(v uint32, ok bool) hpu.Value[int64] {
	if !ok {
		return hpu.Value[int64]{}
	}
	return hpu.Some(int64(v) * 1_000_000)
}

func pcieRate(v uint32, ok bool) hpu.Value[float64] {
	if !ok {
		return hpu.Value[float64]{}
	}
	return hpu.Some(float64(v) * pcieThroughputUnit)
}

func count(v uint32, ok bool) hpu.Value[int64] {
	if !ok {
		return hpu.Value[int64]{}
	}
	return hpu.Some(int64(v))
}

func enabled(v uint32, ok bool) hpu.Value[bool] {
	if !ok {
		return hpu.Value[bool]{}
	}
	return hpu.Some(v == featureEnabled)
}
