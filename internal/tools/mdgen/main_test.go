package main

import (
	"flag"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata")

// readTree returns the files under dir by slash-separated relative path.
func readTree(t *testing.T, dir string) map[string]string {
	t.Helper()
	files := map[string]string{}
	require.NoError(t, filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(path)
		rel, _ := filepath.Rel(dir, path)
		files[filepath.ToSlash(rel)] = string(b)
		return err
	}))
	return files
}

// TestGolden generates the small component in testdata into a scratch folder and compares
// the result with testdata itself, whose README.md holds the expected section already:
// so it also checks that a second run changes nothing.
func TestGolden(t *testing.T) {
	if *update {
		require.NoError(t, generate("testdata"))
	}
	dir := t.TempDir()
	for _, name := range []string{"metadata.yaml", "README.md"} {
		b, err := os.ReadFile(filepath.Join("testdata", name))
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(filepath.Join(dir, name), b, 0o644))
	}
	require.NoError(t, generate(dir))

	want, got := readTree(t, "testdata"), readTree(t, dir)
	assert.Equal(t, keys(want), keys(got), "generated file set differs from testdata (run go test -update?)")
	for name, content := range want {
		assert.Equal(t, content, got[name], "%s differs from the golden file (go test ./internal/tools/mdgen -update rewrites it)", name)
	}
}

func keys(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// TestGoldenCompiles vets the golden package and runs its generated tests; ./... skips
// testdata folders, so nothing else would.
func TestGoldenCompiles(t *testing.T) {
	for _, args := range [][]string{{"vet"}, {"test", "-count=1"}} {
		cmd := exec.Command("go", append(args, "./testdata/internal/metadata")...)
		out, err := cmd.CombinedOutput()
		require.NoError(t, err, "go %v:\n%s", args, out)
	}
}
