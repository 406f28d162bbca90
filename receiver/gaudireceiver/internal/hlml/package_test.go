package hlml

import (
	"fmt"
	"os"
	"testing"

	"go.uber.org/goleak"
)

// fake is the fake libhlml.so (testdata/fakehlml) that the tests load, built once per test
// binary with the C compiler that cgo and the race detector need anyway.
var fake *fakeLibrary

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "fakehlml-")
	if err == nil {
		fake, err = buildFake(dir)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "building the fake libhlml.so:", err)
		_ = os.RemoveAll(dir)
		os.Exit(1)
	}
	goleak.VerifyTestMain(m, goleak.Cleanup(func(int) {
		fake.close()
		_ = os.RemoveAll(dir)
	}))
}
