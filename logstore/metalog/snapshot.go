package metalog

import (
	"cmp"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/weirmq/weir/logstore"
)

// SnapshotID names a snapshot as KRaft does: it holds the state after
// every record below EndOffset; Epoch is the leader epoch of the last.
type SnapshotID struct {
	EndOffset int64
	Epoch     int32
}

// Snapshot file names: `<end offset, 20 digits>-<epoch, 10 digits>` and a
// suffix. A snapshot is written to .part, fsynced and renamed.
const (
	snapshotSuffix = ".checkpoint"
	partialSuffix  = ".checkpoint.part"
)

// FileName is the snapshot's file name.
func (id SnapshotID) FileName() string {
	return fmt.Sprintf("%020d-%010d%s", id.EndOffset, id.Epoch, snapshotSuffix)
}

// ParseSnapshotName reads a snapshot id from a file name.
func ParseSnapshotName(name string) (SnapshotID, bool) {
	stem, ok := strings.CutSuffix(filepath.Base(name), snapshotSuffix)
	off, epoch, cut := strings.Cut(stem, "-")
	if !ok || !cut || len(off) != 20 || len(epoch) != 10 {
		return SnapshotID{}, false
	}
	o, err1 := strconv.ParseInt(off, 10, 64)
	e, err2 := strconv.ParseInt(epoch, 10, 32)
	if err1 != nil || err2 != nil || o < 0 || e < 0 {
		return SnapshotID{}, false
	}
	return SnapshotID{EndOffset: o, Epoch: int32(e)}, true
}

// snapshotBatchBytes bounds the records of one snapshot batch.
const snapshotBatchBytes = 64 << 10

// EncodeSnapshot returns a snapshot file's bytes: a control batch with the
// SnapshotHeader, recs in batches of about snapshotBatchBytes, and a
// control batch with the SnapshotFooter. Offsets count from 0 through the
// file, as KRaft's snapshot writer numbers them; every batch carries the
// snapshot's epoch and appendTime (ms).
func EncodeSnapshot(id SnapshotID, lastLogTimestamp, appendTime int64, recs []Record) []byte {
	return EncodeSnapshotWith(id, lastLogTimestamp, appendTime, nil, recs)
}

// EncodeSnapshotWith is EncodeSnapshot with more control records in the
// header batch after the SnapshotHeader, as Kafka's kraft.version 1 puts
// its KRaftVersion and Voters records there.
func EncodeSnapshotWith(id SnapshotID, lastLogTimestamp, appendTime int64, header []Control, recs []Record) []byte {
	hs := append([]Control{SnapshotHeader{LastContainedLogTimestamp: lastLogTimestamp}}, header...)
	out := EncodeControlBatch(0, id.Epoch, appendTime, hs)
	next := int64(len(hs))
	for start := 0; start < len(recs); {
		end, size := start, 0
		for end < len(recs) && (end == start || size < snapshotBatchBytes) {
			size += len(AppendRecord(nil, recs[end])) // small records: encoding twice is cheap
			end++
		}
		out = append(out, EncodeBatch(next, id.Epoch, appendTime, recs[start:end])...)
		next += int64(end - start)
		start = end
	}
	return append(out, EncodeControlBatch(next, id.Epoch, appendTime, []Control{SnapshotFooter{}})...)
}

// DecodeSnapshot reads a snapshot file's bytes: the records between its
// header and footer. Anything else (a bad batch, no header, no footer,
// bytes after the footer) is an error: snapshots are written whole.
func DecodeSnapshot(data []byte) ([]Record, SnapshotHeader, error) {
	var (
		recs   []Record
		header *SnapshotHeader
	)
	for pos := 0; pos < len(data); {
		n, err := logstore.ValidateBatch(data[pos:], 0, logstore.OriginReplication)
		if err != nil {
			return nil, SnapshotHeader{}, fmt.Errorf("batch at byte %d: %w", pos, err)
		}
		b, err := DecodeBatch(data[pos : pos+int(n)])
		if err != nil {
			return nil, SnapshotHeader{}, fmt.Errorf("batch at byte %d: %w", pos, err)
		}
		pos += int(n)
		switch {
		case header == nil:
			h, ok := firstControl[SnapshotHeader](b)
			if !ok {
				return nil, SnapshotHeader{}, fmt.Errorf("the first batch is not a snapshot header")
			}
			header = &h
		case len(b.Controls) > 0:
			if _, ok := onlyControl[SnapshotFooter](b); !ok || pos != len(data) {
				return nil, SnapshotHeader{}, fmt.Errorf("control batch at byte %d is not the closing footer", pos-int(n))
			}
			return recs, *header, nil
		default:
			recs = append(recs, b.Records...)
		}
	}
	return nil, SnapshotHeader{}, fmt.Errorf("no snapshot footer in %d bytes", len(data))
}

// firstControl is b's first control record if it is of type T. A header
// batch may hold more after it (kraft.version 1 adds the voters, and so
// does Weir's quorum); DecodeSnapshot skips them.
func firstControl[T Control](b Batch) (T, bool) {
	var zero T
	if len(b.Controls) == 0 {
		return zero, false
	}
	c, ok := b.Controls[0].(T)
	return c, ok
}

// onlyControl is the control record of b if b holds exactly one, of type T.
func onlyControl[T Control](b Batch) (T, bool) {
	var zero T
	if len(b.Controls) != 1 {
		return zero, false
	}
	c, ok := b.Controls[0].(T)
	return c, ok
}

// listSnapshots returns the ids of dir's snapshots, newest first, and
// removes partial ones left by a crash.
func listSnapshots(dir string) ([]SnapshotID, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var ids []SnapshotID
	for _, e := range ents {
		if strings.HasSuffix(e.Name(), partialSuffix) {
			os.Remove(filepath.Join(dir, e.Name()))
			continue
		}
		if id, ok := ParseSnapshotName(e.Name()); ok {
			ids = append(ids, id)
		}
	}
	slices.SortFunc(ids, func(a, b SnapshotID) int {
		return cmp.Or(cmp.Compare(b.EndOffset, a.EndOffset), cmp.Compare(b.Epoch, a.Epoch))
	})
	return ids, nil
}

// writeSnapshot writes data as snapshot id in dir: to a .part file,
// fsynced, renamed into place, and the directory fsynced.
func writeSnapshot(dir string, id SnapshotID, data []byte) error {
	path := filepath.Join(dir, id.FileName())
	return logstore.WriteFileVia(strings.TrimSuffix(path, snapshotSuffix)+partialSuffix, path, data)
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("fsync %s: %w", dir, err)
	}
	return nil
}
