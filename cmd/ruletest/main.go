// Command ruletest runs Prometheus rule unit tests (promtool's test file format) through the threshold
// connector's rule engine (internal/ruleengine): input series enter as OTLP metric batches through the
// engine's ingest, on a clock that moves with them, so the whole path from data points to alert state
// is tested.
//
//	go run ./cmd/ruletest FILE.test.yaml...
//
// It prints SUCCESS or FAILED with the differences for each file and exits 0 only if every test passed.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"time"
)

const (
	// defaultInterval is promtool's default for evaluation_interval and for a test group's interval.
	defaultInterval = time.Minute
	// fileTimeout bounds the run of one test file.
	fileTimeout = 5 * time.Minute
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout))
}

func run(args []string, out io.Writer) int {
	if len(args) == 0 {
		fmt.Fprintln(out, "usage: ruletest FILE.test.yaml...")
		return 2
	}
	failed := false
	for _, path := range args {
		fmt.Fprintln(out, "Unit Testing: ", path)
		ctx, cancel := context.WithTimeout(context.Background(), fileTimeout)
		problems := runFile(ctx, path)
		cancel()
		if len(problems) == 0 {
			fmt.Fprintln(out, "  SUCCESS")
			fmt.Fprintln(out)
			continue
		}
		failed = true
		fmt.Fprintln(out, "  FAILED:")
		for _, p := range problems {
			fmt.Fprintf(out, "    %s\n", p)
		}
		fmt.Fprintln(out)
	}
	if failed {
		return 1
	}
	return 0
}
