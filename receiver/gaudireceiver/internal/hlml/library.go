package hlml

import (
	"errors"
	"fmt"

	"github.com/ebitengine/purego"
)

// symbol indexes the library functions the source calls.
type symbol int

const (
	symInit symbol = iota
	symShutdown
	symGetCount
	symGetHandleByIndex
	symGetUUID
	symGetDriverVersion
	symGetName
	symGetSerial
	symGetModuleID
	symGetMinorNumber
	symGetPCIInfo
	symGetFirmwareFITVersion
	symGetOperStatus
	symGetUtilizationRates
	symGetMemoryInfo
	symGetTemperature
	symGetTemperatureThreshold
	symGetPowerUsage
	symGetPowerDefaultLimit
	symGetPowerLimit
	symGetTotalEnergy
	symGetClockInfo
	symGetMaxClockInfo
	symGetThrottleReasons
	symGetViolationStatus
	symGetPCIeThroughput
	symGetPCIeReplayCounter
	symGetPCIeLinkGeneration
	symGetPCIeLinkWidth
	symGetECCMode
	symGetTotalECCErrors
	symGetMemoryErrorCounter
	symGetReplacedRows
	symGetReplacedRowsPending
	symGetMACAddrInfo
	symNICGetLink
	symNICGetStatistics
	symEventSetCreate
	symEventSetFree
	symRegisterEvents
	symEventSetWait
	numSymbols
)

// symbols names each function; the required ones exist in every HLML release and without them
// the library is not HLML. The others are looked up but may be missing from older releases
// (hlml_device_get_oper_status and hlml_device_get_power_management_limit are recent), which
// reads as HLML_ERROR_NOT_SUPPORTED.
var symbols = [numSymbols]struct {
	name     string
	required bool
}{
	symInit:                    {"hlml_init", true},
	symShutdown:                {"hlml_shutdown", true},
	symGetCount:                {"hlml_device_get_count", true},
	symGetHandleByIndex:        {"hlml_device_get_handle_by_index", true},
	symGetUUID:                 {"hlml_device_get_uuid", true},
	symGetDriverVersion:        {"hlml_get_driver_version", false},
	symGetName:                 {"hlml_device_get_name", false},
	symGetSerial:               {"hlml_device_get_serial", false},
	symGetModuleID:             {"hlml_device_get_module_id", false},
	symGetMinorNumber:          {"hlml_device_get_minor_number", false},
	symGetPCIInfo:              {"hlml_device_get_pci_info", false},
	symGetFirmwareFITVersion:   {"hlml_get_firmware_fit_version", false},
	symGetOperStatus:           {"hlml_device_get_oper_status", false},
	symGetUtilizationRates:     {"hlml_device_get_utilization_rates", false},
	symGetMemoryInfo:           {"hlml_device_get_memory_info", false},
	symGetTemperature:          {"hlml_device_get_temperature", false},
	symGetTemperatureThreshold: {"hlml_device_get_temperature_threshold", false},
	symGetPowerUsage:           {"hlml_device_get_power_usage", false},
	symGetPowerDefaultLimit:    {"hlml_device_get_power_management_default_limit", false},
	symGetPowerLimit:           {"hlml_device_get_power_management_limit", false},
	symGetTotalEnergy:          {"hlml_device_get_total_energy_consumption", false},
	symGetClockInfo:            {"hlml_device_get_clock_info", false},
	symGetMaxClockInfo:         {"hlml_device_get_max_clock_info", false},
	symGetThrottleReasons:      {"hlml_device_get_current_clocks_throttle_reasons", false},
	symGetViolationStatus:      {"hlml_device_get_violation_status", false},
	symGetPCIeThroughput:       {"hlml_device_get_pcie_throughput", false},
	symGetPCIeReplayCounter:    {"hlml_device_get_pcie_replay_counter", false},
	symGetPCIeLinkGeneration:   {"hlml_device_get_curr_pcie_link_generation", false},
	symGetPCIeLinkWidth:        {"hlml_device_get_curr_pcie_link_width", false},
	symGetECCMode:              {"hlml_device_get_ecc_mode", false},
	symGetTotalECCErrors:       {"hlml_device_get_total_ecc_errors", false},
	symGetMemoryErrorCounter:   {"hlml_device_get_memory_error_counter", false},
	symGetReplacedRows:         {"hlml_device_get_replaced_rows", false},
	symGetReplacedRowsPending:  {"hlml_device_get_replaced_rows_pending_status", false},
	symGetMACAddrInfo:          {"hlml_get_mac_addr_info", false},
	symNICGetLink:              {"hlml_nic_get_link", false},
	symNICGetStatistics:        {"hlml_nic_get_statistics", false},
	symEventSetCreate:          {"hlml_event_set_create", false},
	symEventSetFree:            {"hlml_event_set_free", false},
	symRegisterEvents:          {"hlml_device_register_events", false},
	symEventSetWait:            {"hlml_event_set_wait", false},
}

func (s symbol) String() string { return symbols[s].name }

// library is an opened libhlml.so and the addresses of its functions.
type library struct {
	path   string
	handle uintptr
	fns    [numSymbols]uintptr
}

// openLibrary loads path and resolves the functions the source calls.
func openLibrary(path string) (*library, error) {
	handle, err := purego.Dlopen(path, purego.RTLD_NOW|purego.RTLD_LOCAL)
	if err != nil {
		return nil, fmt.Errorf("loading the HLML library %q: %w", path, err)
	}
	l := &library{path: path, handle: handle}
	var missing []error
	for s := range numSymbols {
		fn, err := purego.Dlsym(handle, symbols[s].name)
		if err != nil {
			if symbols[s].required {
				missing = append(missing, err)
			}
			continue
		}
		l.fns[s] = fn
	}
	if len(missing) > 0 {
		err := fmt.Errorf("%q is not a usable HLML library: %w", path, errors.Join(missing...))
		return nil, errors.Join(err, l.close())
	}
	return l, nil
}

// has says whether the library has fn.
func (l *library) has(fn symbol) bool { return l.fns[fn] != 0 }

// call invokes fn, which must exist (see has). Pointers among args must point into pinned
// memory (outBuffers), since they travel as uintptr. SyscallN is go:uintptrescapes, so the
// slice it is given escapes: callers on hot paths pass a slice they reuse (outBuffers.args)
// instead of building one per call.
func (l *library) call(fn symbol, args []uintptr) Return {
	r1, _, _ := purego.SyscallN(l.fns[fn], args...)
	// hlml_return_t is a C enum returned in a 32-bit register half; the upper half is undefined.
	return Return(int32(uint32(r1)))
}

func (l *library) close() error {
	if err := purego.Dlclose(l.handle); err != nil {
		return fmt.Errorf("closing the HLML library %q: %w", l.path, err)
	}
	return nil
}
