/*
 * The struct layouts and enum values the Go side of the hlml source relies on, each with its value
 * in the 64-bit Linux ABI (amd64, arm64): X(name, C expression, value). layout_test.c asserts every
 * expression against its value at compile time; fake_hlml_layout serves the expressions to the Go
 * test (TestLayoutsMatchTheHeader), which checks the Go constants against them.
 */
#ifndef FAKEHLML_LAYOUT_H
#define FAKEHLML_LAYOUT_H

#include <stddef.h>

#include "fakehlml.h"

#define FAKEHLML_FIELD_SIZE(type, field) sizeof(((type *)0)->field)

#define FAKEHLML_LAYOUTS(X)                                                                              \
	/* hlml_pci_info_t: the header's (older) layout; only bus_id is read, at an offset both share. */ \
	X("sizeof(hlml_pci_info_t)", sizeof(hlml_pci_info_t), 52)                                            \
	X("offsetof(hlml_pci_info_t, bus_id)", offsetof(hlml_pci_info_t, bus_id), 4)                         \
	X("sizeof(hlml_pci_info_t.bus_id)", FAKEHLML_FIELD_SIZE(hlml_pci_info_t, bus_id), 15)                \
	X("offsetof(hlml_pci_info_t, device)", offsetof(hlml_pci_info_t, device), 20)                        \
	X("offsetof(hlml_pci_info_t, caps)", offsetof(hlml_pci_info_t, caps), 32)                            \
	X("sizeof(hlml_pci_info_newer_t)", sizeof(hlml_pci_info_newer_t), 84)                                \
	X("offsetof(hlml_pci_info_newer_t, bus_id)", offsetof(hlml_pci_info_newer_t, bus_id), 4)             \
	X("sizeof(hlml_pci_info_newer_t.bus_id)", FAKEHLML_FIELD_SIZE(hlml_pci_info_newer_t, bus_id), 19)    \
	X("offsetof(hlml_pci_info_newer_t, device)", offsetof(hlml_pci_info_newer_t, device), 24)            \
	X("offsetof(hlml_pci_info_newer_t, caps)", offsetof(hlml_pci_info_newer_t, caps), 36)                \
	X("offsetof(hlml_pci_info_newer_t, pci_rev)", offsetof(hlml_pci_info_newer_t, pci_rev), 76)          \
	X("offsetof(hlml_pci_info_newer_t, pci_subsys_id)", offsetof(hlml_pci_info_newer_t, pci_subsys_id), 80) \
	X("sizeof(hlml_utilization_t)", sizeof(hlml_utilization_t), 4)                                      \
	X("offsetof(hlml_utilization_t, aip)", offsetof(hlml_utilization_t, aip), 0)                         \
	X("sizeof(hlml_utilization_newer_t)", sizeof(hlml_utilization_newer_t), 8)                          \
	X("offsetof(hlml_utilization_newer_t, aip)", offsetof(hlml_utilization_newer_t, aip), 0)             \
	X("offsetof(hlml_utilization_newer_t, memory)", offsetof(hlml_utilization_newer_t, memory), 4)       \
	X("sizeof(hlml_memory_t)", sizeof(hlml_memory_t), 24)                                                \
	X("offsetof(hlml_memory_t, free)", offsetof(hlml_memory_t, free), 0)                                 \
	X("offsetof(hlml_memory_t, total)", offsetof(hlml_memory_t, total), 8)                               \
	X("offsetof(hlml_memory_t, used)", offsetof(hlml_memory_t, used), 16)                                \
	X("sizeof(hlml_event_data_t)", sizeof(hlml_event_data_t), 16)                                        \
	X("offsetof(hlml_event_data_t, device)", offsetof(hlml_event_data_t, device), 0)                     \
	X("offsetof(hlml_event_data_t, event_type)", offsetof(hlml_event_data_t, event_type), 8)             \
	X("sizeof(hlml_violation_time_t)", sizeof(hlml_violation_time_t), 16)                                \
	X("offsetof(hlml_violation_time_t, reference_time)", offsetof(hlml_violation_time_t, reference_time), 0) \
	X("offsetof(hlml_violation_time_t, violation_time)", offsetof(hlml_violation_time_t, violation_time), 8) \
	X("sizeof(hlml_nic_stats_info_t)", sizeof(hlml_nic_stats_info_t), 32)                                \
	X("offsetof(hlml_nic_stats_info_t, port)", offsetof(hlml_nic_stats_info_t, port), 0)                 \
	X("offsetof(hlml_nic_stats_info_t, str_buf)", offsetof(hlml_nic_stats_info_t, str_buf), 8)           \
	X("offsetof(hlml_nic_stats_info_t, val_buf)", offsetof(hlml_nic_stats_info_t, val_buf), 16)          \
	X("offsetof(hlml_nic_stats_info_t, num_of_counters_out)", offsetof(hlml_nic_stats_info_t, num_of_counters_out), 24) \
	X("sizeof(uint64_t[PORTS_ARR_SIZE])", sizeof(uint64_t[PORTS_ARR_SIZE]), 16)                          \
	X("ETH_GSTRING_LEN", ETH_GSTRING_LEN, 32)                                                            \
	X("HABANA_LINK_CNT_MAX_NUM", HABANA_LINK_CNT_MAX_NUM, 256)                                           \
	X("HL_FIELD_MAX_SIZE", HL_FIELD_MAX_SIZE, 32)                                                        \
	/* Enum values and bits passed to or read from the library. */                                      \
	X("HLML_TEMPERATURE_ON_AIP", HLML_TEMPERATURE_ON_AIP, 0)                                             \
	X("HLML_TEMPERATURE_ON_BOARD", HLML_TEMPERATURE_ON_BOARD, 1)                                         \
	X("HLML_TEMPERATURE_HBM", HLML_TEMPERATURE_HBM, 3)                                                   \
	X("HLML_TEMPERATURE_THRESHOLD_SHUTDOWN", HLML_TEMPERATURE_THRESHOLD_SHUTDOWN, 0)                     \
	X("HLML_TEMPERATURE_THRESHOLD_SLOWDOWN", HLML_TEMPERATURE_THRESHOLD_SLOWDOWN, 1)                     \
	X("HLML_TEMPERATURE_THRESHOLD_MEM_MAX", HLML_TEMPERATURE_THRESHOLD_MEM_MAX, 2)                       \
	X("HLML_TEMPERATURE_THRESHOLD_GPU_MAX", HLML_TEMPERATURE_THRESHOLD_GPU_MAX, 3)                       \
	X("HLML_CLOCK_SOC", HLML_CLOCK_SOC, 0)                                                               \
	X("HLML_PCIE_UTIL_TX_BYTES", HLML_PCIE_UTIL_TX_BYTES, 0)                                             \
	X("HLML_PCIE_UTIL_RX_BYTES", HLML_PCIE_UTIL_RX_BYTES, 1)                                             \
	X("HLML_PERF_POLICY_POWER", HLML_PERF_POLICY_POWER, 0)                                               \
	X("HLML_PERF_POLICY_THERMAL", HLML_PERF_POLICY_THERMAL, 1)                                           \
	X("HLML_MEMORY_ERROR_TYPE_CORRECTED", HLML_MEMORY_ERROR_TYPE_CORRECTED, 0)                           \
	X("HLML_MEMORY_ERROR_TYPE_UNCORRECTED", HLML_MEMORY_ERROR_TYPE_UNCORRECTED, 1)                       \
	X("HLML_VOLATILE_ECC", HLML_VOLATILE_ECC, 0)                                                         \
	X("HLML_AGGREGATE_ECC", HLML_AGGREGATE_ECC, 1)                                                       \
	X("HLML_MEMORY_LOCATION_DRAM", HLML_MEMORY_LOCATION_DRAM, 1)                                         \
	X("HLML_ROW_REPLACEMENT_CAUSE_MULTIPLE_SINGLE_BIT_ECC_ERRORS", HLML_ROW_REPLACEMENT_CAUSE_MULTIPLE_SINGLE_BIT_ECC_ERRORS, 0) \
	X("HLML_ROW_REPLACEMENT_CAUSE_DOUBLE_BIT_ECC_ERROR", HLML_ROW_REPLACEMENT_CAUSE_DOUBLE_BIT_ECC_ERROR, 1) \
	X("HLML_FEATURE_ENABLED", HLML_FEATURE_ENABLED, 1)                                                   \
	X("HLML_CLOCKS_THROTTLE_REASON_POWER", HLML_CLOCKS_THROTTLE_REASON_POWER, 1)                         \
	X("HLML_CLOCKS_THROTTLE_REASON_THERMAL", HLML_CLOCKS_THROTTLE_REASON_THERMAL, 2)                     \
	X("HLML_EVENT_ECC_DERR", HLML_EVENT_ECC_DERR, 1)                                                     \
	X("HLML_EVENT_CRITICAL_ERR", HLML_EVENT_CRITICAL_ERR, 2)                                             \
	X("HLML_EVENT_DRAM_DERR", HLML_EVENT_DRAM_DERR, 8)                                                   \
	X("HLML_EVENT_ECC_SERR", HLML_EVENT_ECC_SERR, 16)                                                    \
	X("sizeof(hlml_return_t)", sizeof(hlml_return_t), 4)

#endif
