//go:build race

package hlml

// raceEnabled: built with the race detector, under which sync.Pool drops one item in four that
// is put back (to expose code relying on it), so purego's SyscallN, which takes its call frame
// from a sync.Pool, allocates on about one call in four.
const raceEnabled = true
