package engine

import "os"

// haltAt, from the environment variable WEIR_TEST_HALT_AT, names a point
// in the code where the broker logs "halted for a crash test" and stops
// there, for a test to SIGKILL it in a window that timing cannot hit
// reliably (cmd/weir's TestKilledDeleteFinishesAfterRestart). Points:
//
//	delete-topics-committed  DeleteTopics wrote the removal to the metadata
//	                         log and published it; no log is renamed yet
//	log-move-copying         a move between log dirs copied its first chunk
//	                         into the future log (logmoves.go)
//	log-move-switching       a move's switch renamed the log's directory
//	                         `-delete`, not yet the future's into place (on
//	                         the partition's owner shard, which stops there)
//
// Unset outside tests.
var haltAt = os.Getenv("WEIR_TEST_HALT_AT")

// testHalt, set by this package's tests, is called at every point instead.
var testHalt func(point string)

// haltPoint blocks the caller forever when haltAt names point.
func (b *Broker) haltPoint(point string) {
	if testHalt != nil {
		testHalt(point)
		return
	}
	if haltAt == "" || haltAt != point {
		return
	}
	b.log.Warn("halted for a crash test; waiting to be killed", "point", point)
	select {}
}
