//go:build !unix

package thresholdconnector

import "time"

// processCPU is not measured here; benchmarks then report throughput only.
func processCPU() (time.Duration, bool) { return 0, false }
