package hlsmi

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/otelcol-gaudi/otelcol-gaudi/receiver/gaudireceiver/internal/hpu"
)

// csvFormat asks for the easiest output to parse; the parser accepts what hl-smi prints anyway.
const csvFormat = "csv,noheader,nounits"

var errNoDevices = errors.New("hl-smi listed no devices")

// Source implements hpu.Source by running hl-smi.
type Source struct {
	cfg    Config
	opts   Options
	runner runner
	ports  portTypes
	stats  nicCounters

	// mu serializes reads; it guards the fields below.
	mu sync.Mutex
	// fields are the -Q fields asked for: queryFields, less the optional ones hl-smi rejected.
	fields []*field
	query  []string // the -Q arguments for fields
	ids    identities
	// reads counts the Reads that listed devices: one in Options.SlowEvery is a slow turn.
	reads int
	// details are what the last `hl-smi -q`, on the last slow turn, said of each device.
	details []detail
}

var _ hpu.Source = (*Source)(nil)

// New returns a source that runs the hl-smi of cfg.
func New(cfg Config, opts Options) (*Source, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("hlsmi config: %w", err)
	}
	s := &Source{
		cfg:    cfg,
		opts:   opts,
		runner: runner{path: cfg.Path},
		ports:  portTypes{external: make(map[string]map[int64]bool)},
		stats:  nicCounters{byBus: make(map[string][]hpu.NICPort)},
		ids:    make(identities),
	}
	for i := range queryFields {
		s.fields = append(s.fields, &queryFields[i])
	}
	s.query = queryArgs(s.fields)
	return s, nil
}

func queryArgs(fields []*field) []string {
	names := make([]string, len(fields))
	for i, f := range fields {
		names[i] = f.name
	}
	return []string{"-Q", strings.Join(names, ","), "-f", csvFormat}
}

// Name implements hpu.Source.
func (*Source) Name() string { return "hlsmi" }

// Start implements hpu.Source: it only checks that the binary exists, so that a missing
// hl-smi is reported once, clearly, before the first scrape.
func (s *Source) Start(context.Context) error {
	if _, err := exec.LookPath(s.cfg.Path); err != nil {
		return fmt.Errorf("looking for hl-smi: %w", err)
	}
	return nil
}

// Shutdown implements hpu.Source: it waits for the hl-smi processes still being reaped.
func (s *Source) Shutdown(ctx context.Context) error {
	return s.runner.wait(ctx)
}

// Read implements hpu.Source. Besides failures that leave no device, the error reports lines
// of hl-smi output that could not be pinned on a device, values that could not be parsed, and
// NIC links that could not be read; the devices are returned all the same.
func (s *Source) Read(ctx context.Context, _ time.Time, dst []hpu.Device) ([]hpu.Device, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.runner.lingering(); err != nil {
		return dst, err
	}
	// The exit status and the output are judged apart: hl-smi may exit non-zero having
	// printed every device it could read. Its rows are used and the status is reported.
	out, notice, runErr := s.runQuery(ctx)
	if out == "" && runErr != nil {
		return dst, runErr
	}
	start := len(dst)
	dst, parseErr := parseQuery(out, newLayout(s.fields), s.ids, dst)
	devs := dst[start:]
	if len(devs) == 0 {
		return dst, errors.Join(runErr, errNoDevices, parseErr)
	}
	for i := range devs {
		// Only a valid UUID may name a device whose later line is garbled.
		if d := &devs[i]; d.Err == nil && d.UUID != "" && hpu.CheckText(d.UUID) == "" {
			s.ids[d.Index] = d.UUID
		}
	}
	slow := s.reads%max(1, s.opts.SlowEvery) == 0
	s.reads++
	// The slow turn's -q runs beside the NIC runs, so that it adds no time of its own.
	var detailErr error
	var wg sync.WaitGroup
	if slow {
		wg.Go(func() { s.details, detailErr = s.readDetails(ctx) })
	}
	errs := []error{runErr, notice, parseErr}
	if s.opts.NICLinks {
		errs = append(errs, s.readNICLinks(ctx, devs))
	}
	if s.opts.NIC.Counters || s.opts.NIC.Stats {
		errs = append(errs, s.readNICStats(ctx, devs, slow))
	}
	wg.Wait()
	// Problems of the -q output are reported on the turn that read it, as those of -n stats.
	if applyErr := applyDetails(devs, s.details); slow {
		errs = append(errs, detailErr, applyErr)
	}
	return dst, errors.Join(errs...)
}

// runQuery runs the -Q query; out is hl-smi's output also when err reports its exit status. An older or newer hl-smi may not know an optional field: when it
// fails naming some, the query is retried once without them, and if that works they are not
// asked for again; notice then says so, once, so that the missing metrics are explained.
func (s *Source) runQuery(ctx context.Context) (out string, notice, err error) {
	out, err = s.runner.run(ctx, s.query...)
	var cmdErr *commandError
	if err == nil || ctx.Err() != nil || !errors.As(err, &cmdErr) {
		return out, nil, err
	}
	var rejected []string
	kept := slices.DeleteFunc(slices.Clone(s.fields), func(f *field) bool {
		if f.optional && strings.Contains(cmdErr.stderr, f.name) {
			rejected = append(rejected, f.name)
			return true
		}
		return false
	})
	if len(rejected) == 0 {
		return out, nil, err
	}
	query := queryArgs(kept)
	out, retryErr := s.runner.run(ctx, query...)
	if retryErr != nil {
		return "", nil, fmt.Errorf("%w (and without the fields it named: %w)", err, retryErr)
	}
	s.fields, s.query = kept, query
	return out, fmt.Errorf("hl-smi rejected the fields %s (%w); reading without them from now on", strings.Join(rejected, ", "), err), nil
}
