package main

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// crashError is returned by a rank that crashed as -crash-after asked.
type crashError struct {
	rank  int
	after time.Duration
}

func (e crashError) Error() string {
	return fmt.Sprintf("rank %d crashed after %s of training (-crash-after)", e.rank, e.after)
}

// rankDeps are what a rank talks to; tests replace the clock and the telemetry.
type rankDeps struct {
	inst instruments
	logs logSink
	// wait blocks until the rank's training time reaches elapsed (measured from the common start).
	wait func(ctx context.Context, elapsed time.Duration) error
	// silence stops the rank's telemetry, for -stall-mode silent.
	silence func(ctx context.Context) error
	now     func() time.Time
}

// rank is one emulated training process: a loop of batches with periodic validation.
type rank struct {
	cfg    config
	id     identity
	faulty bool // the faults of cfg apply to this rank
	model  *model
	rankDeps

	step    int           // batches done
	elapsed time.Duration // training time: the sum of the batch times so far
	slowed  bool          // whether the slowdown has been logged
}

func newRank(cfg config, id identity, deps rankDeps) *rank {
	faulty := len(cfg.faultRanks) == 0
	for _, r := range cfg.faultRanks {
		faulty = faulty || r == id.rank
	}
	return &rank{cfg: cfg, id: id, faulty: faulty, model: newModel(cfg.seed, id.rank), rankDeps: deps}
}

// run trains until -steps batches are done or ctx ends (both return nil), or the rank crashes.
func (r *rank) run(ctx context.Context) error {
	if err := r.log(ctx, levelInfo, site{"trainer", "fit", 112}, fmt.Sprintf("Training started: rank %d of %d, job %s", r.id.rank, r.id.worldSize, r.id.jobID)); err != nil {
		return err
	}
	// A sanity validation pass before the first batch, so validation metrics exist from the start.
	if err := r.validate(ctx); err != nil {
		return err
	}
	for r.cfg.steps == 0 || r.step < r.cfg.steps {
		switch {
		case r.faulty && r.cfg.crashAfter > 0 && r.elapsed >= r.cfg.crashAfter:
			msg := fmt.Sprintf("HPU device lost during batch %d (synStatus 26): aborting", r.step)
			if err := r.log(ctx, levelCritical, site{"trainer", "train_step", 187}, msg); err != nil {
				return err
			}
			return crashError{rank: r.id.rank, after: r.cfg.crashAfter}
		case r.faulty && r.cfg.stallAfter > 0 && r.elapsed >= r.cfg.stallAfter:
			return r.stall(ctx)
		}
		if err := r.batch(ctx); err != nil {
			if ctx.Err() != nil {
				return r.stopped(ctx)
			}
			return err
		}
	}
	return r.stopped(ctx)
}

// batch runs one batch: waits its time, then records its metrics.
func (r *rank) batch(ctx context.Context) error {
	slow := 1.0
	if r.faulty && r.elapsed >= r.cfg.slowAfter {
		slow = r.cfg.slowFactor
	}
	s := r.model.batch(r.step, r.cfg.interval, slow)
	if err := r.wait(ctx, r.elapsed+s.total); err != nil {
		return err
	}
	r.step++
	r.elapsed += s.total

	samples := int64(r.cfg.batchSize)
	tokens := samples * int64(r.cfg.seqLen)
	secs := s.total.Seconds()
	r.inst.samples.Add(ctx, samples)
	r.inst.tokens.Add(ctx, tokens)
	r.inst.batch.Record(ctx, secs)
	r.inst.forward.Record(ctx, s.forward.Seconds())
	r.inst.backward.Record(ctx, s.backward.Seconds())
	r.inst.optimizer.Record(ctx, s.optimizer.Seconds())
	r.inst.samplesThroughput.Record(ctx, float64(samples)/secs)
	r.inst.tokensThroughput.Record(ctx, float64(tokens)/secs)
	r.inst.loss.Record(ctx, s.loss)
	r.inst.accuracy.Record(ctx, s.accuracy)

	if slow != 1 && !r.slowed {
		r.slowed = true
		msg := fmt.Sprintf("Batch %d took %.2fs, %.1f times the usual %s", r.step, secs, slow, r.cfg.interval)
		if err := r.log(ctx, levelWarning, site{"trainer", "train_step", 164}, msg); err != nil {
			return err
		}
	}
	if r.cfg.logEvery > 0 && r.step%r.cfg.logEvery == 0 {
		msg := fmt.Sprintf("Batch %d: loss %.4f, accuracy %.4f, %.1f samples/s", r.step, s.loss, s.accuracy, float64(samples)/secs)
		if err := r.log(ctx, levelInfo, site{"trainer", "train_step", 171}, msg); err != nil {
			return err
		}
	}
	if r.step%r.cfg.evalEvery == 0 {
		return r.validate(ctx)
	}
	return nil
}

func (r *rank) validate(ctx context.Context) error {
	v := r.model.validation(r.step)
	r.inst.validationLoss.Record(ctx, v.loss)
	r.inst.validationAccuracy.Record(ctx, v.accuracy)
	msg := fmt.Sprintf("Validation after batch %d: loss %.4f, accuracy %.4f", r.step, v.loss, v.accuracy)
	return r.log(ctx, levelInfo, site{"trainer", "validate", 231}, msg)
}

// stall stops making progress until ctx ends: the counters stay where they are while the SDK keeps
// exporting them (hang), or the rank's telemetry is shut down (silent, where the final record is dropped).
func (r *rank) stall(ctx context.Context) error {
	msg := fmt.Sprintf("Waiting for all_reduce of batch %d from the other ranks", r.step)
	if err := r.log(ctx, levelWarning, site{"distributed", "all_reduce", 58}, msg); err != nil {
		return err
	}
	// No batch completes any more.
	r.inst.samplesThroughput.Record(ctx, 0)
	r.inst.tokensThroughput.Record(ctx, 0)
	if r.cfg.stallMode == stallSilent {
		if err := r.silence(ctx); err != nil {
			return fmt.Errorf("rank %d: stopping its telemetry for -stall-mode silent: %w", r.id.rank, err)
		}
	}
	<-ctx.Done()
	return r.stopped(ctx)
}

// stopped logs the end of training; it runs when -steps is reached or ctx ended.
func (r *rank) stopped(ctx context.Context) error {
	msg := fmt.Sprintf("Training finished after %d batches", r.step)
	if ctx.Err() != nil {
		msg = fmt.Sprintf("Training stopped after %d batches", r.step)
	}
	return r.log(context.WithoutCancel(ctx), levelInfo, site{"trainer", "fit", 140}, msg)
}

func (r *rank) log(ctx context.Context, l level, s site, message string) error {
	err := r.logs.emit(ctx, logRecord{time: r.now(), level: l, message: message, site: s, hpuID: r.id.localRank, batchIdx: r.step})
	if err != nil {
		return fmt.Errorf("rank %d: %w", r.id.rank, err)
	}
	return nil
}

// isCrash reports whether err is a rank's crash.
func isCrash(err error) bool {
	var c crashError
	return errors.As(err, &c)
}
