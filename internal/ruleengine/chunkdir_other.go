//go:build !unix

package ruleengine // import "github.com/otelcol-gaudi/otelcol-gaudi/internal/ruleengine"

import (
	"errors"
	"os"
)

// lockNew creates path. Without flock(2), nothing tells a live directory from a stale one here.
func lockNew(path string) (*os.File, error) {
	return os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
}

// lockIfFree never reports a directory free: stale directories are only removed on Unix.
func lockIfFree(string) (*os.File, error) {
	return nil, errors.ErrUnsupported
}
