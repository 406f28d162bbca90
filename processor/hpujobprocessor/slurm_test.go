package hpujobprocessor

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap/zapcore"
)

func slurmConfig(dir string) *Config {
	cfg := testConfig()
	cfg.Slurm = SlurmConfig{JobMappingDir: dir, RefreshInterval: 20 * time.Millisecond}
	return cfg
}

var slurmKeys = []string{attrSlurmJobID, attrSlurmUser, attrSlurmPartition}

func (tp *testProcessor) slurmUntil(t *testing.T, want map[int64]string) {
	t.Helper()
	tp.scrapeUntil(t, want, slurmKeys...)
}

func write(t *testing.T, path, content string) {
	t.Helper()
	require.NoError(t, os.WriteFile(path, []byte(content), 0o644))
}

func TestSlurmAttribution(t *testing.T) {
	dir := t.TempDir()
	// testModules: index 0 is module 5, index 1 module 2, index 4 module 3.
	write(t, filepath.Join(dir, "5"), "SLURM_JOB_ID=4242\nSLURM_JOB_USER=alice\nSLURM_JOB_PARTITION=gaudi3\n")
	write(t, filepath.Join(dir, "2"), "4242\n") // dcgm-exporter's format: the job id alone
	write(t, filepath.Join(dir, ".3.tmp"), "SLURM_JOB_ID=9999\n")
	require.NoError(t, os.Mkdir(filepath.Join(dir, "7"), 0o755))
	require.NoError(t, syscall.Mkfifo(filepath.Join(dir, "0"), 0o644)) // never opened, so never blocks
	elsewhere := filepath.Join(t.TempDir(), "4")
	write(t, elsewhere, "SLURM_JOB_ID=6666\n")
	require.NoError(t, os.Symlink(elsewhere, filepath.Join(dir, "4"))) // module 4, index 7: not followed
	tp := newTestProcessor(t, slurmConfig(dir))
	tp.slurmUntil(t, map[int64]string{0: "4242/alice/gaudi3", 1: "4242"})

	// A second job's prolog, and the first job's epilog, while the collector runs.
	write(t, filepath.Join(dir, "3"), "SLURM_JOB_ID=4243_7\nSLURM_JOB_USER=bob\n")
	tp.slurmUntil(t, map[int64]string{0: "4242/alice/gaudi3", 1: "4242", 4: "4243_7/bob"})
	require.NoError(t, os.Remove(filepath.Join(dir, "5")))
	require.NoError(t, os.Remove(filepath.Join(dir, "2")))
	tp.slurmUntil(t, map[int64]string{4: "4243_7/bob"})

	// An unusable file is skipped, counted and logged; the others still apply.
	write(t, filepath.Join(dir, "6"), "4244\n4245\n")
	tp.waitRefresh(t, resultOK)
	tp.slurmUntil(t, map[int64]string{4: "4243_7/bob"})
	assert.Positive(t, tp.counter(t, "otelcol_processor_hpu_job_allocations_invalid", "source", "slurm"))
	require.Equal(t, 1, tp.logs.FilterMessage("Unusable job-mapping files are skipped").Len())
	assert.Contains(t, tp.logs.FilterMessage("Unusable job-mapping files are skipped").All()[0].ContextMap()["error"], "6: names two values of SLURM_JOB_ID")
}

func TestSlurmDirectoryLifecycle(t *testing.T) {
	// Configured on a node where the directory does not exist yet: quiet, then it appears.
	dir := filepath.Join(t.TempDir(), "slurm-jobs")
	tp := newTestProcessor(t, slurmConfig(dir))
	tp.waitRefresh(t, resultAbsent)
	assert.Zero(t, tp.logs.FilterLevelExact(zapcore.WarnLevel).Len())
	require.NoError(t, os.Mkdir(dir, 0o755))
	write(t, filepath.Join(dir, "4"), "SLURM_JOB_ID=7\n")
	tp.slurmUntil(t, map[int64]string{7: "7"})

	// Removed while in use: one warning, the last view holds until expiration.
	require.NoError(t, os.RemoveAll(dir))
	tp.waitRefresh(t, resultAbsent)
	tp.slurmUntil(t, map[int64]string{7: "7"})
	tp.clock.advance(tp.p.table.expiration)
	tp.slurmUntil(t, map[int64]string{})
	assert.Equal(t, 1, tp.logs.FilterLevelExact(zapcore.WarnLevel).Len())
}

func TestSlurmAndKubeletKeysOwned(t *testing.T) {
	// A job that copies slurm.job.id from its resource does not give a device a second value of it.
	dir := t.TempDir()
	write(t, filepath.Join(dir, "5"), "SLURM_JOB_ID=4242\n")
	cfg := slurmConfig(dir)
	cfg.Attributes = []string{attrJobID, attrRank, attrSlurmJobID}
	tp := newTestProcessor(t, cfg)
	tp.send(t, jobBatch(job("llama", 0, attrIndex, int64(0), attrSlurmJobID, "stale")), jobBatch(job("other", 1, attrIndex, int64(2), attrSlurmJobID, "555")))
	tp.slurmUntil(t, map[int64]string{0: "4242", 2: "555"})
	assert.Equal(t, []string{"0=llama/0", "2=other/1"}, annotated(t, tp.last(t)))
}

// readMapping reads regular files only: a symlink put in place of a mapping file after the directory was
// listed is refused when it is opened, not followed, whatever it points to.
func TestReadMappingRefusesSymlinks(t *testing.T) {
	dir := t.TempDir()
	target := filepath.Join(dir, "elsewhere")
	write(t, target, "SLURM_JOB_ID=6666\n")
	job, err := readMapping(target)
	require.NoError(t, err)
	assert.Equal(t, slurmJob{id: "6666"}, job)
	link := filepath.Join(dir, "4")
	require.NoError(t, os.Symlink(target, link))
	_, err = readMapping(link)
	assert.ErrorContains(t, err, "not a regular file")
}

func TestParseMapping(t *testing.T) {
	tests := []struct {
		content string
		want    slurmJob
		wantErr string
	}{
		{content: "SLURM_JOB_ID=4242\nSLURM_JOB_USER=alice\nSLURM_JOB_PARTITION=gaudi3\n", want: slurmJob{"4242", "alice", "gaudi3"}},
		{content: "4242", want: slurmJob{id: "4242"}},
		{content: "# written by the prolog\n\n  4242  \r\n", want: slurmJob{id: "4242"}},
		{content: "SLURM_JOB_ID=4242\nSLURM_JOB_ACCOUNT=research\nSLURM_JOB_USER=\n", want: slurmJob{id: "4242"}},
		{content: "4242\nSLURM_JOB_ID=4242\n", want: slurmJob{id: "4242"}},
		{content: "SLURM_JOB_ID=1234+0\n", want: slurmJob{id: "1234+0"}},
		{content: "", wantErr: "no job id"},
		{content: "SLURM_JOB_USER=alice\n", wantErr: "no job id"},
		{content: "4242\n4243\n", wantErr: `names two values of SLURM_JOB_ID ("4242" and "4243")`},
		{content: "SLURM_JOB_ID=42 42\n", wantErr: `SLURM_JOB_ID "42 42": want 1 to 64 letters, digits or ._+@-`},
		{content: "SLURM_JOB_ID=4242\nSLURM_JOB_USER=al\x1bice\n", wantErr: "SLURM_JOB_USER"},
		{content: "SLURM_JOB_ID=" + strings.Repeat("9", 65), wantErr: "want 1 to 64"},
		{content: "SLURM_JOB_ID=4242\"}\n", wantErr: "want 1 to 64"},
	}
	for _, tt := range tests {
		got, err := parseMapping(tt.content)
		if tt.wantErr != "" {
			assert.ErrorContains(t, err, tt.wantErr, "%q", tt.content)
			continue
		}
		if assert.NoError(t, err, "%q", tt.content) {
			assert.Equal(t, tt.want, got, "%q", tt.content)
		}
	}
}

func FuzzParseMapping(f *testing.F) {
	for _, s := range []string{"SLURM_JOB_ID=4242\nSLURM_JOB_USER=alice\nSLURM_JOB_PARTITION=gaudi3\n", "4242\n", "# c\n\n=\n=x\nx=\n", "4242\n4243"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, content string) {
		j, err := parseMapping(content)
		if err != nil {
			return
		}
		for _, v := range []string{j.id, j.user, j.partition} {
			if v != "" && !slurmName(v) {
				t.Fatalf("%q passed as a label value", v)
			}
		}
		if j.id == "" {
			t.Fatal("a mapping without a job id")
		}
	})
}

func FuzzPCIBusID(f *testing.F) {
	for _, s := range []string{"0000:4d:00.0", "00000000:4D:00.0", "4d:00.0", "0000-4d-00-0-0x1060", "gpu-0", "0:0:0.7", "ffff:ff:1f.7", "0000:4d:20.0"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		for _, got := range []string{normalizePCIBusID(s), pciFromDeviceName(s)} {
			if got == "" {
				continue
			}
			if strings.Trim(got, "0123456789abcdef:.") != "" {
				t.Fatalf("%q normalised to %q", s, got)
			}
			if normalizePCIBusID(got) != got {
				t.Fatalf("normalising %q again changes it", got)
			}
		}
	})
}

func TestNormalizePCIBusID(t *testing.T) {
	for in, want := range map[string]string{
		"0000:4d:00.0":         "0000:4d:00.0",
		"0000:4D:00.0":         "0000:4d:00.0",
		"00000000:4d:00.0":     "0000:4d:00.0",
		"4d:00.0":              "0000:4d:00.0",
		" 0000:b3:00.1 ":       "0000:b3:00.1",
		"0000:4d:20.0":         "",
		"0000:4d:00.8":         "",
		"0000:4d:00":           "",
		"gpu":                  "",
		"0000:4d:00.0:extra":   "",
		"123456789:4d:00.0":    "",
		"0000:+4d:00.0":        "",
		"0000:4d:00.0\x00junk": "",
	} {
		assert.Equal(t, want, normalizePCIBusID(in), "%q", in)
	}
	assert.Equal(t, "0000:4d:00.0", pciFromDeviceName("0000-4d-00-0-0x1060"))
	assert.Equal(t, "", pciFromDeviceName("gaudi-0"))
}
