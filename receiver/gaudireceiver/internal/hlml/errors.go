package hlml

import (
	"errors"
	"strconv"
)

// Return is an hlml_return_t. The values are the same in every HLML release seen (the archived
// pyhlml's 11-14 for the last four are wrong).
type Return int32

const (
	Success                 Return = 0
	ErrorUninitialized      Return = 1
	ErrorInvalidArgument    Return = 2
	ErrorNotSupported       Return = 3
	ErrorAlreadyInitialized Return = 5
	ErrorNotFound           Return = 6
	ErrorInsufficientSize   Return = 7
	ErrorDriverNotLoaded    Return = 9
	ErrorTimeout            Return = 10
	ErrorAIPIsLost          Return = 15
	ErrorMemory             Return = 20
	ErrorNoData             Return = 21
	ErrorUnknown            Return = 49
)

// String is the C name, for example HLML_ERROR_AIP_IS_LOST.
func (r Return) String() string {
	switch r {
	case Success:
		return "HLML_SUCCESS"
	case ErrorUninitialized:
		return "HLML_ERROR_UNINITIALIZED"
	case ErrorInvalidArgument:
		return "HLML_ERROR_INVALID_ARGUMENT"
	case ErrorNotSupported:
		return "HLML_ERROR_NOT_SUPPORTED"
	case ErrorAlreadyInitialized:
		return "HLML_ERROR_ALREADY_INITIALIZED"
	case ErrorNotFound:
		return "HLML_ERROR_NOT_FOUND"
	case ErrorInsufficientSize:
		return "HLML_ERROR_INSUFFICIENT_SIZE"
	case ErrorDriverNotLoaded:
		return "HLML_ERROR_DRIVER_NOT_LOADED"
	case ErrorTimeout:
		return "HLML_ERROR_TIMEOUT"
	case ErrorAIPIsLost:
		return "HLML_ERROR_AIP_IS_LOST"
	case ErrorMemory:
		return "HLML_ERROR_MEMORY"
	case ErrorNoData:
		return "HLML_ERROR_NO_DATA"
	case ErrorUnknown:
		return "HLML_ERROR_UNKNOWN"
	case skipped:
		return "skipped"
	default:
		return "hlml_return_t(" + strconv.Itoa(int(r)) + ")"
	}
}

// Error makes a Return usable with errors.Is: errors.Is(d.Err, hlml.ErrorAIPIsLost).
func (r Return) Error() string { return r.String() }

// unavailable says whether a return code means "no value" rather than an error.
func (r Return) unavailable() bool { return r == ErrorNotSupported || r == ErrorNoData }

// gone says whether a return code means that the device (or the whole driver) is gone, so that
// nothing else can be read from it: those fail the device; any other error leaves only the
// reading of that call invalid.
func (r Return) gone() bool { return r.libraryGone() || r == ErrorAIPIsLost }

// libraryGone says whether a return code means that HLML itself is unusable: those fail a call
// outside any device too, where AIP_IS_LOST names no device and leaves only that reading out.
func (r Return) libraryGone() bool { return r == ErrorUninitialized || r == ErrorDriverNotLoaded }

// skipped is what a call that was not made answers: it is backing off after failing, or its
// symbol is missing from the library. It reads as no value.
const skipped Return = -1

// CallError is a library call that returned an error.
type CallError struct {
	Func string
	Code Return
}

func (e *CallError) Error() string { return e.Func + ": " + e.Code.String() }

// Unwrap returns the code, so errors.Is matches a Return.
func (e *CallError) Unwrap() error { return e.Code }

// ErrNotRunning is returned by Read and WaitEvents before Start and after Shutdown.
var ErrNotRunning = errors.New("hlml source is not started or already shut down")

// ErrDeviceGone marks a device that HLML enumerated earlier in this run and no longer counts.
var ErrDeviceGone = errors.New("device no longer enumerated by HLML")

// errOverrun marks a call that wrote past the buffer sized for the newest layout known.
var errOverrun = errors.New("wrote past its buffer")
