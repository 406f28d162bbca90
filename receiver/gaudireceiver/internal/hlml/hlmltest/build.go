// Package hlmltest gives tests outside package hlml the fake libhlml.so of
// internal/hlml/testdata/fakehlml: building it, writing its scenarios and reaching its controls.
package hlmltest

import (
	"cmp"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// cLibrary is a shared library the tests build from C.
type cLibrary struct {
	name   string // file name of the built library
	source string // the C file, relative to this package's directory
	flags  []string
}

var (
	fakeHLML = cLibrary{
		name:   "libhlml.so",
		source: filepath.Join("..", "testdata", "fakehlml", "fakehlml.c"),
		flags:  []string{"-pthread", "-O2", "-Wall", "-Wextra", "-std=c11", "-D_POSIX_C_SOURCE=200809L"},
	}
	notHLML = cLibrary{name: "libnothlml.so", source: filepath.Join("testdata", "nothlml.c")}
)

// BuildFakeLibrary returns the path of the fake libhlml.so, compiled with $CC (gcc by default,
// which cgo and the race detector need anyway).
//
// Built libraries are cached in the user cache directory (as Go's build cache is), keyed by
// the compiler, its flags and the content of the source's directory: a process, and every
// later test binary, compiles only when the C files changed. There is no package state, and
// concurrent builders are safe: each compiles to a file of its own and renames it into place.
func BuildFakeLibrary(tb testing.TB) string {
	tb.Helper()
	return mustBuild(tb, fakeHLML)
}

// BuildNotHLMLLibrary returns the path of a shared library without HLML's symbols.
func BuildNotHLMLLibrary(tb testing.TB) string {
	tb.Helper()
	return mustBuild(tb, notHLML)
}

// Build is BuildFakeLibrary for programs without a testing.TB (see cmd buildfake).
func Build() (string, error) { return fakeHLML.build() }

func mustBuild(tb testing.TB, lib cLibrary) string {
	tb.Helper()
	path, err := lib.build()
	if err != nil {
		tb.Fatalf("building %s: %v", lib.name, err)
	}
	return path
}

func (lib cLibrary) build() (string, error) {
	src := filepath.Join(sourceDir(), lib.source)
	cc := cmp.Or(os.Getenv("CC"), "gcc")
	args := append([]string{"-shared", "-fPIC"}, lib.flags...)
	key, err := hashInputs(append([]string{cc}, args...), filepath.Dir(src))
	if err != nil {
		return "", fmt.Errorf("hashing the sources: %w", err)
	}
	cache, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("no cache directory for the built library: %w", err)
	}
	dir := filepath.Join(cache, "otelcol-gaudi-tests", key)
	path := filepath.Join(dir, lib.name)
	if _, err := os.Stat(path); err == nil {
		return path, nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("creating the cache directory: %w", err)
	}
	tmp, err := os.CreateTemp(dir, lib.name+".*")
	if err != nil {
		return "", fmt.Errorf("creating the output file: %w", err)
	}
	tmp.Close()
	args = append(args, "-o", tmp.Name(), src)
	if out, err := exec.Command(cc, args...).CombinedOutput(); err != nil {
		os.Remove(tmp.Name())
		return "", fmt.Errorf("%s %s: %w\n%s", cc, strings.Join(args, " "), err, out)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		os.Remove(tmp.Name())
		return "", fmt.Errorf("caching the built library: %w", err)
	}
	return path, nil
}

// sourceDir is this package's source directory, from which the C files are found whatever the
// test's working directory (a -trimpath build has no such path).
func sourceDir() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Dir(file)
}

// hashInputs keys a build by its command line and the files of dir.
func hashInputs(command []string, dir string) (string, error) {
	h := sha256.New()
	fmt.Fprintf(h, "%q\n", command)
	entries, err := os.ReadDir(dir)
	if err != nil {
		return "", err
	}
	for _, e := range entries {
		if !e.Type().IsRegular() {
			continue
		}
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			return "", err
		}
		fmt.Fprintf(h, "%s %d\n", e.Name(), len(b))
		h.Write(b)
	}
	return hex.EncodeToString(h.Sum(nil)[:12]), nil
}

// LayoutTestSource is the C layout test of the fake's header (testdata/fakehlml/layout_test.c).
func LayoutTestSource() string {
	return filepath.Join(sourceDir(), "..", "testdata", "fakehlml", "layout_test.c")
}
