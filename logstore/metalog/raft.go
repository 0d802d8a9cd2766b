package metalog

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/weirmq/weir/logstore"
)

// The Raft quorum's part of the metadata log (engine/quorum uses it):
// opening a log without writing to it, Kafka's VotersRecord, raw batch
// reads, and snapshots at an offset below the log end or received whole
// from a leader. The single node's Open, Append and Snapshot do not use it.

// ControlKRaftVoters is the control type of Kafka's VotersRecord.
const ControlKRaftVoters ControlType = 6

// KRaftVoters is Kafka's VotersRecord (KIP-853), version 0: the voters of
// the quorum. Kafka writes it in a snapshot's header batch, after the
// SnapshotHeader, and in a control batch of the log when the voters
// change. Quorum is Weir's own: engine/quorum's state for the record (the
// Raft position of a snapshot, the Raft change of a log entry), opaque
// here and written as tagged field QuorumTag, which Kafka's readers skip.
type KRaftVoters struct {
	Version int16        `json:"version"`
	Voters  []KRaftVoter `json:"voters"`
	Quorum  []byte       `json:"weirQuorum,omitempty"`
}

// KRaftVoter is one voter of a KRaftVoters record.
type KRaftVoter struct {
	VoterID             int32               `json:"voterId"`
	VoterDirectoryID    UUID                `json:"voterDirectoryId"`
	Endpoints           []KRaftEndpoint     `json:"endpoints"`
	KRaftVersionFeature KRaftVersionFeature `json:"kRaftVersionFeature"`
}

// KRaftEndpoint is a listener a voter is reached on.
type KRaftEndpoint struct {
	Name string `json:"name"`
	Host string `json:"host"`
	Port uint16 `json:"port"`
}

// KRaftVersionFeature is the range of kraft.version a voter supports.
type KRaftVersionFeature struct {
	MinSupportedVersion int16 `json:"minSupportedVersion"`
	MaxSupportedVersion int16 `json:"maxSupportedVersion"`
}

func (KRaftVoters) ControlType() ControlType { return ControlKRaftVoters }

// QuorumTag is the tag of KRaftVoters.Quorum: far above the tags Kafka
// numbers from 0, so a tag Kafka adds later does not collide. It is part
// of the format and must not change.
const QuorumTag = 0x5745 // "WE"

// appendKRaftVoters appends v's value, tagged fields included:
//
//	Version i16 | Voters compact array of
//	  (VoterId i32 | VoterDirectoryId uuid |
//	   Endpoints compact array of (Name string | Host string | Port u16 | tags) |
//	   KRaftVersionFeature (Min i16 | Max i16 | tags) | tags) |
//	tags (QuorumTag: Quorum)
func appendKRaftVoters(b []byte, v KRaftVoters) []byte {
	b = appendInt16(b, v.Version)
	b = appendUvarint(b, uint32(len(v.Voters)+1))
	for _, x := range v.Voters {
		b = appendInt32(b, x.VoterID)
		b = append(b, x.VoterDirectoryID[:]...)
		b = appendUvarint(b, uint32(len(x.Endpoints)+1))
		for _, e := range x.Endpoints {
			b = appendString(b, e.Name)
			b = appendString(b, e.Host)
			b = binary.BigEndian.AppendUint16(b, e.Port)
			b = append(b, 0)
		}
		b = appendInt16(b, x.KRaftVersionFeature.MinSupportedVersion)
		b = appendInt16(b, x.KRaftVersionFeature.MaxSupportedVersion)
		b = append(b, 0, 0) // the feature's tags, the voter's tags
	}
	var t tagWriter
	if v.Quorum != nil {
		t.add(QuorumTag, v.Quorum)
	}
	return t.appendTo(b)
}

// readKRaftVoters reads what appendKRaftVoters writes; Quorum is a copy.
func readKRaftVoters(r *reader) KRaftVoters {
	v := KRaftVoters{Version: r.int16()}
	n := r.compactLen()
	if n < 0 {
		r.fail(fmt.Errorf("null voters"))
	}
	for i := 0; i < n && r.err == nil; i++ {
		x := KRaftVoter{VoterID: r.int32(), VoterDirectoryID: r.uuid()}
		m := r.compactLen()
		if m < 0 {
			r.fail(fmt.Errorf("null endpoints"))
		}
		for j := 0; j < m && r.err == nil; j++ {
			e := KRaftEndpoint{Name: r.string(), Host: r.string(), Port: uint16(r.int16())}
			r.tags(nil)
			x.Endpoints = append(x.Endpoints, e)
		}
		x.KRaftVersionFeature = KRaftVersionFeature{MinSupportedVersion: r.int16(), MaxSupportedVersion: r.int16()}
		r.tags(nil)
		r.tags(nil)
		v.Voters = append(v.Voters, x)
	}
	r.tags(func(tag uint32, f *reader) bool {
		if tag != QuorumTag {
			return false
		}
		v.Quorum = bytes.Clone(f.take(len(f.b)))
		return true
	})
	return v
}

// OpenQuorum opens the metadata log in dir for a Raft quorum, creating it
// when new. Unlike Open it writes no record: the quorum's leaders write
// their LeaderChange and the first metadata.version through Raft. It cuts
// a torn tail (logstore's recovery), finishes a snapshot install that a
// crash interrupted (see InstallSnapshot), loads the newest readable
// snapshot's id and checks that the log goes on from it (it may also
// hold batches below it, which Compact left). The caller reads the
// snapshot (ReadSnapshot) and the batches (ReadRaw).
func OpenQuorum(dir string, opts Options) (*Log, error) {
	opts, err := opts.prepare(dir)
	if err != nil {
		return nil, err
	}
	store, err := logstore.Open(dir, logstore.MetadataTopic, 0, storeConfig(opts.SegmentBytes),
		logstore.Options{Logger: opts.Logger, Now: opts.Now},
		logstore.OpenState{LogStartOffset: -1})
	if err != nil {
		return nil, fmt.Errorf("metadata log: %w", err)
	}
	l := &Log{dir: dir, store: store, opts: opts}
	err = store.SetTopicID(TopicID)
	if err == nil {
		err = l.finishInstall()
	}
	if err == nil {
		_, err = l.load(false)
	}
	if err != nil {
		store.Close()
		return nil, fmt.Errorf("metadata log %s: %w", dir, err)
	}
	return l, nil
}

// finishInstall completes an install that a crash cut between emptying
// the log and writing the snapshot: an empty log that starts past the
// newest snapshot can come from nothing else. The log goes back to start
// at the snapshot's end: this node has only the snapshot, as if the
// install had not begun and its log had been lost, which is safe because
// nothing was acknowledged for the install before it was complete.
func (l *Log) finishInstall() error {
	ids, err := listSnapshots(l.dir)
	if err != nil {
		return err
	}
	var end int64
	if len(ids) > 0 {
		end = ids[0].EndOffset
	}
	start := l.store.LogStartOffset()
	if l.store.LogEndOffset() != start || start <= end {
		return nil
	}
	l.opts.Logger.Warn("metadata log: an interrupted snapshot install left an empty log; starting it at the newest snapshot",
		"log_start_offset", start, "snapshot_end_offset", end)
	return l.store.TruncateFullyAndStartAt(end)
}

// ReadRaw calls fn with the bytes of every batch from the one holding
// offset from to the log end, as the log holds them. p is valid only
// during the call.
func (l *Log) ReadRaw(from int64, fn func(p []byte) error) error {
	var buf []byte
	for from < l.store.LogEndOffset() {
		s, err := l.store.Read(from, 1<<20, l.store.LogEndOffset())
		if err != nil {
			return err
		}
		if s.Len == 0 {
			s.Release()
			return fmt.Errorf("no batch holds offset %d below the log end %d", from, l.store.LogEndOffset())
		}
		if int64(cap(buf)) < s.Len {
			buf = make([]byte, s.Len)
		}
		buf = buf[:s.Len]
		_, err = s.Seg.File().ReadAt(buf, s.Pos)
		s.Release()
		if err != nil {
			return fmt.Errorf("read offset %d: %w", from, err)
		}
		for pos := 0; pos < len(buf); {
			b := logstore.Batch(buf[pos:])
			if len(b) < logstore.BatchHeaderSize || b.Size() > int64(len(b)) {
				return fmt.Errorf("%w: a batch at offset %d runs past the read", logstore.ErrCorrupt, from)
			}
			b = b[:b.Size()]
			pos += len(b)
			if b.LastOffset() < from {
				continue
			}
			if err := fn(b); err != nil {
				return err
			}
			from = b.LastOffset() + 1
		}
	}
	return nil
}

// SnapshotAt writes recs, the image after every batch below id.EndOffset,
// as snapshot id, whose header batch also holds header (a KRaftVoters);
// lastLogTimestamp is the append time of the batch before id.EndOffset.
// It deletes the older snapshot but no segment: a Raft node keeps some of
// the log below its snapshot for followers a little behind, and Compact
// deletes it later. id.EndOffset may be below the log end (a Raft node
// snapshots what it has applied) but must end a batch.
func (l *Log) SnapshotAt(id SnapshotID, lastLogTimestamp int64, header []Control, recs []Record) error {
	if id.EndOffset > l.store.LogEndOffset() || id.EndOffset < l.snapshot.EndOffset {
		return fmt.Errorf("metadata snapshot at %d: the log holds [%d, %d)", id.EndOffset,
			l.snapshot.EndOffset, l.store.LogEndOffset())
	}
	if id == l.snapshot {
		return nil
	}
	data := EncodeSnapshotWith(id, lastLogTimestamp, l.now(), header, recs)
	if err := writeSnapshot(l.dir, id, data); err != nil {
		return fmt.Errorf("metadata snapshot: %w", err)
	}
	l.replaceSnapshot(id)
	return nil
}

// Compact deletes the log's segments wholly below offset, which must not
// pass the newest snapshot's end, after rolling the log so that the
// active segment starts at the log end; the log starts at offset.
func (l *Log) Compact(offset int64) error {
	if offset > l.snapshot.EndOffset {
		return fmt.Errorf("metadata log: compact below %d, past the snapshot's end %d", offset, l.snapshot.EndOffset)
	}
	if offset <= l.store.LogStartOffset() {
		return nil
	}
	if err := l.store.Roll(); err != nil {
		return fmt.Errorf("metadata log: roll: %w", err)
	}
	if _, err := l.store.DeleteRecords(offset); err != nil {
		return fmt.Errorf("metadata log: delete segments below %d: %w", offset, err)
	}
	return nil
}

// InstallSnapshot replaces the whole log with a snapshot another node
// wrote (data, a snapshot file's bytes, which must decode): the log is
// emptied and starts at id.EndOffset, durably, then the snapshot is
// written and older ones deleted. A crash in between leaves an empty log
// past the newest snapshot, which OpenQuorum puts back at the snapshot.
func (l *Log) InstallSnapshot(id SnapshotID, data []byte) error {
	if _, _, err := DecodeSnapshot(data); err != nil {
		return fmt.Errorf("metadata snapshot %s: %w", id.FileName(), err)
	}
	if err := l.store.TruncateFullyAndStartAt(id.EndOffset); err != nil {
		return fmt.Errorf("metadata log: start at %d: %w", id.EndOffset, err)
	}
	if err := writeSnapshot(l.dir, id, data); err != nil {
		return fmt.Errorf("metadata snapshot: %w", err)
	}
	l.epoch = max(l.epoch, id.Epoch)
	l.replaceSnapshot(id)
	return nil
}

// replaceSnapshot makes id the newest snapshot and deletes the one before.
func (l *Log) replaceSnapshot(id SnapshotID) {
	old := l.snapshot
	l.snapshot = id
	if old != (SnapshotID{}) && old != id {
		if err := os.Remove(filepath.Join(l.dir, old.FileName())); err != nil && !errors.Is(err, os.ErrNotExist) {
			l.opts.Logger.Warn("metadata log: cannot delete an old snapshot", "file", old.FileName(), "err", err)
		}
	}
}

// ReadSnapshot reads snapshot id's file.
func (l *Log) ReadSnapshot(id SnapshotID) ([]byte, error) {
	data, err := os.ReadFile(filepath.Join(l.dir, id.FileName()))
	if err != nil {
		return nil, fmt.Errorf("metadata snapshot: %w", err)
	}
	return data, nil
}

// HeaderControls returns the control records of a snapshot file's header
// batch after its SnapshotHeader (a KRaftVoters in a quorum's snapshots).
func HeaderControls(data []byte) ([]Control, error) {
	n, err := logstore.ValidateBatch(data, 0, logstore.OriginReplication)
	if err != nil {
		return nil, err
	}
	b, err := DecodeBatch(data[:n])
	if err != nil {
		return nil, err
	}
	if _, ok := firstControl[SnapshotHeader](b); !ok {
		return nil, fmt.Errorf("the first batch is not a snapshot header")
	}
	return b.Controls[1:], nil
}
