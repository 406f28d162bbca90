package hlsmi

import (
	"context"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/otelcol-gaudi/otelcol-gaudi/receiver/gaudireceiver/internal/hlsmi/hlsmitest"
	"github.com/otelcol-gaudi/otelcol-gaudi/receiver/gaudireceiver/internal/hpu"
)

// useFake makes a Config that runs this test binary as hl-smi, set up by env (see
// fake_test.go), and returns it with the file the fake logs its arguments to.
func useFake(t *testing.T, env map[string]string) (Config, string) {
	t.Helper()
	exe, err := os.Executable()
	require.NoError(t, err)
	logFile := filepath.Join(t.TempDir(), "args.log")
	t.Setenv(envFake, "1")
	t.Setenv(hlsmitest.EnvLog, logFile)
	// Under -race the fake would otherwise linger a second before exiting.
	t.Setenv("GORACE", strings.TrimSpace(os.Getenv("GORACE")+" atexit_sleep_ms=0"))
	for k, v := range env {
		t.Setenv(k, v)
	}
	return Config{Path: exe}, logFile
}

// syntheticEnv replays the SYNTHETIC fixture, which has every field this package asks for.
func syntheticEnv() map[string]string {
	return map[string]string{
		hlsmitest.EnvQuery:     hlsmitest.Fixture("SYNTHETIC_gaudi2_Q_all_fields.csv"),
		hlsmitest.EnvQueryCols: hlsmitest.SyntheticColumns,
	}
}

func startSource(t *testing.T, cfg Config, opts Options) *Source {
	t.Helper()
	s, err := New(cfg, opts)
	require.NoError(t, err)
	require.NoError(t, s.Start(context.Background()))
	t.Cleanup(func() { assert.NoError(t, s.Shutdown(context.Background())) })
	return s
}

func read(t *testing.T, s *Source) ([]hpu.Device, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	return s.Read(ctx, time.Now(), nil)
}

func loggedRuns(t *testing.T, logFile string) []string {
	t.Helper()
	b, err := os.ReadFile(logFile)
	require.NoError(t, err)
	return strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
}

func TestNewValidates(t *testing.T) {
	_, err := New(Config{}, Options{})
	assert.EqualError(t, err, "hlsmi config: path must not be empty")
	s, err := New(DefaultConfig(), Options{})
	require.NoError(t, err)
	assert.Equal(t, "hlsmi", s.Name())
}

func TestReadFixtures(t *testing.T) {
	t.Run("all fields: the query asked for and its answer", func(t *testing.T) {
		cfg, logFile := useFake(t, syntheticEnv())
		devs, err := read(t, startSource(t, cfg, Options{}))
		require.NoError(t, err)
		want, err := parseQuery(readFixture(t, "SYNTHETIC_gaudi2_Q_all_fields.csv"), newLayout(allFields()), nil, nil)
		require.NoError(t, err)
		want[0] = withDetail(want[0], gaudi2Detail)
		assert.Equal(t, want, devs, "device 0 with what the recorded -q says of it, the others without")
		assert.Equal(t, withDetail(synthetic0, gaudi2Detail), devs[0])
		assert.Equal(t, []string{"-Q index,uuid,name,serial,module_id,bus_id,driver_version,utilization.aip,memory.used,memory.free,memory.total," +
			"temperature.aip,power.draw,power.max,clocks.current.soc,clocks.max.soc,pcie.link.gen.current,pcie.link.width.current,ecc.mode.current," +
			"ecc.errors.corrected.volatile.total,ecc.errors.uncorrected.volatile.total,ecc.errors.corrected.aggregate.total," +
			"ecc.errors.uncorrected.aggregate.total,ecc.errors.dram-corrected.volatile.total,ecc.errors.dram.volatile.total," +
			"ecc.errors.dram-corrected.aggregate.total,ecc.errors.dram.aggregate.total,stats.violation.power,stats.violation.thermal" +
			" -f csv,noheader,nounits", "-q"}, loggedRuns(t, logFile))
	})
	t.Run("units although nounits was asked (Gaudi 3)", func(t *testing.T) {
		cfg, _ := useFake(t, map[string]string{hlsmitest.EnvQuery: hlsmitest.Fixture("gaudi3_Q_noheader_units.csv"), hlsmitest.EnvQueryCols: hlsmitest.Gaudi3Columns,
			hlsmitest.EnvDetail: hlsmitest.Fixture("SYNTHETIC_INFERRED_gaudi3_q_single_device.txt")})
		devs, err := read(t, startSource(t, cfg, Options{}))
		require.NoError(t, err)
		// The -q block names device 0 by its UUID; the query asked for no bus ids.
		first := gaudi3Device(0, "01P4-HL3090A0-18-U4V193-22-07-00", 226, 36)
		first.TemperatureHBM, first.TemperatureOnBoard, first.PowerLimitDefault = hpu.Some(36.0), hpu.Some(34.0), hpu.Some(850.0)
		first.RowsReplacedSingle, first.RowsReplacedDouble, first.RowsPending = hpu.Some(int64(0)), hpu.Some(int64(0)), hpu.Some(false)
		assert.Equal(t, []hpu.Device{
			first,
			gaudi3Device(1, "01P4-HL3090A0-18-U4V298-03-04-04", 230, 39),
		}, devs, "fields the fixture lacks come as N/A and stay invalid")
	})
	t.Run("header although noheader was asked (Gaudi 1)", func(t *testing.T) {
		cfg, _ := useFake(t, map[string]string{hlsmitest.EnvQuery: hlsmitest.Fixture("gaudi1_Q_header_nounits.csv")})
		devs, err := read(t, startSource(t, cfg, Options{}))
		require.NoError(t, err)
		require.Len(t, devs, 8)
		assert.Equal(t, "00P1-HL2000A1-14-P64W99-13-05-03", devs[0].UUID)
		assert.Equal(t, hpu.Some(int64(32768*mib)), devs[0].MemoryTotal)
		assert.Equal(t, hpu.Some(103.0), devs[0].Power)
	})
	t.Run("no devices", func(t *testing.T) {
		empty := filepath.Join(t.TempDir(), "empty.csv")
		require.NoError(t, os.WriteFile(empty, nil, 0o600))
		cfg, _ := useFake(t, map[string]string{hlsmitest.EnvQuery: empty, hlsmitest.EnvQueryCols: "index"})
		devs, err := read(t, startSource(t, cfg, Options{}))
		assert.Empty(t, devs)
		assert.ErrorIs(t, err, errNoDevices)
	})
}

func TestReadGarbledLine(t *testing.T) {
	t.Run("the device of a line with a column missing fails alone", func(t *testing.T) {
		env := syntheticEnv()
		env[hlsmitest.EnvGarble] = "3:columns"
		cfg, _ := useFake(t, env)
		devs, err := read(t, startSource(t, cfg, Options{}))
		require.NoError(t, err)
		require.Len(t, devs, 8)
		for _, d := range devs {
			if d.Index != 2 {
				assert.NoError(t, d.Err)
				assert.True(t, d.Power.Valid)
				continue
			}
			assert.Equal(t, "01P0-HL2080A0-15-TF8A90-03-05-04", d.UUID)
			require.Error(t, d.Err)
			assert.Contains(t, d.Err.Error(), "hl-smi output line 3: 28 columns, want 29")
		}
	})
	t.Run("a junk line is reported, the devices are returned", func(t *testing.T) {
		env := syntheticEnv()
		env[hlsmitest.EnvGarble] = "3:junk"
		cfg, _ := useFake(t, env)
		devs, err := read(t, startSource(t, cfg, Options{}))
		require.Len(t, devs, 7)
		require.Error(t, err)
		assert.Contains(t, err.Error(), `hl-smi output line 3: 1 columns, want 29: "@@@ segmentation fault @@@"`)
		for _, d := range devs {
			assert.NoError(t, d.Err)
		}
	})
	t.Run("a garbled index is recovered from an earlier read", func(t *testing.T) {
		cfg, _ := useFake(t, syntheticEnv())
		s := startSource(t, cfg, Options{})
		_, err := read(t, s)
		require.NoError(t, err)

		t.Setenv(hlsmitest.EnvGarble, "3:index")
		devs, err := read(t, s)
		require.NoError(t, err)
		require.Len(t, devs, 8)
		d := devs[2]
		assert.Equal(t, int64(2), d.Index)
		assert.Equal(t, "01P0-HL2080A0-15-TF8A90-03-05-04", d.UUID)
		require.Error(t, d.Err)
		assert.Contains(t, d.Err.Error(), `hl-smi output line 3: field index: not a non-negative integer: "?"`)
	})
}

func TestReadFailures(t *testing.T) {
	t.Run("non-zero exit", func(t *testing.T) {
		cfg, _ := useFake(t, map[string]string{hlsmitest.EnvExit: "3", hlsmitest.EnvStderr: "habanalabs driver is not loaded"})
		dst := []hpu.Device{{Index: 99}}
		devs, err := startSource(t, cfg, Options{}).Read(context.Background(), time.Now(), dst)
		assert.Equal(t, dst, devs)
		require.Error(t, err)
		assert.Contains(t, err.Error(), "exit status 3")
		assert.Contains(t, err.Error(), `stderr: "habanalabs driver is not loaded"`)
	})
	t.Run("output too large", func(t *testing.T) {
		cfg, _ := useFake(t, map[string]string{envFlood: "1"})
		_, err := read(t, startSource(t, cfg, Options{}))
		assert.ErrorContains(t, err, "output exceeds 1048576 bytes")
	})
	t.Run("missing binary, by path", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "opt", "habanalabs", "hl-smi")
		s, err := New(Config{Path: path}, Options{})
		require.NoError(t, err)
		err = s.Start(context.Background())
		require.Error(t, err)
		assert.Contains(t, err.Error(), path)
		_, err = read(t, s)
		assert.ErrorIs(t, err, fs.ErrNotExist)
		assert.Contains(t, err.Error(), path)
		assert.NoError(t, s.Shutdown(context.Background()))
	})
	t.Run("missing binary, on PATH", func(t *testing.T) {
		t.Setenv("PATH", t.TempDir())
		s, err := New(DefaultConfig(), Options{})
		require.NoError(t, err)
		err = s.Start(context.Background())
		assert.ErrorIs(t, err, exec.ErrNotFound)
		assert.Contains(t, err.Error(), `"hl-smi"`)
	})
	t.Run("children of an earlier read still running", func(t *testing.T) {
		cfg, logFile := useFake(t, syntheticEnv())
		s := startSource(t, cfg, Options{})
		s.runner.running.Add(1)
		_, err := read(t, s)
		s.runner.running.Add(-1)
		assert.ErrorContains(t, err, "1 hl-smi processes of an earlier read have not exited since they were killed")
		assert.NoFileExists(t, logFile, "no new hl-smi was started")
	})
}

func TestReadFindsHLSMIOnPath(t *testing.T) {
	cfg, _ := useFake(t, syntheticEnv())
	dir := t.TempDir()
	require.NoError(t, os.Symlink(cfg.Path, filepath.Join(dir, "hl-smi")))
	t.Setenv("PATH", dir)
	devs, err := read(t, startSource(t, DefaultConfig(), Options{}))
	require.NoError(t, err)
	assert.Len(t, devs, 8)
}

func TestReadRejectedOptionalField(t *testing.T) {
	env := syntheticEnv()
	env[hlsmitest.EnvReject] = "clocks.current.soc"
	cfg, logFile := useFake(t, env)
	s := startSource(t, cfg, Options{})

	devs, err := read(t, s)
	require.Len(t, devs, 8)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "hl-smi rejected the fields clocks.current.soc")
	assert.Contains(t, err.Error(), "Invalid field in query: clocks.current.soc")
	assert.False(t, devs[0].ClockSoC.Valid)
	assert.True(t, devs[0].ClockSoCMax.Valid)

	_, err = read(t, s)
	require.NoError(t, err, "the notice comes once")
	var runs []string
	for _, run := range loggedRuns(t, logFile) {
		if run != "-q" {
			runs = append(runs, run)
		}
	}
	require.Len(t, runs, 3)
	assert.Contains(t, runs[0], "clocks.current.soc")
	assert.NotContains(t, runs[1], "clocks.current.soc")
	assert.Equal(t, runs[1], runs[2])
}

func TestReadRejectedRequiredField(t *testing.T) {
	env := syntheticEnv()
	env[hlsmitest.EnvReject] = "memory.used"
	cfg, logFile := useFake(t, env)
	_, err := read(t, startSource(t, cfg, Options{}))
	assert.ErrorContains(t, err, "Invalid field in query: memory.used")
	assert.Len(t, loggedRuns(t, logFile), 1, "only optional fields are dropped")
}

func writeNICDir(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, content := range files {
		require.NoError(t, os.WriteFile(filepath.Join(dir, name), []byte(content), 0o600))
	}
	return dir
}

func TestReadNICLinks(t *testing.T) {
	env := syntheticEnv()
	env[hlsmitest.EnvNICDir] = writeNICDir(t, map[string]string{
		"link.txt":              readFixture(t, "gaudi2e_n_link.txt"),
		"link-0000:44:00.0.txt": "port  3:        DOWN\nport  8:        UP\n",
		"ports.txt":             readFixture(t, "gaudi2_n_ports.txt"),
	})
	cfg, logFile := useFake(t, env)
	s := startSource(t, cfg, Options{NICLinks: true})

	for range 2 {
		devs, err := read(t, s)
		require.NoError(t, err)
		require.Len(t, devs, 8)
		for _, d := range devs {
			if d.Index == 1 {
				assert.Equal(t, []hpu.NICPort{{Port: 3, Up: hpu.Some(false)}, {Port: 8, External: true, Up: hpu.Some(true)}}, d.NICPorts)
				continue
			}
			require.Len(t, d.NICPorts, 18)
			assert.Equal(t, hpu.NICPort{Port: 21, Up: hpu.Some(true)}, d.NICPorts[17])
		}
	}
	var link, ports int
	for _, run := range loggedRuns(t, logFile) {
		link += strings.Count(run, "-n link -i ")
		ports += strings.Count(run, "-n ports -i ")
	}
	assert.Equal(t, 16, link, "links are read on every read")
	assert.Equal(t, 8, ports, "port types are asked once per device")
}

func TestReadNICLinksFailPerDevice(t *testing.T) {
	env := syntheticEnv()
	env[hlsmitest.EnvNICDir] = writeNICDir(t, map[string]string{
		"link.txt":               "port 0: UP\nport 1: UP\n",
		"link-0000:1a:00.0.txt":  "port 0: UP\nport 1: FLAPPING\n",
		"ports.txt":              "port 0: internal\n",
		"ports-0000:19:00.0.txt": "port 0: sideways\n",
	})
	cfg, _ := useFake(t, env)
	devs, err := read(t, startSource(t, cfg, Options{NICLinks: true}))
	require.Len(t, devs, 8)
	require.Error(t, err)
	assert.Contains(t, err.Error(), `hpu 2 NIC links: -n link -i 0000:1a:00.0: output line 2: link state "FLAPPING" is neither UP nor DOWN`)
	assert.Contains(t, err.Error(), `hpu 3 NIC links: -n ports -i 0000:19:00.0: output line 1: port type "sideways" is neither internal nor external`)
	for _, d := range devs {
		require.NoError(t, d.Err, "NIC problems do not fail the device")
		switch d.Index {
		case 2:
			assert.Equal(t, []hpu.NICPort{{Port: 0, Up: hpu.Some(true)}}, d.NICPorts)
		case 3:
			assert.Nil(t, d.NICPorts, "no port types, no ports: a wrong type would mislabel the series")
		default:
			assert.Len(t, d.NICPorts, 2)
		}
	}
}

// writeGarbled writes the SYNTHETIC fixture with each row's fields replaced as edit says (row
// index → column → value) and returns its path.
func writeGarbled(t *testing.T, edit map[int]map[int]string) string {
	t.Helper()
	rows := strings.Split(strings.TrimSpace(readFixture(t, "SYNTHETIC_gaudi2_Q_all_fields.csv")), "\n")
	for r, cols := range edit {
		fields := strings.Split(rows[r], ", ")
		for c, v := range cols {
			fields[c] = v
		}
		rows[r] = strings.Join(fields, ", ")
	}
	path := filepath.Join(t.TempDir(), "garbled.csv")
	require.NoError(t, os.WriteFile(path, []byte(strings.Join(rows, "\n")+"\n"), 0o600))
	return path
}

// Strings of hl-smi's output are passed on as they are (the receiver checks every device's
// identity), but the source itself never remembers a garbage UUID as a device's name, nor
// passes a bus id that is not a PCI address to hl-smi as an argument.
func TestReadHostileStrings(t *testing.T) {
	const uuidCol, busCol = 1, 5
	env := syntheticEnv()
	env[hlsmitest.EnvQuery] = writeGarbled(t, map[int]map[int]string{
		2: {uuidCol: "01P0-\x00\x7f-bad"},
		3: {busCol: "--reset"},
		4: {busCol: "0000:b3:00.0 -x"},
	})
	env[hlsmitest.EnvNICDir] = writeNICDir(t, map[string]string{"link.txt": "port 0: UP\n", "ports.txt": "port 0: internal\n"})
	cfg, logFile := useFake(t, env)
	s := startSource(t, cfg, Options{NICLinks: true})

	devs, err := read(t, s)
	require.Len(t, devs, 8)
	assert.Equal(t, "01P0-\x00\x7f-bad", devs[2].UUID, "left for the receiver to judge, with the device's other readings")
	assert.NotContains(t, s.ids, int64(2), "a garbage UUID never names a device later")
	assert.Contains(t, s.ids, int64(3))
	assert.ErrorContains(t, err, `hpu 3: bus_id "--reset" is not a PCI address; NIC links not asked for`)
	assert.ErrorContains(t, err, `hpu 4: bus_id "0000:b3:00.0 -x" is not a PCI address`)
	assert.Nil(t, devs[3].NICPorts)
	assert.Len(t, devs[5].NICPorts, 1)
	for _, run := range loggedRuns(t, logFile) {
		assert.NotContains(t, run, "reset")
		assert.NotContains(t, run, "-x")
	}
}

// hl-smi's exit status and its output are judged apart: the rows it printed are used, and the
// status is reported; so are the NIC links and counters it printed.
func TestReadNonZeroExitWithOutput(t *testing.T) {
	env := syntheticEnv()
	env[hlsmitest.EnvExitAfter] = "1"
	env[hlsmitest.EnvStderr] = "hpu 0000:b4:00.0: query timed out"
	env[hlsmitest.EnvNICDir] = writeNICDir(t, map[string]string{"link.txt": "port 8: UP\n", "ports.txt": "port 8: external\n",
		"stats.txt": readFixture(t, "SYNTHETIC_gaudi2_n_stats.txt")})
	cfg, logFile := useFake(t, env)
	s := startSource(t, cfg, Options{NICLinks: true, NIC: hpu.NICOptions{Counters: true}})

	for range 2 {
		devs, err := read(t, s)
		require.Len(t, devs, 8)
		for _, d := range devs {
			require.NoError(t, d.Err)
			assert.True(t, d.Power.Valid)
			require.Len(t, d.NICPorts, 1)
			p := d.NICPorts[0]
			assert.Equal(t, int64(8), p.Port)
			assert.True(t, p.External)
			assert.Equal(t, hpu.Some(true), p.Up)
			assert.True(t, p.Counters.ReceiveBytes.Valid, "the counters hl-smi printed are used")
		}
		require.Error(t, err)
		assert.Contains(t, err.Error(), `-Q index,uuid`)
		assert.Contains(t, err.Error(), `exit status 1; stderr: "hpu 0000:b4:00.0: query timed out"`)
		assert.Contains(t, err.Error(), "-n link -i 0000:43:00.0: exit status 1")
		assert.Contains(t, err.Error(), "-n stats -i 0000:43:00.0: exit status 1")
	}
	var ports int
	for _, run := range loggedRuns(t, logFile) {
		ports += strings.Count(run, "-n ports -i ")
	}
	assert.Equal(t, 2*8*2, ports, "port types from a failed run are used but not cached: asked for links and counters on every read")
}
