// Command fakehlsmi is a fake hl-smi for tests: it answers from recorded outputs, as the
// environment variables of package hlsmitest say.
package main

import (
	"os"

	"github.com/otelcol-gaudi/otelcol-gaudi/receiver/gaudireceiver/internal/hlsmi/hlsmitest"
)

func main() {
	os.Exit(hlsmitest.Run(os.Args[1:], os.Stdout, os.Stderr))
}
