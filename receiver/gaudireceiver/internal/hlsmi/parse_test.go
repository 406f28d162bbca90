package hlsmi

import (
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/otelcol-gaudi/otelcol-gaudi/receiver/gaudireceiver/internal/hlsmi/hlsmitest"
	"github.com/otelcol-gaudi/otelcol-gaudi/receiver/gaudireceiver/internal/hpu"
)

func readFixture(t testing.TB, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	require.NoError(t, err)
	return string(b)
}

func allFields() []*field {
	fields := make([]*field, len(queryFields))
	for i := range queryFields {
		fields[i] = &queryFields[i]
	}
	return fields
}

func fieldNames(fields []*field) []string {
	names := make([]string, len(fields))
	for i, f := range fields {
		names[i] = f.name
	}
	return names
}

func fieldsNamed(t testing.TB, names ...string) []*field {
	t.Helper()
	fields := make([]*field, len(names))
	for i, n := range names {
		f, ok := lookupField(n)
		require.True(t, ok, n)
		fields[i] = f
	}
	return fields
}

func gaudi3Device(index int64, uuid string, power, temp float64) hpu.Device {
	return hpu.Device{
		Index: index, UUID: uuid,
		Info:        hpu.Info{Model: "HL-325L", DriverVersion: "1.22.1-97ec1a4", ModuleID: hpu.UnknownModuleID},
		MemoryTotal: hpu.Some(int64(131072 * mib)), MemoryUsed: hpu.Some(int64(672 * mib)), MemoryFree: hpu.Some(int64(130400 * mib)),
		Power: hpu.Some(power), PowerLimit: hpu.Some(850.0), TemperatureOnChip: hpu.Some(temp), Utilization: hpu.Some(0.0),
	}
}

// synthetic0 is the first device of SYNTHETIC_gaudi2_Q_all_fields.csv.
var synthetic0 = hpu.Device{
	Index: 0, UUID: "01P0-HL2080A0-15-TF8A81-09-07-06",
	Info:        hpu.Info{Model: "HL-225", Serial: "AM50016138", ModuleID: 0, PCIBusID: "0000:43:00.0", DriverVersion: "1.12.1-cb7a7bc"},
	Utilization: hpu.Some(0.0),
	MemoryUsed:  hpu.Some(int64(768 * mib)), MemoryFree: hpu.Some(int64(97536 * mib)), MemoryTotal: hpu.Some(int64(98304 * mib)),
	TemperatureOnChip: hpu.Some(30.0),
	Power:             hpu.Some(84.0), PowerLimit: hpu.Some(600.0),
	ClockSoC: hpu.Some(int64(1650e6)), ClockSoCMax: hpu.Some(int64(1650e6)),
	PCIeLinkGen: hpu.Some(int64(4)), PCIeLinkWidth: hpu.Some(int64(16)),
	ECCEnabled: hpu.Some(true),
	ECCErrors: hpu.ECCErrors{
		CorrectedVolatile: hpu.Some(int64(0)), UncorrectedVolatile: hpu.Some(int64(0)),
		CorrectedAggregate: hpu.Some(int64(0)), UncorrectedAggregate: hpu.Some(int64(0)),
	},
	ECCErrorsDRAM: hpu.ECCErrors{
		CorrectedVolatile: hpu.Some(int64(0)), UncorrectedVolatile: hpu.Some(int64(0)),
		CorrectedAggregate: hpu.Some(int64(0)), UncorrectedAggregate: hpu.Some(int64(0)),
	},
	ThrottleTimePower: hpu.Some(0.0), ThrottleTimeThermal: hpu.Some(0.0),
}

func TestParseFixtures(t *testing.T) {
	t.Run("all fields, noheader, nounits", func(t *testing.T) {
		devs, err := parseQuery(readFixture(t, "SYNTHETIC_gaudi2_Q_all_fields.csv"), newLayout(allFields()), nil, nil)
		require.NoError(t, err)
		require.Len(t, devs, 8)
		assert.Equal(t, synthetic0, devs[0])
		for i, d := range devs {
			assert.Equal(t, int64(i), d.Index)
			assert.Equal(t, int64(i), d.Info.ModuleID)
			// "4" and "16" on devices 4-7 read as "Gen4" and "x16" on 0-3.
			assert.Equal(t, hpu.Some(int64(4)), d.PCIeLinkGen)
			assert.Equal(t, hpu.Some(int64(16)), d.PCIeLinkWidth)
		}
		assert.False(t, devs[5].ClockSoC.Valid, "N/A must stay invalid, not 0")
		assert.Equal(t, hpu.Some(int64(1650e6)), devs[5].ClockSoCMax)
	})

	t.Run("values with units, noheader (Gaudi 3)", func(t *testing.T) {
		devs, err := parseQuery(readFixture(t, "gaudi3_Q_noheader_units.csv"), newLayout(fieldsNamed(t, strings.Split(hlsmitest.Gaudi3Columns, ",")...)), nil, nil)
		require.NoError(t, err)
		assert.Equal(t, []hpu.Device{
			gaudi3Device(0, "01P4-HL3090A0-18-U4V193-22-07-00", 226, 36),
			gaudi3Device(1, "01P4-HL3090A0-18-U4V298-03-04-04", 230, 39),
		}, devs)
	})

	t.Run("header with units although noheader was asked (Gaudi 1)", func(t *testing.T) {
		// What hl-smi would print for this package's query if it printed the header anyway.
		out := hlsmitest.Replay(readFixture(t, "gaudi1_Q_header_nounits.csv"), nil, fieldNames(allFields()))
		require.True(t, strings.HasPrefix(out, "index, uuid, name, serial, module_id, bus_id, driver_version, utilization.aip [%], memory.used [MiB], memory.free, memory.total [MiB]"), out)
		devs, err := parseQuery(out, newLayout(allFields()), nil, nil)
		require.NoError(t, err)
		require.Len(t, devs, 8)
		assert.Equal(t, hpu.Device{
			Index: 7, UUID: "00P1-HL2000A1-14-P64X00-08-05-09",
			Info:        hpu.Info{Model: "HL-205", ModuleID: hpu.UnknownModuleID},
			Utilization: hpu.Some(14.0), MemoryUsed: hpu.Some(int64(512 * mib)), MemoryTotal: hpu.Some(int64(32768 * mib)),
			TemperatureOnChip: hpu.Some(38.0), Power: hpu.Some(103.0),
		}, devs[7])
	})

	t.Run("header is followed when it differs from the request", func(t *testing.T) {
		devs, err := parseQuery(readFixture(t, "gaudi2e_Q_index_module_id_header.csv"), newLayout(allFields()), nil, nil)
		require.NoError(t, err)
		var modules []int64
		for _, d := range devs {
			modules = append(modules, d.Info.ModuleID)
		}
		assert.Equal(t, []int64{2, 6, 3, 7, 0, 4, 5, 1}, modules)
		assert.Equal(t, hpu.Device{Index: 3, Info: hpu.Info{ModuleID: 7}}, devs[3])
	})

	t.Run("header without index names no device", func(t *testing.T) {
		devs, err := parseQuery(readFixture(t, "gaudi1_Q_header_nounits.csv"), newLayout(allFields()), nil, nil)
		assert.Empty(t, devs)
		require.Error(t, err)
		assert.Contains(t, err.Error(), "hl-smi output line 2: no index column")
		assert.Contains(t, err.Error(), "hl-smi output line 9: no index column")
	})
}

// permuted rewrites CSV rows into the column order perm (perm[i] is the old column of new i).
func permuted(csv string, perm []int) string {
	var b strings.Builder
	for line := range strings.Lines(csv) {
		cols := strings.Split(strings.TrimSpace(line), ", ")
		out := make([]string, len(perm))
		for i, p := range perm {
			out[i] = cols[p]
		}
		b.WriteString(strings.Join(out, ", ") + "\n")
	}
	return b.String()
}

func TestParseFieldOrder(t *testing.T) {
	csv := readFixture(t, "SYNTHETIC_gaudi2_Q_all_fields.csv")
	fields := allFields()
	want, err := parseQuery(csv, newLayout(fields), nil, nil)
	require.NoError(t, err)

	identity := make([]int, len(fields))
	for i := range identity {
		identity[i] = i
	}
	reversed := slices.Clone(identity)
	slices.Reverse(reversed)
	rotated := append(slices.Clone(identity[7:]), identity[:7]...)
	shuffled := slices.Clone(identity)
	rand.New(rand.NewPCG(1, 2)).Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })

	for name, perm := range map[string][]int{"reversed": reversed, "rotated": rotated, "shuffled": shuffled} {
		t.Run(name, func(t *testing.T) {
			order := make([]*field, len(perm))
			for i, p := range perm {
				order[i] = fields[p]
			}
			got, err := parseQuery(permuted(csv, perm), newLayout(order), nil, nil)
			require.NoError(t, err)
			assert.Equal(t, want, got)
		})
	}
}

func TestParseUnitsAndHeaderVariants(t *testing.T) {
	csv := readFixture(t, "SYNTHETIC_gaudi2_Q_all_fields.csv")
	fields := allFields()
	want, err := parseQuery(csv, newLayout(fields), nil, nil)
	require.NoError(t, err)

	units := map[string]string{
		"utilization.aip": "%", "memory.used": "MiB", "memory.free": "MiB", "memory.total": "MiB",
		"temperature.aip": "C", "power.draw": "W", "power.max": "W", "clocks.current.soc": "MHz", "clocks.max.soc": "MHz",
	}
	var withUnits strings.Builder
	for line := range strings.Lines(csv) {
		cols := strings.Split(strings.TrimSpace(line), ", ")
		for i, f := range fields {
			if u := units[f.name]; u != "" && cols[i] != "N/A" {
				cols[i] += " " + u
			}
		}
		withUnits.WriteString(strings.Join(cols, ", ") + "\r\n")
	}
	header := make([]string, len(fields))
	for i, f := range fields {
		header[i] = f.name
		if u := units[f.name]; u != "" {
			header[i] += " [" + u + "]"
		}
	}
	headerLine := strings.Join(header, ", ") + "\n"

	for name, out := range map[string]string{
		"units, noheader":           withUnits.String(),
		"units, header":             headerLine + withUnits.String(),
		"nounits, header":           headerLine + csv,
		"blank lines and padding":   "\n  " + strings.ReplaceAll(csv, "\n", "  \n\n"),
		"header repeated, as by -l": headerLine + csv[:strings.Index(csv, "\n")+1] + headerLine + csv[strings.Index(csv, "\n")+1:],
	} {
		t.Run(name, func(t *testing.T) {
			got, err := parseQuery(out, newLayout(fields), nil, nil)
			require.NoError(t, err)
			assert.Equal(t, want, got)
		})
	}
}

func TestFieldValues(t *testing.T) {
	for _, tc := range []struct {
		field, value string
		want         hpu.Device
		err          string
	}{
		{field: "memory.used", value: "98304", want: hpu.Device{MemoryUsed: hpu.Some(int64(98304) << 20)}},
		{field: "memory.used", value: "98304 MiB", want: hpu.Device{MemoryUsed: hpu.Some(int64(98304) << 20)}},
		{field: "memory.used", value: "98304MiB", want: hpu.Device{MemoryUsed: hpu.Some(int64(98304) << 20)}},
		{field: "memory.total", value: "131072 MB", want: hpu.Device{MemoryTotal: hpu.Some(int64(131072) << 20)}},
		{field: "memory.free", value: "N/A"},
		{field: "memory.free", value: "[N/A]"},
		{field: "memory.free", value: "[Not Supported]"},
		{field: "memory.free", value: ""},
		{field: "memory.used", value: "1 GiB", err: `unexpected unit "GiB" in "1 GiB" (want MiB or MB)`},
		{field: "temperature.aip", value: "36 C", want: hpu.Device{TemperatureOnChip: hpu.Some(36.0)}},
		{field: "temperature.aip", value: "36.5", want: hpu.Device{TemperatureOnChip: hpu.Some(36.5)}},
		{field: "temperature.aip", value: "hot", err: `not a number: "hot"`},
		{field: "temperature.aip", value: "Inf", err: `not a number: "Inf"`},
		{field: "utilization.aip", value: "0 %", want: hpu.Device{Utilization: hpu.Some(0.0)}},
		{field: "power.draw", value: "226 W", want: hpu.Device{Power: hpu.Some(226.0)}},
		{field: "power.draw", value: "12 kW", err: `unexpected unit "kW" in "12 kW" (want W)`},
		{field: "power.max", value: "850 W", want: hpu.Device{PowerLimit: hpu.Some(850.0)}},
		{field: "clocks.current.soc", value: "1650 MHz", want: hpu.Device{ClockSoC: hpu.Some(int64(1650e6))}},
		{field: "clocks.max.soc", value: "1600", want: hpu.Device{ClockSoCMax: hpu.Some(int64(1600e6))}},
		{field: "pcie.link.gen.current", value: "Gen4", want: hpu.Device{PCIeLinkGen: hpu.Some(int64(4))}},
		{field: "pcie.link.gen.current", value: "GEN 5", want: hpu.Device{PCIeLinkGen: hpu.Some(int64(5))}},
		{field: "pcie.link.gen.current", value: "5", want: hpu.Device{PCIeLinkGen: hpu.Some(int64(5))}},
		{field: "pcie.link.gen.current", value: "16GT/s", err: `not a number with an optional "gen" prefix: "16GT/s"`},
		{field: "pcie.link.width.current", value: "x16", want: hpu.Device{PCIeLinkWidth: hpu.Some(int64(16))}},
		{field: "pcie.link.width.current", value: "16", want: hpu.Device{PCIeLinkWidth: hpu.Some(int64(16))}},
		{field: "ecc.mode.current", value: "Enabled", want: hpu.Device{ECCEnabled: hpu.Some(true)}},
		{field: "ecc.mode.current", value: "disabled", want: hpu.Device{ECCEnabled: hpu.Some(false)}},
		{field: "ecc.mode.current", value: "maybe", err: `not an ECC mode: "maybe"`},
		{field: "module_id", value: "N/A"},
		{field: "module_id", value: "6", want: hpu.Device{Info: hpu.Info{ModuleID: 6}}},
		{field: "index", value: "-1", err: `not a non-negative integer: "-1"`},
		{field: "serial", value: "N/A"},
		{field: "serial", value: "AM50016138", want: hpu.Device{Info: hpu.Info{Serial: "AM50016138"}}},
	} {
		t.Run(tc.field+"="+tc.value, func(t *testing.T) {
			f, ok := lookupField(tc.field)
			require.True(t, ok)
			var d hpu.Device
			err := f.set(&d, tc.value)
			if tc.err != "" {
				require.EqualError(t, err, tc.err)
				assert.Equal(t, hpu.Device{}, d, "a value that does not parse stays invalid")
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.want, d)
		})
	}
}

func TestParseGarbled(t *testing.T) {
	csv := readFixture(t, "SYNTHETIC_gaudi2_Q_all_fields.csv")
	lay := newLayout(allFields())
	good, err := parseQuery(csv, lay, nil, nil)
	require.NoError(t, err)
	ids := identities{}
	for _, d := range good {
		ids[d.Index] = d.UUID
	}
	lines := strings.SplitAfter(csv, "\n")
	withLine3 := func(l string) string {
		out := slices.Clone(lines)
		out[2] = l + "\n"
		return strings.Join(out, "")
	}
	line3 := strings.TrimSpace(lines[2])

	for _, tc := range []struct {
		name string
		out  string
		ids  identities
		// wantErrDevice is the identity of the device that gets Err, if any.
		wantErrDevice *hpu.Device
		wantDeviceErr string
		wantReadErr   string
		devices       int
	}{
		{
			name:          "too few columns, index recovered",
			out:           withLine3(line3[:strings.LastIndex(line3, ",")]),
			wantErrDevice: &hpu.Device{Index: 2, UUID: good[2].UUID},
			wantDeviceErr: "hl-smi output line 3: 28 columns, want 29: \"2, 01P0-HL2080A0-15-TF8A90-03-05-04,",
			devices:       8,
		},
		{
			name:          "too many columns, known uuid preferred",
			out:           withLine3(strings.Replace(line3, "HL-225", "HL-225, extra", 1)),
			ids:           ids,
			wantErrDevice: &hpu.Device{Index: 2, UUID: good[2].UUID},
			wantDeviceErr: "30 columns, want 29",
			devices:       8,
		},
		{
			name:          "more than maxColumns",
			out:           withLine3(line3 + strings.Repeat(", 1", maxColumns)),
			wantErrDevice: &hpu.Device{Index: 2, UUID: good[2].UUID},
			wantDeviceErr: "more than 64 columns, want 29",
			devices:       8,
		},
		{
			name:          "bad index, recovered by uuid",
			out:           withLine3("x" + line3),
			ids:           ids,
			wantErrDevice: &hpu.Device{Index: 2, UUID: good[2].UUID},
			wantDeviceErr: `hl-smi output line 3: field index: not a non-negative integer: "x2"`,
			devices:       8,
		},
		{
			name:        "bad index, unknown uuid",
			out:         withLine3("x" + line3),
			wantReadErr: `hl-smi output line 3: field index: not a non-negative integer: "x2": "x2, 01P0-HL2080A0-15-TF8A90-03-05-04, HL-225,`,
			devices:     7,
		},
		{
			name:        "junk line",
			out:         withLine3("@@@ segmentation fault @@@"),
			ids:         ids,
			wantReadErr: `hl-smi output line 3: 1 columns, want 29: "@@@ segmentation fault @@@"`,
			devices:     7,
		},
		{
			name:        "bad value",
			out:         withLine3(strings.Replace(line3, ", 93, 600,", ", 93 kW, 600,", 1)),
			wantReadErr: `hl-smi output line 3 (hpu 2): field power.draw: unexpected unit "kW" in "93 kW" (want W)`,
			devices:     8,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			devs, err := parseQuery(tc.out, lay, tc.ids, nil)
			require.Len(t, devs, tc.devices)
			if tc.wantReadErr != "" {
				require.Error(t, err)
				assert.Contains(t, err.Error(), tc.wantReadErr)
			} else {
				require.NoError(t, err)
			}
			for _, d := range devs {
				if tc.wantErrDevice != nil && d.Index == tc.wantErrDevice.Index {
					assert.Equal(t, tc.wantErrDevice.UUID, d.UUID)
					require.Error(t, d.Err)
					assert.Contains(t, d.Err.Error(), tc.wantDeviceErr)
					continue
				}
				require.NoError(t, d.Err)
				if d.Index == 2 {
					assert.False(t, d.Power.Valid, "the value that did not parse stays invalid")
					assert.True(t, d.PowerLimit.Valid, "the line's other values are read")
					continue
				}
				assert.Equal(t, good[d.Index], d, "the other lines are unaffected")
			}
		})
	}
}

func BenchmarkParseCSV8(b *testing.B) {
	out := readFixture(b, "SYNTHETIC_gaudi2_Q_all_fields.csv")
	lay := newLayout(allFields())
	ids := identities{}
	dst := make([]hpu.Device, 0, 8)
	b.ReportAllocs()
	for b.Loop() {
		var err error
		if dst, err = parseQuery(out, lay, ids, dst[:0]); err != nil || len(dst) != 8 {
			b.Fatal(len(dst), err)
		}
	}
}

func TestParseECCAndThrottleTime(t *testing.T) {
	devs, err := parseQuery(readFixture(t, "SYNTHETIC_gaudi2_Q_all_fields.csv"), newLayout(allFields()), nil, nil)
	require.NoError(t, err)
	require.Len(t, devs, 8)
	assert.Equal(t, hpu.ECCErrors{
		CorrectedVolatile: hpu.Some(int64(3)), UncorrectedVolatile: hpu.Some(int64(0)),
		CorrectedAggregate: hpu.Some(int64(12)), UncorrectedAggregate: hpu.Some(int64(0)),
	}, devs[2].ECCErrors)
	assert.Equal(t, hpu.ECCErrors{
		CorrectedVolatile: hpu.Some(int64(2)), UncorrectedVolatile: hpu.Some(int64(0)),
		CorrectedAggregate: hpu.Some(int64(9)), UncorrectedAggregate: hpu.Some(int64(0)),
	}, devs[2].ECCErrorsDRAM, "dram-corrected is corrected, dram uncorrected")
	assert.Equal(t, hpu.Some(int64(1)), devs[5].ECCErrorsDRAM.UncorrectedAggregate)
	assert.Equal(t, hpu.Some(0.25), devs[5].ThrottleTimePower, "bare nanoseconds")
	assert.Equal(t, hpu.Some(1.5), devs[5].ThrottleTimeThermal)
	assert.Equal(t, hpu.Value[float64]{}, devs[7].ThrottleTimePower, "N/A")

	for in, want := range map[string]hpu.Value[float64]{
		"1500000000": hpu.Some(1.5), "2 s": hpu.Some(2.0), "250 ms": hpu.Some(0.25), "7us": hpu.Some(7e-6), "N/A": {},
	} {
		var got hpu.Value[float64]
		require.NoError(t, setDuration(&got, in), in)
		assert.Equal(t, want, got, in)
	}
	for _, bad := range []string{"-1", "5 h", "soon"} {
		var got hpu.Value[float64]
		assert.Error(t, setDuration(&got, bad), bad)
		assert.False(t, got.Valid)
	}
}
