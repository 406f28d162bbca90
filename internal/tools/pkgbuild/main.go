// Command pkgbuild builds the otelcol-gaudi .deb and .rpm from deploy/package/nfpm.yaml with nfpm as a
// library: `make package` runs it on bin/otelcol-gaudi and writes dist/otelcol-gaudi_<version>_<arch>.deb
// and dist/otelcol-gaudi-<version>-1.<arch>.rpm.
//
//	go run ./internal/tools/pkgbuild -bin bin/otelcol-gaudi -version 0.1.0 -out dist
package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"

	"github.com/goreleaser/nfpm/v2"
	_ "github.com/goreleaser/nfpm/v2/deb" // registers the deb packager
	_ "github.com/goreleaser/nfpm/v2/rpm" // registers the rpm packager
)

func main() {
	var (
		root    = flag.String("root", ".", "the repository root; relative sources in the nfpm config are relative to it")
		config  = flag.String("config", "deploy/package/nfpm.yaml", "the nfpm config, relative to -root")
		bin     = flag.String("bin", "bin/otelcol-gaudi", "the otelcol-gaudi binary to package")
		version = flag.String("version", "", "the package version (required)")
		arch    = flag.String("arch", runtime.GOARCH, "the target architecture (Go's name)")
		out     = flag.String("out", "dist", "the directory the packages are written to")
		formats = flag.String("formats", "deb,rpm", "comma-separated packagers")
	)
	flag.Parse()
	paths, err := build(*root, *config, *bin, *version, *arch, *out, strings.Split(*formats, ","))
	if err != nil {
		fmt.Fprintln(os.Stderr, "pkgbuild:", err)
		os.Exit(1)
	}
	for _, p := range paths {
		fmt.Println(p)
	}
}

// build writes one package per format into out and returns their paths.
func build(root, config, bin, version, arch, out string, formats []string) ([]string, error) {
	if version == "" {
		return nil, errors.New("-version is required")
	}
	bin, err := filepath.Abs(bin)
	if err != nil {
		return nil, err
	}
	if fi, err := os.Stat(bin); err != nil || fi.Mode()&0o111 == 0 {
		return nil, fmt.Errorf("-bin %s is not an executable file (run make build first): %v", bin, err)
	}
	if out, err = filepath.Abs(out); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		return nil, err
	}
	// nfpm resolves relative sources against the working directory.
	if err := os.Chdir(root); err != nil {
		return nil, err
	}
	vars := map[string]string{"BINARY": bin, "VERSION": version, "ARCH": arch}
	cfg, err := nfpm.ParseFileWithEnvMapping(config, func(k string) string { return vars[k] })
	if err != nil {
		return nil, fmt.Errorf("%s: %w", config, err)
	}
	var paths []string
	for _, format := range formats {
		p, err := packageOne(cfg, format, out)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", format, err)
		}
		paths = append(paths, p)
	}
	return paths, nil
}

func packageOne(cfg nfpm.Config, format, out string) (string, error) {
	info, err := cfg.Get(format)
	if err != nil {
		return "", err
	}
	info = nfpm.WithDefaults(info)
	if err := nfpm.PrepareForPackager(info, format); err != nil {
		return "", err
	}
	packager, err := nfpm.Get(format)
	if err != nil {
		return "", err
	}
	info.Target = filepath.Join(out, packager.ConventionalFileName(info))
	f, err := os.Create(info.Target)
	if err != nil {
		return "", err
	}
	if err := packager.Package(info, f); err != nil {
		f.Close()
		os.Remove(info.Target)
		return "", err
	}
	return info.Target, f.Close()
}
