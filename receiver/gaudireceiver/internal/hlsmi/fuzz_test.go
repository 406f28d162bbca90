package hlsmi

import (
	"math"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/otelcol-gaudi/otelcol-gaudi/receiver/gaudireceiver/internal/hlsmi/hlsmitest"
	"github.com/otelcol-gaudi/otelcol-gaudi/receiver/gaudireceiver/internal/hpu"
)

// The fuzz tests of hl-smi's output parsers. Their seeds are the recorded outputs in testdata
// and, in testdata/fuzz, the other recorded outputs of ../shared/fixtures/hl-smi (without their
// "#" lines) and the crashers found so far; `make fuzz-test` runs each for a bounded time.

// seedFiles adds each testdata file whose name has one of the suffixes.
func seedFiles(f *testing.F, add func(string), suffixes ...string) {
	f.Helper()
	entries, err := os.ReadDir("testdata")
	if err != nil {
		f.Fatal(err)
	}
	for _, e := range entries {
		for _, suffix := range suffixes {
			if strings.HasSuffix(e.Name(), suffix) {
				b, err := os.ReadFile(filepath.Join("testdata", e.Name()))
				if err != nil {
					f.Fatal(err)
				}
				add(string(b))
			}
		}
	}
}

// fuzzLayouts are the column orders asked for: every field, the Gaudi 3 recording's, and two.
func fuzzLayouts(f *testing.F) []layout {
	f.Helper()
	return []layout{
		newLayout(allFields()),
		newLayout(fieldsNamed(f, strings.Split(hlsmitest.Gaudi3Columns, ",")...)),
		newLayout(fieldsNamed(f, "index", "module_id")),
	}
}

func FuzzParseQuery(f *testing.F) {
	seedFiles(f, func(s string) { f.Add(s, uint8(0)) }, ".csv")
	f.Add("0, 01P0-HL2\x00\x7fA81, HL-225\n1, 0000:43:00.0, -5 MiB\n", uint8(1))
	f.Add("0, , , , N/A, , , 1 %, 2 MiB\n1,,,\n,\nindex [x], uuid\n\r\n x", uint8(0))
	layouts := fuzzLayouts(f)
	// Devices 0-7 of the SYNTHETIC recording were read before, so garbled lines can be named.
	known, err := parseQuery(readFixture(f, "SYNTHETIC_gaudi2_Q_all_fields.csv"), layouts[0], nil, nil)
	if err != nil {
		f.Fatal(err)
	}
	ids := identities{}
	for _, d := range known {
		ids[d.Index] = d.UUID
	}

	f.Fuzz(func(t *testing.T, out string, which uint8) {
		lay := layouts[int(which)%len(layouts)]
		devs, _ := parseQuery(out, lay, ids, nil)
		if lines := strings.Count(out, "\n") + 1; len(devs) > lines {
			t.Fatalf("%d devices from %d lines", len(devs), lines)
		}
		for _, d := range devs {
			checkParsed(t, d)
		}
		again, _ := parseQuery(out, lay, ids, devs[:0])
		if !reflect.DeepEqual(devs, again) && len(devs) > 0 {
			t.Fatalf("a second parse into the same slice differs")
		}
	})
}

// checkParsed holds what any Device parsed from any output must satisfy.
func checkParsed(t *testing.T, d hpu.Device) {
	t.Helper()
	if d.Index < 0 {
		t.Fatalf("index %d", d.Index)
	}
	for _, s := range []string{d.UUID, d.Info.Model, d.Info.Serial, d.Info.PCIBusID, d.Info.DriverVersion} {
		if s != strings.TrimSpace(s) || strings.ContainsAny(s, ",\n") {
			t.Fatalf("string %q is not one trimmed column", s)
		}
	}
	if d.Err != nil {
		return
	}
	if d.Info.ModuleID < hpu.UnknownModuleID {
		t.Fatalf("module id %d", d.Info.ModuleID)
	}
	for name, v := range map[string]hpu.Value[float64]{
		"utilization": d.Utilization, "temperature": d.TemperatureOnChip, "power": d.Power, "power limit": d.PowerLimit,
	} {
		if v.Valid && (math.IsNaN(v.V) || math.IsInf(v.V, 0)) {
			t.Fatalf("%s %v", name, v.V)
		}
	}
	for name, v := range map[string]hpu.Value[int64]{
		"memory used": d.MemoryUsed, "memory free": d.MemoryFree, "memory total": d.MemoryTotal,
		"clock": d.ClockSoC, "clock max": d.ClockSoCMax, "link generation": d.PCIeLinkGen, "link width": d.PCIeLinkWidth,
	} {
		if v.Valid && v.V < 0 {
			t.Fatalf("%s %d: negative (or overflowed)", name, v.V)
		}
	}
}

func FuzzParseLinks(f *testing.F) {
	seedFiles(f, func(s string) { f.Add(s) }, "_n_link.txt", "_n_link_short.txt", "_n_ports.txt")
	f.Add("port 3: UP\nport 3: DOWN\nport 99999999999: UP\nport -1: UP\n")
	external, err := parsePortTypes(readFixture(f, "gaudi2_n_ports.txt"))
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, out string) {
		ports, _ := parseLinks(out, external)
		seen := map[int64]bool{}
		for _, p := range ports {
			if p.Port < 0 || p.Port >= hpu.MaxNICPorts || seen[p.Port] {
				t.Fatalf("port %d (ports %v)", p.Port, ports)
			}
			seen[p.Port] = true
			if p.External != external[p.Port] {
				t.Fatalf("port %d typed wrongly", p.Port)
			}
		}
		types, err := parsePortTypes(out)
		if err == nil {
			for port := range types {
				if port < 0 || port >= hpu.MaxNICPorts {
					t.Fatalf("port type of port %d", port)
				}
			}
		} else if types != nil {
			t.Fatalf("port types returned with %v", err)
		}
	})
}

// FuzzParseDetails feeds the parser of hl-smi -q with anything: no panic, a bounded result and
// report, no block kept that cannot be pinned on exactly one device, and only numbers a metric
// can carry.
func FuzzParseDetails(f *testing.F) {
	seedFiles(f, func(s string) { f.Add(s) }, ".txt", ".csv")
	f.Add("[0] AIP (accel0) 0000:43:00.0\nAIP UUID : A\n[1] AIP (accel1) 0000:43:00.0\nAIP UUID : A\n")
	f.Add("[0] AIP\nTemperature\n[1] HBM 0 Temp : -1e308 C\nPower Readings\nPower Limit : 9e18 W\nReplaced Rows\nPending : yes\n")
	devs, err := parseQuery(readFixture(f, "SYNTHETIC_gaudi2_Q_all_fields.csv"), newLayout(allFields()), nil, nil)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, out string) {
		details, err := parseDetails(out)
		if len(details) > maxDetailBlocks {
			t.Fatalf("%d blocks kept", len(details))
		}
		if err != nil && strings.Count(err.Error(), "\n") > maxDetailErrors {
			t.Fatalf("%d lines of errors", strings.Count(err.Error(), "\n")+1)
		}
		uuids, buses := map[string]bool{}, map[string]bool{}
		for _, q := range details {
			if q.uuid == "" && q.bus == "" || q.uuid != "" && uuids[q.uuid] || q.bus != "" && buses[q.bus] {
				t.Fatalf("block %+v kept: no name, or another's", q)
			}
			uuids[q.uuid], buses[q.bus] = q.uuid != "", q.bus != ""
			if q.bus != "" && !pciAddress.MatchString(q.bus) {
				t.Fatalf("bus id %q", q.bus)
			}
			for _, v := range []hpu.Value[float64]{q.tempHBM, q.tempBoard, q.powerDefault} {
				if v.Valid && (math.IsNaN(v.V) || math.IsInf(v.V, 0)) {
					t.Fatalf("block %+v: %v", q, v.V)
				}
			}
			if q.rowsSingle.Valid && q.rowsSingle.V < 0 || q.rowsDouble.Valid && q.rowsDouble.V < 0 {
				t.Fatalf("block %+v: negative rows", q)
			}
		}
		got := slices.Clone(devs)
		_ = applyDetails(got, details)
		for i := range got {
			named := 0
			for j := range details {
				if details[j].names(&got[i]) {
					named++
				}
			}
			if named != 1 && !reflect.DeepEqual(got[i], devs[i]) {
				t.Fatalf("device %d got readings from %d blocks", got[i].Index, named)
			}
		}
	})
}
