package hlsmi

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/otelcol-gaudi/otelcol-gaudi/receiver/gaudireceiver/internal/hpu"
)

// The -q limits: hl-smi lists at most a node's devices (8 on an HLS board), and a block names
// its device once; what goes beyond is garbage, reported and not kept.
const (
	maxDetailBlocks = 64
	maxDetailErrors = 16
)

// detail is what `hl-smi -q` says of one device that the -Q fields cannot give.
type detail struct {
	// uuid and bus name the device: its "AIP UUID" line, the bus id of its "[N] AIP (accelN)
	// <bus id>" title (or of its "Bus Id" line).
	uuid, bus string
	// line is the title's line, for errors.
	line int

	tempHBM, tempBoard     hpu.Value[float64]
	powerDefault           hpu.Value[float64]
	rowsSingle, rowsDouble hpu.Value[int64]
	rowsPending            hpu.Value[bool]
}

// readDetails runs `hl-smi -q` and parses its output. As for the query, what an hl-smi that
// exited non-zero printed is used and the status reported.
func (s *Source) readDetails(ctx context.Context) ([]detail, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("hl-smi -q not run: %w", err)
	}
	out, runErr := s.runner.run(ctx, "-q")
	if out == "" {
		return nil, runErr
	}
	details, err := parseDetails(out)
	return details, errors.Join(runErr, err)
}

// applyDetails fills each readable device's readings from the block that names it: by UUID, or
// by bus id when the block or the device has no UUID. A device no block names keeps them
// invalid; so does one that two blocks name (one by UUID, one by bus id), which is reported.
func applyDetails(devs []hpu.Device, details []detail) error {
	var errs []error
	for i := range devs {
		d := &devs[i]
		if d.Err != nil {
			continue
		}
		var named *detail
		for j := range details {
			if q := &details[j]; q.names(d) {
				if named != nil {
					errs = append(errs, fmt.Errorf("hl-smi -q output lines %d and %d: both name hpu %d", named.line, q.line, d.Index))
					named = nil
					break
				}
				named = q
			}
		}
		if q := named; q != nil {
			d.TemperatureHBM, d.TemperatureOnBoard = q.tempHBM, q.tempBoard
			d.PowerLimitDefault = q.powerDefault
			d.RowsReplacedSingle, d.RowsReplacedDouble, d.RowsPending = q.rowsSingle, q.rowsDouble, q.rowsPending
		}
	}
	return errors.Join(errs...)
}

func (q *detail) names(d *hpu.Device) bool {
	if q.uuid != "" && d.UUID != "" {
		return q.uuid == d.UUID
	}
	return q.bus != "" && q.bus == d.Info.PCIBusID
}

// parseDetails reads `hl-smi -q` output: a banner and version lines, then per device a title
// "[N] AIP (accelN) <bus id>" and "key : value" lines grouped under section lines that have no
// colon ("Temperature", "Power Readings (54V PSU)", "Replaced Rows"). Indentation is not relied
// on. Of each block it keeps:
//
//	AIP UUID                    uuid
//	Temperature, "HBM ..."      tempHBM, the hottest stack
//	Temperature, "On Board ..." tempBoard, the hottest sensor
//	Power Readings, Power Limit powerDefault: of the 54 V rail, or of a section naming no rail
//	Replaced Rows               rowsSingle ("Single Bit ECC"), rowsDouble ("Double Bit ECC"),
//	                            rowsPending ("Pending": Yes/No)
//
// A value that cannot be parsed, or that a block gives twice, is reported and the first kept;
// blocks that name no device, or a device another block names too, are reported and dropped.
func parseDetails(out string) ([]detail, error) {
	var p detailParser
	section := ""
	for lineNo := 1; out != ""; lineNo++ {
		var line string
		line, out, _ = strings.Cut(out, "\n")
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		if bus, ok := blockTitle(line); ok {
			if len(p.details) == maxDetailBlocks {
				p.fail(lineNo, "more than %d devices; the rest is not read", maxDetailBlocks)
				break
			}
			p.details = append(p.details, detail{bus: bus, line: lineNo})
			section = ""
			continue
		}
		key, value, ok := strings.Cut(line, ":")
		if !ok {
			section = line
			continue
		}
		if len(p.details) > 0 {
			p.value(lineNo, section, strings.TrimSpace(key), strings.TrimSpace(value))
		}
	}
	return p.unique(), p.err()
}

// blockTitle recognises "[N] AIP (accelN) <bus id>" and returns the bus id, "" when the last
// word is not a PCI address.
func blockTitle(line string) (bus string, ok bool) {
	num, rest, ok := strings.Cut(strings.TrimPrefix(line, "["), "]")
	if !ok || !strings.HasPrefix(line, "[") {
		return "", false
	}
	if _, err := parseInt(strings.TrimSpace(num)); err != nil {
		return "", false
	}
	rest = strings.TrimSpace(rest)
	if rest != "AIP" && !strings.HasPrefix(rest, "AIP ") {
		return "", false
	}
	if last := rest[strings.LastIndexAny(rest, " \t")+1:]; pciAddress.MatchString(last) {
		bus = last
	}
	return bus, true
}

type detailParser struct {
	details []detail
	errs    []error
	dropped int // errors beyond maxDetailErrors
}

func (p *detailParser) fail(lineNo int, format string, args ...any) {
	if len(p.errs) == maxDetailErrors {
		p.dropped++
		return
	}
	p.errs = append(p.errs, fmt.Errorf("hl-smi -q output line %d: %s", lineNo, fmt.Sprintf(format, args...)))
}

func (p *detailParser) err() error {
	if p.dropped > 0 {
		p.errs = append(p.errs, fmt.Errorf("hl-smi -q output: %d more problems", p.dropped))
	}
	return errors.Join(p.errs...)
}

// value takes one "key : value" line of the current block.
func (p *detailParser) value(lineNo int, section, key, v string) {
	d := &p.details[len(p.details)-1]
	switch {
	case key == "AIP UUID":
		if notAvailable(v) {
			return
		}
		if d.uuid != "" {
			p.fail(lineNo, "AIP UUID given again")
			return
		}
		d.uuid = v
	case key == "Bus Id" && d.bus == "" && pciAddress.MatchString(v):
		d.bus = v
	case section == "Temperature":
		label := key
		if _, rest, ok := strings.Cut(key, "]"); ok && strings.HasPrefix(key, "[") {
			label = strings.TrimSpace(rest)
		}
		var dst *hpu.Value[float64]
		switch {
		case hasPrefixFold(label, "hbm"):
			dst = &d.tempHBM
		case hasPrefixFold(label, "on board"):
			dst = &d.tempBoard
		default:
			return
		}
		if notAvailable(v) {
			return
		}
		t, err := number(v, "C")
		if err != nil {
			// The key is hl-smi's sensor label, any text: quoted and bounded like other outside text.
			p.fail(lineNo, "%s: %v", hpu.QuoteText(key), err)
			return
		}
		if !dst.Valid || t > dst.V {
			*dst = hpu.Some(t)
		}
	case key == "Power Limit" && mainRail(section):
		once(p, lineNo, key, &d.powerDefault, v, func(v string) (float64, error) { return number(v, "W") })
	case section == "Replaced Rows" && key == "Single Bit ECC":
		once(p, lineNo, key, &d.rowsSingle, v, parseInt)
	case section == "Replaced Rows" && key == "Double Bit ECC":
		once(p, lineNo, key, &d.rowsDouble, v, parseInt)
	case section == "Replaced Rows" && key == "Pending":
		once(p, lineNo, key, &d.rowsPending, v, yesNo)
	}
}

// once parses v into dst unless the block gave the value already.
func once[T int64 | float64 | bool](p *detailParser, lineNo int, key string, dst *hpu.Value[T], v string, parse func(string) (T, error)) {
	if notAvailable(v) {
		return
	}
	if dst.Valid {
		p.fail(lineNo, "%s given again", key)
		return
	}
	x, err := parse(v)
	if err != nil {
		p.fail(lineNo, "%s: %v", key, err)
		return
	}
	*dst = hpu.Some(x)
}

// mainRail tells the power section whose limit is the device's: "Power Readings (54V PSU)", or
// "Power Readings" naming no rail. The 12 V rail's own 50 W limit is not the device's; the 54 V
// rail's is the one `power.max` and `-p` speak of (850 W on Gaudi 3, whose table shows 900 W).
func mainRail(section string) bool {
	rail, ok := strings.CutPrefix(section, "Power Readings")
	rail = strings.TrimSpace(rail)
	return ok && (rail == "" || strings.Contains(strings.ToUpper(rail), "54V"))
}

func hasPrefixFold(s, prefix string) bool {
	return len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix)
}

func yesNo(v string) (bool, error) {
	switch strings.ToLower(v) {
	case "yes", "true":
		return true, nil
	case "no", "false":
		return false, nil
	}
	return false, fmt.Errorf("neither Yes nor No: %q", v)
}

// unique drops the blocks that name no device or a device another block names too: their
// readings cannot be pinned on one device.
func (p *detailParser) unique() []detail {
	uuids, buses := map[string]int{}, map[string]int{}
	for _, d := range p.details {
		uuids[d.uuid]++
		buses[d.bus]++
	}
	kept := p.details[:0]
	for _, d := range p.details {
		switch {
		case d.uuid == "" && d.bus == "":
			p.fail(d.line, "the device names neither an AIP UUID nor a bus id")
		case d.uuid != "" && uuids[d.uuid] > 1:
			p.fail(d.line, "AIP UUID %s listed for %d devices", hpu.QuoteText(d.uuid), uuids[d.uuid])
		case d.bus != "" && buses[d.bus] > 1:
			p.fail(d.line, "bus id %s listed for %d devices", d.bus, buses[d.bus])
		default:
			kept = append(kept, d)
		}
	}
	return kept
}
