//go:build !unix

package enginetest // import "github.com/otelcol-gaudi/otelcol-gaudi/internal/ruleengine/enginetest"

import "time"

// ProcessCPU is not measured here; benchmarks then report wall time only.
func ProcessCPU() (time.Duration, bool) { return 0, false }
