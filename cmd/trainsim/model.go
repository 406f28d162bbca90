package main

import (
	"math"
	"math/rand/v2"
	"time"
)

// Shape of the simulated training run: loss decays from lossStart towards lossFloor, accuracy rises
// towards accuracyCeiling, both with a time constant of curveBatches batches.
const (
	lossStart       = 2.5
	lossFloor       = 0.3
	accuracyCeiling = 0.92
	curveBatches    = 400.0
	// Validation generalises a little worse than training.
	validationLossGap     = 0.05
	validationAccuracyGap = 0.02
)

// Split of a batch's time; the rest is data loading. Each phase varies by up to ±phaseJitter.
const (
	forwardShare   = 0.30
	backwardShare  = 0.55
	optimizerShare = 0.10
	loadShare      = 0.05
	phaseJitter    = 0.05
)

// batchStats is what one batch reports.
type batchStats struct {
	forward, backward, optimizer, total time.Duration
	loss, accuracy                      float64
}

// validationStats is what one validation pass reports.
type validationStats struct {
	loss, accuracy float64
}

// model draws a rank's values. It is deterministic: the same seed and rank give the same values
// for the same sequence of calls.
type model struct {
	rng *rand.Rand
}

func newModel(seed uint64, rank int) *model {
	return &model{rng: rand.New(rand.NewPCG(seed, uint64(rank)))}
}

// batch returns the values of batch number step (from 0) whose nominal time is interval,
// stretched by slow (1 = normal speed).
func (m *model) batch(step int, interval time.Duration, slow float64) batchStats {
	phase := func(share float64) time.Duration {
		return time.Duration(float64(interval) * share * slow * (1 + phaseJitter*(2*m.rng.Float64()-1)))
	}
	s := batchStats{forward: phase(forwardShare), backward: phase(backwardShare), optimizer: phase(optimizerShare)}
	s.total = s.forward + s.backward + s.optimizer + phase(loadShare)
	progress := math.Exp(-float64(step) / curveBatches)
	s.loss = math.Max(0, lossFloor+(lossStart-lossFloor)*progress+0.02*m.rng.NormFloat64())
	s.accuracy = clamp01(accuracyCeiling*(1-progress) + 0.01*m.rng.NormFloat64())
	return s
}

// validation returns the values of a validation pass after step batches.
func (m *model) validation(step int) validationStats {
	progress := math.Exp(-float64(step) / curveBatches)
	return validationStats{
		loss:     math.Max(0, lossFloor+validationLossGap+(lossStart-lossFloor)*progress+0.01*m.rng.NormFloat64()),
		accuracy: clamp01(accuracyCeiling - validationAccuracyGap - accuracyCeiling*progress + 0.005*m.rng.NormFloat64()),
	}
}

func clamp01(v float64) float64 {
	return math.Min(1, math.Max(0, v))
}
