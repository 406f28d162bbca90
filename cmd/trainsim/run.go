package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"time"
)

// shutdownTimeout bounds the final flush of every rank's telemetry.
const shutdownTimeout = 10 * time.Second

// run emulates the job described by c until it finishes, ctx ends or a rank crashes, then flushes
// every rank's telemetry. A crash is returned as a crashError.
func run(ctx context.Context, c config, stderr io.Writer) (err error) {
	host, err := c.hostNameOrDefault()
	if err != nil {
		return err
	}
	var jl *jsonLines
	switch c.jsonLog {
	case "":
	case "-":
		jl = &jsonLines{w: stderr}
	default:
		f, err := os.OpenFile(c.jsonLog, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
		if err != nil {
			return fmt.Errorf("opening -json-log: %w", err)
		}
		defer func() {
			if cerr := f.Close(); cerr != nil {
				err = errors.Join(err, fmt.Errorf("closing -json-log: %w", cerr))
			}
		}()
		jl = &jsonLines{w: f}
	}

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	if c.duration > 0 {
		ctx, cancel = context.WithTimeout(ctx, c.duration)
		defer cancel()
	}

	start := time.Now()
	ids := identities(c, host)
	ranks := make([]*rank, 0, len(ids))
	tels := make([]*telemetry, 0, len(ids))
	// Whatever was started is flushed, also when setting up a later rank fails.
	defer func() {
		sctx, scancel := context.WithTimeout(context.WithoutCancel(ctx), shutdownTimeout)
		defer scancel()
		for _, t := range tels {
			err = errors.Join(err, t.shutdown(sctx))
		}
	}()
	for _, id := range ids {
		tel, err := newTelemetry(ctx, c, id.resource())
		if err != nil {
			return fmt.Errorf("rank %d: %w", id.rank, err)
		}
		tels = append(tels, tel)
		inst, err := newInstruments(tel.meters.Meter(scopeName))
		if err != nil {
			return fmt.Errorf("rank %d: %w", id.rank, err)
		}
		ranks = append(ranks, newRank(c, id, rankDeps{
			inst:    inst,
			logs:    logSink{logger: tel.loggers.Logger(loggerName), json: jl},
			wait:    waitUntil(start),
			silence: tel.shutdown,
			now:     time.Now,
		}))
	}
	fmt.Fprintf(stderr, "trainsim: job %s, ranks %d-%d of %d on %s, sending OTLP/%s to %s every %s\n",
		c.jobID, ids[0].rank, ids[len(ids)-1].rank, c.worldSize, host, c.protocol, c.endpoint, c.exportInterval)

	errs := make([]error, len(ranks))
	var wg sync.WaitGroup
	for i, r := range ranks {
		wg.Go(func() {
			errs[i] = r.run(ctx)
			if errs[i] != nil {
				cancel() // a crash ends the whole job, as torchrun tears down the other ranks
			}
		})
	}
	wg.Wait()
	return errors.Join(errs...)
}

// waitUntil returns a rank's clock: it sleeps until training time elapsed after start.
func waitUntil(start time.Time) func(context.Context, time.Duration) error {
	return func(ctx context.Context, elapsed time.Duration) error {
		t := time.NewTimer(time.Until(start.Add(elapsed)))
		defer t.Stop()
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
			return nil
		}
	}
}
