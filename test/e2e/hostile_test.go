package e2e

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/prometheus/common/model"
)

// The gaudi receiver against a hostile hl-smi, in the built binary: garbled identities, a hang,
// children that escape with setsid, and a second receiver on the same devices. The fake hl-smi's
// environment variables are documented in internal/hlsmi/hlsmitest.

// syntheticHeader names the columns of SYNTHETIC_gaudi2_Q_all_fields.csv, as hl-smi prints a header.
const syntheticHeader = "index, uuid, name, serial, module_id, bus_id, driver_version, utilization.aip, memory.used, " +
	"memory.free, memory.total, temperature.aip, power.draw, power.max, clocks.current.soc, clocks.max.soc, " +
	"pcie.link.gen.current, pcie.link.width.current, ecc.mode.current"

// buildFakeHLSMI builds the fake hl-smi into the test's temporary directory.
func buildFakeHLSMI(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "hl-smi")
	goCommand(t, "build", "-o", path, "./receiver/gaudireceiver/internal/hlsmi/hlsmitest/fakehlsmi")
	return path
}

// writeHLSMIRecording writes the SYNTHETIC recording of 8 Gaudi 2 devices, with a header and each
// replacement (old → new, on the whole text) made, and returns its path.
func writeHLSMIRecording(t *testing.T, replace ...string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(repoRoot, "receiver", "gaudireceiver", "internal", "hlsmi", "testdata", "SYNTHETIC_gaudi2_Q_all_fields.csv"))
	if err != nil {
		t.Fatal(err)
	}
	text := syntheticHeader + "\n" + strings.NewReplacer(replace...).Replace(string(b))
	path := filepath.Join(t.TempDir(), "recording.csv")
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// startHLSMICollector starts the demo collector on the fake hl-smi, without NIC links (the fake
// answers them from files these tests do not need).
func startHLSMICollector(t *testing.T, env []string, extra ...string) *collector {
	t.Helper()
	sets := append([]string{"receivers::gaudi::source=hlsmi", "receivers::gaudi::hlsmi::path=" + buildFakeHLSMI(t),
		"receivers::gaudi::metrics={hpu.nic.link.up: {enabled: false}}"}, extra...)
	return startDemoCollectorEnv(t, env, sets...)
}

// healthStates returns each device's hpu_health states at 1, by hpu_index.
func healthStates(families map[string]model.Vector) map[string]string {
	states := map[string]string{}
	for _, s := range families["hpu_health"] {
		if s.Value == 1 {
			index := string(s.Metric["hpu_index"])
			if states[index] != "" {
				states[index] += "+"
			}
			states[index] += string(s.Metric["hpu_state"])
		}
	}
	return states
}

// A garbled hl-smi put NUL and DEL into hpu_uuid, escape sequences into hpu_serial and
// hpu_driver_version, and invalid UTF-8 made the exporter drop a device's metrics. Now every
// line of the exposition is printable UTF-8, the devices with a garbage UUID are failed (not
// dropped), and a garbage serial or driver version is only left out of hpu_info.
func TestHLSMIGarbageNeverReachesLabels(t *testing.T) {
	t.Parallel()
	recording := writeHLSMIRecording(t,
		"01P0-HL2080A0-15-TF8A81-09-07-06", "01P0-HL2\x00\x7fA81",
		"AM50016140", "AM\x1b[2J\x1b]0;pwned\x07",
		"01P0-HL2080A0-15-TF8A90-03-05-04", "01P0-\xff\xfe-bad",
		"AM50016163, 3, 0000:19:00.0, 1.12.1-cb7a7bc", "AM50016163, 3, 0000:19:00.0, 1.12\x1b[31mred")
	c := startHLSMICollector(t, []string{"FAKE_HLSMI_QUERY=" + recording})
	families := waitForFamilies(t, c.process, c.metricsURL, "hpu_health", "hpu_info", "hpu_power_watts")

	status, body, err := httpGet(context.Background(), c.metricsURL, textFormat)
	if err != nil || status != http.StatusOK {
		t.Fatalf("GET %s: %d %v", c.metricsURL, status, err)
	}
	for i, line := range bytes.Split(body, []byte("\n")) {
		if !utf8.Valid(line) {
			t.Errorf("exposition line %d is not UTF-8: %q", i+1, line)
			continue
		}
		for _, r := range string(line) {
			if !unicode.IsPrint(r) {
				t.Errorf("exposition line %d holds %U: %q", i+1, r, line)
				break
			}
		}
	}

	want := map[string]string{"0": "failed", "1": "ok", "2": "failed", "3": "ok", "4": "ok", "5": "ok", "6": "ok", "7": "ok"}
	if got := healthStates(families); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("hpu_health at 1 by hpu_index = %v, want %v", got, want)
	}
	info := map[string]model.Metric{}
	for _, s := range families["hpu_info"] {
		info[string(s.Metric["hpu_index"])] = s.Metric
	}
	if serial := info["1"]["hpu_serial"]; serial != "" {
		t.Errorf("hpu_info of device 1 has hpu_serial %q, want none", serial)
	}
	if driver := info["3"]["hpu_driver_version"]; driver != "" {
		t.Errorf("hpu_info of device 3 has hpu_driver_version %q, want none", driver)
	}
	if model := info["1"]["hpu_model"]; model != "HL-225" {
		t.Errorf("hpu_info of device 1 has hpu_model %q, want its other strings kept", model)
	}
	if rejected := families["hpu_readings_rejected_total"]; len(rejected) == 0 {
		t.Error("the dropped strings are not counted on hpu_readings_rejected_total")
	}
	if out := c.output(); strings.Contains(out, "failed to convert metric") {
		t.Errorf("the exporter refused a metric:\n%s", out)
	}
}

// waitAll polls the collector until hpu_health has each of the 8 devices in state.
func waitAll(t *testing.T, c *collector, state string) {
	t.Helper()
	want := map[string]string{}
	for i := range 8 {
		want[strconv.Itoa(i)] = state
	}
	eventually(t, startupDeadline, func() (bool, string) {
		c.failIfExited(t)
		families, err := scrape(context.Background(), c.metricsURL)
		if err != nil {
			return false, err.Error()
		}
		states := healthStates(families)
		return fmt.Sprint(states) == fmt.Sprint(want), fmt.Sprintf("hpu_health at 1 by hpu_index: %v, want all %s", states, state)
	})
}

// waitNoneLeft polls until no process of an hl-smi run is alive: between two reads, none may be.
func waitNoneLeft(t *testing.T, mark string, collector int) {
	t.Helper()
	eventually(t, startupDeadline, func() (bool, string) {
		left := markedProcesses(mark, collector)
		return len(left) == 0, fmt.Sprintf("processes of hl-smi runs still alive between reads: %v", left)
	})
}

// markedProcesses lists the processes other than the collector whose environment holds the entry
// mark: the fake hl-smi runs and whatever they started.
func markedProcesses(mark string, collector int) []int {
	needle := []byte("\x00" + mark + "\x00")
	entries, _ := os.ReadDir("/proc")
	var pids []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == collector || pid == os.Getpid() {
			continue
		}
		env, err := os.ReadFile(filepath.Join("/proc", e.Name(), "environ"))
		if err == nil && (bytes.HasPrefix(env, needle[1:]) || bytes.Contains(env, needle)) {
			pids = append(pids, pid)
		}
	}
	return pids
}

// An hl-smi whose every run leaves a child behind in a new session (setsid) that holds its output
// open: each read still succeeds and no such child survives its run. When hl-smi then hangs, it is
// killed at the scrape timeout with its child, and every device is reported unknown at once (not
// left ok until the exporter's series expire) while /health turns 503; when it answers again,
// the devices are ok again.
func TestHLSMIHangAndEscapedChildren(t *testing.T) {
	t.Parallel()
	mark := "E2E_HLSMI_RUN_OF=" + t.Name() + strconv.Itoa(os.Getpid())
	hangIf, pidFile := filepath.Join(t.TempDir(), "hang"), filepath.Join(t.TempDir(), "pids")
	env := []string{mark, "FAKE_HLSMI_QUERY=" + writeHLSMIRecording(t), "FAKE_HLSMI_ESCAPE=hold", "FAKE_HLSMI_PIDFILE=" + pidFile,
		"FAKE_HLSMI_HANG_IF=" + hangIf}
	c := startHLSMICollector(t, env, "receivers::gaudi::timeout=700ms")
	collector := c.cmd.Process.Pid
	t.Cleanup(func() {
		for _, pid := range markedProcesses(mark, collector) {
			t.Errorf("process %d of an hl-smi run survived the test; killing it", pid)
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
	})

	waitAll(t, c, "ok")
	families, err := scrape(context.Background(), c.metricsURL)
	if err != nil {
		t.Fatal(err)
	}
	errorsBefore := families["hpu_scrape_errors_total"]
	// A child holding the pipe failed every read after WaitDelay and outlived it. The polls span
	// reads; afterwards the error count must not have grown.
	var escaped int
	if b, err := os.ReadFile(pidFile); err != nil {
		t.Fatalf("the fake hl-smi started no child: %v", err)
	} else if _, err := fmt.Sscan(string(b), new(int), &escaped); err != nil {
		t.Fatal(err)
	}
	eventually(t, startupDeadline, func() (bool, string) {
		return !slices.Contains(markedProcesses(mark, collector), escaped), fmt.Sprintf("the child %d that escaped with setsid is alive", escaped)
	})
	waitNoneLeft(t, mark, collector)
	families, err = scrape(context.Background(), c.metricsURL)
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(families["hpu_scrape_errors_total"][0].Value) != fmt.Sprint(errorsBefore[0].Value) {
		t.Errorf("hpu_scrape_errors_total grew from %v to %v while hl-smi answered", errorsBefore[0].Value, families["hpu_scrape_errors_total"][0].Value)
	}

	if err := os.WriteFile(hangIf, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	waitAll(t, c, "unknown")
	waitHPUHealth(t, c, c.hpuHealthURL+"/health", http.StatusServiceUnavailable, func(h hpuHealth) bool { return h.Checks.HPUCount == 0 })

	if err := os.Remove(hangIf); err != nil {
		t.Fatal(err)
	}
	waitAll(t, c, "ok")
	waitNoneLeft(t, mark, collector)
}

// hl-smi exiting 1 after printing every device discarded all 8; its rows are used now, and the
// exit status is counted as a scrape error.
func TestHLSMIExitStatusJudgedApartFromOutput(t *testing.T) {
	t.Parallel()
	c := startHLSMICollector(t, []string{"FAKE_HLSMI_QUERY=" + writeHLSMIRecording(t),
		"FAKE_HLSMI_EXIT_AFTER_OUTPUT=1", "FAKE_HLSMI_STDERR=hpu 0000:cd:00.0: query timed out"})
	waitAll(t, c, "ok")
	families := waitForFamilies(t, c.process, c.metricsURL, "hpu_power_watts", "hpu_scrape_errors_total")
	checkOneSeriesPerDevice(t, "hpu_power_watts", families["hpu_power_watts"])
	if errs := families["hpu_scrape_errors_total"]; len(errs) != 1 || errs[0].Value < 1 {
		t.Errorf("hpu_scrape_errors_total = %v, want the exit status counted", errs)
	}
	if out := c.output(); !strings.Contains(out, "exit status 1") || !strings.Contains(out, "query timed out") {
		t.Errorf("the exit status and stderr are not logged:\n%s", out)
	}
}

// Two gaudi receivers reading the node's devices would report each twice (and /health would count
// 16 HPUs on an 8-HPU node): the collector refuses to start the second.
func TestSecondGaudiReceiverOnTheNodeIsRefused(t *testing.T) {
	t.Parallel()
	hlsmi := buildFakeHLSMI(t)
	env := []string{"FAKE_HLSMI_QUERY=" + writeHLSMIRecording(t)}
	args := []string{"--config", demoConfigPath(t)}
	for _, set := range []string{
		"receivers::gaudi::source=hlsmi", "receivers::gaudi::hlsmi::path=" + hlsmi,
		"receivers::gaudi/again::source=hlsmi", "receivers::gaudi/again::hlsmi::path=" + hlsmi,
		"service::pipelines::metrics::receivers=[gaudi, gaudi/again]",
		fmt.Sprintf("extensions::health_check::endpoint=127.0.0.1:%d", freePort(t)),
		fmt.Sprintf("extensions::hpu_health::endpoint=127.0.0.1:%d", freePort(t)),
		fmt.Sprintf("receivers::otlp::protocols::grpc::endpoint=127.0.0.1:%d", freePort(t)),
		fmt.Sprintf("receivers::otlp::protocols::http::endpoint=127.0.0.1:%d", freePort(t)),
		fmt.Sprintf("exporters::prometheus::endpoint=127.0.0.1:%d", freePort(t)),
		fmt.Sprintf("service::telemetry::metrics::readers=[{pull: {exporter: {prometheus: {host: 127.0.0.1, port: %d}}}}]", freePort(t)),
	} {
		args = append(args, "--set="+set)
	}
	p := startProcessEnv(t, "otelcol-gaudi", collectorBin, env, args...)
	eventually(t, startupDeadline, func() (bool, string) { return p.exited(), "the collector is still running" })
	if p.waitErr == nil {
		t.Fatal("the collector exited 0")
	}
	if out := p.output(); !strings.Contains(out, "already reads this node's HPUs") {
		t.Errorf("the collector's output does not say why it stopped:\n%s", out)
	}
}
