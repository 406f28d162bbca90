package ruleengine // import "github.com/otelcol-gaudi/otelcol-gaudi/internal/ruleengine"

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"go.uber.org/zap"
)

const (
	// chunkDirPrefix names the store's directories in the system temporary directory.
	chunkDirPrefix = "otelcol-threshold-"
	// stagingPrefix names a directory being set up: cleanup skips it, so a directory is never taken for
	// stale between its creation and its lock.
	stagingPrefix = "." + chunkDirPrefix
	lockFile      = "lock"
)

// chunkDir is the directory the TSDB head memory-maps full chunks into, private to one engine. Its lock
// file stays locked while the engine runs, so that another collector's start-up can tell a directory
// left by a killed process (lock free) from one in use (locked), and remove only the former.
type chunkDir struct {
	path string
	lock *os.File
}

// newChunkDir removes the directories of earlier runs that no process holds any more, then creates and
// locks a new one.
func newChunkDir(logger *zap.Logger) (*chunkDir, error) {
	root := os.TempDir()
	removeStaleChunkDirs(root, logger)
	staging, err := os.MkdirTemp(root, stagingPrefix)
	if err != nil {
		return nil, fmt.Errorf("creating the sample store's chunk directory: %w", err)
	}
	lock, err := lockNew(filepath.Join(staging, lockFile))
	if err != nil {
		_ = os.RemoveAll(staging)
		return nil, fmt.Errorf("locking the sample store's chunk directory: %w", err)
	}
	path := filepath.Join(root, chunkDirPrefix+strings.TrimPrefix(filepath.Base(staging), stagingPrefix))
	if err := os.Rename(staging, path); err != nil {
		_ = lock.Close()
		_ = os.RemoveAll(staging)
		return nil, fmt.Errorf("creating the sample store's chunk directory: %w", err)
	}
	return &chunkDir{path: path, lock: lock}, nil
}

// remove releases the lock and deletes the directory (a cleanup that finds it unlocked meanwhile only
// removes it first).
func (d *chunkDir) remove() error {
	return errors.Join(d.lock.Close(), os.RemoveAll(d.path))
}

// removeStaleChunkDirs removes every chunk directory under root whose lock no process holds: those of
// collectors killed before they could remove their own. Directories without a lock file (being set up,
// or of another program) are left alone.
func removeStaleChunkDirs(root string, logger *zap.Logger) {
	entries, err := os.ReadDir(root)
	if err != nil {
		return
	}
	for _, e := range entries {
		if !e.IsDir() || !strings.HasPrefix(e.Name(), chunkDirPrefix) {
			continue
		}
		dir := filepath.Join(root, e.Name())
		f, err := lockIfFree(filepath.Join(dir, lockFile))
		if err != nil || f == nil {
			continue
		}
		// Holding the lock, no other process can be using the directory or removing it.
		if err := os.RemoveAll(dir); err != nil {
			logger.Warn("Removing a stale sample store directory failed", zap.String("dir", dir), zap.Error(err))
		} else {
			logger.Info("Removed the sample store directory of an earlier run", zap.String("dir", dir))
		}
		_ = f.Close()
	}
}
