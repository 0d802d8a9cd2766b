//go:build race

package netio

// raceEnabled: the race detector's shadow memory would count in the
// memory figures of TestFrameMemoryReturned.
const raceEnabled = true
