package e2e

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/prometheus/common/model"
)

// The real sources in the built binary, against the fakes of the receiver's tests. Go's internal
// rule keeps this package from importing their helpers (hlmltest, hlsmitest), so the go command
// builds the fakes; their environment variables are documented there.

// goCommand runs the go command in the repository root and returns its standard output.
func goCommand(t *testing.T, args ...string) string {
	t.Helper()
	cmd := exec.Command("go", args...)
	cmd.Dir = repoRoot
	out, err := cmd.Output()
	if err != nil {
		var stderr []byte
		var exit *exec.ExitError
		if errors.As(err, &exit) {
			stderr = exit.Stderr
		}
		t.Fatalf("go %s: %v\n%s", strings.Join(args, " "), err, stderr)
	}
	return string(out)
}

// sampleByIndex returns the value of each series by its hpu_index.
func sampleByIndex(samples model.Vector) map[string]float64 {
	values := map[string]float64{}
	for _, s := range samples {
		values[string(s.Metric["hpu_index"])] = float64(s.Value)
	}
	return values
}

// checkCleanScrapes checks that the receiver read source, without a failed read.
func checkCleanScrapes(t *testing.T, families map[string]model.Vector, source string) {
	t.Helper()
	errs := families["hpu_scrape_errors_total"]
	if len(errs) != 1 || string(errs[0].Metric["hpu_source"]) != source || errs[0].Value != 0 {
		t.Errorf("hpu_scrape_errors_total = %v, want one series with hpu_source=%q at 0", errs, source)
	}
}

// TestHLMLSourceLoadsLibrary proves the dynamic loading of libhlml.so in the CGO_ENABLED=0
// binary: purego opens the fake library and reads all eight devices through it.
func TestHLMLSourceLoadsLibrary(t *testing.T) {
	t.Parallel()
	library := strings.TrimSpace(goCommand(t, "run", "./receiver/gaudireceiver/internal/hlml/hlmltest/buildfake"))
	scenario := filepath.Join(t.TempDir(), "scenario")
	if err := os.WriteFile(scenario, []byte("device 3 power_mw 612345\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	c := startDemoCollectorEnv(t, []string{"FAKE_HLML_SCENARIO=" + scenario},
		"receivers::gaudi::source=hlml", "receivers::gaudi::hlml::library_path="+library)
	families := waitForFamilies(t, c.process, c.metricsURL, "hpu_power_watts", "hpu_scrape_errors_total")

	checkCleanScrapes(t, families, "hlml")
	checkOneSeriesPerDevice(t, "hpu_power_watts", families["hpu_power_watts"])
	power := sampleByIndex(families["hpu_power_watts"])
	// The fake's default is 226000 mW + 500 mW per index; the scenario sets device 3.
	for index, want := range map[string]float64{"0": 226, "3": 612.345, "7": 229.5} {
		if power[index] != want {
			t.Errorf("hpu_power_watts{hpu_index=%q} = %v, want %v", index, power[index], want)
		}
	}
}

// TestHLSMISourceRunsBinary runs the fake hl-smi from the binary; it replays a Gaudi 1's recorded
// output, with a header and no index column.
func TestHLSMISourceRunsBinary(t *testing.T) {
	t.Parallel()
	hlsmi := filepath.Join(t.TempDir(), "hl-smi")
	goCommand(t, "build", "-o", hlsmi, "./receiver/gaudireceiver/internal/hlsmi/hlsmitest/fakehlsmi")
	fixture := filepath.Join(repoRoot, "receiver", "gaudireceiver", "internal", "hlsmi", "testdata", "gaudi1_Q_header_nounits.csv")
	env := []string{"FAKE_HLSMI_QUERY=" + fixture}
	c := startDemoCollectorEnv(t, env,
		"receivers::gaudi::source=hlsmi", "receivers::gaudi::hlsmi::path="+hlsmi,
		// The fixture has no PCI bus ids, which hl-smi's NIC link query needs. A key with dots
		// can only be set inside a YAML value: --set splits keys at dots.
		"receivers::gaudi::metrics={hpu.nic.link.up: {enabled: false}}")
	families := waitForFamilies(t, c.process, c.metricsURL, "hpu_power_watts", "hpu_scrape_errors_total")

	checkCleanScrapes(t, families, "hlsmi")
	checkOneSeriesPerDevice(t, "hpu_power_watts", families["hpu_power_watts"])
	if got := sampleByIndex(families["hpu_power_watts"])["0"]; got != 103 {
		t.Errorf("hpu_power_watts{hpu_index=\"0\"} = %v, want 103 as the fixture says", got)
	}
}

// TestAutoSourceWithoutBackend starts the collector where no backend exists, as on this machine:
// it keeps running and says so with zero devices.
func TestAutoSourceWithoutBackend(t *testing.T) {
	t.Parallel()
	empty := t.TempDir()
	c := startDemoCollector(t, "receivers::gaudi::source=auto",
		"receivers::gaudi::hlml::library_path="+filepath.Join(empty, "libhlml.so"),
		"receivers::gaudi::hlsmi::path="+filepath.Join(empty, "hl-smi"),
		"receivers::gaudi::sysfs::root="+empty)
	families := waitForFamilies(t, c.process, c.metricsURL, "hpu_devices")

	devices := families["hpu_devices"]
	if len(devices) != 1 || devices[0].Metric["hpu_source"] != "none" || devices[0].Value != 0 {
		t.Errorf("hpu_devices = %v, want one series hpu_devices{hpu_source=\"none\"} 0", devices)
	}
	if power := families["hpu_power_watts"]; len(power) != 0 {
		t.Errorf("hpu_power_watts has %d series without a backend", len(power))
	}
}
