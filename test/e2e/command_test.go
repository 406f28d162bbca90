package e2e

import (
	"context"
	"os"
	"os/exec"
	"testing"
	"time"
)

// commandTimeout bounds a one-shot otelcol-gaudi command such as validate or components.
const commandTimeout = 60 * time.Second

// runCollectorCommand runs otelcol-gaudi with args to completion and returns its stdout, its
// stderr and cmd.Run's error (an *exec.ExitError for a non-zero exit).
func runCollectorCommand(t *testing.T, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	return runCollectorCommandEnv(t, nil, args...)
}

// runCollectorCommandEnv is runCollectorCommand with env ("KEY=value") added to the collector's environment.
func runCollectorCommandEnv(t *testing.T, env []string, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), commandTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, collectorBin, args...)
	cmd.Dir = repoRoot
	if env != nil {
		cmd.Env = append(os.Environ(), env...)
	}
	var outBuf, errBuf syncBuffer
	cmd.Stdout = &outBuf
	cmd.Stderr = &errBuf
	cmd.SysProcAttr = childSysProcAttr()
	err = cmd.Run()
	if ctx.Err() != nil {
		t.Fatalf("otelcol-gaudi %v did not finish within %s\nstdout:\n%s\nstderr:\n%s", args, commandTimeout, outBuf.String(), errBuf.String())
	}
	return outBuf.String(), errBuf.String(), err
}
