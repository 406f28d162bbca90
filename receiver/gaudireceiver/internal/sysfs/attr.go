package sysfs

import (
	"bytes"
	"fmt"
	"io"
	"math"
	"os"
	"strconv"

	"github.com/otelcol-gaudi/otelcol-gaudi/receiver/gaudireceiver/internal/hpu"
)

// attrBufSize holds any sysfs attribute: the kernel serves at most a page.
const attrBufSize = 4096

// attrReader reads the attributes of one device through a root opened on its directory, so
// that every read refers to that device even if accel numbers are reassigned meanwhile.
type attrReader struct {
	root *os.Root
	buf  *[attrBufSize]byte
	// device names the device in errors ("accel3").
	device string
	// errs collects attributes that were read but could not be parsed. Attributes that
	// cannot be read are normal (-ENODEV while the device is not operational, attributes a
	// driver version lacks) and only leave their value invalid.
	errs []error
}

// read returns the attribute's content without surrounding whitespace; it is valid until the
// next read.
func (r *attrReader) read(name string) ([]byte, error) {
	f, err := r.root.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	n := 0
	for n < len(r.buf) {
		m, err := f.Read(r.buf[n:])
		n += m
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
	}
	return bytes.TrimSpace(r.buf[:n]), nil
}

// text reads a string attribute.
func (r *attrReader) text(name string) (string, error) {
	b, err := r.read(name)
	if err != nil {
		return "", err
	}
	return string(b), nil
}

// firstLine reads a string attribute of which only the first line matters (firmware version
// strings may carry more).
func (r *attrReader) firstLine(name string) (string, error) {
	b, err := r.read(name)
	if err != nil {
		return "", err
	}
	if i := bytes.IndexByte(b, '\n'); i >= 0 {
		b = bytes.TrimSpace(b[:i])
	}
	return string(b), nil
}

// int reads an integer attribute; ok is false when it cannot be read or parsed.
func (r *attrReader) int(name string) (v int64, ok bool) {
	b, err := r.read(name)
	if err != nil {
		return 0, false
	}
	v, err = strconv.ParseInt(string(b), 10, 64)
	if err != nil {
		r.errs = append(r.errs, fmt.Errorf("%s %s: not an integer: %q", r.device, name, b))
		return 0, false
	}
	return v, true
}

// count reads a non-negative integer attribute (a width, a slot, a frequency).
func (r *attrReader) count(name string) (v int64, ok bool) {
	if v, ok = r.int(name); ok && v < 0 {
		r.errs = append(r.errs, fmt.Errorf("%s %s: negative: %d", r.device, name, v))
		return 0, false
	}
	return v, ok
}

// scaledInt reads a non-negative integer attribute and multiplies it by mul: MHz to Hz.
func (r *attrReader) scaledInt(name string, mul int64) hpu.Value[int64] {
	v, ok := r.count(name)
	if !ok {
		return hpu.Value[int64]{}
	}
	if v > math.MaxInt64/mul {
		r.errs = append(r.errs, fmt.Errorf("%s %s: out of range: %d", r.device, name, v))
		return hpu.Value[int64]{}
	}
	return hpu.Some(v * mul)
}

// scaledFloat reads an integer attribute and divides it by div: m°C, mW, µW to °C, W.
func (r *attrReader) scaledFloat(name string, div float64) hpu.Value[float64] {
	if v, ok := r.int(name); ok {
		return hpu.Some(float64(v) / div)
	}
	return hpu.Value[float64]{}
}
