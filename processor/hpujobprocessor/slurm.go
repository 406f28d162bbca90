package hpujobprocessor // import "github.com/otelcol-gaudi/otelcol-gaudi/processor/hpujobprocessor"

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.uber.org/zap"
)

// Attributes the Slurm job-mapping directory puts on the series of the devices a job holds.
const (
	attrSlurmJobID     = "slurm.job.id"
	attrSlurmUser      = "slurm.job.user"
	attrSlurmPartition = "slurm.job.partition"
)

// maxMappingFile bounds what is read of one mapping file: a job id, a user and a partition take a line each.
const maxMappingFile = 4096

// slurmSource reads the job-mapping directory that the Slurm prolog fills and the epilog empties: one file
// per HPU, named by its module id (what HABANA_VISIBLE_MODULES lists), naming the job that holds it.
type slurmSource struct {
	sourceBase
	cfg        SlurmConfig
	invalidLog logLimiter
}

func newSlurmSource(cfg SlurmConfig, base sourceBase) *slurmSource {
	base.logger = base.logger.With(zap.String("source", "slurm"), zap.String("job_mapping_dir", cfg.JobMappingDir))
	base.state = stateLog{what: "the Slurm job-mapping directory"}
	return &slurmSource{sourceBase: base, cfg: cfg}
}

func (s *slurmSource) interval() time.Duration { return s.cfg.RefreshInterval }

func (s *slurmSource) refresh(ctx context.Context) {
	allocs, invalid, dropped, err := s.read()
	if err != nil {
		res := classify(err)
		s.tel.recordRefresh(ctx, srcSlurm, res)
		s.state.change(s.logger, res, err)
		return
	}
	now := s.now()
	s.table.setView(srcSlurm, now, allocs, nil)
	s.tel.recordRefresh(ctx, srcSlurm, resultOK)
	s.tel.recordInvalid(ctx, srcSlurm, len(invalid))
	s.tel.recordDropped(ctx, dropped)
	s.tel.setUnmatched(srcSlurm, s.table.match(now, nil, allocs).unmatchedAllocs)
	s.state.change(s.logger, resultOK, nil, zap.Int("allocated_hpus", len(allocs)))
	if len(invalid) > 0 {
		if n, ok := s.invalidLog.note(now, int64(len(invalid))); ok {
			s.logger.Warn("Unusable job-mapping files are skipped", zap.Error(errors.Join(invalid...)), zap.Int64("since_last_message", n))
		}
	}
}

// read lists the directory and parses its mapping files. Names that are not a module id (the prolog's
// temporary files, editor backups) are ignored; so are entries that are not regular files.
func (s *slurmSource) read() (allocs []allocation, invalid []error, dropped int, err error) {
	dir, err := os.Open(s.cfg.JobMappingDir)
	if err != nil {
		return nil, nil, 0, err
	}
	defer dir.Close()
	// A job's files have the same content: they share one attribute slice.
	shared := map[slurmJob][]attr{}
	for {
		entries, err := dir.ReadDir(64)
		for _, e := range entries {
			module, err := strconv.ParseUint(e.Name(), 10, 31)
			if err != nil || !e.Type().IsRegular() {
				continue
			}
			if len(allocs) >= s.maxAllocs {
				dropped++
				continue
			}
			job, err := readMapping(filepath.Join(s.cfg.JobMappingDir, e.Name()))
			if errors.Is(err, os.ErrNotExist) {
				continue // removed by the epilog since the listing
			}
			if err != nil {
				invalid = append(invalid, fmt.Errorf("%s: %w", e.Name(), err))
				continue
			}
			attrs, ok := shared[job]
			if !ok {
				attrs = job.attrs()
				shared[job] = attrs
			}
			allocs = append(allocs, allocation{ref: deviceRef{kind: refModule, num: int64(module)}, attrs: attrs})
		}
		if errors.Is(err, io.EOF) {
			return allocs, invalid, dropped, nil
		}
		if err != nil {
			return nil, nil, 0, err
		}
	}
}

func readMapping(path string) (slurmJob, error) {
	// Non-blocking, and checked after opening: a FIFO put in place of the file must not hang the refresh.
	// The file opened must be the regular file Lstat saw, so a symlink swapped in after the directory was
	// listed is not followed either.
	lfi, err := os.Lstat(path)
	if err != nil {
		return slurmJob{}, err
	}
	if !lfi.Mode().IsRegular() {
		return slurmJob{}, errors.New("not a regular file")
	}
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return slurmJob{}, err
	}
	defer f.Close()
	if fi, err := f.Stat(); err != nil || !fi.Mode().IsRegular() || !os.SameFile(lfi, fi) {
		return slurmJob{}, errors.New("not a regular file")
	}
	b, err := io.ReadAll(io.LimitReader(f, maxMappingFile+1))
	if err != nil {
		return slurmJob{}, err
	}
	if len(b) > maxMappingFile {
		return slurmJob{}, fmt.Errorf("larger than %d bytes", maxMappingFile)
	}
	return parseMapping(string(b))
}

// slurmJob is what a mapping file says.
type slurmJob struct {
	id, user, partition string
}

func (j slurmJob) attrs() []attr {
	out := []attr{{key: attrSlurmJobID, typ: pcommon.ValueTypeStr, str: j.id}}
	if j.user != "" {
		out = append(out, attr{key: attrSlurmUser, typ: pcommon.ValueTypeStr, str: j.user})
	}
	if j.partition != "" {
		out = append(out, attr{key: attrSlurmPartition, typ: pcommon.ValueTypeStr, str: j.partition})
	}
	return out
}

// parseMapping reads a mapping file: KEY=VALUE lines with SLURM_JOB_ID (required), SLURM_JOB_USER and
// SLURM_JOB_PARTITION, as the prolog writes them from its environment; or, as dcgm-exporter's prologs
// write, a line with the job id alone. Empty lines, # comments and other keys are ignored. A file that
// names two jobs is refused: an HPU runs one job at a time, and guessing would put the wrong job on it.
func parseMapping(content string) (slurmJob, error) {
	var j slurmJob
	for line := range strings.Lines(content) {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		key, value, isKV := strings.Cut(line, "=")
		if !isKV {
			key, value = "SLURM_JOB_ID", line
		}
		key, value = strings.TrimSpace(key), strings.TrimSpace(value)
		var field *string
		switch key {
		case "SLURM_JOB_ID":
			field = &j.id
		case "SLURM_JOB_USER":
			field = &j.user
		case "SLURM_JOB_PARTITION":
			field = &j.partition
		default:
			continue
		}
		if value == "" {
			continue
		}
		if !slurmName(value) {
			return slurmJob{}, fmt.Errorf("%s %q: want 1 to 64 letters, digits or ._+@-", key, value)
		}
		if *field != "" && *field != value {
			return slurmJob{}, fmt.Errorf("names two values of %s (%q and %q); one job per HPU", key, *field, value)
		}
		*field = value
	}
	if j.id == "" {
		return slurmJob{}, errors.New("no job id (SLURM_JOB_ID=<id>, or the id alone on a line)")
	}
	return j, nil
}

// slurmName accepts job ids (1234, array 1234_7, heterogeneous 1234+0), user and partition names, and
// refuses anything that could carry text of another kind into labels.
func slurmName(s string) bool {
	if len(s) == 0 || len(s) > 64 {
		return false
	}
	for i := range len(s) {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("._+@-", c) >= 0) {
			return false
		}
	}
	return true
}
