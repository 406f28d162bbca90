package hlsmi

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/otelcol-gaudi/otelcol-gaudi/receiver/gaudireceiver/internal/hpu"
)

// field is one `hl-smi -Q` field and how its value fills a Device.
type field struct {
	name string
	// optional marks fields known only from copies of `hl-smi -h` in public code, not from the
	// official list; when hl-smi rejects one, later queries go on without it.
	optional bool
	set      func(d *hpu.Device, v string) error
}

// queryFields is what every Read asks for, in this order. The mapping is documented in doc.go.
var queryFields = [...]field{
	{name: "index", set: setIndex},
	{name: "uuid", set: func(d *hpu.Device, v string) error { d.UUID = text(v); return nil }},
	{name: "name", set: func(d *hpu.Device, v string) error { d.Info.Model = text(v); return nil }},
	{name: "serial", set: func(d *hpu.Device, v string) error { d.Info.Serial = text(v); return nil }},
	{name: "module_id", set: setModuleID},
	{name: "bus_id", set: func(d *hpu.Device, v string) error { d.Info.PCIBusID = text(v); return nil }},
	{name: "driver_version", set: func(d *hpu.Device, v string) error { d.Info.DriverVersion = text(v); return nil }},
	{name: "utilization.aip", set: func(d *hpu.Device, v string) error { return setFloat(&d.Utilization, v, "%") }},
	{name: "memory.used", set: func(d *hpu.Device, v string) error { return setMiB(&d.MemoryUsed, v) }},
	{name: "memory.free", set: func(d *hpu.Device, v string) error { return setMiB(&d.MemoryFree, v) }},
	{name: "memory.total", set: func(d *hpu.Device, v string) error { return setMiB(&d.MemoryTotal, v) }},
	{name: "temperature.aip", set: func(d *hpu.Device, v string) error { return setFloat(&d.TemperatureOnChip, v, "C") }},
	{name: "power.draw", set: func(d *hpu.Device, v string) error { return setFloat(&d.Power, v, "W") }},
	{name: "power.max", optional: true, set: func(d *hpu.Device, v string) error { return setFloat(&d.PowerLimit, v, "W") }},
	{name: "clocks.current.soc", optional: true, set: func(d *hpu.Device, v string) error { return setMHz(&d.ClockSoC, v) }},
	{name: "clocks.max.soc", optional: true, set: func(d *hpu.Device, v string) error { return setMHz(&d.ClockSoCMax, v) }},
	{name: "pcie.link.gen.current", optional: true, set: func(d *hpu.Device, v string) error { return setPrefixed(&d.PCIeLinkGen, v, "gen") }},
	{name: "pcie.link.width.current", optional: true, set: func(d *hpu.Device, v string) error { return setPrefixed(&d.PCIeLinkWidth, v, "x") }},
	{name: "ecc.mode.current", set: setECC},
	// The error counts and throttle times of the official field list, optional all the same:
	// the list changed between releases, and a field hl-smi rejects would fail every query.
	{name: "ecc.errors.corrected.volatile.total", optional: true, set: eccCount(func(d *hpu.Device) *hpu.Value[int64] { return &d.ECCErrors.CorrectedVolatile })},
	{name: "ecc.errors.uncorrected.volatile.total", optional: true, set: eccCount(func(d *hpu.Device) *hpu.Value[int64] { return &d.ECCErrors.UncorrectedVolatile })},
	{name: "ecc.errors.corrected.aggregate.total", optional: true, set: eccCount(func(d *hpu.Device) *hpu.Value[int64] { return &d.ECCErrors.CorrectedAggregate })},
	{name: "ecc.errors.uncorrected.aggregate.total", optional: true, set: eccCount(func(d *hpu.Device) *hpu.Value[int64] { return &d.ECCErrors.UncorrectedAggregate })},
	{name: "ecc.errors.dram-corrected.volatile.total", optional: true, set: eccCount(func(d *hpu.Device) *hpu.Value[int64] { return &d.ECCErrorsDRAM.CorrectedVolatile })},
	{name: "ecc.errors.dram.volatile.total", optional: true, set: eccCount(func(d *hpu.Device) *hpu.Value[int64] { return &d.ECCErrorsDRAM.UncorrectedVolatile })},
	{name: "ecc.errors.dram-corrected.aggregate.total", optional: true, set: eccCount(func(d *hpu.Device) *hpu.Value[int64] { return &d.ECCErrorsDRAM.CorrectedAggregate })},
	{name: "ecc.errors.dram.aggregate.total", optional: true, set: eccCount(func(d *hpu.Device) *hpu.Value[int64] { return &d.ECCErrorsDRAM.UncorrectedAggregate })},
	{name: "stats.violation.power", optional: true, set: func(d *hpu.Device, v string) error { return setDuration(&d.ThrottleTimePower, v) }},
	{name: "stats.violation.thermal", optional: true, set: func(d *hpu.Device, v string) error { return setDuration(&d.ThrottleTimeThermal, v) }},
}

// lookupField finds a field of queryFields by name.
func lookupField(name string) (*field, bool) {
	for i := range queryFields {
		if queryFields[i].name == name {
			return &queryFields[i], true
		}
	}
	return nil, false
}

const mib = 1 << 20

var errNotAvailable = errors.New("not available")

// notAvailable reports the ways hl-smi says it has no value: N/A, and, by analogy with
// nvidia-smi, "[Not Supported]"; an empty column means the same.
func notAvailable(v string) bool {
	v = strings.TrimSuffix(strings.TrimPrefix(v, "["), "]")
	return v == "" || strings.EqualFold(v, "N/A") || strings.EqualFold(v, "Not Supported") || strings.EqualFold(v, "Not Available")
}

// text is a descriptive string; unavailable ones become empty rather than the literal "N/A".
func text(v string) string {
	if notAvailable(v) {
		return ""
	}
	return v
}

func setIndex(d *hpu.Device, v string) error {
	i, err := parseInt(v)
	if err != nil {
		return err
	}
	d.Index = i
	return nil
}

// setModuleID leaves Info.ModuleID hpu.UnknownModuleID when hl-smi has none.
func setModuleID(d *hpu.Device, v string) error {
	if notAvailable(v) {
		return nil
	}
	i, err := parseInt(v)
	if err != nil {
		return err
	}
	d.Info.ModuleID = i
	return nil
}

func parseInt(v string) (int64, error) {
	if notAvailable(v) {
		return 0, errNotAvailable
	}
	i, err := strconv.ParseInt(v, 10, 64)
	if err != nil || i < 0 {
		return 0, fmt.Errorf("not a non-negative integer: %q", v)
	}
	return i, nil
}

// number parses a value that hl-smi may print with a unit ("226 W") although nounits was asked
// for; only the given units are accepted, compared case-insensitively.
func number(v string, units ...string) (float64, error) {
	end := 0
	for end < len(v) && (v[end] >= '0' && v[end] <= '9' || v[end] == '.' || v[end] == '-' || v[end] == '+') {
		end++
	}
	num, unit := v[:end], strings.TrimSpace(v[end:])
	f, err := strconv.ParseFloat(num, 64)
	if err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
		return 0, fmt.Errorf("not a number: %q", v)
	}
	if unit == "" {
		return f, nil
	}
	for _, u := range units {
		if strings.EqualFold(unit, u) {
			return f, nil
		}
	}
	return 0, fmt.Errorf("unexpected unit %q in %q (want %s)", unit, v, strings.Join(units, " or "))
}

func setFloat(dst *hpu.Value[float64], v string, units ...string) error {
	if notAvailable(v) {
		return nil
	}
	f, err := number(v, units...)
	if err != nil {
		return err
	}
	*dst = hpu.Some(f)
	return nil
}

// setMiB converts memory, which hl-smi reports in MiB (its -q text labels the same numbers "MB").
func setMiB(dst *hpu.Value[int64], v string) error {
	if notAvailable(v) {
		return nil
	}
	f, err := number(v, "MiB", "MB")
	if err != nil {
		return err
	}
	return setScaled(dst, f, mib, v)
}

// setScaled stores f×scale, a count of bytes or hertz: never negative, and never a float
// beyond int64, which converts to garbage.
func setScaled(dst *hpu.Value[int64], f, scale float64, v string) error {
	f = math.Round(f * scale)
	if f < 0 || f >= math.MaxInt64 {
		return fmt.Errorf("out of range: %q", v)
	}
	*dst = hpu.Some(int64(f))
	return nil
}

// setMHz converts clocks; hl-smi's -q text prints them in MHz, so a bare number is MHz too.
func setMHz(dst *hpu.Value[int64], v string) error {
	if notAvailable(v) {
		return nil
	}
	f, err := number(v, "MHz")
	if err != nil {
		return err
	}
	return setScaled(dst, f, 1e6, v)
}

// setPrefixed parses PCIe link values, which public scripts strip of a "Gen" or "x" prefix
// ("Gen4", "x16") before use; bare numbers are accepted as well.
func setPrefixed(dst *hpu.Value[int64], v, prefix string) error {
	if notAvailable(v) {
		return nil
	}
	s := v
	if len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix) {
		s = strings.TrimSpace(s[len(prefix):])
	}
	i, err := strconv.ParseInt(s, 10, 64)
	if err != nil || i < 0 {
		return fmt.Errorf("not a number with an optional %q prefix: %q", prefix, v)
	}
	*dst = hpu.Some(i)
	return nil
}

func setECC(d *hpu.Device, v string) error {
	if notAvailable(v) {
		return nil
	}
	for _, on := range [...]string{"Enabled", "Enable", "On", "1", "True", "Yes"} {
		if strings.EqualFold(v, on) {
			d.ECCEnabled = hpu.Some(true)
			return nil
		}
	}
	for _, off := range [...]string{"Disabled", "Disable", "Off", "0", "False", "No"} {
		if strings.EqualFold(v, off) {
			d.ECCEnabled = hpu.Some(false)
			return nil
		}
	}
	return fmt.Errorf("not an ECC mode: %q", v)
}

// eccCount sets an error count: a non-negative integer.
func eccCount(field func(*hpu.Device) *hpu.Value[int64]) func(*hpu.Device, string) error {
	return func(d *hpu.Device, v string) error {
		if notAvailable(v) {
			return nil
		}
		i, err := parseInt(v)
		if err != nil {
			return err
		}
		*field(d) = hpu.Some(i)
		return nil
	}
}

// setDuration converts a throttle time to seconds. hl-smi prints what HLML's violation status
// holds, whose unit neither documents; a bare number is taken as nanoseconds, as NVML counts its
// violation time (and as the HLML source reads it), and a unit suffix is honoured.
func setDuration(dst *hpu.Value[float64], v string) error {
	if notAvailable(v) {
		return nil
	}
	f, err := number(v, "ns", "us", "ms", "s")
	if err != nil {
		return err
	}
	scale := 1e9
	switch unit := strings.ToLower(strings.TrimSpace(strings.TrimLeft(v, "0123456789.+-"))); unit {
	case "us":
		scale = 1e6
	case "ms":
		scale = 1e3
	case "s":
		scale = 1
	}
	if f < 0 {
		return fmt.Errorf("not a duration: %q", v)
	}
	*dst = hpu.Some(f / scale)
	return nil
}
