package hlsmi

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"sync"

	"github.com/otelcol-gaudi/otelcol-gaudi/receiver/gaudireceiver/internal/hpu"
)

// pciAddress is a PCI address as hl-smi and the kernel print it: domain:bus:device.function
// ("0000:43:00.0"); the domain may be wider than 4 digits (VMD domains are 5).
var pciAddress = regexp.MustCompile(`^[0-9a-fA-F]{4,8}:[0-9a-fA-F]{2}:[0-9a-fA-F]{2}\.[0-7]$`)

// nicParallelism bounds the hl-smi processes one read runs at once for NIC links: 8 devices
// fit in a scrape, and the driver, which serves every hl-smi, is not flooded.
const nicParallelism = 4

// portTypes caches, per PCI bus id, which ports `hl-smi -n ports` calls external: the board
// fixes them, so each device is asked once.
type portTypes struct {
	mu       sync.Mutex
	external map[string]map[int64]bool
}

// readNICLinks fills NICPorts of each readable device from `hl-smi -n link -i <bus id>`. A
// device whose links cannot be read keeps its other readings; the problem is returned.
func (s *Source) readNICLinks(ctx context.Context, devs []hpu.Device) error {
	if err := ctx.Err(); err != nil {
		// The query took the whole scrape; one error says so, not one per device.
		return fmt.Errorf("NIC links not read: %w", err)
	}
	errs := make([]error, len(devs))
	slots := make(chan struct{}, nicParallelism)
	var wg sync.WaitGroup
	for i := range devs {
		d := &devs[i]
		if d.Err != nil {
			continue
		}
		if d.Info.PCIBusID == "" {
			errs[i] = fmt.Errorf("hpu %d: no bus_id to ask hl-smi for its NIC links", d.Index)
			continue
		}
		// The bus id comes from hl-smi's own output and becomes an argument: only a PCI
		// address is passed, never something hl-smi could take for an option.
		if !pciAddress.MatchString(d.Info.PCIBusID) {
			errs[i] = fmt.Errorf("hpu %d: bus_id %s is not a PCI address; NIC links not asked for", d.Index, hpu.QuoteText(d.Info.PCIBusID))
			continue
		}
		wg.Go(func() {
			slots <- struct{}{}
			defer func() { <-slots }()
			ports, err := s.nicPorts(ctx, d.Info.PCIBusID)
			if err != nil {
				errs[i] = fmt.Errorf("hpu %d NIC links: %w", d.Index, err)
			}
			d.NICPorts = ports
		})
	}
	wg.Wait()
	return errors.Join(errs...)
}

// nicPorts reads the link state of the device's ports. `hl-smi -n link` lists the internal
// (scale-up) ports by default; a port that `-n ports` does not call external is internal.
func (s *Source) nicPorts(ctx context.Context, bus string) ([]hpu.NICPort, error) {
	external, out, err := s.runNIC(ctx, "link", bus)
	if out == "" {
		return nil, err
	}
	ports, parseErr := parseLinks(out, external)
	if parseErr != nil {
		parseErr = fmt.Errorf("-n link -i %s: %w", bus, parseErr)
	}
	return ports, errors.Join(err, parseErr)
}

// runNIC runs `hl-smi -n <what> -i <bus>` once the device's port types are known, and returns
// them with its output. As for the query, the lines printed are used whatever the exit status:
// err reports it, and port types from a run that failed the same way.
func (s *Source) runNIC(ctx context.Context, what, bus string) (external map[int64]bool, out string, err error) {
	external, typesErr := s.portTypes(ctx, bus)
	if external == nil {
		return nil, "", typesErr
	}
	out, runErr := s.runner.run(ctx, "-n", what, "-i", bus)
	return external, out, errors.Join(typesErr, runErr)
}

// parseLinks reads `hl-smi -n link` output; a port that external does not call external is
// internal.
func parseLinks(out string, external map[int64]bool) ([]hpu.NICPort, error) {
	var ports []hpu.NICPort
	err := portLines(out, func(port int64, state string) error {
		var up bool
		switch {
		case strings.EqualFold(state, "UP"):
			up = true
		case strings.EqualFold(state, "DOWN"):
		default:
			return fmt.Errorf("link state %q is neither UP nor DOWN", state)
		}
		ports = append(ports, hpu.NICPort{Port: port, External: external[port], Up: hpu.Some(up)})
		return nil
	})
	return ports, err
}

// portTypes returns which of the device's ports are external; with an error too when hl-smi
// exited non-zero after printing them.
func (s *Source) portTypes(ctx context.Context, bus string) (map[int64]bool, error) {
	s.ports.mu.Lock()
	external, ok := s.ports.external[bus]
	s.ports.mu.Unlock()
	if ok {
		return external, nil
	}
	out, runErr := s.runner.run(ctx, "-n", "ports", "-i", bus)
	if out == "" && runErr != nil {
		return nil, runErr
	}
	external, err := parsePortTypes(out)
	if err != nil {
		// Not cached: a misread port type would label that port's series wrongly for good.
		return nil, errors.Join(runErr, fmt.Errorf("-n ports -i %s: %w", bus, err))
	}
	if runErr != nil {
		// Used for this read; asked again next time rather than cached from a failed run.
		return external, runErr
	}
	s.ports.mu.Lock()
	s.ports.external[bus] = external
	s.ports.mu.Unlock()
	return external, nil
}

// parsePortTypes reads `hl-smi -n ports` output: which ports are external. Any bad line fails
// it all, and then no map is returned.
func parsePortTypes(out string) (map[int64]bool, error) {
	external := make(map[int64]bool)
	err := portLines(out, func(port int64, kind string) error {
		switch {
		case strings.EqualFold(kind, "external"):
			external[port] = true
		case strings.EqualFold(kind, "internal"):
			external[port] = false
		default:
			return fmt.Errorf("port type %q is neither internal nor external", kind)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return external, nil
}

// portLines calls fn for each "port N: value" line of `hl-smi -n link` or `-n ports` output
// ("port  0:        UP", "port 8: external"); other lines, such as a "=== <bus id> ===" title,
// are skipped. Every bad line is reported, and does not stop the others.
func portLines(out string, fn func(port int64, value string) error) error {
	var errs []error
	var seen [hpu.MaxNICPorts]bool
	for lineNo := 1; out != ""; lineNo++ {
		var line string
		line, out, _ = strings.Cut(out, "\n")
		line = strings.TrimSpace(line)
		rest, ok := strings.CutPrefix(line, "port")
		if !ok {
			continue
		}
		num, value, ok := strings.Cut(rest, ":")
		port, err := strconv.ParseInt(strings.TrimSpace(num), 10, 64)
		switch {
		case !ok || err != nil || port < 0:
			errs = append(errs, fmt.Errorf("output line %d: not \"port N: ...\": %q", lineNo, line))
			continue
		case port >= hpu.MaxNICPorts:
			errs = append(errs, fmt.Errorf("output line %d: port %d is not below %d", lineNo, port, hpu.MaxNICPorts))
			continue
		case seen[port]:
			errs = append(errs, fmt.Errorf("output line %d: port %d listed again", lineNo, port))
			continue
		}
		seen[port] = true
		if err := fn(port, strings.TrimSpace(value)); err != nil {
			errs = append(errs, fmt.Errorf("output line %d: %w", lineNo, err))
		}
	}
	return errors.Join(errs...)
}
