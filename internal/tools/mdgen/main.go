// Command mdgen generates a component's internal/metadata package and the metrics section
// of its README.md from its metadata.yaml. It stands in for mdatagen, which this project
// cannot fetch, and keeps mdatagen's API shape so that a component can move to mdatagen later.
//
// Run it from the component folder through a line in the component's doc.go:
//
//	//go:generate go run ../../internal/tools/mdgen
package main

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
)

func main() {
	dir := flag.String("dir", ".", "component folder holding metadata.yaml and README.md")
	flag.Parse()
	if err := generate(*dir); err != nil {
		fmt.Fprintln(os.Stderr, "mdgen:", err)
		os.Exit(1)
	}
}

// generate renders everything before writing anything, so that an invalid metadata.yaml
// or README leaves the previous output in place.
func generate(dir string) error {
	m, err := loadModel(filepath.Join(dir, "metadata.yaml"))
	if err != nil {
		return err
	}
	files, err := render(m)
	if err != nil {
		return err
	}
	readmePath := filepath.Join(dir, "README.md")
	readme, err := os.ReadFile(readmePath)
	if err != nil {
		return fmt.Errorf("%w (create it with the generated-section markers %q and %q)", err, readmeBegin, readmeEnd)
	}
	if files["README.md"], err = spliceReadme(readme, m); err != nil {
		return fmt.Errorf("%s: %w", readmePath, err)
	}
	for name, content := range files {
		if err := writeIfChanged(filepath.Join(dir, filepath.FromSlash(name)), content); err != nil {
			return err
		}
	}
	return nil
}

// writeIfChanged leaves unchanged files untouched, so that go generate does not
// invalidate build caches or file watchers for nothing.
func writeIfChanged(path string, content []byte) error {
	if old, err := os.ReadFile(path); err == nil && bytes.Equal(old, content) {
		return nil
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return os.WriteFile(path, content, 0o644)
}
