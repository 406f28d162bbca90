package hlsmi

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/otelcol-gaudi/otelcol-gaudi/receiver/gaudireceiver/internal/hlsmi/hlsmitest"
	"github.com/otelcol-gaudi/otelcol-gaudi/receiver/gaudireceiver/internal/hpu"
)

// gaudi2Detail is what the recorded -q block of one Gaudi 2 (device 0 of the SYNTHETIC -Q
// fixture) says: HBM 0-5 at 29, 32, 30, 29, 29, 29 °C, On Board at most 31 °C, the 54 V rail's
// Power Limit 550 W (the 12 V rail's 50 W is not the device's), no rows replaced or pending.
var gaudi2Detail = detail{
	uuid: "01P0-HL2080A0-15-TF8A81-09-07-06", bus: "0000:43:00.0", line: 10,
	tempHBM: hpu.Some(32.0), tempBoard: hpu.Some(31.0), powerDefault: hpu.Some(550.0),
	rowsSingle: hpu.Some(int64(0)), rowsDouble: hpu.Some(int64(0)), rowsPending: hpu.Some(false),
}

// withDetail is a device of the SYNTHETIC -Q fixture with the readings of a -q block.
func withDetail(d hpu.Device, q detail) hpu.Device {
	d.TemperatureHBM, d.TemperatureOnBoard, d.PowerLimitDefault = q.tempHBM, q.tempBoard, q.powerDefault
	d.RowsReplacedSingle, d.RowsReplacedDouble, d.RowsPending = q.rowsSingle, q.rowsDouble, q.rowsPending
	return d
}

// block renames the recorded Gaudi 2 block: its title's index and bus id, its UUID.
func block(t testing.TB, index, bus, uuid string) string {
	t.Helper()
	b := readFixture(t, "gaudi2_q_single_device.txt")
	_, b, _ = strings.Cut(b, "Attached AIPs                           : 8\n")
	b = strings.Replace(b, "[0] AIP (accel0) 0000:43:00.0", "["+index+"] AIP (accel"+index+") "+bus, 1)
	b = strings.Replace(b, "Bus Id                  : 0000:43:00.0", "Bus Id                  : "+bus, 1)
	return strings.Replace(b, "01P0-HL2080A0-15-TF8A81-09-07-06", uuid, 1)
}

func TestParseDetails(t *testing.T) {
	t.Run("recorded Gaudi 2", func(t *testing.T) {
		details, err := parseDetails(readFixture(t, "gaudi2_q_single_device.txt"))
		require.NoError(t, err)
		assert.Equal(t, []detail{gaudi2Detail}, details)
	})
	t.Run("inferred Gaudi 3: 8 stacks, 850 W", func(t *testing.T) {
		details, err := parseDetails(readFixture(t, "SYNTHETIC_INFERRED_gaudi3_q_single_device.txt"))
		require.NoError(t, err)
		assert.Equal(t, []detail{{
			uuid: "01P4-HL3090A0-18-U4V193-22-07-00", bus: "0000:e9:00.0", line: 10,
			tempHBM: hpu.Some(36.0), tempBoard: hpu.Some(34.0), powerDefault: hpu.Some(850.0),
			rowsSingle: hpu.Some(int64(0)), rowsDouble: hpu.Some(int64(0)), rowsPending: hpu.Some(false),
		}}, details)
	})
	t.Run("several devices, indentation removed", func(t *testing.T) {
		out := "Attached AIPs : 2\n" + block(t, "0", "0000:43:00.0", "A") + block(t, "1", "0000:44:00.0", "B")
		var flat strings.Builder
		for line := range strings.Lines(out) {
			flat.WriteString(strings.TrimLeft(line, " \t"))
		}
		details, err := parseDetails(flat.String())
		require.NoError(t, err)
		require.Len(t, details, 2)
		assert.Equal(t, "B", details[1].uuid)
		assert.Equal(t, "0000:44:00.0", details[1].bus)
		assert.Equal(t, gaudi2Detail.tempHBM, details[1].tempHBM)
	})

	// Each bad line is reported and costs only its own value; a block that cannot be pinned on
	// one device is dropped whole.
	hostile := "[0] AIP (accel0) 0000:43:00.0\n" +
		"AIP UUID : U0\nAIP UUID : U0-again\nTemperature\n[ 5] HBM 0 Temp : 40 C\n[ 6] HBM 1 Temp : hot\n" +
		"[ 7] HBM 2 Temp : 41 F\n[ 8] HBM 3\x1b[31m Temp : NaN C\n[ 9] HBM 4 Temp : N/A\n[10] On Board 01 Top : 1" + strings.Repeat("0", 400) + " C\n" +
		"Power Readings (12V PSU)\nPower Limit : 50 W\nPower Readings (54V PSU)\nPower Limit : 600 W\nPower Limit : 700 W\n" +
		"Replaced Rows\nSingle Bit ECC : -1\nDouble Bit ECC : 2\nPending : Maybe\n" +
		"[1] AIP (accel1) --reset\nTemperature\nHBM 0 Temp : 50 C\n" + // names no device
		"[2] AIP (accel2) 0000:1a:00.0\nAIP UUID : X\n" +
		"[3] AIP (accel3) 0000:1a:00.0\nAIP UUID : Y\n" + // the bus id of [2]
		"[x] AIP (accel4) 0000:19:00.0\n" // not a title, nor a value of [3]
	details, err := parseDetails(hostile)
	require.Error(t, err)
	for _, want := range []string{
		"line 3: AIP UUID given again",
		`line 6: "[ 6] HBM 1 Temp": not a number: "hot"`,
		`line 7: "[ 7] HBM 2 Temp": unexpected unit "F"`,
		`line 8: "[ 8] HBM 3\x1b[31m Temp": not a number: "NaN C"`, // a label's control bytes are quoted,
		`line 10: "[10] On Board 01 Top": not a number`,
		"line 15: Power Limit given again",
		`line 17: Single Bit ECC: not a non-negative integer: "-1"`,
		`line 19: Pending: neither Yes nor No: "Maybe"`,
		"line 20: the device names neither an AIP UUID nor a bus id",
		"line 23: bus id 0000:1a:00.0 listed for 2 devices",
		"line 25: bus id 0000:1a:00.0 listed for 2 devices",
	} {
		assert.ErrorContains(t, err, want)
	}
	assert.Equal(t, []detail{{
		uuid: "U0", bus: "0000:43:00.0", line: 1, tempHBM: hpu.Some(40.0), powerDefault: hpu.Some(600.0),
		rowsDouble: hpu.Some(int64(2)),
	}}, details)

	t.Run("bounded", func(t *testing.T) {
		many := strings.Repeat("[0] AIP (accel0) 0000:43:00.0\nAIP UUID : U\nTemperature\nHBM 0 Temp : x\n", maxDetailBlocks+1)
		details, err := parseDetails(many)
		assert.Empty(t, details, "one UUID for all")
		require.Error(t, err)
		assert.Equal(t, maxDetailErrors+1, strings.Count(err.Error(), "\n")+1, "the first errors and a count of the others")
		assert.ErrorContains(t, err, "more problems")
	})
}

func TestApplyDetails(t *testing.T) {
	devs, err := parseQuery(readFixture(t, "SYNTHETIC_gaudi2_Q_all_fields.csv"), newLayout(allFields()), nil, nil)
	require.NoError(t, err)
	devs[2].UUID = ""
	devs[3].Err = assert.AnError
	details := []detail{
		{uuid: devs[1].UUID, bus: "0000:99:00.0", tempHBM: hpu.Some(1.0)}, // the UUID decides
		{bus: devs[2].Info.PCIBusID, tempHBM: hpu.Some(2.0)},              // no UUID: the bus id
		{uuid: devs[3].UUID, tempHBM: hpu.Some(3.0)},                      // a failed device is left alone
		{uuid: "someone else", bus: devs[4].Info.PCIBusID, tempHBM: hpu.Some(4.0)},
		{uuid: devs[5].UUID, line: 50, tempHBM: hpu.Some(5.0)}, // two blocks name device 5
		{bus: devs[5].Info.PCIBusID, line: 60, tempHBM: hpu.Some(5.0)},
	}
	assert.EqualError(t, applyDetails(devs, details), "hl-smi -q output lines 50 and 60: both name hpu 5")
	got := make([]hpu.Value[float64], len(devs))
	for i, d := range devs {
		got[i] = d.TemperatureHBM
	}
	none := hpu.Value[float64]{}
	assert.Equal(t, []hpu.Value[float64]{none, hpu.Some(1.0), hpu.Some(2.0), none, none, none, none, none}, got)
}

// TestReadDetailsOnSlowTurns: hl-smi -q runs on the slow turns only, once for all devices, and
// the readings it gave are reported in between; a device it does not list keeps them invalid.
func TestReadDetailsOnSlowTurns(t *testing.T) {
	detailFile := filepath.Join(t.TempDir(), "q.txt")
	require.NoError(t, os.WriteFile(detailFile, []byte(readFixture(t, "gaudi2_q_single_device.txt")), 0o600))
	env := syntheticEnv()
	env[hlsmitest.EnvDetail] = detailFile
	cfg, logFile := useFake(t, env)
	s := startSource(t, cfg, Options{SlowEvery: 2})
	want, err := parseQuery(readFixture(t, "SYNTHETIC_gaudi2_Q_all_fields.csv"), newLayout(allFields()), nil, nil)
	require.NoError(t, err)
	want[0] = withDetail(want[0], gaudi2Detail)

	for r := range 3 {
		if r == 1 {
			// Read 3 sees this, read 2 still the first -q's.
			hotter := strings.Replace(readFixture(t, "gaudi2_q_single_device.txt"), "HBM 1 Temp         :  32 C", "HBM 1 Temp         :  77 C", 1)
			require.NoError(t, os.WriteFile(detailFile, []byte(hotter), 0o600))
		}
		if r == 2 {
			want[0].TemperatureHBM = hpu.Some(77.0)
		}
		devs, err := read(t, s)
		require.NoError(t, err)
		assert.Equal(t, want, devs, "read %d", r+1)
	}
	assert.Equal(t, []bool{false, true, false, false, true}, slowRuns(t, logFile), "-Q and -q on reads 1 and 3, -Q alone on read 2")
}

// slowRuns says of each logged run whether it was hl-smi -q.
func slowRuns(t *testing.T, logFile string) []bool {
	t.Helper()
	var q []bool
	for _, run := range loggedRuns(t, logFile) {
		q = append(q, run == "-q")
	}
	return q
}

// A -q that fails leaves the devices and their other readings alone: only its own readings are
// missing, until a slow turn reads them again, and the failure is reported.
func TestReadDetailsFail(t *testing.T) {
	env := syntheticEnv()
	env[hlsmitest.EnvDetail] = filepath.Join(t.TempDir(), "missing.txt")
	cfg, _ := useFake(t, env)
	devs, err := read(t, startSource(t, cfg, Options{}))
	require.Len(t, devs, 8)
	require.Error(t, err)
	assert.Regexp(t, `running \S+ -q: exit status 1; stderr: "fake hl-smi: open .*missing.txt: no such file or directory"`, err.Error())
	for _, d := range devs {
		require.NoError(t, d.Err)
		assert.True(t, d.Power.Valid)
		assert.False(t, d.TemperatureHBM.Valid)
		assert.False(t, d.PowerLimitDefault.Valid)
	}
}

// BenchmarkParseDetails8 parses the -q of 8 Gaudi 2 (the recorded block, renamed), as each slow
// turn does.
func BenchmarkParseDetails8(b *testing.B) {
	var out strings.Builder
	out.WriteString("Attached AIPs : 8\n")
	for i := range 8 {
		out.WriteString(block(b, strconv.Itoa(i), fmt.Sprintf("0000:%02x:00.0", 0x43+i), fmt.Sprintf("UUID-%d", i)))
	}
	b.SetBytes(int64(out.Len()))
	b.ReportAllocs()
	for b.Loop() {
		details, err := parseDetails(out.String())
		if err != nil || len(details) != 8 {
			b.Fatal(len(details), err)
		}
	}
}
