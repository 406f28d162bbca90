package hlml

import (
	"fmt"
	"math"
	"path/filepath"
	"strconv"
	"strings"

	"go.uber.org/zap"

	"github.com/otelcol-gaudi/otelcol-gaudi/receiver/gaudireceiver/internal/hpu"
	"github.com/otelcol-gaudi/otelcol-gaudi/receiver/gaudireceiver/internal/hwmon"
)

// Enumerations and bits of the HLML calls the source makes (TestLayoutsMatchTheHeader checks
// them against the fake's header, written from Habana's).
const (
	temperatureOnAIP   = 0 // HLML_TEMPERATURE_ON_AIP
	temperatureOnBoard = 1 // HLML_TEMPERATURE_ON_BOARD
	temperatureHBM     = 3 // HLML_TEMPERATURE_HBM (newer releases)

	thresholdShutdown = 0 // HLML_TEMPERATURE_THRESHOLD_SHUTDOWN
	thresholdSlowdown = 1 // HLML_TEMPERATURE_THRESHOLD_SLOWDOWN
	thresholdMemMax   = 2 // HLML_TEMPERATURE_THRESHOLD_MEM_MAX
	thresholdAIPMax   = 3 // HLML_TEMPERATURE_THRESHOLD_GPU_MAX

	clockSoC = 0 // HLML_CLOCK_SOC

	throttlePower   = 1 << 0 // HLML_CLOCKS_THROTTLE_REASON_POWER
	throttleThermal = 1 << 1 // HLML_CLOCKS_THROTTLE_REASON_THERMAL

	policyPower   = 0 // HLML_PERF_POLICY_POWER
	policyThermal = 1 // HLML_PERF_POLICY_THERMAL

	pcieTX = 0 // HLML_PCIE_UTIL_TX_BYTES
	pcieRX = 1 // HLML_PCIE_UTIL_RX_BYTES

	rowsSingleBit = 0 // HLML_ROW_REPLACEMENT_CAUSE_MULTIPLE_SINGLE_BIT_ECC_ERRORS
	rowsDoubleBit = 1 // HLML_ROW_REPLACEMENT_CAUSE_DOUBLE_BIT_ECC_ERROR

	eccCorrected   = 0 // HLML_MEMORY_ERROR_TYPE_CORRECTED
	eccUncorrected = 1 // HLML_MEMORY_ERROR_TYPE_UNCORRECTED
	eccVolatile    = 0 // HLML_VOLATILE_ECC
	eccAggregate   = 1 // HLML_AGGREGATE_ECC
	locationDRAM   = 1 // HLML_MEMORY_LOCATION_DRAM

	featureEnabled = 1 // HLML_FEATURE_ENABLED

	// pcieThroughputUnit is the bytes per unit of hlml_device_get_pcie_throughput. HLML does
	// not document it; NVML's analogue reports KB/s, and HLML's other units are decimal SI
	// (mW, mJ, MHz), so KB is taken as 1000 bytes.
	pcieThroughputUnit = 1000
	// violationTimePerSecond is the units of hlml_violation_time_t.violation_time per second,
	// which HLML does not document either: NVML's analogue counts nanoseconds.
	violationTimePerSecond = 1e9
)

// deviceState is what the source keeps of one device between Reads: its identity and static
// readings, which do not change while its handle stays the same (read once per handle, so that a
// steady-state Read allocates no strings and makes no call for them), how its calls fare, and the
// readings of the slow tier.
type deviceState struct {
	handle   uintptr
	complete bool
	uuid     string
	info     hpu.Info
	// limits and defaultPower are the device's thermal thresholds and default power limit; static
	// says they were all read (or are not supported) for this handle.
	limits       hpu.TemperatureLimits
	defaultPower hpu.Value[float64]
	static       bool
	// ports are the NIC ports present, with External set; their readings are read on every Read.
	ports []hpu.NICPort
	// sensors are the hwmon channels the temperatures come from; nil: through HLML.
	sensors *hwmon.Sensors
	calls   [numSlots]callState
	// slow holds the readings of the slow tier, carried over between the Reads that make those
	// calls; slowRead says whether it was read since the handle was found.
	slow     slowReadings
	slowRead bool
}

// slowReadings are what the expensive calls return (PCIe throughput, ECC totals, NIC counters),
// and the readings that change too rarely to be worth a call on every Read (the power cap, which
// only an administrator changes, and the throttle times, which are counters).
type slowReadings struct {
	pcieReceive, pcieTransmit hpu.Value[float64]
	powerCap                  hpu.Value[float64]
	throttlePower             hpu.Value[float64]
	throttleThermal           hpu.Value[float64]
	ecc, eccDRAM              hpu.ECCErrors
	nic                       []nicReading // by index in deviceState.ports
}

// nicReading is a port's counters; stats keep their names between Reads, so that a steady-state
// Read allocates no strings.
type nicReading struct {
	counters hpu.NICCounters
	stats    []hpu.NICStat
}

// readIdentity (re)reads st for handle h; st.complete stays false when a call failed (other than
// with NOT_SUPPORTED), so that it is read again on the next Read.
func (s *Source) readIdentity(c *caller, h uintptr, st *deviceState, index int) {
	if st.sensors != nil {
		_ = st.sensors.Close()
		st.sensors = nil
	}
	if st.handle != h {
		st.slowRead, st.static = false, false
	}
	st.handle, st.complete = h, false
	soft := c.soft
	uuid := c.string(strict, symGetUUID, h)
	if c.err != nil {
		return // keep the last known UUID to name the failing device
	}
	st.uuid = uuid
	c.uuid = uuid
	st.info = hpu.Info{
		Model:           c.string(slotName, symGetName, h),
		Serial:          c.string(slotSerial, symGetSerial, h),
		ModuleID:        hpu.UnknownModuleID,
		FirmwareVersion: c.string(slotFirmware, symGetFirmwareFITVersion, h),
	}
	if m, ok := c.uint32(slotModuleID, symGetModuleID, h); ok {
		st.info.ModuleID = int64(m)
	}

	pci := c.buf.pci
	if c.invoke(slotPCIInfo, symGetPCIInfo, []uintptr{h, pci.ptr()}, pci) == Success {
		st.info.PCIBusID = strings.TrimSpace(string(pci.cstring(pciBusIDOffset, pciBusIDMaxLen)))
	}
	st.ports = st.ports[:0]
	mask, ext := c.buf.mask, c.buf.extMask
	if c.invoke(slotPorts, symGetMACAddrInfo, []uintptr{h, mask.ptr(), ext.ptr()}, mask, ext) == Success {
		for w := range portMaskWords {
			present, external := mask.uint64(8*w), ext.uint64(8*w)
			for bit := range 64 {
				if present&(1<<bit) != 0 {
					st.ports = append(st.ports, hpu.NICPort{Port: int64(64*w + bit), External: external&(1<<bit) != 0})
				}
			}
		}
	}
	st.slow.nic = st.slow.nic[:0]
	for range st.ports {
		st.slow.nic = append(st.slow.nic, nicReading{})
	}
	if s.cfg.TemperatureSource != TemperatureHLML {
		// The accel minor number names the device's sysfs directory; HLML's index is the same
		// enumeration, so it stands in when the call is missing.
		minor := index
		if m, ok := c.uint32(slotMinor, symGetMinorNumber, h); ok {
			minor = int(m)
		}
		dir := filepath.Join(s.set.HostRoot, "sys", "class", "accel", "accel"+strconv.Itoa(minor), "device")
		if sensors, err := hwmon.Open(dir, s.hwmonConf); err == nil {
			st.sensors = sensors
		} else if s.cfg.TemperatureSource == TemperatureHwmon {
			c.log().Warn("No hwmon temperatures for this HPU; with temperature_source hwmon it reports none",
				zap.Int("hpu.index", index), uuidField(uuid), zap.Error(err))
		}
	}
	st.complete = c.err == nil && c.soft == soft
}

// readStatic reads the readings that do not change while the handle stays the same; st.static
// stays false when a call failed (other than with NOT_SUPPORTED), so that it is read again.
func readStatic(c *caller, h uintptr, st *deviceState) {
	soft := c.soft
	st.limits = hpu.TemperatureLimits{
		Shutdown:  celsius(c.uint32(slotThreshold+thresholdShutdown, symGetTemperatureThreshold, h, thresholdShutdown)),
		Slowdown:  celsius(c.uint32(slotThreshold+thresholdSlowdown, symGetTemperatureThreshold, h, thresholdSlowdown)),
		MemoryMax: celsius(c.uint32(slotThreshold+thresholdMemMax, symGetTemperatureThreshold, h, thresholdMemMax)),
		AIPMax:    celsius(c.uint32(slotThreshold+thresholdAIPMax, symGetTemperatureThreshold, h, thresholdAIPMax)),
	}
	st.defaultPower = milli(c.uint32(slotPowerDefault, symGetPowerDefaultLimit, h))
	st.static = c.err == nil && c.soft == soft
}

// readReadings fills d's readings from device h; a device-gone error stops at c.err. slowDue
// makes the slow calls; otherwise their last readings are reported again.
func (s *Source) readReadings(c *caller, h uintptr, st *deviceState, d *hpu.Device, slowDue bool) {
	b := c.buf
	if !st.static {
		readStatic(c, h, st)
	}
	d.Operational = operational(c.bytes(slotOperStatus, symGetOperStatus, h))
	if c.invoke(slotUtilization, symGetUtilizationRates, []uintptr{h, b.utilization.ptr()}, b.utilization) == Success {
		d.Utilization = hpu.Some(float64(b.utilization.uint32(utilizationAIPOffset)))
	}
	if c.invoke(slotMemory, symGetMemoryInfo, []uintptr{h, b.memory.ptr()}, b.memory) == Success {
		d.MemoryFree = hpu.Some(int64(b.memory.uint64(memoryFreeOffset)))
		d.MemoryTotal = hpu.Some(int64(b.memory.uint64(memoryTotalOffset)))
		d.MemoryUsed = hpu.Some(int64(b.memory.uint64(memoryUsedOffset)))
	}

	switch {
	case st.sensors != nil:
		d.TemperatureOnChip = st.sensors.Temperature(hwmon.OnChip)
		d.TemperatureOnBoard = st.sensors.Temperature(hwmon.OnBoard)
		d.TemperatureHBM = st.sensors.Temperature(hwmon.HBM)
	case s.cfg.TemperatureSource != TemperatureHwmon:
		d.TemperatureOnChip = celsius(c.uint32(slotTempChip, symGetTemperature, h, temperatureOnAIP))
		d.TemperatureOnBoard = celsius(c.uint32(slotTempBoard, symGetTemperature, h, temperatureOnBoard))
		d.TemperatureHBM = celsius(c.uint32(slotTempHBM, symGetTemperature, h, temperatureHBM))
	}
	d.TemperatureLimits, d.PowerLimitDefault = st.limits, st.defaultPower

	d.Power = milli(c.uint32(slotPower, symGetPowerUsage, h))
	d.Energy = milli64(c.uint64(slotEnergy, symGetTotalEnergy, h))

	d.ClockSoC = megahertz(c.uint32(slotClock, symGetClockInfo, h, clockSoC))
	d.ClockSoCMax = megahertz(c.uint32(slotClockMax, symGetMaxClockInfo, h, clockSoC))
	if reasons, ok := c.uint64(slotThrottle, symGetThrottleReasons, h); ok {
		d.ThrottledPower = hpu.Some(reasons&throttlePower != 0)
		d.ThrottledThermal = hpu.Some(reasons&throttleThermal != 0)
	}

	d.PCIeReplays = count(c.uint32(slotReplays, symGetPCIeReplayCounter, h))
	d.PCIeLinkGen = count(c.uint32(slotLinkGen, symGetPCIeLinkGeneration, h))
	d.PCIeLinkWidth = count(c.uint32(slotLinkWidth, symGetPCIeLinkWidth, h))

	// hlml_device_get_ecc_mode(dev, *current, *pending): only the current mode is reported.
	if c.invoke(slotECCMode, symGetECCMode, []uintptr{h, b.scalar.ptr(), b.scalar2.ptr()}, b.scalar, b.scalar2) == Success {
		d.ECCEnabled = hpu.Some(b.scalar.uint32(0) == featureEnabled)
	}
	d.RowsReplacedSingle = replacedRows(c, h, rowsSingleBit)
	d.RowsReplacedDouble = replacedRows(c, h, rowsDoubleBit)
	d.RowsPending = enabled(c.uint32(slotRowsPending, symGetReplacedRowsPending, h))

	if slowDue {
		s.readSlow(c, h, st)
	}
	slow := &st.slow
	d.PCIeReceive, d.PCIeTransmit = slow.pcieReceive, slow.pcieTransmit
	d.PowerLimit = slow.powerCap
	d.ThrottleTimePower, d.ThrottleTimeThermal = slow.throttlePower, slow.throttleThermal
	d.ECCErrors, d.ECCErrorsDRAM = slow.ecc, slow.eccDRAM

	d.NICPorts = d.NICPorts[:0]
	for i, p := range st.ports {
		port := hpu.NICPort{Port: p.Port, External: p.External}
		if up, ok := c.flag(slotNICLink+slot(p.Port), symNICGetLink, h, uintptr(p.Port)); ok {
			port.Up = hpu.Some(up)
		}
		if i < len(slow.nic) {
			port.Counters, port.Stats = slow.nic[i].counters, slow.nic[i].stats
		}
		// A port with neither a link state nor counters is left out rather than reported down.
		if port.Up.Valid || port.Counters != (hpu.NICCounters{}) || len(port.Stats) > 0 {
			d.NICPorts = append(d.NICPorts, port)
		}
	}
}

// readSlow makes the expensive calls of the slow tier into st.slow.
func (s *Source) readSlow(c *caller, h uintptr, st *deviceState) {
	slow := &st.slow
	slow.pcieReceive = pcieRate(c.uint32(slotPCIe+pcieRX, symGetPCIeThroughput, h, pcieRX))
	slow.pcieTransmit = pcieRate(c.uint32(slotPCIe+pcieTX, symGetPCIeThroughput, h, pcieTX))
	slow.powerCap = milli(c.uint32(slotPowerCap, symGetPowerLimit, h))
	slow.throttlePower = violationTime(c, h, policyPower)
	slow.throttleThermal = violationTime(c, h, policyThermal)
	slow.ecc = eccErrors(c, h, slotECC, symGetTotalECCErrors)
	slow.eccDRAM = eccErrors(c, h, slotECCDRAM, symGetMemoryErrorCounter)
	for i, p := range st.ports {
		if i < len(slow.nic) && s.set.NIC.Wanted(p.External) {
			s.readNICStats(c, h, p.Port, &slow.nic[i])
		}
	}
	st.slowRead = c.err == nil
}

// readNICStats reads one port's counters: those of the allowlist into counters, and, when asked
// for, the raw ones into stats. A counter's name is one ETH_GSTRING_LEN slot of the names buffer.
func (s *Source) readNICStats(c *caller, h uintptr, port int64, r *nicReading) {
	b := c.buf
	info := b.nicInfo
	info.reset()
	info.putUint32(nicStatsPortOffset, uint32(port))
	info.putUint64(nicStatsNamesOffset, uint64(b.nicNames.ptr()))
	info.putUint64(nicStatsValuesOffset, uint64(b.nicValues.ptr()))
	info.putUint64(nicStatsCountOffset, uint64(b.nicCount.ptr()))
	r.counters = hpu.NICCounters{}
	r.stats = r.stats[:0]
	if c.invoke(slotNICStats+slot(port), symNICGetStatistics, []uintptr{h, info.ptr()}, b.nicNames, b.nicValues, b.nicCount) != Success {
		return
	}
	n := int(b.nicCount.uint32(0))
	if n > nicMaxCounters {
		// The library says it wrote more than the buffers hold: as a write past a guard, the
		// device fails rather than its counters be read from memory it did not fill.
		c.err = fmt.Errorf("%s reports %d counters: it %w of %d", symNICGetStatistics, n, errOverrun, nicMaxCounters)
		return
	}
	for k := range n {
		name := b.nicNames.cstring(k*nicNameLen, nicNameLen)
		value := b.nicValues.uint64(8 * k)
		if r.counters.SetDriverCounter(name, value) || !keepStat(s.set.NIC, name) {
			continue
		}
		r.stats = appendStat(r.stats, name, value)
	}
	if !s.set.NIC.Counters {
		r.counters = hpu.NICCounters{} // the allowlist's counters are not raw stats either way
	}
}

// keepStat says whether a raw counter is asked for and can become an attribute value.
func keepStat(opts hpu.NICOptions, name []byte) bool {
	if !opts.Stats || !hpu.PrintableName(string(name)) {
		return false
	}
	if len(opts.StatNames) == 0 {
		return true
	}
	for _, n := range opts.StatNames {
		if n == string(name) {
			return true
		}
	}
	return false
}

// appendStat appends a raw counter, reusing the name a previous Read left in that place of stats'
// spare capacity. The first of duplicate names wins (the driver names some counters in both its
// receive and its transmit table).
func appendStat(stats []hpu.NICStat, name []byte, value uint64) []hpu.NICStat {
	if value > math.MaxInt64 {
		return stats
	}
	for i := range stats {
		if stats[i].Name == string(name) {
			return stats
		}
	}
	if n := len(stats); n < cap(stats) && stats[:n+1][n].Name == string(name) {
		stats = stats[:n+1]
		stats[n].Value = int64(value)
		return stats
	}
	return append(stats, hpu.NICStat{Name: string(name), Value: int64(value)})
}

// violationTime reads the time the clocks were throttled for policy, in seconds.
func violationTime(c *caller, h uintptr, policy uintptr) hpu.Value[float64] {
	v := c.buf.violation
	if c.invoke(slotViolation+slot(policy), symGetViolationStatus, []uintptr{h, policy, v.ptr()}, v) != Success {
		return hpu.Value[float64]{}
	}
	return hpu.Some(float64(v.uint64(violationTimeOffset)) / violationTimePerSecond)
}

// eccErrors reads the four ECC counts of fn: hlml_device_get_total_ecc_errors(dev, type,
// counter, *count), or hlml_device_get_memory_error_counter(dev, type, counter, DRAM, *count).
func eccErrors(c *caller, h uintptr, base slot, fn symbol) hpu.ECCErrors {
	read := func(errType, counter uintptr) hpu.Value[int64] {
		sl := base + slot(2*errType+counter)
		var v uint64
		var ok bool
		if fn == symGetMemoryErrorCounter {
			v, ok = c.uint64(sl, fn, h, errType, counter, locationDRAM)
		} else {
			v, ok = c.uint64(sl, fn, h, errType, counter)
		}
		if !ok || v > math.MaxInt64 {
			return hpu.Value[int64]{}
		}
		return hpu.Some(int64(v))
	}
	return hpu.ECCErrors{
		CorrectedVolatile:    read(eccCorrected, eccVolatile),
		UncorrectedVolatile:  read(eccUncorrected, eccVolatile),
		CorrectedAggregate:   read(eccCorrected, eccAggregate),
		UncorrectedAggregate: read(eccUncorrected, eccAggregate),
	}
}

// replacedRows counts the rows replaced for cause: hlml_device_get_replaced_rows(dev, cause,
// *row_count, NULL) with a NULL address array returns only the count.
func replacedRows(c *caller, h uintptr, cause uintptr) hpu.Value[int64] {
	if c.invoke(slotRows+slot(cause), symGetReplacedRows, []uintptr{h, cause, c.buf.scalar.ptr(), 0}, c.buf.scalar) != Success {
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
