// Command buildfake builds the fake libhlml.so (see hlmltest.BuildFakeLibrary) and prints its
// path, for tests that Go's internal rule keeps from importing hlmltest: those of test/e2e run
// it with `go run`.
package main

import (
	"fmt"
	"os"

	"github.com/otelcol-gaudi/otelcol-gaudi/receiver/gaudireceiver/internal/hlml/hlmltest"
)

func main() {
	path, err := hlmltest.Build()
	if err != nil {
		fmt.Fprintln(os.Stderr, "buildfake:", err)
		os.Exit(1)
	}
	fmt.Println(path)
}
