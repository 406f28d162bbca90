package hlml

import (
	"fmt"
	"strings"
)

// caller makes library calls into one set of out-buffers and classifies their results. After
// the first hard error it makes no more calls, so a failing device is abandoned for this Read
// instead of being asked for fifty more values that would fail (or time out) the same way.
type caller struct {
	lib *library
	buf *outBuffers
	// strict makes NOT_SUPPORTED and NO_DATA errors too, for calls without which nothing else
	// can be read (a device handle, an event set).
	strict bool
	err    error
}

// raw calls fn and checks the guards of the buffers it writes (outs). A missing optional
// symbol answers HLML_ERROR_NOT_SUPPORTED without a call.
func (c *caller) raw(fn symbol, args []uintptr, outs ...buffer) (Return, error) {
	if !c.lib.has(fn) {
		return ErrorNotSupported, nil
	}
	for _, o := range outs {
		o.reset()
	}
	argv := c.buf.args[:copy(c.buf.args, args)]
	rc := c.lib.call(fn, argv)
	var err error
	for _, o := range outs {
		if !o.guardIntact() {
			o.arm()
			if err == nil {
				err = fmt.Errorf("%s %w of %d bytes: an HLML struct layout larger than this package knows", fn, errOverrun, len(o.data()))
			}
		}
	}
	return rc, err
}

// invoke is raw with the error policy: it returns the code and records a hard error in c.err.
// Once c.err is set it calls nothing and answers HLML_ERROR_UNKNOWN.
func (c *caller) invoke(fn symbol, args []uintptr, outs ...buffer) Return {
	if c.err != nil {
		return ErrorUnknown
	}
	rc, err := c.raw(fn, args, outs...)
	if err != nil {
		c.err = err
		return ErrorUnknown
	}
	if rc != Success && (c.strict || !rc.unavailable()) {
		c.err = &CallError{Func: fn.String(), Code: rc}
	}
	return rc
}

// scalarCall calls fn(args..., &scalar) and reports whether it succeeded.
func (c *caller) scalarCall(fn symbol, args ...uintptr) bool {
	var a [maxArgs]uintptr
	n := copy(a[:], args)
	a[n] = c.buf.scalar.ptr()
	return c.invoke(fn, a[:n+1], c.buf.scalar) == Success
}

// uint32 reads an unsigned int (or an enum) out-parameter that follows args.
func (c *caller) uint32(fn symbol, args ...uintptr) (uint32, bool) {
	if !c.scalarCall(fn, args...) {
		return 0, false
	}
	return c.buf.scalar.uint32(0), true
}

// uint64 reads an unsigned long long (or uint64_t, or a handle) out-parameter.
func (c *caller) uint64(fn symbol, args ...uintptr) (uint64, bool) {
	if !c.scalarCall(fn, args...) {
		return 0, false
	}
	return c.buf.scalar.uint64(0), true
}

// flag reads a C bool out-parameter.
func (c *caller) flag(fn symbol, args ...uintptr) (bool, bool) {
	if !c.scalarCall(fn, args...) {
		return false, false
	}
	return c.buf.scalar[0] != 0, true
}

// bytes reads a string that fn writes into (char *buf, unsigned int length) after args; the
// result aliases the buffer until the next call.
func (c *caller) bytes(fn symbol, args ...uintptr) ([]byte, bool) {
	var a [maxArgs]uintptr
	n := copy(a[:], args)
	a[n], a[n+1] = c.buf.str.ptr(), stringSize
	if c.invoke(fn, a[:n+2], c.buf.str) != Success {
		return nil, false
	}
	return c.buf.str.cstring(0, stringSize), true
}

// string is bytes copied into a trimmed Go string; "" when unavailable.
func (c *caller) string(fn symbol, args ...uintptr) string {
	b, ok := c.bytes(fn, args...)
	if !ok {
		return ""
	}
	return strings.TrimSpace(string(b))
}

// handle looks up device i. Without a handle nothing else can be read, so any failure,
// NOT_SUPPORTED included, is an error.
func (c *caller) handle(i int) (uintptr, bool) {
	strict := c.strict
	c.strict = true
	h, ok := c.uint64(symGetHandleByIndex, uintptr(i))
	c.strict = strict
	return uintptr(h), ok
}
