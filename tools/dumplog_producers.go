package tools

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"

	"github.com/weirmq/weir/logstore"
)

// producerSnapshotJSON is one producer of a .snapshot file, for --output
// json; the batch fields are its newest batch, as the file keeps it.
type producerSnapshotJSON struct {
	File                  string `json:"file"`
	ProducerID            int64  `json:"producer_id"`
	ProducerEpoch         int16  `json:"producer_epoch"`
	CoordinatorEpoch      int32  `json:"coordinator_epoch"`
	CurrentTxnFirstOffset int64  `json:"current_txn_first_offset"`
	LastTimestamp         int64  `json:"last_timestamp"`
	FirstSequence         int32  `json:"first_sequence"`
	LastSequence          int32  `json:"last_sequence"`
	LastOffset            int64  `json:"last_offset"`
	OffsetDelta           int32  `json:"offset_delta"`
}

// dumpProducerSnapshot prints a producer-state snapshot
// (<offset>.snapshot) a line per producer, as Kafka's DumpLogSegments
// does; a file that does not decode (torn, corrupt, another version) is a
// problem.
func (d *dumper) dumpProducerSnapshot(path string) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	d.say("Dumping %s", path)
	entries, err := logstore.DecodeProducerSnapshot(data)
	if err != nil {
		d.problem(path, 0, "%v", err)
		return nil
	}
	for _, e := range entries {
		firstSeq := e.LastSequence - e.OffsetDelta
		if firstSeq < 0 { // the sequence wrapped (past MaxInt32 to 0) inside the batch
			firstSeq += math.MaxInt32
			firstSeq++
		}
		if d.json {
			writeJSONLine(d.w, producerSnapshotJSON{File: path, ProducerID: e.ProducerID, ProducerEpoch: e.Epoch,
				CoordinatorEpoch: e.CoordinatorEpoch, CurrentTxnFirstOffset: e.CurrentTxnFirstOffset,
				LastTimestamp: e.Timestamp, FirstSequence: firstSeq, LastSequence: e.LastSequence,
				LastOffset: e.LastOffset, OffsetDelta: e.OffsetDelta})
			continue
		}
		txn := "None"
		if e.CurrentTxnFirstOffset >= 0 {
			txn = fmt.Sprint(e.CurrentTxnFirstOffset)
		}
		d.say("producerId: %d producerEpoch: %d coordinatorEpoch: %d currentTxnFirstOffset: %s lastTimestamp: %d "+
			"firstSequence: %d lastSequence: %d lastOffset: %d offsetDelta: %d",
			e.ProducerID, e.Epoch, e.CoordinatorEpoch, txn, e.Timestamp, firstSeq, e.LastSequence, e.LastOffset,
			e.OffsetDelta)
	}
	return nil
}

// isProducerSnapshot says whether path names a partition's producer-state
// snapshot: 20 digits and .snapshot (the metadata log's snapshots are
// .checkpoint files).
func isProducerSnapshot(path string) bool {
	digits, ok := strings.CutSuffix(filepath.Base(path), ".snapshot")
	return ok && len(digits) == 20 && strings.Trim(digits, "0123456789") == ""
}
