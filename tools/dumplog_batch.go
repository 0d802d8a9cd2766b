package tools

import (
	"encoding/binary"
	"fmt"
	"io"
	"os"

	"github.com/weirmq/weir/logstore"
)

// dumpSegment prints the batches of one .log file.
func (d *dumper) dumpSegment(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	base, _ := baseOffsetFromName(path)
	d.say("Dumping %s", path)
	if base >= 0 {
		d.say("Log starting offset: %d", base)
	}
	return d.dumpBatches(path, f, fi.Size(), base)
}

// dumpBatches prints every batch of a segment read from r, then why the
// walk ended if not at the end of the file. base is the segment's base
// offset from its name, -1 if unknown. Only a read error is returned: what
// is wrong with the bytes is printed as a problem.
func (d *dumper) dumpBatches(file string, r io.Reader, size, base int64) error {
	w := newSegmentWalker(r, size)
	next := base // the lowest offset the next batch may start at
	for {
		pos, b, tail, err := w.next()
		if err != nil {
			return fmt.Errorf("%s: %w", file, err)
		}
		if b == nil {
			switch {
			case tail == nil:
			case tail.zeros:
				d.say("End of batches at position %d: %s", tail.pos, tail.reason)
			default:
				d.problem(file, tail.pos, "torn or corrupt tail: %s", tail.reason)
			}
			return nil
		}
		if magic := int8(b[offMagic]); magic != 2 {
			d.problem(file, pos, "batch at offset %d of %d bytes has magic %d: only magic 2 is decoded",
				int64(binary.BigEndian.Uint64(b)), len(b), magic)
			continue
		}
		d.batch(file, pos, logstore.Batch(b), &next)
	}
}

// batch checks one magic-2 batch (CRC, offsets after the previous batch's,
// records when decoded) and prints it with what is wrong.
func (d *dumper) batch(file string, pos int64, b logstore.Batch, next *int64) {
	var problems []string
	if got := b.ComputeCRC(); got != b.CRC() {
		problems = append(problems, fmt.Sprintf("crc %#08x does not match the batch's bytes, which give %#08x", b.CRC(), got))
	}
	switch {
	case b.LastOffsetDelta() < 0:
		problems = append(problems, fmt.Sprintf("last offset delta %d is negative", b.LastOffsetDelta()))
	case b.BaseOffset() < *next:
		problems = append(problems, fmt.Sprintf("base offset %d is below %d, where the previous batch ended", b.BaseOffset(), *next))
	}
	*next = max(*next, b.LastOffset()+1)
	var recs []record
	if d.deep {
		var err error
		if recs, err = decodeRecords(b); err != nil {
			problems = append(problems, "records: "+err.Error())
		}
	}
	var metas []metaRecord
	if d.metadata {
		var bad []string
		metas, bad = decodeMetadata(b, recs)
		problems = append(problems, bad...)
	}
	d.problems += len(problems)
	if d.json {
		writeJSONLine(d.w, d.batchJSON(file, pos, b, recs, metas, problems))
		return
	}
	d.printBatch(pos, b, recs, metas, problems)
}

func timestampType(b logstore.Batch) string {
	if b.IsLogAppendTime() {
		return "LogAppendTime"
	}
	return "CreateTime"
}

// controlType names a transaction marker from its record key: version i16,
// type i16 (0 abort, 1 commit).
func controlType(key []byte) string {
	if len(key) < 4 {
		return "unknown"
	}
	switch binary.BigEndian.Uint16(key[2:]) {
	case 0:
		return "ABORT"
	case 1:
		return "COMMIT"
	}
	return fmt.Sprintf("unknown(%d)", binary.BigEndian.Uint16(key[2:]))
}

// coordinatorEpoch is in a marker's value: version i16, epoch i32.
func coordinatorEpoch(value []byte) int32 {
	if len(value) < 6 {
		return -1
	}
	return int32(binary.BigEndian.Uint32(value[2:]))
}
