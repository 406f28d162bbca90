package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"path/filepath"
	"testing"
)

// hpuHealth is the part of the hpu_health extension's /health and /ready bodies the tests check.
type hpuHealth struct {
	Status string `json:"status"`
	Ready  bool   `json:"ready"`
	Checks struct {
		HPUAvailable bool   `json:"hpu_available"`
		HPUCount     int    `json:"hpu_count"`
		Source       string `json:"source"`
		Receivers    []struct {
			Receiver string `json:"receiver"`
		} `json:"receivers"`
	} `json:"checks"`
}

// waitHPUHealth polls url until its status code is want and ok accepts the body, and returns the body.
func waitHPUHealth(t *testing.T, c *collector, url string, want int, ok func(hpuHealth) bool) hpuHealth {
	t.Helper()
	var got hpuHealth
	eventually(t, startupDeadline, func() (bool, string) {
		c.failIfExited(t)
		status, body, err := httpGet(context.Background(), url, "")
		if err != nil {
			return false, err.Error()
		}
		got = hpuHealth{}
		if err := json.Unmarshal(body, &got); err != nil {
			return false, fmt.Sprintf("GET %s: %d %s: %v", url, status, body, err)
		}
		if status != want || !ok(got) {
			return false, fmt.Sprintf("GET %s: %d %s, want %d", url, status, body, want)
		}
		return true, ""
	})
	return got
}

// TestHPUHealthOnSimulatedNode: the demo collector's eight simulated HPUs make it ready and healthy.
func TestHPUHealthOnSimulatedNode(t *testing.T) {
	t.Parallel()
	c := startDemoCollector(t)
	ready := waitHPUHealth(t, c, c.hpuHealthURL+"/ready", http.StatusOK, func(h hpuHealth) bool { return h.Ready })
	if !ready.Ready {
		t.Errorf("/ready: ready = false, want true")
	}
	health := waitHPUHealth(t, c, c.hpuHealthURL+"/health", http.StatusOK, func(hpuHealth) bool { return true })
	if health.Status != "healthy" || !health.Checks.HPUAvailable || health.Checks.HPUCount != 8 || health.Checks.Source != "simulator" {
		t.Errorf("/health = %+v, want healthy with 8 HPUs from the simulator", health)
	}
}

// TestHPUHealthWithoutHPU: on a node where source auto finds no backend the collector keeps running,
// /health answers 503 with zero HPUs once the receiver has scraped, and /ready stays 503.
func TestHPUHealthWithoutHPU(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	c := startDemoCollector(t,
		"receivers::gaudi::source=auto",
		"receivers::gaudi::hlml::library_path="+filepath.Join(dir, "libhlml.so"),
		"receivers::gaudi::hlsmi::path="+filepath.Join(dir, "hl-smi"),
		"receivers::gaudi::sysfs::root="+dir)
	health := waitHPUHealth(t, c, c.hpuHealthURL+"/health", http.StatusServiceUnavailable,
		func(h hpuHealth) bool { return len(h.Checks.Receivers) == 1 }) // after the first scrape
	if health.Status != "unhealthy" || health.Checks.HPUAvailable || health.Checks.HPUCount != 0 || health.Checks.Source != "none" {
		t.Errorf("/health = %+v, want unhealthy with 0 HPUs from source none", health)
	}
	status, body, err := httpGet(context.Background(), c.hpuHealthURL+"/ready", "")
	if err != nil {
		t.Fatal(err)
	}
	if status != http.StatusServiceUnavailable {
		t.Errorf("GET /ready: %d %s, want 503", status, body)
	}
}
