// Command dashgen writes otelcol-gaudi's Grafana dashboards (dashboards/*.json) and their documentation
// (docs/dashboards/*.md) from the Go definitions in this folder, built with the Grafana Foundation SDK.
//
// It runs from the dashboards package through go generate (dashboards/dashboards.go):
//
//	//go:generate go run ../internal/tools/dashgen -out . -docs ../docs/dashboards
//
// The output is deterministic: the same definitions give byte-identical files, which the dashboards
// package's tests compare with the committed ones.
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
)

func main() {
	out := flag.String("out", ".", "folder the dashboard JSON files are written to")
	docs := flag.String("docs", "", "folder the Markdown pages are written to (none when empty)")
	flag.Parse()
	if err := generate(*out, *docs); err != nil {
		fmt.Fprintln(os.Stderr, "dashgen:", err)
		os.Exit(1)
	}
}

// generate renders every file before writing any, so that an error leaves the previous output in place.
func generate(outDir, docsDir string) error {
	files, err := render(docsDir != "")
	if err != nil {
		return err
	}
	for name, content := range files {
		dir := outDir
		if filepath.Ext(name) == ".md" {
			dir = docsDir
		}
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(dir, name), content, 0o644); err != nil {
			return err
		}
	}
	return nil
}

// render returns every output file by name: <file>.json per dashboard and, with docs, <file>.md per
// dashboard and README.md.
func render(docs bool) (map[string][]byte, error) {
	files := map[string][]byte{}
	var pages []page
	for _, b := range all() {
		d, err := b.build()
		if err != nil {
			return nil, err
		}
		js, err := encode(d)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", b.uid, err)
		}
		files[b.file+".json"] = js
		pages = append(pages, page{board: b, model: d})
	}
	if docs {
		for _, p := range pages {
			files[p.board.file+".md"] = p.markdown()
		}
		files["README.md"] = index(pages)
	}
	return files, nil
}
