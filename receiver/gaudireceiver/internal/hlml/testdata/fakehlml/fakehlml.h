/*
 * The HLML C API (libhlml.so) as far as the hlml source and its fake use it, written from the
 * definitions of Habana's own header: hlml.h of HabanaAI/gohlml (MIT; the copy the project keeps
 * for reference is ../shared/reference/vendor/hlml.h). That header has the older struct layouts;
 * the newer ones (HLML 1.24: PCI_DOMAIN_LEN 9, the PCI max-link caps, pci_rev and pci_subsys_id,
 * the utilization's memory field, the HBM/VRM/CTEMP sensors and the power-cap calls) are those of
 * Intel's pyhlml 1.24 types (hlml_types.py) and the HLML C API page of the Gaudi documentation.
 *
 * Types keep the header's names for the older layouts (what gohlml compiles against); the newer
 * layouts carry a _newer suffix. The fake writes the newer, larger layouts unless a scenario asks
 * for the older ones. layout_test.c checks sizes and offsets of both against the values of the
 * 64-bit Linux ABI that the Go side reads.
 */
#ifndef FAKEHLML_H
#define FAKEHLML_H

#include <stdbool.h>
#include <stdint.h>

#define PCI_DOMAIN_LEN 5
#define PCI_ADDR_LEN ((PCI_DOMAIN_LEN) + 10)
#define PCI_DOMAIN_LEN_NEWER 9
#define PCI_ADDR_LEN_NEWER ((PCI_DOMAIN_LEN_NEWER) + 10)
#define PCI_LINK_INFO_LEN 10
#define HL_FIELD_MAX_SIZE 32
#define ETHER_ADDR_LEN 6

#define PORTS_ARR_SIZE 2
#define HLML_DEVICE_MAC_MAX_ADDRESSES 48
#define HLML_DEVICE_ROW_RPL_MAX 32
/* pyhlml sizes hlml_nic_get_statistics' buffers for this many counters, each name in a fixed
 * slot of ETH_GSTRING_LEN bytes (as ethtool's strings, which the driver's counters are). */
#define HABANA_LINK_CNT_MAX_NUM 256
#define ETH_GSTRING_LEN 32

/* HLML_EVENT_ECC_ERR is the uncorrectable (double-bit) ECC event; newer headers also name the
 * DRAM event HLML_EVENT_DRAM_DERR and add HLML_EVENT_DRAM_SERR. */
#define HLML_EVENT_ECC_ERR (1 << 0)
#define HLML_EVENT_CRITICAL_ERR (1 << 1)
#define HLML_EVENT_CLOCK_RATE (1 << 2)
#define HLML_EVENT_DRAM_ERR (1 << 3)
#define HLML_EVENT_ECC_DERR (1 << 0)
#define HLML_EVENT_ECC_SERR (1 << 4)
#define HLML_EVENT_DRAM_DERR (1 << 3)
#define HLML_EVENT_DRAM_SERR (1 << 5)

#define HLML_CLOCKS_THROTTLE_REASON_POWER (1 << 0)
#define HLML_CLOCKS_THROTTLE_REASON_THERMAL (1 << 1)

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

/* Older layout (the header's): 52 bytes. */
typedef struct hlml_pci_cap {
	char link_speed[PCI_LINK_INFO_LEN];
	char link_width[PCI_LINK_INFO_LEN];
} hlml_pci_cap_t;

typedef struct hlml_pci_info {
	unsigned int bus;
	char bus_id[PCI_ADDR_LEN];
	unsigned int device;
	unsigned int domain;
	unsigned int pci_device_id;
	hlml_pci_cap_t caps;
} hlml_pci_info_t;

/* Newer layout: 84 bytes. Everything after bus_id moves. */
typedef struct hlml_pci_cap_newer {
	char link_speed[PCI_LINK_INFO_LEN];
	char link_width[PCI_LINK_INFO_LEN];
	char link_max_speed[PCI_LINK_INFO_LEN];
	char link_max_width[PCI_LINK_INFO_LEN];
} hlml_pci_cap_newer_t;

typedef struct hlml_pci_info_newer {
	unsigned int bus;
	char bus_id[PCI_ADDR_LEN_NEWER];
	unsigned int device;
	unsigned int domain;
	unsigned int pci_device_id;
	hlml_pci_cap_newer_t caps;
	unsigned int pci_rev;
	unsigned int pci_subsys_id;
} hlml_pci_info_newer_t;

typedef enum hlml_clock_type {
	HLML_CLOCK_SOC = 0,
	HLML_CLOCK_IC = 1,
	HLML_CLOCK_MME = 2,
	HLML_CLOCK_TPC = 3,
	HLML_CLOCK_COUNT
} hlml_clock_type_t;

typedef struct hlml_utilization {
	unsigned int aip;
} hlml_utilization_t;

typedef struct hlml_utilization_newer {
	unsigned int aip;
	unsigned int memory;
} hlml_utilization_newer_t;

/* The same in every release; note the order free, total, used (bytes). */
typedef struct hlml_memory {
	unsigned long long free;
	unsigned long long total;
	unsigned long long used;
} hlml_memory_t;

/* HBM, VRM and CTEMP are newer. */
typedef enum hlml_temperature_sensors {
	HLML_TEMPERATURE_ON_AIP = 0,
	HLML_TEMPERATURE_ON_BOARD = 1,
	HLML_TEMPERATURE_OTHER = 2,
	HLML_TEMPERATURE_HBM = 3,
	HLML_TEMPERATURE_VRM = 4,
	HLML_TEMPERATURE_CTEMP = 5,
} hlml_temperature_sensors_t;

typedef enum hlml_temperature_thresholds {
	HLML_TEMPERATURE_THRESHOLD_SHUTDOWN = 0,
	HLML_TEMPERATURE_THRESHOLD_SLOWDOWN = 1,
	HLML_TEMPERATURE_THRESHOLD_MEM_MAX = 2,
	HLML_TEMPERATURE_THRESHOLD_GPU_MAX = 3,
	HLML_TEMPERATURE_THRESHOLD_COUNT
} hlml_temperature_thresholds_t;

typedef enum hlml_enable_state {
	HLML_FEATURE_DISABLED = 0,
	HLML_FEATURE_ENABLED = 1
} hlml_enable_state_t;

typedef enum hlml_memory_error_type {
	HLML_MEMORY_ERROR_TYPE_CORRECTED = 0,
	HLML_MEMORY_ERROR_TYPE_UNCORRECTED = 1,
	HLML_MEMORY_ERROR_TYPE_COUNT
} hlml_memory_error_type_t;

typedef enum hlml_memory_location_type {
	HLML_MEMORY_LOCATION_SRAM = 0,
	HLML_MEMORY_LOCATION_DRAM = 1,
	HLML_MEMORY_LOCATION_COUNT
} hlml_memory_location_type_t;

typedef enum hlml_ecc_counter_type {
	HLML_VOLATILE_ECC = 0,
	HLML_AGGREGATE_ECC = 1,
	HLML_ECC_COUNTER_TYPE_COUNT
} hlml_ecc_counter_type_t;

typedef void *hlml_device_t;
typedef void *hlml_event_set_t;

typedef struct hlml_event_data {
	hlml_device_t device;
	unsigned long long event_type;
} hlml_event_data_t;

typedef struct hlml_mac_info {
	unsigned char addr[ETHER_ADDR_LEN];
	int id;
} hlml_mac_info_t;

/* The caller owns the three buffers; nothing says how large they are, so the library writes as
 * many counters as the port has (at most HABANA_LINK_CNT_MAX_NUM). */
typedef struct hlml_nic_stats_info {
	uint32_t port;
	char *str_buf;
	uint64_t *val_buf;
	uint32_t *num_of_counters_out;
} hlml_nic_stats_info_t;

typedef enum hlml_pcie_util_counter {
	HLML_PCIE_UTIL_TX_BYTES = 0,
	HLML_PCIE_UTIL_RX_BYTES = 1,
	HLML_PCIE_UTIL_COUNT,
} hlml_pcie_util_counter_t;

typedef enum hlml_perf_policy_type {
	HLML_PERF_POLICY_POWER = 0,
	HLML_PERF_POLICY_THERMAL = 1,
	HLML_PERF_POLICY_COUNT
} hlml_perf_policy_type_t;

typedef struct hlml_violation_time {
	unsigned long long reference_time;
	unsigned long long violation_time;
} hlml_violation_time_t;

typedef enum hlml_row_replacement_cause {
	HLML_ROW_REPLACEMENT_CAUSE_MULTIPLE_SINGLE_BIT_ECC_ERRORS = 0,
	HLML_ROW_REPLACEMENT_CAUSE_DOUBLE_BIT_ECC_ERROR = 1,
	HLML_ROW_REPLACEMENT_CAUSE_COUNT
} hlml_row_replacement_cause_t;

typedef struct hlml_row_address {
	uint8_t hbm_idx;
	uint8_t pc;
	uint8_t sid;
	uint8_t bank_idx;
	uint16_t row_addr;
} hlml_row_address_t;

hlml_return_t hlml_init(void);
hlml_return_t hlml_shutdown(void);
hlml_return_t hlml_get_driver_version(char *driver_version, unsigned int length);

hlml_return_t hlml_device_get_count(unsigned int *device_count);
hlml_return_t hlml_device_get_handle_by_index(unsigned int index, hlml_device_t *device);

hlml_return_t hlml_device_get_name(hlml_device_t device, char *name, unsigned int length);
hlml_return_t hlml_device_get_uuid(hlml_device_t device, char *uuid, unsigned int length);
hlml_return_t hlml_device_get_serial(hlml_device_t device, char *serial, unsigned int length);
hlml_return_t hlml_device_get_module_id(hlml_device_t device, unsigned int *module_id);
hlml_return_t hlml_device_get_minor_number(hlml_device_t device, unsigned int *minor_number);
/* Writes hlml_pci_info_t or, by default, hlml_pci_info_newer_t. */
hlml_return_t hlml_device_get_pci_info(hlml_device_t device, hlml_pci_info_t *pci);
hlml_return_t hlml_get_firmware_fit_version(hlml_device_t device, char *firmware_fit, unsigned int length);
/* Newer. */
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
/* Newer: the cap in force, which hl-smi -p sets (mW). */
hlml_return_t hlml_device_get_power_management_limit(hlml_device_t device, unsigned int *limit);
hlml_return_t hlml_device_get_total_energy_consumption(hlml_device_t device, unsigned long long *energy);
hlml_return_t hlml_device_get_clock_info(hlml_device_t device, hlml_clock_type_t type, unsigned int *clock);
hlml_return_t hlml_device_get_max_clock_info(hlml_device_t device, hlml_clock_type_t type, unsigned int *clock);
hlml_return_t hlml_device_get_current_clocks_throttle_reasons(hlml_device_t device,
							     unsigned long long *clocks_throttle_reasons);
hlml_return_t hlml_device_get_violation_status(hlml_device_t device, hlml_perf_policy_type_t perf_policy_type,
					       hlml_violation_time_t *viol_time);
hlml_return_t hlml_device_get_pcie_throughput(hlml_device_t device, hlml_pcie_util_counter_t counter,
					      unsigned int *value);
hlml_return_t hlml_device_get_pcie_replay_counter(hlml_device_t device, unsigned int *value);
hlml_return_t hlml_device_get_curr_pcie_link_generation(hlml_device_t device, unsigned int *curr_link_gen);
hlml_return_t hlml_device_get_curr_pcie_link_width(hlml_device_t device, unsigned int *curr_link_width);
hlml_return_t hlml_device_get_ecc_mode(hlml_device_t device, hlml_enable_state_t *current,
				       hlml_enable_state_t *pending);
hlml_return_t hlml_device_get_total_ecc_errors(hlml_device_t device, hlml_memory_error_type_t error_type,
					       hlml_ecc_counter_type_t counter_type, unsigned long long *ecc_counts);
hlml_return_t hlml_device_get_memory_error_counter(hlml_device_t device, hlml_memory_error_type_t error_type,
						   hlml_ecc_counter_type_t counter_type,
						   hlml_memory_location_type_t location, unsigned long long *ecc_counts);
hlml_return_t hlml_device_get_replaced_rows(hlml_device_t device, hlml_row_replacement_cause_t cause,
					    unsigned int *row_count, hlml_row_address_t *addresses);
hlml_return_t hlml_device_get_replaced_rows_pending_status(hlml_device_t device, hlml_enable_state_t *is_pending);
hlml_return_t hlml_get_mac_addr_info(hlml_device_t device, uint64_t *mask, uint64_t *ext_mask);
hlml_return_t hlml_nic_get_link(hlml_device_t device, uint32_t port, bool *up);
hlml_return_t hlml_nic_get_statistics(hlml_device_t device, hlml_nic_stats_info_t *stats_info);

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
/* Block until a call is inside hlml_event_set_wait (or inside a scenario delay or hang); 1 if so. */
int fake_hlml_await_waiter(unsigned int timeout_ms);
int fake_hlml_await_delay(unsigned int timeout_ms);
/* Lets every call held by a "hang" directive return, now and from now on. */
void fake_hlml_release_hangs(void);
/* Calls of one HLML function since the counters were reset. */
unsigned int fake_hlml_calls(const char *function);
/* Calls of every HLML function since the counters were reset. */
unsigned long long fake_hlml_total_calls(void);
/* The most HLML calls that were ever in flight at once since the counters were reset. */
unsigned int fake_hlml_max_concurrent_calls(void);
/* The shortest timeout hlml_event_set_wait was given since the counters were reset (~0u: none). */
unsigned int fake_hlml_min_wait_timeout(void);
/* Bytes the "leak" directive has leaked since the library was loaded. */
unsigned long long fake_hlml_leaked_bytes(void);
/* sizeof/offsetof of the layouts above, so a test can check the Go side's constants. */
long fake_hlml_layout(const char *what);

#endif
