package dashboards

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"
)

// The committed dashboards and docs are the generator's output: run it into a temporary folder and compare.
// `go generate ./dashboards` rewrites them.
func TestGeneratedFilesAreCurrent(t *testing.T) {
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("the go command, which runs the generator, is not on PATH: %v", err)
	}
	out := t.TempDir()
	docs := filepath.Join(out, "docs")
	cmd := exec.Command(goBin, "run", "../internal/tools/dashgen", "-out", out, "-docs", docs)
	if msg, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("dashgen: %v\n%s", err, msg)
	}
	compareFolders(t, out, ".", "*.json")
	compareFolders(t, docs, "../docs/dashboards", "*.md")
}

func compareFolders(t *testing.T, generated, committed, pattern string) {
	t.Helper()
	gen, _ := filepath.Glob(filepath.Join(generated, pattern))
	com, _ := filepath.Glob(filepath.Join(committed, pattern))
	names := func(paths []string) []string {
		var ns []string
		for _, p := range paths {
			ns = append(ns, filepath.Base(p))
		}
		slices.Sort(ns)
		return ns
	}
	if g, c := names(gen), names(com); !slices.Equal(g, c) {
		t.Errorf("%s: the generator writes %q, committed are %q; run go generate ./dashboards", committed, g, c)
	}
	for _, name := range names(gen) {
		want, err := os.ReadFile(filepath.Join(generated, name))
		if err != nil {
			t.Fatal(err)
		}
		got, err := os.ReadFile(filepath.Join(committed, name))
		if err != nil {
			continue // reported above
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s is stale: run go generate ./dashboards\n%s", filepath.Join(committed, name), firstDifference(got, want))
		}
	}
}
