// Command trainsim emulates a distributed training job on Gaudi HPUs for otelcol-gaudi: each rank
// sends the training metrics contract (docs/training-metrics.md) and structured log records with the
// OpenTelemetry Go SDK over OTLP (gRPC or HTTP), with its own resource as a separate process would.
// Flags slow batches down, stall ranks or crash the job, so the shipped alert rules can be exercised;
// with many ranks and short intervals it is the load generator for benchmarks.
//
// Exit status: 0 when the job finished or was interrupted, 1 on errors, 2 on bad flags, 3 when a
// rank crashed as -crash-after asked.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"go.opentelemetry.io/otel"
)

const (
	exitError = 1
	exitUsage = 2
	exitCrash = 3
)

func main() {
	os.Exit(mainCode())
}

func mainCode() int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	otel.SetErrorHandler(otel.ErrorHandlerFunc(func(err error) {
		// The final flush cancels the periodic export that may be in flight; that one is not lost.
		if !errors.Is(err, context.Canceled) {
			fmt.Fprintf(os.Stderr, "trainsim: exporting: %v\n", err)
		}
	}))
	return runMain(ctx, os.Args[1:], os.Getenv, os.Stderr)
}

// runMain is the command without the process around it: arguments, environment and stderr are given.
func runMain(ctx context.Context, args []string, env func(string) string, stderr io.Writer) int {
	c, err := parseConfig(args, env, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintf(stderr, "trainsim: %v\n", err)
		return exitUsage
	}
	err = run(ctx, c, stderr)
	switch {
	case isCrash(err):
		fmt.Fprintf(stderr, "trainsim: %v\n", err)
		return exitCrash
	case err != nil:
		fmt.Fprintf(stderr, "trainsim: %v\n", err)
		return exitError
	}
	return 0
}
