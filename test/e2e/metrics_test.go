package e2e

import (
	"context"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/prometheus/common/model"
)

// demoDevices is the number of devices the demo config's simulator reports.
const demoDevices = 8

// gaudi3HBMBytes is the HBM of one Gaudi 3: 128 GiB = 131072 MiB.
const gaudi3HBMBytes = 131072 << 20

// contractMetrics are the per-device metrics every dashboard and alert of the project relies on,
// as the prometheus exporter names them.
var contractMetrics = []string{
	"hpu_utilization_percent",
	"hpu_memory_used_bytes",
	"hpu_memory_total_bytes",
	"hpu_temperature_celsius",
	"hpu_power_watts",
}

// descriptiveLabels describe a device rather than identify a series. They may appear only on
// hpu_info (to be joined in by hpu_index/hpu_uuid), so that no other series multiplies its
// cardinality by them.
var descriptiveLabels = []model.LabelName{
	"hpu_model",
	"hpu_serial",
	"hpu_module_id",
	"hpu_pci_bus_id",
	"hpu_driver_version",
	"hpu_firmware_version",
}

// gaudi3UUID is the format of a Gaudi 3 UUID as HLML and hl-smi report it, for example
// 01P4-HL3090A0-18-U4V193-22-07-00.
var gaudi3UUID = regexp.MustCompile(`^01P4-HL3090A0-\d{2}-[A-Z0-9]{6}-\d{2}-\d{2}-\d{2}$`)

func TestDemoMetricsOnPrometheusEndpoint(t *testing.T) {
	t.Parallel()
	c := startDemoCollector(t)
	families := waitForFamilies(t, c.process, c.metricsURL, append(slices.Clone(contractMetrics), "hpu_info")...)

	t.Run("one series per device", func(t *testing.T) {
		for _, name := range []string{"hpu_utilization_percent", "hpu_memory_used_bytes", "hpu_memory_total_bytes", "hpu_power_watts", "hpu_info"} {
			checkOneSeriesPerDevice(t, name, families[name])
		}
		bySensor := map[string]model.Vector{}
		for _, s := range families["hpu_temperature_celsius"] {
			sensor := string(s.Metric["hpu_sensor"])
			bySensor[sensor] = append(bySensor[sensor], s)
		}
		for sensor := range bySensor {
			if sensor != "on_chip" && sensor != "on_board" {
				t.Errorf("hpu_temperature_celsius has %d series with hpu_sensor=%q, want only on_chip and on_board", len(bySensor[sensor]), sensor)
			}
		}
		for _, sensor := range []string{"on_chip", "on_board"} {
			checkOneSeriesPerDevice(t, fmt.Sprintf("hpu_temperature_celsius{hpu_sensor=%q}", sensor), bySensor[sensor])
		}
	})

	t.Run("hpu_uuid", func(t *testing.T) {
		// Each problem is reported once, with the first metric it was seen on, not once per series.
		uuidByIndex := map[model.LabelValue]model.LabelValue{}
		reported := map[string]bool{}
		report := func(key, format string, args ...any) {
			if !reported[key] {
				reported[key] = true
				t.Errorf(format, args...)
			}
		}
		for _, name := range sortedKeys(families) {
			if !strings.HasPrefix(name, "hpu_") {
				continue
			}
			for _, s := range families[name] {
				index, perDevice := s.Metric["hpu_index"]
				if !perDevice {
					if slices.Contains(contractMetrics, name) || name == "hpu_info" {
						report("noindex "+name, "%s: series without hpu_index: %v", name, s.Metric)
					}
					continue
				}
				uuid := s.Metric["hpu_uuid"]
				if !gaudi3UUID.MatchString(string(uuid)) {
					report("format "+string(uuid), "hpu_uuid %q (hpu_index %s, first seen on %s) does not match the Gaudi 3 UUID format %s",
						uuid, index, name, gaudi3UUID)
					continue
				}
				if prev, ok := uuidByIndex[index]; !ok {
					uuidByIndex[index] = uuid
				} else if prev != uuid {
					report("mismatch "+string(index)+" "+string(uuid), "%s: hpu_index %s has hpu_uuid %q, other metrics have %q", name, index, uuid, prev)
				}
			}
		}
		seen := map[model.LabelValue]model.LabelValue{}
		for index, uuid := range uuidByIndex {
			if other, dup := seen[uuid]; dup {
				t.Errorf("hpu_index %s and %s share hpu_uuid %q", index, other, uuid)
			}
			seen[uuid] = index
		}
		t.Logf("hpu_uuid by hpu_index: %v", uuidByIndex)
	})

	t.Run("descriptive labels only on hpu_info", func(t *testing.T) {
		for _, name := range sortedKeys(families) {
			if name == "hpu_info" {
				continue
			}
			for _, label := range descriptiveLabels {
				n := 0
				for _, s := range families[name] {
					if _, ok := s.Metric[label]; ok {
						n++
					}
				}
				if n > 0 {
					t.Errorf("%s: %d series carry %s; descriptive labels belong only on hpu_info", name, n, label)
				}
			}
		}
		for _, s := range families["hpu_info"] {
			for _, label := range descriptiveLabels {
				if s.Metric[label] == "" {
					t.Errorf("hpu_info{hpu_index=%q}: %s is missing or empty: %v", s.Metric["hpu_index"], label, s.Metric)
				}
			}
			if s.Value != 1 {
				t.Errorf("hpu_info{hpu_index=%q} = %v, want 1", s.Metric["hpu_index"], s.Value)
			}
		}
	})

	t.Run("values", func(t *testing.T) {
		totalByIndex := map[model.LabelValue]model.SampleValue{}
		for _, s := range families["hpu_memory_total_bytes"] {
			totalByIndex[s.Metric["hpu_index"]] = s.Value
			if s.Value != gaudi3HBMBytes {
				t.Errorf("hpu_memory_total_bytes{hpu_index=%q} = %.0f, want %d (131072 MiB)", s.Metric["hpu_index"], float64(s.Value), gaudi3HBMBytes)
			}
		}
		for _, s := range families["hpu_memory_used_bytes"] {
			if total, ok := totalByIndex[s.Metric["hpu_index"]]; s.Value < 0 || (ok && s.Value > total) {
				t.Errorf("hpu_memory_used_bytes{hpu_index=%q} = %.0f, want 0..%.0f", s.Metric["hpu_index"], float64(s.Value), float64(total))
			}
		}
		checkRange(t, families, "hpu_utilization_percent", 0, 100)
		checkRange(t, families, "hpu_temperature_celsius", 20, 110)
		checkRange(t, families, "hpu_power_watts", 100, 900)
	})

	t.Run("internal telemetry on the overridden port", func(t *testing.T) {
		// The demo config serves the collector's own metrics on 127.0.0.1:8888; the test moved
		// them to a free port, which must therefore answer.
		status, body, err := httpGet(context.Background(), c.telemetryURL, textFormat)
		if err != nil {
			t.Fatal(err)
		}
		if status != http.StatusOK {
			t.Fatalf("GET %s: %d %s", c.telemetryURL, status, body)
		}
	})
}

// checkOneSeriesPerDevice requires exactly demoDevices series, one for each hpu_index 0..7.
func checkOneSeriesPerDevice(t *testing.T, what string, samples model.Vector) {
	t.Helper()
	got := indexes(samples)
	want := make([]string, demoDevices)
	for i := range want {
		want[i] = strconv.Itoa(i)
	}
	if len(samples) != demoDevices || !slices.Equal(got, want) {
		t.Errorf("%s: %d series with hpu_index %v, want %d series with hpu_index %v", what, len(samples), got, demoDevices, want)
	}
}

// indexes returns the distinct hpu_index values of samples, sorted numerically.
func indexes(samples model.Vector) []string {
	set := map[string]bool{}
	for _, s := range samples {
		set[string(s.Metric["hpu_index"])] = true
	}
	out := make([]string, 0, len(set))
	for index := range set {
		out = append(out, index)
	}
	sort.Slice(out, func(i, j int) bool {
		a, errA := strconv.Atoi(out[i])
		b, errB := strconv.Atoi(out[j])
		if errA != nil || errB != nil {
			return out[i] < out[j]
		}
		return a < b
	})
	return out
}

func checkRange(t *testing.T, families map[string]model.Vector, name string, low, high float64) {
	t.Helper()
	for _, s := range families[name] {
		if v := float64(s.Value); !(v >= low && v <= high) { // also catches NaN
			t.Errorf("%s%v = %v, want %v..%v", name, s.Metric, v, low, high)
		}
	}
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
