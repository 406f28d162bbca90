//go:build unix

package enginetest // import "github.com/otelcol-gaudi/otelcol-gaudi/internal/ruleengine/enginetest"

import (
	"syscall"
	"time"
)

// ProcessCPU is the CPU time (user and system) the process has used so far. On a shared machine it
// varies far less than wall time between runs, so benchmarks report it beside ns/op.
func ProcessCPU() (time.Duration, bool) {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0, false
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()), true
}
