// Package e2e runs the built otelcol-gaudi binary as a separate process, together with a real
// Prometheus, and checks what an operator would see: the metrics on the prometheus exporter's
// endpoint, the series Prometheus stores after scraping it, the validate and components commands
// and a clean shutdown.
//
// The binary comes from OTELCOL_GAUDI_BIN when it is set (the Makefile sets it after building);
// otherwise TestMain builds it once from ../../otelcol-gaudi into a temporary directory.
package e2e

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

var (
	// repoRoot is the absolute path of the repository (the directory holding go.mod).
	repoRoot string
	// collectorBin is the absolute path of the otelcol-gaudi binary under test.
	collectorBin string
)

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err == nil {
		_, err = os.Stat(filepath.Join(root, "go.mod"))
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "e2e: cannot locate the repository root from %s: %v\n", mustGetwd(), err)
		return 1
	}
	repoRoot = root

	if bin := os.Getenv("OTELCOL_GAUDI_BIN"); bin != "" {
		path, err := resolveBinary(bin)
		if err != nil {
			fmt.Fprintf(os.Stderr, "e2e: OTELCOL_GAUDI_BIN=%q: %v\n", bin, err)
			return 1
		}
		collectorBin = path
		fmt.Printf("e2e: using otelcol-gaudi from OTELCOL_GAUDI_BIN: %s\n", path)
		return m.Run()
	}

	tmp, err := os.MkdirTemp("", "otelcol-gaudi-e2e-")
	if err != nil {
		fmt.Fprintf(os.Stderr, "e2e: %v\n", err)
		return 1
	}
	defer os.RemoveAll(tmp)

	collectorBin = filepath.Join(tmp, "otelcol-gaudi")
	srcDir := filepath.Join(repoRoot, "otelcol-gaudi")
	cmd := exec.Command("go", "build", "-trimpath", "-o", collectorBin, ".")
	cmd.Dir = srcDir
	start := time.Now()
	out, err := cmd.CombinedOutput()
	if err != nil {
		fmt.Fprintf(os.Stderr, "e2e: building otelcol-gaudi (go build in %s) failed after %s: %v\n%s\n",
			srcDir, time.Since(start).Round(time.Millisecond), err, out)
		return 1
	}
	fmt.Printf("e2e: built otelcol-gaudi from %s in %s (set OTELCOL_GAUDI_BIN to reuse a built binary)\n",
		srcDir, time.Since(start).Round(time.Millisecond))
	return m.Run()
}

// resolveBinary returns the absolute path of bin. A relative path is tried against the test's
// working directory (test/e2e) first and then against the repository root, because the Makefile
// runs from the root while go test runs in the package directory.
func resolveBinary(bin string) (string, error) {
	candidates := []string{bin}
	if !filepath.IsAbs(bin) {
		candidates = append(candidates, filepath.Join(repoRoot, bin))
	}
	for _, c := range candidates {
		fi, err := os.Stat(c)
		if err != nil {
			continue
		}
		if fi.IsDir() || fi.Mode().Perm()&0o111 == 0 {
			return "", fmt.Errorf("%s is not an executable file", c)
		}
		return filepath.Abs(c)
	}
	return "", errors.New("no such file (tried relative to test/e2e and to the repository root); run `make build` first")
}

func mustGetwd() string {
	wd, err := os.Getwd()
	if err != nil {
		return "?"
	}
	return wd
}
