package hlsmi

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/otelcol-gaudi/otelcol-gaudi/receiver/gaudireceiver/internal/hlsmi/hlsmitest"
	"github.com/otelcol-gaudi/otelcol-gaudi/receiver/gaudireceiver/internal/hpu"
)

func TestParseNICStats(t *testing.T) {
	ports, err := parseNICStats(readFixture(t, "SYNTHETIC_gaudi2_n_stats.txt"), hpu.NICOptions{Counters: true, Stats: true, StatNames: []string{"pcs_link_restores", "etherStatsOctets"}})
	require.NoError(t, err)
	require.Len(t, ports, 3)
	assert.Equal(t, hpu.NICPort{
		Port: 8,
		Counters: hpu.NICCounters{
			ReceiveBytes: hpu.Some(int64(981263540224)), TransmitBytes: hpu.Some(int64(872455061504)),
			ReceivePackets: hpu.Some(int64(239566294)), TransmitPackets: hpu.Some(int64(213002700)),
			ReceiveErrors: hpu.Some(int64(2)), TransmitErrors: hpu.Some(int64(0)), ReceiveDropped: hpu.Some(int64(5)),
		},
		Stats: []hpu.NICStat{{Name: "pcs_link_restores", Value: 1}, {Name: "etherStatsOctets", Value: 981263540224}},
	}, ports[0], "the first of the two etherStatsOctets")
	assert.Equal(t, []int64{8, 22, 23}, []int64{ports[0].Port, ports[1].Port, ports[2].Port})

	ports, err = parseNICStats("=== 0000:43:00.0 ===\nport 3:\n   a: 1\n   b: -4\n   c d: x\n   \x01bad: 3\nstray: 1\nport 400:\n   e: 2\nport 5:\n   pre_FEC_SER_exp (negative): 9\n",
		hpu.NICOptions{Stats: true})
	require.Error(t, err)
	for _, want := range []string{`line 4: not "counter: count": "b: -4"`, `line 5: not "counter: count": "c d: x"`,
		`line 6: not "counter: count"`, `line 7: not a counter of a port: "stray: 1"`, `line 8: not "port N:": "port 400:"`,
		`line 9: not a counter of a port: "e: 2"`} {
		assert.ErrorContains(t, err, want)
	}
	assert.Equal(t, []hpu.NICPort{
		{Port: 3, Stats: []hpu.NICStat{{Name: "a", Value: 1}}},
		{Port: 5, Stats: []hpu.NICStat{{Name: "pre_FEC_SER_exp (negative)", Value: 9}}},
	}, ports, "the good lines are kept")
}

// TestReadSlowEveryOtherRead: with SlowEvery 2, hl-smi -n stats runs for each device on
// one Read in two; the other reports the counters again.
func TestReadSlowEveryOtherRead(t *testing.T) {
	nic := t.TempDir()
	for name, fixture := range map[string]string{"ports.txt": "gaudi2_n_ports.txt", "stats.txt": "SYNTHETIC_gaudi2_n_stats.txt"} {
		require.NoError(t, os.Symlink(hlsmitest.Fixture(fixture), filepath.Join(nic, name)))
	}
	// Two devices of the SYNTHETIC fixture: every run is a process, and slow under -race.
	lines := strings.SplitAfterN(readFixture(t, "SYNTHETIC_gaudi2_Q_all_fields.csv"), "\n", 3)
	query := filepath.Join(t.TempDir(), "query.csv")
	require.NoError(t, os.WriteFile(query, []byte(lines[0]+lines[1]), 0o600))
	env := syntheticEnv()
	env[hlsmitest.EnvQuery] = query
	env[hlsmitest.EnvNICDir] = nic
	cfg, logFile := useFake(t, env)
	s := startSource(t, cfg, Options{NIC: hpu.NICOptions{Counters: true}, SlowEvery: 2})
	var first []hpu.Device
	for r := range 3 {
		devs, err := read(t, s)
		require.NoError(t, err)
		require.Len(t, devs, 2)
		for _, d := range devs {
			require.Len(t, d.NICPorts, 3, "the external ports, their links unknown without -n link")
			assert.Equal(t, hpu.Some(int64(981263540224)), d.NICPorts[0].Counters.ReceiveBytes)
			assert.True(t, d.NICPorts[0].External)
			assert.False(t, d.NICPorts[0].Up.Valid)
		}
		if r == 0 {
			first = devs
		} else {
			assert.Equal(t, first, devs)
		}
	}
	stats := 0
	for _, run := range loggedRuns(t, logFile) {
		if strings.HasPrefix(run, "-n stats") {
			stats++
		}
	}
	assert.Equal(t, 2*2, stats, "Reads 1 and 3, every device")
}

// FuzzParseNICStats feeds the parser of hl-smi -n stats with anything: no panic, and every port
// and counter it keeps is one a label can carry.
func FuzzParseNICStats(f *testing.F) {
	f.Add(readFixture(f, "SYNTHETIC_gaudi2_n_stats.txt"))
	f.Add("port 0:\n   pcs_local_faults: 0\n   ...\nport 1:\n")
	f.Add("port 9:\n x: 18446744073709551615\n y:\n")
	f.Fuzz(func(t *testing.T, out string) {
		ports, _ := parseNICStats(out, hpu.NICOptions{Counters: true, Stats: true})
		for _, p := range ports {
			if p.Port < 0 || p.Port >= 128 {
				t.Fatalf("port %d kept", p.Port)
			}
			for _, st := range p.Stats {
				if !hpu.PrintableName(st.Name) || st.Value < 0 {
					t.Fatalf("stat %q = %d kept", st.Name, st.Value)
				}
			}
		}
	})
}
