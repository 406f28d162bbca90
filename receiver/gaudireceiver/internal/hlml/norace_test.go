//go:build !race

package hlml

// raceEnabled: see race_test.go.
const raceEnabled = false
