/*
 * A fake libhlml.so for the hlml source's tests: the real function names, signatures, return
 * codes and struct layouts (fakehlml.h, written from Habana's hlml.h), with readings taken from
 * a scenario, and the faults a real library has: any return code per function, slow calls, calls
 * that never return, memory leaks, writes past a buffer.
 *
 * Build: gcc -shared -fPIC -pthread -o libhlml.so fakehlml.c
 *
 * hlml_init resets every device to the defaults below and then reads the scenario file named by
 * the environment variable FAKE_HLML_SCENARIO (if set). One directive a line, '#' starts a
 * comment; DEV is a device index or '*' for every device ('-' or '*' for calls without one):
 *
 *   devices N                            number of devices (default 8, at most 64)
 *   layout old|new                       struct layouts written (default new: the larger)
 *   driver VERSION                       hlml_get_driver_version
 *   device DEV FIELD VALUE               set a reading, FIELD one of:
 *       name uuid serial bus_id fw oper_status             (strings without spaces)
 *       module_id util mem_total mem_used (bytes) temp_aip temp_board (°C)
 *       thr_shutdown thr_slowdown thr_mem thr_aip temp_hbm (°C) power_mw power_limit_mw
 *       power_cap_mw energy_mj clock_mhz clock_max_mhz throttle (bitmask) viol_power_ns
 *       viol_thermal_ns pcie_rx pcie_tx replays link_gen link_width ecc pending (0/1)
 *       rows_single rows_double ports_mask ext_mask (port bitmasks, 0..63) minor
 *       ecc_corrected_volatile ecc_uncorrected_volatile ecc_corrected_aggregate
 *       ecc_uncorrected_aggregate, the same with dram_ after ecc_ (counts)
 *       nic_counters_out (a count hlml_nic_get_statistics reports without writing that many)
 *       link_down (a port whose link is down)
 *   error DEV FUNCTION CODE [TIMES]      FUNCTION returns CODE (AIP_IS_LOST, HLML_ERROR_TIMEOUT
 *                                        or a number), for TIMES calls or always
 *   delay DEV FUNCTION MS                FUNCTION sleeps MS milliseconds before it answers
 *   hang DEV FUNCTION                    FUNCTION does not return until fake_hlml_release_hangs
 *   leak DEV FUNCTION BYTES              FUNCTION leaks BYTES of heap on every call
 *   overrun FUNCTION BYTES               FUNCTION writes BYTES past the buffer it was given
 *   disappear DEV after_reads N [count]  after N calls of hlml_device_get_count, DEV is lost: its
 *                                        handle lookup fails with NOT_FOUND and calls on its old
 *                                        handle with AIP_IS_LOST; with "count" the device count
 *                                        drops to DEV instead
 *   event DEV TYPE                       queue an event: critical ecc_double_bit ecc_single_bit
 *                                        dram clock_rate; delivered once DEV is registered for it
 *
 * Defaults: 8 idle Gaudi 3 (HL-325L) devices, 131072 MiB HBM, 226000 mW + 500 mW per index,
 * 24 NIC ports with 8, 22 and 23 external, all links up; the other defaults are in set_defaults.
 *
 * hlml_event_set_wait with a timeout of 0 waits until an event arrives or HLML shuts down: what 0
 * means is undocumented, and this is the worst reading of it.
 */
#include "fakehlml.h"
#include "layout.h"

#include <errno.h>
#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAX_DEVICES 64
#define MAX_RULES 64
#define MAX_EVENTS 256
#define STR_LEN 128

struct device {
	char name[STR_LEN], uuid[STR_LEN], serial[STR_LEN], bus_id[STR_LEN], fw[STR_LEN], oper_status[STR_LEN];
	unsigned int module_id, util, temp_aip, temp_board, thresholds[HLML_TEMPERATURE_THRESHOLD_COUNT];
	unsigned int power_mw, power_limit_mw, clock_mhz, clock_max_mhz, pcie_rx, pcie_tx, replays;
	unsigned int link_gen, link_width, ecc, pending, rows[HLML_ROW_REPLACEMENT_CAUSE_COUNT];
	unsigned int minor, temp_hbm, power_cap_mw, nic_counters_out;
	unsigned long long mem_total, mem_used, energy_mj, throttle, ports_mask, ext_mask, link_down;
	unsigned long long viol_ns[HLML_PERF_POLICY_COUNT];
	unsigned long long ecc_total[HLML_MEMORY_ERROR_TYPE_COUNT][HLML_ECC_COUNTER_TYPE_COUNT];
	unsigned long long ecc_dram[HLML_MEMORY_ERROR_TYPE_COUNT][HLML_ECC_COUNTER_TYPE_COUNT];
	int lost;
};

enum rule_kind { RULE_ERROR, RULE_DELAY, RULE_OVERRUN, RULE_HANG, RULE_LEAK };

struct rule {
	enum rule_kind kind;
	int device; /* -1: any */
	char function[STR_LEN];
	long value;
	long remaining; /* -1: unlimited */
};

struct event {
	unsigned int device;
	unsigned long long type;
};

struct event_set {
	unsigned long long registered[MAX_DEVICES];
};

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t changed = PTHREAD_COND_INITIALIZER;

static int initialized;
static unsigned int init_calls, shutdown_calls, uninitialized_calls, live_sets, waiters, delayed;
static struct device devices[MAX_DEVICES];
static unsigned int device_count;
static int old_layout;
static char driver_version[STR_LEN];
static struct rule rules[MAX_RULES];
static int rule_count;
static struct event events[MAX_EVENTS];
static int event_count;
static unsigned long long count_calls;
static int disappear_device = -1, disappear_count_mode;
static unsigned long long disappear_after;

/* Calls per function, calls in flight, the shortest event wait, hangs and leaks. */
#define MAX_FUNCTIONS 64
static struct {
	const char *function;
	unsigned int calls;
} call_counts[MAX_FUNCTIONS];
static unsigned int in_flight, max_in_flight, min_wait_timeout = ~0u;
static int hangs_released;
struct leak {
	struct leak *next;
	size_t size;
};
static struct leak *leaks;
static unsigned long long leaked_bytes;

/* The counters hlml_nic_get_statistics reports for every port, in the driver's order: its PCS
 * counters, then MAC RX and TX counters (the driver names etherStatsOctets in both), then error
 * counters (habanalabs driver, hl_nic_mac_stats_rx/tx and gaudi2_nic_err_stats). */
static const char *const nic_counter_names[] = {
	"pcs_local_faults",	"pcs_remote_faults",	"pcs_remote_fault_reconfig", "pcs_link_restores",
	"etherStatsOctets",	"OctetsReceivedOK",	"aFramesReceivedOK",	    "aFrameCheckSequenceErrors",
	"ifInErrors",		"etherStatsDropEvents", "etherStatsOctets",	    "OctetsTransmittedOK",
	"aFramesTransmittedOK", "ifOutErrors",		"Congestion Q err",	    "pre_FEC_SER_exp (negative)",
};
#define NIC_COUNTERS (sizeof(nic_counter_names) / sizeof(nic_counter_names[0]))

static const char *const bus_ids[] = {"0000:e9:00.0", "0000:c1:00.0", "0000:b7:00.0", "0000:ad:00.0",
				      "0000:a3:00.0", "0000:df:00.0", "0000:d5:00.0", "0000:cb:00.0"};
static const unsigned int module_ids[] = {2, 3, 0, 1, 6, 7, 4, 5};

static void set_defaults(void)
{
	memset(devices, 0, sizeof(devices));
	for (unsigned int i = 0; i < MAX_DEVICES; i++) {
		struct device *d = &devices[i];
		snprintf(d->name, STR_LEN, "HL-325L");
		snprintf(d->uuid, STR_LEN, "01P4-HL3090A0-18-U4V193-22-07-%02u", i);
		snprintf(d->serial, STR_LEN, "AN500161%02u", i);
		if (i < 8)
			snprintf(d->bus_id, STR_LEN, "%s", bus_ids[i]);
		else
			snprintf(d->bus_id, STR_LEN, "0000:%02x:00.0", 0x10 + i);
		snprintf(d->fw, STR_LEN, "hl-1.22.1-fw-59.2.3.0");
		snprintf(d->oper_status, STR_LEN, "operational");
		d->module_id = i < 8 ? module_ids[i] : i;
		d->util = 3 * i;
		d->mem_total = 131072ULL << 20;
		d->mem_used = 672ULL << 20;
		d->temp_aip = 36 + i / 2;
		d->temp_board = 32 + i / 2;
		d->thresholds[HLML_TEMPERATURE_THRESHOLD_SHUTDOWN] = 103;
		d->thresholds[HLML_TEMPERATURE_THRESHOLD_SLOWDOWN] = 93;
		d->thresholds[HLML_TEMPERATURE_THRESHOLD_MEM_MAX] = 125;
		d->thresholds[HLML_TEMPERATURE_THRESHOLD_GPU_MAX] = 90;
		d->power_mw = 226000 + 500 * i;
		d->power_limit_mw = 850000;
		d->energy_mj = 1000000000ULL + 1234567ULL * i;
		d->clock_mhz = 1600;
		d->clock_max_mhz = 1600;
		d->pcie_rx = 1200 + 10 * i;
		d->pcie_tx = 800 + 10 * i;
		d->replays = i;
		d->link_gen = 5;
		d->link_width = 16;
		d->ecc = 1;
		d->rows[HLML_ROW_REPLACEMENT_CAUSE_MULTIPLE_SINGLE_BIT_ECC_ERRORS] = i % 3;
		d->ports_mask = (1ULL << 24) - 1;
		d->ext_mask = (1ULL << 8) | (1ULL << 22) | (1ULL << 23);
		d->minor = i;
		d->temp_hbm = 40 + i / 2;
		d->power_cap_mw = 850000;
		d->viol_ns[HLML_PERF_POLICY_POWER] = 1000000000ULL * i;
		d->viol_ns[HLML_PERF_POLICY_THERMAL] = 250000000ULL * i;
		d->ecc_total[HLML_MEMORY_ERROR_TYPE_CORRECTED][HLML_VOLATILE_ECC] = 10 * i;
		d->ecc_total[HLML_MEMORY_ERROR_TYPE_CORRECTED][HLML_AGGREGATE_ECC] = 100 * i;
		d->ecc_total[HLML_MEMORY_ERROR_TYPE_UNCORRECTED][HLML_AGGREGATE_ECC] = i % 2;
		d->ecc_dram[HLML_MEMORY_ERROR_TYPE_CORRECTED][HLML_VOLATILE_ECC] = 5 * i;
		d->ecc_dram[HLML_MEMORY_ERROR_TYPE_CORRECTED][HLML_AGGREGATE_ECC] = 50 * i;
		d->ecc_dram[HLML_MEMORY_ERROR_TYPE_UNCORRECTED][HLML_AGGREGATE_ECC] = i % 2;
	}
	device_count = 8;
	old_layout = 0;
	snprintf(driver_version, STR_LEN, "1.22.1-97ec1a4");
	rule_count = 0;
	event_count = 0;
	count_calls = 0;
	disappear_device = -1;
	disappear_count_mode = 0;
}

static int parse_code(const char *s, long *code)
{
	static const struct {
		const char *name;
		hlml_return_t code;
	} codes[] = {
		{"SUCCESS", HLML_SUCCESS},
		{"UNINITIALIZED", HLML_ERROR_UNINITIALIZED},
		{"INVALID_ARGUMENT", HLML_ERROR_INVALID_ARGUMENT},
		{"NOT_SUPPORTED", HLML_ERROR_NOT_SUPPORTED},
		{"ALREADY_INITIALIZED", HLML_ERROR_ALREADY_INITIALIZED},
		{"NOT_FOUND", HLML_ERROR_NOT_FOUND},
		{"INSUFFICIENT_SIZE", HLML_ERROR_INSUFFICIENT_SIZE},
		{"DRIVER_NOT_LOADED", HLML_ERROR_DRIVER_NOT_LOADED},
		{"TIMEOUT", HLML_ERROR_TIMEOUT},
		{"AIP_IS_LOST", HLML_ERROR_AIP_IS_LOST},
		{"MEMORY", HLML_ERROR_MEMORY},
		{"NO_DATA", HLML_ERROR_NO_DATA},
		{"UNKNOWN", HLML_ERROR_UNKNOWN},
	};
	if (strncmp(s, "HLML_ERROR_", 11) == 0)
		s += 11;
	else if (strncmp(s, "HLML_", 5) == 0)
		s += 5;
	for (size_t i = 0; i < sizeof(codes) / sizeof(codes[0]); i++) {
		if (strcmp(s, codes[i].name) == 0) {
			*code = codes[i].code;
			return 0;
		}
	}
	char *end;
	*code = strtol(s, &end, 0);
	return *end == '\0' ? 0 : -1;
}

static int parse_event_type(const char *s, unsigned long long *type)
{
	if (strcmp(s, "critical") == 0)
		*type = HLML_EVENT_CRITICAL_ERR;
	else if (strcmp(s, "ecc_double_bit") == 0)
		*type = HLML_EVENT_ECC_DERR;
	else if (strcmp(s, "ecc_single_bit") == 0)
		*type = HLML_EVENT_ECC_SERR;
	else if (strcmp(s, "dram") == 0)
		*type = HLML_EVENT_DRAM_ERR;
	else if (strcmp(s, "clock_rate") == 0)
		*type = HLML_EVENT_CLOCK_RATE;
	else
		return -1;
	return 0;
}

/* parse_device reads a DEV word: an index, or '*' / '-' for any (-1). */
static int parse_device(const char *s, int *dev)
{
	if (strcmp(s, "*") == 0 || strcmp(s, "-") == 0) {
		*dev = -1;
		return 0;
	}
	char *end;
	long v = strtol(s, &end, 10);
	if (*end != '\0' || v < 0 || v >= MAX_DEVICES)
		return -1;
	*dev = (int)v;
	return 0;
}

static int set_field(struct device *d, const char *field, const char *value)
{
	static const struct {
		const char *name;
		size_t offset;
	} strings[] = {
		{"name", offsetof(struct device, name)},     {"uuid", offsetof(struct device, uuid)},
		{"serial", offsetof(struct device, serial)}, {"bus_id", offsetof(struct device, bus_id)},
		{"fw", offsetof(struct device, fw)},         {"oper_status", offsetof(struct device, oper_status)},
	};
	static const struct {
		const char *name;
		size_t offset;
	} uints[] = {
		{"module_id", offsetof(struct device, module_id)},
		{"util", offsetof(struct device, util)},
		{"temp_aip", offsetof(struct device, temp_aip)},
		{"temp_board", offsetof(struct device, temp_board)},
		{"thr_shutdown", offsetof(struct device, thresholds[HLML_TEMPERATURE_THRESHOLD_SHUTDOWN])},
		{"thr_slowdown", offsetof(struct device, thresholds[HLML_TEMPERATURE_THRESHOLD_SLOWDOWN])},
		{"thr_mem", offsetof(struct device, thresholds[HLML_TEMPERATURE_THRESHOLD_MEM_MAX])},
		{"thr_aip", offsetof(struct device, thresholds[HLML_TEMPERATURE_THRESHOLD_GPU_MAX])},
		{"power_mw", offsetof(struct device, power_mw)},
		{"power_limit_mw", offsetof(struct device, power_limit_mw)},
		{"clock_mhz", offsetof(struct device, clock_mhz)},
		{"clock_max_mhz", offsetof(struct device, clock_max_mhz)},
		{"pcie_rx", offsetof(struct device, pcie_rx)},
		{"pcie_tx", offsetof(struct device, pcie_tx)},
		{"replays", offsetof(struct device, replays)},
		{"link_gen", offsetof(struct device, link_gen)},
		{"link_width", offsetof(struct device, link_width)},
		{"ecc", offsetof(struct device, ecc)},
		{"pending", offsetof(struct device, pending)},
		{"rows_single", offsetof(struct device, rows[HLML_ROW_REPLACEMENT_CAUSE_MULTIPLE_SINGLE_BIT_ECC_ERRORS])},
		{"rows_double", offsetof(struct device, rows[HLML_ROW_REPLACEMENT_CAUSE_DOUBLE_BIT_ECC_ERROR])},
		{"minor", offsetof(struct device, minor)},
		{"temp_hbm", offsetof(struct device, temp_hbm)},
		{"power_cap_mw", offsetof(struct device, power_cap_mw)},
		{"nic_counters_out", offsetof(struct device, nic_counters_out)},
	};
	static const struct {
		const char *name;
		size_t offset;
	} ulls[] = {
		{"mem_total", offsetof(struct device, mem_total)},   {"mem_used", offsetof(struct device, mem_used)},
		{"energy_mj", offsetof(struct device, energy_mj)},   {"throttle", offsetof(struct device, throttle)},
		{"ports_mask", offsetof(struct device, ports_mask)}, {"ext_mask", offsetof(struct device, ext_mask)},
		{"viol_power_ns", offsetof(struct device, viol_ns[HLML_PERF_POLICY_POWER])},
		{"viol_thermal_ns", offsetof(struct device, viol_ns[HLML_PERF_POLICY_THERMAL])},
#define ECC_FIELDS(prefix, member)                                                                           \
	{prefix "corrected_volatile", offsetof(struct device, member[0][HLML_VOLATILE_ECC])},                 \
		{prefix "uncorrected_volatile", offsetof(struct device, member[1][HLML_VOLATILE_ECC])},       \
		{prefix "corrected_aggregate", offsetof(struct device, member[0][HLML_AGGREGATE_ECC])},       \
		{prefix "uncorrected_aggregate", offsetof(struct device, member[1][HLML_AGGREGATE_ECC])}
		ECC_FIELDS("ecc_", ecc_total),
		ECC_FIELDS("ecc_dram_", ecc_dram),
#undef ECC_FIELDS
	};
	char *base = (char *)d;
	for (size_t i = 0; i < sizeof(strings) / sizeof(strings[0]); i++) {
		if (strcmp(field, strings[i].name) == 0) {
			snprintf(base + strings[i].offset, STR_LEN, "%s", value);
			return 0;
		}
	}
	char *end;
	unsigned long long v = strtoull(value, &end, 0);
	if (*end != '\0')
		return -1;
	for (size_t i = 0; i < sizeof(uints) / sizeof(uints[0]); i++) {
		if (strcmp(field, uints[i].name) == 0) {
			*(unsigned int *)(base + uints[i].offset) = (unsigned int)v;
			return 0;
		}
	}
	for (size_t i = 0; i < sizeof(ulls) / sizeof(ulls[0]); i++) {
		if (strcmp(field, ulls[i].name) == 0) {
			*(unsigned long long *)(base + ulls[i].offset) = v;
			return 0;
		}
	}
	if (strcmp(field, "link_down") == 0 && v < 64) {
		d->link_down |= 1ULL << v;
		return 0;
	}
	return -1;
}

static int parse_line(char *line)
{
	char *words[8];
	int n = 0;
	for (char *save = NULL, *w = strtok_r(line, " \t\r\n", &save); w && n < 8;
	     w = strtok_r(NULL, " \t\r\n", &save)) {
		if (w[0] == '#')
			break;
		words[n++] = w;
	}
	if (n == 0)
		return 0;
	const char *op = words[0];
	if (strcmp(op, "devices") == 0 && n == 2) {
		long v = strtol(words[1], NULL, 10);
		if (v < 0 || v > MAX_DEVICES)
			return -1;
		device_count = (unsigned int)v;
		return 0;
	}
	if (strcmp(op, "layout") == 0 && n == 2) {
		if (strcmp(words[1], "old") != 0 && strcmp(words[1], "new") != 0)
			return -1;
		old_layout = strcmp(words[1], "old") == 0;
		return 0;
	}
	if (strcmp(op, "driver") == 0 && n == 2) {
		snprintf(driver_version, STR_LEN, "%s", words[1]);
		return 0;
	}
	if (strcmp(op, "device") == 0 && n == 4) {
		int dev;
		if (parse_device(words[1], &dev) != 0)
			return -1;
		for (int i = 0; i < MAX_DEVICES; i++) {
			if ((dev < 0 || dev == i) && set_field(&devices[i], words[2], words[3]) != 0)
				return -1;
		}
		return 0;
	}
	if ((strcmp(op, "error") == 0 && (n == 4 || n == 5)) || (strcmp(op, "delay") == 0 && n == 4) ||
	    (strcmp(op, "overrun") == 0 && n == 3) || (strcmp(op, "hang") == 0 && n == 3) ||
	    (strcmp(op, "leak") == 0 && n == 4)) {
		if (rule_count == MAX_RULES)
			return -1;
		struct rule *r = &rules[rule_count];
		const char *function = words[2], *value = n > 3 ? words[3] : "0";
		r->device = -1;
		r->remaining = -1;
		if (op[0] == 'o') {
			r->kind = RULE_OVERRUN;
			function = words[1];
			value = words[2];
		} else if (parse_device(words[1], &r->device) != 0) {
			return -1;
		}
		snprintf(r->function, STR_LEN, "%s", function);
		if (op[0] == 'e') {
			r->kind = RULE_ERROR;
			if (parse_code(value, &r->value) != 0)
				return -1;
			if (n == 5)
				r->remaining = strtol(words[4], NULL, 10);
		} else {
			r->kind = op[0] == 'd' ? RULE_DELAY : op[0] == 'h' ? RULE_HANG : op[0] == 'l' ? RULE_LEAK : RULE_OVERRUN;
			r->value = strtol(value, NULL, 10);
		}
		rule_count++;
		return 0;
	}
	if (strcmp(op, "disappear") == 0 && (n == 4 || n == 5) && strcmp(words[2], "after_reads") == 0) {
		if (parse_device(words[1], &disappear_device) != 0 || disappear_device < 0)
			return -1;
		disappear_after = strtoull(words[3], NULL, 10);
		disappear_count_mode = n == 5 && strcmp(words[4], "count") == 0;
		return 0;
	}
	if (strcmp(op, "event") == 0 && n == 3) {
		int dev;
		unsigned long long type;
		if (parse_device(words[1], &dev) != 0 || dev < 0 || parse_event_type(words[2], &type) != 0 ||
		    event_count == MAX_EVENTS)
			return -1;
		events[event_count++] = (struct event){.device = (unsigned int)dev, .type = type};
		return 0;
	}
	return -1;
}

/* load_scenario returns 0, or -1 after printing the offending line. */
static int load_scenario(void)
{
	set_defaults();
	const char *path = getenv("FAKE_HLML_SCENARIO");
	if (path == NULL || path[0] == '\0')
		return 0;
	FILE *f = fopen(path, "r");
	if (f == NULL) {
		fprintf(stderr, "fakehlml: %s: %s\n", path, strerror(errno));
		return -1;
	}
	char line[512], copy[512];
	int lineno = 0, rc = 0;
	while (fgets(line, sizeof(line), f) != NULL) {
		lineno++;
		snprintf(copy, sizeof(copy), "%s", line);
		if (parse_line(line) != 0) {
			fprintf(stderr, "fakehlml: %s:%d: cannot parse: %s", path, lineno, copy);
			rc = -1;
			break;
		}
	}
	fclose(f);
	return rc;
}

static void deadline_after(struct timespec *ts, unsigned int ms)
{
	clock_gettime(CLOCK_REALTIME, ts);
	ts->tv_sec += ms / 1000;
	ts->tv_nsec += (long)(ms % 1000) * 1000000L;
	if (ts->tv_nsec >= 1000000000L) {
		ts->tv_sec++;
		ts->tv_nsec -= 1000000000L;
	}
}

static void sleep_ms(long ms)
{
	struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L};
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
	}
}

/* begin_call and end_call bracket every HLML call (CALL_SCOPE), counting the calls in flight. */
static int begin_call(void)
{
	pthread_mutex_lock(&mu);
	in_flight++;
	if (in_flight > max_in_flight)
		max_in_flight = in_flight;
	pthread_mutex_unlock(&mu);
	return 1;
}

static void end_call(int *scope)
{
	(void)scope;
	pthread_mutex_lock(&mu);
	in_flight--;
	pthread_mutex_unlock(&mu);
}

#define CALL_SCOPE int call_scope_ __attribute__((cleanup(end_call), unused)) = begin_call()

/* count_call counts a call of function (each function's own __func__, so one pointer per
 * function); mu is held. */
static void count_call(const char *function)
{
	for (int i = 0; i < MAX_FUNCTIONS; i++) {
		if (call_counts[i].function == NULL)
			call_counts[i].function = function;
		if (call_counts[i].function == function) {
			call_counts[i].calls++;
			return;
		}
	}
}

/*
 * enter is every call's prologue: it counts calls (and those made while uninitialised), applies
 * the scenario's rules for (function, device): delays, hangs, leaks and errors. device < 0 means
 * a call without a device.
 */
static hlml_return_t enter(const char *function, int device)
{
	pthread_mutex_lock(&mu);
	count_call(function);
	if (!initialized) {
		uninitialized_calls++;
		pthread_mutex_unlock(&mu);
		return HLML_ERROR_UNINITIALIZED;
	}
	long delay = 0, leak = 0;
	int hang = 0;
	hlml_return_t rc = HLML_SUCCESS;
	for (int i = 0; i < rule_count; i++) {
		struct rule *r = &rules[i];
		if (strcmp(r->function, function) != 0 || (r->device >= 0 && r->device != device))
			continue;
		if (r->kind == RULE_DELAY)
			delay += r->value;
		if (r->kind == RULE_HANG)
			hang = 1;
		if (r->kind == RULE_LEAK)
			leak += r->value;
		if (r->kind == RULE_ERROR && rc == HLML_SUCCESS && r->remaining != 0) {
			rc = (hlml_return_t)r->value;
			if (r->remaining > 0)
				r->remaining--;
		}
	}
	if (leak > 0) {
		struct leak *l = malloc(sizeof(*l) + (size_t)leak);
		if (l != NULL) {
			l->size = (size_t)leak;
			l->next = leaks;
			leaks = l;
			leaked_bytes += (unsigned long long)leak;
		}
	}
	if (hang && !hangs_released) {
		delayed++;
		pthread_cond_broadcast(&changed);
		while (!hangs_released)
			pthread_cond_wait(&changed, &mu);
		delayed--;
	}
	if (delay > 0) {
		delayed++;
		pthread_cond_broadcast(&changed);
	}
	pthread_mutex_unlock(&mu);
	if (delay > 0) {
		sleep_ms(delay);
		pthread_mutex_lock(&mu);
		delayed--;
		pthread_mutex_unlock(&mu);
	}
	return rc;
}

static long overrun(const char *function)
{
	long n = 0;
	pthread_mutex_lock(&mu);
	for (int i = 0; i < rule_count; i++) {
		if (rules[i].kind == RULE_OVERRUN && strcmp(rules[i].function, function) == 0)
			n += rules[i].value;
	}
	pthread_mutex_unlock(&mu);
	return n;
}

/* finish writes the scenario's overrun bytes past a buffer of size bytes at p. */
static void finish(const char *function, void *p, size_t size)
{
	long n = overrun(function);
	if (n > 0)
		memset((char *)p + size, 0xEE, (size_t)n);
}

/* present says whether device index is enumerated and not lost. */
static int present(unsigned int index)
{
	pthread_mutex_lock(&mu);
	int ok = index < device_count && !devices[index].lost;
	pthread_mutex_unlock(&mu);
	return ok;
}

static int is_lost(int index)
{
	pthread_mutex_lock(&mu);
	int lost = devices[index].lost;
	pthread_mutex_unlock(&mu);
	return lost;
}

static struct device *lookup(hlml_device_t handle, int *index)
{
	struct device *d = handle;
	if (d < devices || d >= devices + MAX_DEVICES)
		return NULL;
	*index = (int)(d - devices);
	return d;
}

/* DEVICE_CALL opens a function on a device handle: d and index are set, errors returned. */
#define DEVICE_CALL(handle)                                                                                  \
	CALL_SCOPE;                                                                                          \
	int index;                                                                                           \
	struct device *d = lookup(handle, &index);                                                           \
	if (d == NULL)                                                                                       \
		return HLML_ERROR_INVALID_ARGUMENT;                                                          \
	hlml_return_t entered = enter(__func__, index);                                                      \
	if (entered != HLML_SUCCESS)                                                                         \
		return entered;                                                                              \
	if (is_lost(index))                                                                                  \
		return HLML_ERROR_AIP_IS_LOST;

static hlml_return_t put_string(const char *function, char *buf, unsigned int length, const char *value)
{
	if (buf == NULL)
		return HLML_ERROR_INVALID_ARGUMENT;
	if (strlen(value) + 1 > length)
		return HLML_ERROR_INSUFFICIENT_SIZE;
	memset(buf, 0, length);
	memcpy(buf, value, strlen(value));
	finish(function, buf, length);
	return HLML_SUCCESS;
}

/* put_fixed copies into a fixed char array, truncating as the library does. */
static void put_fixed(char *dst, size_t size, const char *src)
{
	size_t n = strlen(src);
	if (n >= size)
		n = size - 1;
	memcpy(dst, src, n);
	dst[n] = '\0';
}

static hlml_return_t put_uint(unsigned int *out, unsigned int v)
{
	if (out == NULL)
		return HLML_ERROR_INVALID_ARGUMENT;
	*out = v;
	return HLML_SUCCESS;
}

static hlml_return_t put_ull(unsigned long long *out, unsigned long long v)
{
	if (out == NULL)
		return HLML_ERROR_INVALID_ARGUMENT;
	*out = v;
	return HLML_SUCCESS;
}

hlml_return_t hlml_init(void)
{
	CALL_SCOPE;
	pthread_mutex_lock(&mu);
	init_calls++;
	if (initialized) {
		pthread_mutex_unlock(&mu);
		return HLML_ERROR_ALREADY_INITIALIZED;
	}
	if (load_scenario() != 0) {
		pthread_mutex_unlock(&mu);
		return HLML_ERROR_UNKNOWN;
	}
	initialized = 1;
	pthread_mutex_unlock(&mu);
	hlml_return_t rc = enter(__func__, -1);
	if (rc != HLML_SUCCESS) {
		pthread_mutex_lock(&mu);
		initialized = 0;
		pthread_mutex_unlock(&mu);
	}
	return rc;
}

hlml_return_t hlml_shutdown(void)
{
	CALL_SCOPE;
	hlml_return_t rc = enter(__func__, -1);
	if (rc != HLML_SUCCESS)
		return rc;
	pthread_mutex_lock(&mu);
	shutdown_calls++;
	initialized = 0;
	pthread_cond_broadcast(&changed);
	pthread_mutex_unlock(&mu);
	return HLML_SUCCESS;
}

hlml_return_t hlml_get_driver_version(char *version, unsigned int length)
{
	CALL_SCOPE;
	hlml_return_t rc = enter(__func__, -1);
	if (rc != HLML_SUCCESS)
		return rc;
	return put_string(__func__, version, length, driver_version);
}

hlml_return_t hlml_device_get_count(unsigned int *count)
{
	CALL_SCOPE;
	hlml_return_t rc = enter(__func__, -1);
	if (rc != HLML_SUCCESS)
		return rc;
	pthread_mutex_lock(&mu);
	count_calls++;
	unsigned int n = device_count;
	if (disappear_device >= 0 && count_calls > disappear_after) {
		if (disappear_count_mode && (unsigned int)disappear_device < n)
			n = (unsigned int)disappear_device;
		else
			devices[disappear_device].lost = 1;
	}
	pthread_mutex_unlock(&mu);
	return put_uint(count, n);
}

hlml_return_t hlml_device_get_handle_by_index(unsigned int i, hlml_device_t *device)
{
	CALL_SCOPE;
	hlml_return_t rc = enter(__func__, i < MAX_DEVICES ? (int)i : -1);
	if (rc != HLML_SUCCESS)
		return rc;
	if (device == NULL)
		return HLML_ERROR_INVALID_ARGUMENT;
	if (!present(i))
		return HLML_ERROR_NOT_FOUND;
	*device = &devices[i];
	return HLML_SUCCESS;
}

hlml_return_t hlml_device_get_name(hlml_device_t device, char *name, unsigned int length)
{
	DEVICE_CALL(device);
	return put_string(__func__, name, length, d->name);
}

hlml_return_t hlml_device_get_uuid(hlml_device_t device, char *uuid, unsigned int length)
{
	DEVICE_CALL(device);
	return put_string(__func__, uuid, length, d->uuid);
}

hlml_return_t hlml_device_get_serial(hlml_device_t device, char *serial, unsigned int length)
{
	DEVICE_CALL(device);
	return put_string(__func__, serial, length, d->serial);
}

hlml_return_t hlml_get_firmware_fit_version(hlml_device_t device, char *version, unsigned int length)
{
	DEVICE_CALL(device);
	return put_string(__func__, version, length, d->fw);
}

hlml_return_t hlml_device_get_oper_status(hlml_device_t device, char *status, unsigned int length)
{
	DEVICE_CALL(device);
	return put_string(__func__, status, length, d->oper_status);
}

hlml_return_t hlml_device_get_module_id(hlml_device_t device, unsigned int *module_id)
{
	DEVICE_CALL(device);
	return put_uint(module_id, d->module_id);
}

hlml_return_t hlml_device_get_minor_number(hlml_device_t device, unsigned int *minor_number)
{
	DEVICE_CALL(device);
	return put_uint(minor_number, d->minor);
}

hlml_return_t hlml_device_get_pci_info(hlml_device_t device, hlml_pci_info_t *pci)
{
	DEVICE_CALL(device);
	if (pci == NULL)
		return HLML_ERROR_INVALID_ARGUMENT;
	unsigned int bus = (unsigned int)strtoul(d->bus_id + 5, NULL, 16);
	if (old_layout) {
		hlml_pci_info_t *p = pci;
		memset(p, 0x11, sizeof(*p)); /* every byte written, as a release that fills padding would */
		p->bus = bus;
		put_fixed(p->bus_id, sizeof(p->bus_id), d->bus_id);
		p->device = 0;
		p->domain = 0;
		p->pci_device_id = 0x1da31060;
		snprintf(p->caps.link_speed, PCI_LINK_INFO_LEN, "%u", d->link_gen);
		snprintf(p->caps.link_width, PCI_LINK_INFO_LEN, "x%u", d->link_width);
		finish(__func__, p, sizeof(*p));
		return HLML_SUCCESS;
	}
	hlml_pci_info_newer_t *p = (hlml_pci_info_newer_t *)pci;
	memset(p, 0x11, sizeof(*p));
	p->bus = bus;
	put_fixed(p->bus_id, sizeof(p->bus_id), d->bus_id);
	p->device = 0;
	p->domain = 0;
	p->pci_device_id = 0x1da31060;
	snprintf(p->caps.link_speed, PCI_LINK_INFO_LEN, "%u", d->link_gen);
	snprintf(p->caps.link_width, PCI_LINK_INFO_LEN, "x%u", d->link_width);
	snprintf(p->caps.link_max_speed, PCI_LINK_INFO_LEN, "%u", d->link_gen);
	snprintf(p->caps.link_max_width, PCI_LINK_INFO_LEN, "x%u", d->link_width);
	p->pci_rev = 1;
	p->pci_subsys_id = 0x1da30001;
	finish(__func__, p, sizeof(*p));
	return HLML_SUCCESS;
}

hlml_return_t hlml_device_get_utilization_rates(hlml_device_t device, hlml_utilization_t *utilization)
{
	DEVICE_CALL(device);
	if (utilization == NULL)
		return HLML_ERROR_INVALID_ARGUMENT;
	if (old_layout) {
		utilization->aip = d->util;
		finish(__func__, utilization, sizeof(*utilization));
		return HLML_SUCCESS;
	}
	hlml_utilization_newer_t *u = (hlml_utilization_newer_t *)utilization;
	u->aip = d->util;
	u->memory = (unsigned int)(d->mem_used * 100 / (d->mem_total ? d->mem_total : 1));
	finish(__func__, u, sizeof(*u));
	return HLML_SUCCESS;
}

hlml_return_t hlml_device_get_memory_info(hlml_device_t device, hlml_memory_t *memory)
{
	DEVICE_CALL(device);
	if (memory == NULL)
		return HLML_ERROR_INVALID_ARGUMENT;
	memory->free = d->mem_total - d->mem_used;
	memory->total = d->mem_total;
	memory->used = d->mem_used;
	finish(__func__, memory, sizeof(*memory));
	return HLML_SUCCESS;
}

hlml_return_t hlml_device_get_temperature(hlml_device_t device, hlml_temperature_sensors_t sensor_type,
					  unsigned int *temp)
{
	DEVICE_CALL(device);
	switch (sensor_type) {
	case HLML_TEMPERATURE_ON_AIP:
		return put_uint(temp, d->temp_aip);
	case HLML_TEMPERATURE_ON_BOARD:
		return put_uint(temp, d->temp_board);
	case HLML_TEMPERATURE_HBM:
		return put_uint(temp, d->temp_hbm);
	default:
		return HLML_ERROR_NOT_SUPPORTED;
	}
}

hlml_return_t hlml_device_get_temperature_threshold(hlml_device_t device,
						    hlml_temperature_thresholds_t threshold_type, unsigned int *temp)
{
	DEVICE_CALL(device);
	if ((unsigned int)threshold_type >= HLML_TEMPERATURE_THRESHOLD_COUNT)
		return HLML_ERROR_INVALID_ARGUMENT;
	return put_uint(temp, d->thresholds[threshold_type]);
}

hlml_return_t hlml_device_get_power_usage(hlml_device_t device, unsigned int *power)
{
	DEVICE_CALL(device);
	return put_uint(power, d->power_mw);
}

hlml_return_t hlml_device_get_power_management_default_limit(hlml_device_t device, unsigned int *default_limit)
{
	DEVICE_CALL(device);
	return put_uint(default_limit, d->power_limit_mw);
}

hlml_return_t hlml_device_get_power_management_limit(hlml_device_t device, unsigned int *limit)
{
	DEVICE_CALL(device);
	return put_uint(limit, d->power_cap_mw);
}

hlml_return_t hlml_device_get_total_energy_consumption(hlml_device_t device, unsigned long long *energy)
{
	DEVICE_CALL(device);
	return put_ull(energy, d->energy_mj);
}

hlml_return_t hlml_device_get_clock_info(hlml_device_t device, hlml_clock_type_t type, unsigned int *clock)
{
	DEVICE_CALL(device);
	if (type != HLML_CLOCK_SOC)
		return HLML_ERROR_NOT_SUPPORTED;
	return put_uint(clock, d->clock_mhz);
}

hlml_return_t hlml_device_get_max_clock_info(hlml_device_t device, hlml_clock_type_t type, unsigned int *clock)
{
	DEVICE_CALL(device);
	if (type != HLML_CLOCK_SOC)
		return HLML_ERROR_NOT_SUPPORTED;
	return put_uint(clock, d->clock_max_mhz);
}

hlml_return_t hlml_device_get_current_clocks_throttle_reasons(hlml_device_t device,
							     unsigned long long *clocks_throttle_reasons)
{
	DEVICE_CALL(device);
	return put_ull(clocks_throttle_reasons, d->throttle);
}

hlml_return_t hlml_device_get_violation_status(hlml_device_t device, hlml_perf_policy_type_t perf_policy_type,
					       hlml_violation_time_t *viol_time)
{
	DEVICE_CALL(device);
	if (viol_time == NULL || (unsigned int)perf_policy_type >= HLML_PERF_POLICY_COUNT)
		return HLML_ERROR_INVALID_ARGUMENT;
	pthread_mutex_lock(&mu);
	viol_time->reference_time = count_calls * 1000000ULL;
	pthread_mutex_unlock(&mu);
	viol_time->violation_time = d->viol_ns[perf_policy_type];
	finish(__func__, viol_time, sizeof(*viol_time));
	return HLML_SUCCESS;
}

hlml_return_t hlml_device_get_pcie_throughput(hlml_device_t device, hlml_pcie_util_counter_t counter,
					      unsigned int *value)
{
	DEVICE_CALL(device);
	switch (counter) {
	case HLML_PCIE_UTIL_TX_BYTES:
		return put_uint(value, d->pcie_tx);
	case HLML_PCIE_UTIL_RX_BYTES:
		return put_uint(value, d->pcie_rx);
	default:
		return HLML_ERROR_INVALID_ARGUMENT;
	}
}

hlml_return_t hlml_device_get_pcie_replay_counter(hlml_device_t device, unsigned int *value)
{
	DEVICE_CALL(device);
	return put_uint(value, d->replays);
}

hlml_return_t hlml_device_get_curr_pcie_link_generation(hlml_device_t device, unsigned int *curr_link_gen)
{
	DEVICE_CALL(device);
	return put_uint(curr_link_gen, d->link_gen);
}

hlml_return_t hlml_device_get_curr_pcie_link_width(hlml_device_t device, unsigned int *curr_link_width)
{
	DEVICE_CALL(device);
	return put_uint(curr_link_width, d->link_width);
}

hlml_return_t hlml_device_get_ecc_mode(hlml_device_t device, hlml_enable_state_t *current, hlml_enable_state_t *pending)
{
	DEVICE_CALL(device);
	if (current == NULL || pending == NULL)
		return HLML_ERROR_INVALID_ARGUMENT;
	*current = d->ecc ? HLML_FEATURE_ENABLED : HLML_FEATURE_DISABLED;
	*pending = *current;
	return HLML_SUCCESS;
}

hlml_return_t hlml_device_get_total_ecc_errors(hlml_device_t device, hlml_memory_error_type_t error_type,
					       hlml_ecc_counter_type_t counter_type, unsigned long long *ecc_counts)
{
	DEVICE_CALL(device);
	if ((unsigned int)error_type >= HLML_MEMORY_ERROR_TYPE_COUNT ||
	    (unsigned int)counter_type >= HLML_ECC_COUNTER_TYPE_COUNT)
		return HLML_ERROR_INVALID_ARGUMENT;
	return put_ull(ecc_counts, d->ecc_total[error_type][counter_type]);
}

hlml_return_t hlml_device_get_memory_error_counter(hlml_device_t device, hlml_memory_error_type_t error_type,
						   hlml_ecc_counter_type_t counter_type,
						   hlml_memory_location_type_t location, unsigned long long *ecc_counts)
{
	DEVICE_CALL(device);
	if ((unsigned int)error_type >= HLML_MEMORY_ERROR_TYPE_COUNT ||
	    (unsigned int)counter_type >= HLML_ECC_COUNTER_TYPE_COUNT ||
	    (unsigned int)location >= HLML_MEMORY_LOCATION_COUNT)
		return HLML_ERROR_INVALID_ARGUMENT;
	unsigned long long dram = d->ecc_dram[error_type][counter_type];
	unsigned long long total = d->ecc_total[error_type][counter_type];
	return put_ull(ecc_counts, location == HLML_MEMORY_LOCATION_DRAM ? dram : total - (dram < total ? dram : total));
}

hlml_return_t hlml_device_get_replaced_rows(hlml_device_t device, hlml_row_replacement_cause_t cause,
					    unsigned int *row_count, hlml_row_address_t *addresses)
{
	DEVICE_CALL(device);
	if (row_count == NULL || (unsigned int)cause >= HLML_ROW_REPLACEMENT_CAUSE_COUNT)
		return HLML_ERROR_INVALID_ARGUMENT;
	unsigned int n = d->rows[cause];
	if (addresses == NULL) {
		*row_count = n;
		return HLML_SUCCESS;
	}
	if (*row_count < n) {
		*row_count = n;
		return HLML_ERROR_INSUFFICIENT_SIZE;
	}
	for (unsigned int i = 0; i < n; i++)
		addresses[i] = (hlml_row_address_t){.hbm_idx = (uint8_t)i, .row_addr = (uint16_t)(0x100 + i)};
	*row_count = n;
	return HLML_SUCCESS;
}

hlml_return_t hlml_device_get_replaced_rows_pending_status(hlml_device_t device, hlml_enable_state_t *is_pending)
{
	DEVICE_CALL(device);
	if (is_pending == NULL)
		return HLML_ERROR_INVALID_ARGUMENT;
	*is_pending = d->pending ? HLML_FEATURE_ENABLED : HLML_FEATURE_DISABLED;
	return HLML_SUCCESS;
}

hlml_return_t hlml_get_mac_addr_info(hlml_device_t device, uint64_t *mask, uint64_t *ext_mask)
{
	DEVICE_CALL(device);
	if (mask == NULL || ext_mask == NULL)
		return HLML_ERROR_INVALID_ARGUMENT;
	/* The library fills PORTS_ARR_SIZE words per mask: bit n of word w is port 64*w + n. */
	mask[0] = d->ports_mask;
	mask[1] = 0;
	ext_mask[0] = d->ext_mask;
	ext_mask[1] = 0;
	finish(__func__, mask, PORTS_ARR_SIZE * sizeof(uint64_t));
	finish(__func__, ext_mask, PORTS_ARR_SIZE * sizeof(uint64_t));
	return HLML_SUCCESS;
}

hlml_return_t hlml_nic_get_link(hlml_device_t device, uint32_t port, bool *up)
{
	DEVICE_CALL(device);
	if (up == NULL)
		return HLML_ERROR_INVALID_ARGUMENT;
	if (port >= 64 || !(d->ports_mask & (1ULL << port)))
		return HLML_ERROR_INVALID_ARGUMENT;
	*up = !(d->link_down & (1ULL << port));
	return HLML_SUCCESS;
}

/* fake_nic_counter is counter k of port on device index: distinct and easy to recompute. */
static unsigned long long fake_nic_counter(int index, uint32_t port, size_t k)
{
	return 100000000ULL * (unsigned long long)index + 1000000ULL * port + 1000ULL * (k + 1);
}

hlml_return_t hlml_nic_get_statistics(hlml_device_t device, hlml_nic_stats_info_t *stats_info)
{
	DEVICE_CALL(device);
	if (stats_info == NULL || stats_info->str_buf == NULL || stats_info->val_buf == NULL ||
	    stats_info->num_of_counters_out == NULL)
		return HLML_ERROR_INVALID_ARGUMENT;
	uint32_t port = stats_info->port;
	if (port >= 64 || !(d->ports_mask & (1ULL << port)))
		return HLML_ERROR_INVALID_ARGUMENT;
	/* Fixed ETH_GSTRING_LEN slots, as ethtool's strings: a name fills its slot without a NUL
	 * only if it is exactly 32 bytes long, which none of these is. */
	memset(stats_info->str_buf, 0, NIC_COUNTERS * ETH_GSTRING_LEN);
	for (size_t k = 0; k < NIC_COUNTERS; k++) {
		strncpy(stats_info->str_buf + k * ETH_GSTRING_LEN, nic_counter_names[k], ETH_GSTRING_LEN);
		stats_info->val_buf[k] = fake_nic_counter(index, port, k);
	}
	*stats_info->num_of_counters_out = d->nic_counters_out ? d->nic_counters_out : (uint32_t)NIC_COUNTERS;
	/* An overrun writes past the names buffer pyhlml allocates: HABANA_LINK_CNT_MAX_NUM slots. */
	finish(__func__, stats_info->str_buf, HABANA_LINK_CNT_MAX_NUM * ETH_GSTRING_LEN);
	return HLML_SUCCESS;
}

hlml_return_t hlml_event_set_create(hlml_event_set_t *set)
{
	CALL_SCOPE;
	hlml_return_t rc = enter(__func__, -1);
	if (rc != HLML_SUCCESS)
		return rc;
	if (set == NULL)
		return HLML_ERROR_INVALID_ARGUMENT;
	struct event_set *s = calloc(1, sizeof(*s));
	if (s == NULL)
		return HLML_ERROR_MEMORY;
	pthread_mutex_lock(&mu);
	live_sets++;
	pthread_mutex_unlock(&mu);
	*set = s;
	return HLML_SUCCESS;
}

hlml_return_t hlml_event_set_free(hlml_event_set_t set)
{
	CALL_SCOPE;
	hlml_return_t rc = enter(__func__, -1);
	if (rc != HLML_SUCCESS)
		return rc;
	if (set == NULL)
		return HLML_ERROR_INVALID_ARGUMENT;
	pthread_mutex_lock(&mu);
	live_sets--;
	pthread_mutex_unlock(&mu);
	free(set);
	return HLML_SUCCESS;
}

hlml_return_t hlml_device_register_events(hlml_device_t device, unsigned long long event_types, hlml_event_set_t set)
{
	DEVICE_CALL(device);
	if (set == NULL)
		return HLML_ERROR_INVALID_ARGUMENT;
	struct event_set *s = set;
	pthread_mutex_lock(&mu);
	s->registered[index] |= event_types;
	pthread_mutex_unlock(&mu);
	return HLML_SUCCESS;
}

/* take_event removes the first queued event that the set is registered for; mu is held. */
static int take_event(struct event_set *s, hlml_event_data_t *data)
{
	for (int i = 0; i < event_count; i++) {
		struct event *e = &events[i];
		if (!(s->registered[e->device] & e->type))
			continue;
		data->device = &devices[e->device];
		data->event_type = e->type;
		memmove(&events[i], &events[i + 1], (size_t)(event_count - i - 1) * sizeof(events[0]));
		event_count--;
		return 1;
	}
	return 0;
}

hlml_return_t hlml_event_set_wait(hlml_event_set_t set, hlml_event_data_t *data, unsigned int timeoutms)
{
	CALL_SCOPE;
	hlml_return_t rc = enter(__func__, -1);
	if (rc != HLML_SUCCESS)
		return rc;
	if (set == NULL || data == NULL)
		return HLML_ERROR_INVALID_ARGUMENT;
	struct timespec deadline;
	deadline_after(&deadline, timeoutms);
	pthread_mutex_lock(&mu);
	if (timeoutms < min_wait_timeout)
		min_wait_timeout = timeoutms;
	waiters++;
	pthread_cond_broadcast(&changed);
	int got;
	while (!(got = take_event(set, data)) && initialized) {
		if (timeoutms == 0) {
			pthread_cond_wait(&changed, &mu);
			continue;
		}
		if (pthread_cond_timedwait(&changed, &mu, &deadline) == ETIMEDOUT) {
			got = take_event(set, data);
			break;
		}
	}
	waiters--;
	pthread_mutex_unlock(&mu);
	if (!got)
		return HLML_ERROR_TIMEOUT;
	finish(__func__, data, sizeof(*data));
	return HLML_SUCCESS;
}

unsigned int fake_hlml_init_count(void)
{
	pthread_mutex_lock(&mu);
	unsigned int n = init_calls;
	pthread_mutex_unlock(&mu);
	return n;
}

unsigned int fake_hlml_shutdown_count(void)
{
	pthread_mutex_lock(&mu);
	unsigned int n = shutdown_calls;
	pthread_mutex_unlock(&mu);
	return n;
}

unsigned int fake_hlml_uninitialized_calls(void)
{
	pthread_mutex_lock(&mu);
	unsigned int n = uninitialized_calls;
	pthread_mutex_unlock(&mu);
	return n;
}

unsigned int fake_hlml_live_event_sets(void)
{
	pthread_mutex_lock(&mu);
	unsigned int n = live_sets;
	pthread_mutex_unlock(&mu);
	return n;
}

void fake_hlml_reset_counters(void)
{
	pthread_mutex_lock(&mu);
	init_calls = shutdown_calls = uninitialized_calls = 0;
	memset(call_counts, 0, sizeof(call_counts));
	max_in_flight = in_flight;
	min_wait_timeout = ~0u;
	hangs_released = 0;
	pthread_mutex_unlock(&mu);
}

void fake_hlml_release_hangs(void)
{
	pthread_mutex_lock(&mu);
	hangs_released = 1;
	pthread_cond_broadcast(&changed);
	pthread_mutex_unlock(&mu);
}

unsigned int fake_hlml_calls(const char *function)
{
	unsigned int n = 0;
	pthread_mutex_lock(&mu);
	for (int i = 0; i < MAX_FUNCTIONS && call_counts[i].function != NULL; i++) {
		if (strcmp(call_counts[i].function, function) == 0)
			n = call_counts[i].calls;
	}
	pthread_mutex_unlock(&mu);
	return n;
}

unsigned long long fake_hlml_total_calls(void)
{
	unsigned long long n = 0;
	pthread_mutex_lock(&mu);
	for (int i = 0; i < MAX_FUNCTIONS && call_counts[i].function != NULL; i++)
		n += call_counts[i].calls;
	pthread_mutex_unlock(&mu);
	return n;
}

unsigned int fake_hlml_max_concurrent_calls(void)
{
	pthread_mutex_lock(&mu);
	unsigned int n = max_in_flight;
	pthread_mutex_unlock(&mu);
	return n;
}

unsigned int fake_hlml_min_wait_timeout(void)
{
	pthread_mutex_lock(&mu);
	unsigned int n = min_wait_timeout;
	pthread_mutex_unlock(&mu);
	return n;
}

unsigned long long fake_hlml_leaked_bytes(void)
{
	pthread_mutex_lock(&mu);
	unsigned long long n = leaked_bytes;
	pthread_mutex_unlock(&mu);
	return n;
}

hlml_return_t fake_hlml_inject_event(unsigned int index, unsigned long long event_type)
{
	pthread_mutex_lock(&mu);
	if (index >= MAX_DEVICES || event_count == MAX_EVENTS) {
		pthread_mutex_unlock(&mu);
		return HLML_ERROR_INVALID_ARGUMENT;
	}
	events[event_count++] = (struct event){.device = index, .type = event_type};
	pthread_cond_broadcast(&changed);
	pthread_mutex_unlock(&mu);
	return HLML_SUCCESS;
}

static int await(unsigned int *counter, unsigned int timeout_ms)
{
	struct timespec deadline;
	deadline_after(&deadline, timeout_ms);
	pthread_mutex_lock(&mu);
	while (*counter == 0) {
		if (pthread_cond_timedwait(&changed, &mu, &deadline) == ETIMEDOUT)
			break;
	}
	int ok = *counter > 0;
	pthread_mutex_unlock(&mu);
	return ok;
}

int fake_hlml_await_waiter(unsigned int timeout_ms)
{
	return await(&waiters, timeout_ms);
}

int fake_hlml_await_delay(unsigned int timeout_ms)
{
	return await(&delayed, timeout_ms);
}

long fake_hlml_layout(const char *what)
{
#define LAYOUT(name, expr, abi)                                                                              \
	if (strcmp(what, name) == 0)                                                                         \
		return (long)(expr);
	FAKEHLML_LAYOUTS(LAYOUT)
#undef LAYOUT
	return -1;
}
