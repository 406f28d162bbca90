package hlmltest

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// ScenarioEnv names the scenario file that the fake's hlml_init reads; unset, every device has
// the defaults. The directives are documented at the top of fakehlml.c.
const ScenarioEnv = "FAKE_HLML_SCENARIO"

// WriteScenario writes a scenario file of these lines, one directive each, and returns its path.
func WriteScenario(tb testing.TB, lines ...string) string {
	tb.Helper()
	path := filepath.Join(tb.TempDir(), "scenario")
	if err := os.WriteFile(path, []byte(strings.Join(lines, "\n")+"\n"), 0o600); err != nil {
		tb.Fatalf("writing the HLML scenario: %v", err)
	}
	return path
}
