/*
 * The part of the HLML C API (libhlml.so) that the hlml source calls, written from the
 * project's reference notes (shared/reference/gaudi-telemetry.md §2), not copied from Intel's
 * header. Where a struct differs between HLML releases both layouts are given: the fake writes
 * the newer, larger one unless a scenario asks for the older one.
 */
#ifndef FAKEHLML_H
#define FAKEHLML_H

#include <stdbool.h>
#include <stdint.h>

typedef enum hlml_return {
	HLML_SUCCESS = 0,
	HLML_ERROR_UNINITIALIZED = 1,
	HLML_ERROR_INVALID_ARGUMENT = 2,
	HLML_ERROR_NOT_SUPPORTED = 3,
	HLML_ERROR_ALREADY_INITIALIZED = 5,
	HLML_ERROR_NOT_FOUND = 6,
	HLML_ERROR_INSUFFICIENT_SIZE = 7,
	HLML_ERROR_DRIVER_NOT_LOADED = 9,
	HLML_ERROR_TIMEOUT = 10,
	HLML_ERROR_AIP_IS_LOST = 15,
	HLML_ERROR_MEMORY = 20,
	HLML_ERROR_NO_DATA = 21,
	HLML_ERROR_UNKNOWN = 49,
} hlml_return_t;

typedef void *hlml_device_t;
typedef void *hlml_event_set_t;

typedef enum hlml_enable_state {
	HLML_FEATURE_DISABLED = 0,
	HLML_FEATURE_ENABLED = 1,
} hlml_enable_state_t;

typedef enum hlml_temperature_sensors {
	HLML_TEMPERATURE_ON_AIP = 0,
	HLML_TEMPERATURE_ON_BOARD = 1,
	HLML_TEMPERATURE_OTHER = 2,
} hlml_temperature_sensors_t;

typedef enum hlml_temperature_thresholds {
	HLML_TEMPERATURE_THRESHOLD_SHUTDOWN = 0,
	HLML_TEMPERATURE_THRESHOLD_SLOWDOWN = 1,
	HLML_TEMPERATURE_THRESHOLD_MEM_MAX = 2,
	HLML_TEMPERATURE_THRESHOLD_GPU_MAX = 3,
	HLML_TEMPERATURE_THRESHOLD_COUNT,
} hlml_temperature_thresholds_t;

typedef enum hlml_clock_type {
	HLML_CLOCK_SOC = 0,
} hlml_clock_type_t;

typedef enum hlml_pcie_util_counter {
	HLML_PCIE_UTIL_TX_BYTES = 0,
	HLML_PCIE_UTIL_RX_BYTES = 1,
} hlml_pcie_util_counter_t;

typedef enum hlml_row_replacement_cause {
	HLML_ROW_REPLACEMENT_CAUSE_MULTIPLE_SINGLE_BIT_ECC_ERRORS = 0,
	HLML_ROW_REPLACEMENT_CAUSE_DOUBLE_BIT_ECC_ERROR = 1,
	HLML_ROW_REPLACEMENT_CAUSE_COUNT,
} hlml_row_replacement_cause_t;

#define HLML_CLOCKS_THROTTLE_REASON_POWER (1ULL << 0)
#define HLML_CLOCKS_THROTTLE_REASON_THERMAL (1ULL << 1)

#define HLML_EVENT_ECC_ERR (1ULL << 0)
#define HLML_EVENT_ECC_DERR HLML_EVENT_ECC_ERR
#define HLML_EVENT_CRITICAL_ERR (1ULL << 1)
#define HLML_EVENT_CLOCK_RATE (1ULL << 2)
#define HLML_EVENT_DRAM_ERR (1ULL << 3)
#define HLML_EVENT_ECC_SERR (1ULL << 4)

#define PCI_LINK_INFO_LEN 10
#define PORTS_ARR_SIZE 2

/* Newer releases: PCI_DOMAIN_LEN 9, so bus_id[19]; caps gain the max link fields; pci_rev and
 * pci_subsys_id are appended. */
#define PCI_ADDR_LEN (9 + 10)

typedef struct hlml_pci_cap {
	char link_speed[PCI_LINK_INFO_LEN];
	char link_width[PCI_LINK_INFO_LEN];
	char link_max_speed[PCI_LINK_INFO_LEN];
	char link_max_width[PCI_LINK_INFO_LEN];
} hlml_pci_cap_t;

typedef struct hlml_pci_info {
	unsigned int bus;
	char bus_id[PCI_ADDR_LEN];
	unsigned int device;
	unsigned int domain;
	unsigned int pci_device_id;
	hlml_pci_cap_t caps;
	unsigned int pci_rev;
	unsigned int pci_subsys_id;
} hlml_pci_info_t;

typedef struct hlml_utilization {
	unsigned int aip;
	unsigned int memory;
} hlml_utilization_t;

/* Older releases: PCI_DOMAIN_LEN 5, so bus_id[15]; two caps strings; no pci_rev/subsys. */
#define OLD_PCI_ADDR_LEN (5 + 10)

typedef struct old_hlml_pci_cap {
	char link_speed[PCI_LINK_INFO_LEN];
	char link_width[PCI_LINK_INFO_LEN];
} old_hlml_pci_cap_t;

typedef struct old_hlml_pci_info {
	unsigned int bus;
	char bus_id[OLD_PCI_ADDR_LEN];
	unsigned int device;
	unsigned int domain;
	unsigned int pci_device_id;
	old_hlml_pci_cap_t caps;
} old_hlml_pci_info_t;

typedef struct old_hlml_utilization {
	unsigned int aip;
} old_hlml_utilization_t;

/* The same in every release; note the order free, total, used (bytes). */
typedef struct hlml_memory {
	unsigned long long free;
	unsigned long long total;
	unsigned long long used;
} hlml_memory_t;

typedef struct hlml_event_data {
	hlml_device_t device;
	unsigned long long event_type;
} hlml_event_data_t;

typedef struct hlml_row_address {
	uint8_t hbm_idx;
	uint8_t pc;
	uint8_t sid;
	uint8_t bank_idx;
	uint16_t row_addr;
} hlml_row_address_t;

hlml_return_t hlml_init(void);
hlml_return_t hlml_shutdown(void);
hlml_return_t hlml_get_driver_version(char *version, unsigned int length);

hlml_return_t hlml_device_get_count(unsigned int *device_count);
hlml_return_t hlml_device_get_handle_by_index(unsigned int index, hlml_device_t *device);

hlml_return_t hlml_device_get_name(hlml_device_t device, char *name, unsigned int length);
hlml_return_t hlml_device_get_uuid(hlml_device_t device, char *uuid, unsigned int length);
hlml_return_t hlml_device_get_serial(hlml_device_t device, char *serial, unsigned int length);
hlml_return_t hlml_device_get_module_id(hlml_device_t device, unsigned int *module_id);
hlml_return_t hlml_device_get_pci_info(hlml_device_t device, hlml_pci_info_t *pci);
hlml_return_t hlml_get_firmware_fit_version(hlml_device_t device, char *version, unsigned int length);
hlml_return_t hlml_device_get_oper_status(hlml_device_t device, char *status, unsigned int length);

hlml_return_t hlml_device_get_utilization_rates(hlml_device_t device, hlml_utilization_t *utilization);
hlml_return_t hlml_device_get_memory_info(hlml_device_t device, hlml_memory_t *memory);
hlml_return_t hlml_device_get_temperature(hlml_device_t device, hlml_temperature_sensors_t sensor_type,
					  unsigned int *temp);
hlml_return_t hlml_device_get_temperature_threshold(hlml_device_t device,
						    hlml_temperature_thresholds_t threshold_type,
						    unsigned int *temp);
hlml_return_t hlml_device_get_power_usage(hlml_device_t device, unsigned int *power);
hlml_return_t hlml_device_get_power_management_default_limit(hlml_device_t device, unsigned int *default_limit);
hlml_return_t hlml_device_get_total_energy_consumption(hlml_device_t device, unsigned long long *energy);
hlml_return_t hlml_device_get_clock_info(hlml_device_t device, hlml_clock_type_t type, unsigned int *clock);
hlml_return_t hlml_device_get_max_clock_info(hlml_device_t device, hlml_clock_type_t type, unsigned int *clock);
hlml_return_t hlml_device_get_current_clocks_throttle_reasons(hlml_device_t device,
							     unsigned long long *clocks_throttle_reasons);
hlml_return_t hlml_device_get_pcie_throughput(hlml_device_t device, hlml_pcie_util_counter_t counter,
					      unsigned int *value);
hlml_return_t hlml_device_get_pcie_replay_counter(hlml_device_t device, unsigned int *value);
hlml_return_t hlml_device_get_curr_pcie_link_generation(hlml_device_t device, unsigned int *curr_link_gen);
hlml_return_t hlml_device_get_curr_pcie_link_width(hlml_device_t device, unsigned int *curr_link_width);
hlml_return_t hlml_device_get_ecc_mode(hlml_device_t device, hlml_enable_state_t *current,
				       hlml_enable_state_t *pending);
hlml_return_t hlml_device_get_replaced_rows(hlml_device_t device, hlml_row_replacement_cause_t cause,
					    unsigned int *row_count, hlml_row_address_t *addresses);
hlml_return_t hlml_device_get_replaced_rows_pending_status(hlml_device_t device, hlml_enable_state_t *is_pending);
hlml_return_t hlml_get_mac_addr_info(hlml_device_t device, uint64_t *mask, uint64_t *ext_mask);
hlml_return_t hlml_nic_get_link(hlml_device_t device, uint32_t port, bool *up);

hlml_return_t hlml_event_set_create(hlml_event_set_t *set);
hlml_return_t hlml_event_set_free(hlml_event_set_t set);
hlml_return_t hlml_device_register_events(hlml_device_t device, unsigned long long event_types,
					  hlml_event_set_t set);
hlml_return_t hlml_event_set_wait(hlml_event_set_t set, hlml_event_data_t *data, unsigned int timeoutms);

/* Test controls of the fake, called by the Go tests through purego. */
unsigned int fake_hlml_init_count(void);
unsigned int fake_hlml_shutdown_count(void);
/* Calls made while the library was not initialised: must stay 0 (no call races shutdown). */
unsigned int fake_hlml_uninitialized_calls(void);
unsigned int fake_hlml_live_event_sets(void);
void fake_hlml_reset_counters(void);
hlml_return_t fake_hlml_inject_event(unsigned int index, unsigned long long event_type);
/* Block until a call is inside hlml_event_set_wait (or inside a scenario delay); 1 if so. */
int fake_hlml_await_waiter(unsigned int timeout_ms);
int fake_hlml_await_delay(unsigned int timeout_ms);
/* sizeof/offsetof of the layouts above, so a test can check the Go side's constants. */
long fake_hlml_layout(const char *what);

#endif
