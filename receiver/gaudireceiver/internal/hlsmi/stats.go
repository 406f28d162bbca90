package hlsmi

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"sync"

	"github.com/otelcol-gaudi/otelcol-gaudi/receiver/gaudireceiver/internal/hpu"
)

// nicCounters are the counters `hl-smi -n stats` gave for one device's ports, carried over
// between the Reads that run it (the slow turns, Options.SlowEvery).
type nicCounters struct {
	mu sync.Mutex
	// byBus holds, per PCI bus id, the ports' counters of the last run.
	byBus map[string][]hpu.NICPort
}

// readNICStats fills the NIC counters (and raw stats) of each readable device from `hl-smi -n
// stats -i <bus id>`, run when due (a slow turn), the last values in between. The ports are
// merged into NICPorts by number; a port only the counters know is added with its link state
// unknown. A device whose counters cannot be read keeps its other readings.
func (s *Source) readNICStats(ctx context.Context, devs []hpu.Device, due bool) error {
	errs := make([]error, len(devs))
	if due {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("NIC counters not read: %w", err)
		}
		slots := make(chan struct{}, nicParallelism)
		var wg sync.WaitGroup
		for i := range devs {
			d := &devs[i]
			if d.Err != nil || d.Info.PCIBusID == "" {
				continue
			}
			wg.Go(func() {
				slots <- struct{}{}
				defer func() { <-slots }()
				ports, err := s.nicStats(ctx, d.Info.PCIBusID)
				if err != nil {
					errs[i] = fmt.Errorf("hpu %d NIC counters: %w", d.Index, err)
				}
				s.stats.mu.Lock()
				s.stats.byBus[d.Info.PCIBusID] = ports
				s.stats.mu.Unlock()
			})
		}
		wg.Wait()
	}
	s.stats.mu.Lock()
	defer s.stats.mu.Unlock()
	for i := range devs {
		if d := &devs[i]; d.Err == nil {
			mergeCounters(d, s.stats.byBus[d.Info.PCIBusID])
		}
	}
	return errors.Join(errs...)
}

// mergeCounters puts the counters of ports into d.NICPorts.
func mergeCounters(d *hpu.Device, ports []hpu.NICPort) {
	for _, p := range ports {
		found := false
		for j := range d.NICPorts {
			if d.NICPorts[j].Port == p.Port {
				d.NICPorts[j].Counters, d.NICPorts[j].Stats = p.Counters, p.Stats
				found = true
				break
			}
		}
		if !found {
			d.NICPorts = append(d.NICPorts, p)
		}
	}
}

// nicStats runs `hl-smi -n stats -i <bus>` and keeps the ports Options.NIC wants.
func (s *Source) nicStats(ctx context.Context, bus string) ([]hpu.NICPort, error) {
	external, out, runErr := s.runNIC(ctx, "stats", bus)
	if out == "" {
		return nil, runErr
	}
	all, err := parseNICStats(out, s.opts.NIC)
	var ports []hpu.NICPort
	for _, p := range all {
		p.External = external[p.Port]
		if s.opts.NIC.Wanted(p.External) {
			ports = append(ports, p)
		}
	}
	if err != nil {
		err = fmt.Errorf("-n stats -i %s: %w", bus, err)
	}
	return ports, errors.Join(runErr, err)
}

// parseNICStats reads `hl-smi -n stats` output: a "port N:" line, then that port's indented
// "counter: value" lines (a counter's name may hold spaces and parentheses). The driver's counters of hpu.NICCounters fill Counters (the first of
// duplicate names wins), the others the Stats that opts keeps. Every bad line is reported and
// skipped; the rest is kept.
func parseNICStats(out string, opts hpu.NICOptions) ([]hpu.NICPort, error) {
	var ports []hpu.NICPort
	var errs []error
	var cur *hpu.NICPort
	for lineNo := 1; out != ""; lineNo++ {
		var raw string
		raw, out, _ = strings.Cut(out, "\n")
		line := strings.TrimSpace(raw)
		indented := strings.HasPrefix(raw, " ") || strings.HasPrefix(raw, "\t")
		if line == "" || strings.HasPrefix(line, "===") {
			continue
		}
		if rest, ok := strings.CutPrefix(line, "port "); ok && !indented {
			num, tail, ok := strings.Cut(rest, ":")
			port, err := strconv.ParseInt(strings.TrimSpace(num), 10, 64)
			if !ok || err != nil || port < 0 || port >= hpu.MaxNICPorts || strings.TrimSpace(tail) != "" {
				errs = append(errs, fmt.Errorf("output line %d: not \"port N:\": %q", lineNo, line))
				cur = nil
				continue
			}
			ports = append(ports, hpu.NICPort{Port: port})
			cur = &ports[len(ports)-1]
			continue
		}
		i := strings.LastIndexByte(line, ':')
		if cur == nil || i < 0 || !indented {
			errs = append(errs, fmt.Errorf("output line %d: not a counter of a port: %q", lineNo, line))
			continue
		}
		name, raw := strings.TrimSpace(line[:i]), strings.TrimSpace(line[i+1:])
		v, err := strconv.ParseUint(raw, 10, 64)
		if err != nil || v > math.MaxInt64 || !hpu.PrintableName(name) {
			errs = append(errs, fmt.Errorf("output line %d: not \"counter: count\": %q", lineNo, line))
			continue
		}
		if cur.Counters.SetDriverCounter([]byte(name), v) || !opts.KeepStat(name) || hasStat(cur.Stats, name) {
			continue
		}
		cur.Stats = append(cur.Stats, hpu.NICStat{Name: name, Value: int64(v)})
	}
	if !opts.Counters {
		for i := range ports {
			ports[i].Counters = hpu.NICCounters{}
		}
	}
	return ports, errors.Join(errs...)
}

func hasStat(stats []hpu.NICStat, name string) bool {
	for _, st := range stats {
		if st.Name == name {
			return true
		}
	}
	return false
}
