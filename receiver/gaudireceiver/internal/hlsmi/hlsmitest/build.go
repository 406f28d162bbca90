package hlsmitest

import (
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"
)

// BuildFakeHLSMI builds the program fakehlsmi into tb's temporary directory and returns its
// path, named hl-smi. Each call builds anew, in a fraction of a second since go's build cache
// holds the compiled packages: call it once per test.
func BuildFakeHLSMI(tb testing.TB) string {
	tb.Helper()
	path := filepath.Join(tb.TempDir(), "hl-smi")
	cmd := exec.Command("go", "build", "-o", path, "./fakehlsmi")
	cmd.Dir = sourceDir()
	if out, err := cmd.CombinedOutput(); err != nil {
		tb.Fatalf("building the fake hl-smi (go build in %s): %v\n%s", cmd.Dir, err, out)
	}
	return path
}

// sourceDir is this package's source directory, from which the program and the fixtures are
// found whatever the test's working directory (a -trimpath build has no such path).
func sourceDir() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Dir(file)
}
