package hlsmi

import (
	"errors"
	"fmt"
	"strings"

	"github.com/otelcol-gaudi/otelcol-gaudi/receiver/gaudireceiver/internal/hpu"
)

// maxColumns bounds the columns of a line so that splitting needs no allocation; hl-smi knows
// fewer than 40 fields.
const maxColumns = 64

// layout says which field each CSV column holds.
type layout struct {
	cols  []*field // nil for a column of a header that names a field this package does not know
	index int      // column of "index", -1 if none
	uuid  int      // column of "uuid", -1 if none
}

func newLayout(fields []*field) layout {
	l := layout{cols: fields, index: -1, uuid: -1}
	for i, f := range fields {
		switch {
		case f == nil:
		case f.name == "index":
			l.index = i
		case f.name == "uuid":
			l.uuid = i
		}
	}
	return l
}

// identities maps the index of each device seen in an earlier read to its uuid, so that a
// device whose line is garbled can still be named (and its failure reported on its own series).
type identities map[int64]string

// lineError says what was wrong with one line of hl-smi output.
type lineError struct {
	line int
	// hpu is the device's index, or -1 when the line did not say.
	hpu   int64
	field string
	err   error
	// text is the whole line, quoted when the line as a whole could not be read.
	text string
}

func (e *lineError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "hl-smi output line %d", e.line)
	if e.hpu >= 0 {
		fmt.Fprintf(&b, " (hpu %d)", e.hpu)
	}
	if e.field != "" {
		fmt.Fprintf(&b, ": field %s", e.field)
	}
	fmt.Fprintf(&b, ": %v", e.err)
	if e.text != "" {
		const maxText = 160
		text := e.text
		if len(text) > maxText {
			text = text[:maxText] + "..."
		}
		fmt.Fprintf(&b, ": %q", text)
	}
	return b.String()
}

func (e *lineError) Unwrap() error { return e.err }

// parseQuery parses `hl-smi -Q` CSV output whose columns are lay (the requested fields, in
// order), appending one Device per data line to dst. hl-smi's CSV variants are all accepted:
// a header line (recognised by its field names, and then followed) although noheader was asked
// for, values with units although nounits was. A line that cannot be read as a whole fails
// only its device: the Device gets Err when the line or ids name the device, otherwise the line
// is reported in the returned error. A value that cannot be parsed stays invalid and is
// reported in the returned error too, so nothing wrong passes silently.
func parseQuery(out string, lay layout, ids identities, dst []hpu.Device) ([]hpu.Device, error) {
	var errs []error
	var buf [maxColumns]string
	for lineNo := 1; out != ""; lineNo++ {
		var line string
		line, out, _ = strings.Cut(out, "\n")
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		cols, fit := split(line, &buf)
		if fit && isHeader(cols) {
			lay = headerLayout(cols)
			continue
		}
		// Parsed in place: a Device is large, and one behind the setters' pointer would escape.
		dst = append(dst, hpu.Device{Info: hpu.Info{ModuleID: hpu.UnknownModuleID}})
		d := &dst[len(dst)-1]
		lineErr, valueErrs := parseRow(lineNo, line, cols, fit, lay, d)
		errs = append(errs, valueErrs...)
		if lineErr == nil {
			continue
		}
		if index, uuid, ok := recoverIdentity(cols, lay, ids); ok {
			*d = hpu.Device{Index: index, UUID: uuid, Err: lineErr}
		} else {
			dst = dst[:len(dst)-1]
			errs = append(errs, lineErr)
		}
	}
	return dst, errors.Join(errs...)
}

// split cuts a line at its commas (hl-smi separates columns with ", "); fit is false when the
// line has more than maxColumns columns.
func split(line string, buf *[maxColumns]string) (cols []string, fit bool) {
	n := 0
	for {
		if n == len(buf) {
			return buf[:n], false
		}
		col, rest, more := strings.Cut(line, ",")
		buf[n] = strings.TrimSpace(col)
		n++
		if !more {
			return buf[:n], true
		}
		line = rest
	}
}

// headerName is a header column without its unit: "memory.used [MiB]" is memory.used.
func headerName(col string) string {
	if i := strings.IndexByte(col, '['); i >= 0 {
		return strings.TrimSpace(col[:i])
	}
	return col
}

// isHeader tells a header line by its column names, which no value can equal.
func isHeader(cols []string) bool {
	for _, c := range cols {
		if _, ok := lookupField(headerName(c)); !ok {
			return false
		}
	}
	return true
}

func headerLayout(cols []string) layout {
	fields := make([]*field, len(cols))
	for i, c := range cols {
		fields[i], _ = lookupField(headerName(c))
	}
	return newLayout(fields)
}

// parseRow reads one data line into d. lineErr is set when the line cannot be read as a whole
// (wrong number of columns, no usable index); valueErrs lists values that stayed invalid.
func parseRow(lineNo int, line string, cols []string, fit bool, lay layout, d *hpu.Device) (lineErr *lineError, valueErrs []error) {
	switch {
	case !fit:
		return &lineError{line: lineNo, hpu: -1, err: fmt.Errorf("more than %d columns, want %d", maxColumns, len(lay.cols)), text: line}, nil
	case len(cols) != len(lay.cols):
		return &lineError{line: lineNo, hpu: -1, err: fmt.Errorf("%d columns, want %d", len(cols), len(lay.cols)), text: line}, nil
	case lay.index < 0:
		return &lineError{line: lineNo, hpu: -1, err: errors.New("no index column"), text: line}, nil
	}
	// The index first, so that the errors of the other values can name the device.
	if err := setIndex(d, cols[lay.index]); err != nil {
		return &lineError{line: lineNo, hpu: -1, field: "index", err: err, text: line}, nil
	}
	for i, f := range lay.cols {
		if f == nil || i == lay.index {
			continue
		}
		if err := f.set(d, cols[i]); err != nil {
			valueErrs = append(valueErrs, &lineError{line: lineNo, hpu: d.Index, field: f.name, err: err})
		}
	}
	return nil, valueErrs
}

// recoverIdentity names the device of a line that could not be read: by its index column when
// that parses, else by its uuid column and ids. The uuid of ids is preferred to the line's,
// whose columns may be shifted.
func recoverIdentity(cols []string, lay layout, ids identities) (index int64, uuid string, ok bool) {
	lineUUID := ""
	if lay.uuid >= 0 && lay.uuid < len(cols) {
		lineUUID = text(cols[lay.uuid])
	}
	if lay.index >= 0 && lay.index < len(cols) {
		if i, err := parseInt(cols[lay.index]); err == nil {
			if known, ok := ids[i]; ok {
				return i, known, true
			}
			return i, lineUUID, true
		}
	}
	if lineUUID != "" {
		for i, known := range ids {
			if known == lineUUID {
				return i, known, true
			}
		}
	}
	return 0, "", false
}
