package metalog

import (
	"bytes"
	"encoding/binary"
	"reflect"
	"testing"

	"github.com/twmb/franz-go/pkg/kmsg"
	"github.com/weirmq/weir/logstore"
)

// kmsg has the LeaderChangeMessage and the control key: ours must give
// the same bytes, and read kmsg's.
func TestControlRecordsAgainstKmsg(t *testing.T) {
	lc := LeaderChange{LeaderID: 3, Voters: []Voter{{VoterID: 1}, {VoterID: 3}}, GrantingVoters: []Voter{{VoterID: 3}}}
	ref := kmsg.LeaderChangeMessage{Version: 0, LeaderID: 3,
		Voters:         []kmsg.LeaderChangeMessageVoter{{VoterID: 1}, {VoterID: 3}},
		GrantingVoters: []kmsg.LeaderChangeMessageVoter{{VoterID: 3}}}
	if got, want := appendControlValue(nil, lc), ref.AppendTo(nil); !bytes.Equal(got, want) {
		t.Errorf("LeaderChange value\n got %x\nwant %x", got, want)
	}
	key := kmsg.ControlRecordKey{Version: 0, Type: kmsg.ControlRecordKeyType(ControlLeaderChange)}
	if got, want := appendControlKey(nil, ControlLeaderChange), key.AppendTo(nil); !bytes.Equal(got, want) {
		t.Errorf("control key %x, kmsg %x", got, want)
	}
	c, err := DecodeControl(key.AppendTo(nil), ref.AppendTo(nil))
	if err != nil || !reflect.DeepEqual(c, lc) {
		t.Errorf("decoded kmsg's: %+v %v", c, err)
	}
	for _, c := range []Control{SnapshotHeader{LastContainedLogTimestamp: 1700000000123}, SnapshotFooter{}, lc} {
		k, v := appendControlKey(nil, c.ControlType()), appendControlValue(nil, c)
		got, err := DecodeControl(k, v)
		if err != nil || !reflect.DeepEqual(got, c) {
			t.Errorf("%T: %+v %v", c, got, err)
		}
		for i := 0; i < len(v); i++ {
			if _, err := DecodeControl(k, v[:i]); err == nil {
				t.Errorf("%T: %d of %d value bytes decoded", c, i, len(v))
			}
		}
	}
	// SnapshotHeader v0: Version i16, LastContainedLogTimestamp i64, tags.
	if got := appendControlValue(nil, SnapshotHeader{LastContainedLogTimestamp: 0x0102}); !bytes.Equal(got,
		[]byte{0, 0, 0, 0, 0, 0, 0, 0, 1, 2, 0}) {
		t.Errorf("snapshot header bytes %x", got)
	}
	if _, err := DecodeControl([]byte{0, 0, 0, 1}, []byte{0, 0, 0, 0, 0, 0}); err == nil {
		t.Errorf("a commit marker decoded as a KRaft control record")
	}
}

// A batch we write is a valid magic-2 batch by logstore's checks and by
// kmsg's decoding, and reads back the same.
func TestBatchRoundTrip(t *testing.T) {
	recs := []Record{TopicRecord{Name: "orders", ID: idX},
		PartitionRecord{Partition: 0, TopicID: idX, Replicas: []int32{1}, ISR: []int32{1}, Leader: 1}}
	b := EncodeBatch(42, 7, 1700000000000, recs)
	if _, err := logstore.ValidateBatch(b, 1<<20, logstore.OriginReplication); err != nil {
		t.Fatal(err)
	}
	var kb kmsg.RecordBatch
	if err := kb.ReadFrom(b); err != nil {
		t.Fatal(err)
	}
	if kb.FirstOffset != 42 || kb.PartitionLeaderEpoch != 7 || kb.Magic != 2 || kb.ProducerID != -1 ||
		kb.ProducerEpoch != -1 || kb.FirstSequence != -1 || kb.NumRecords != 2 || kb.LastOffsetDelta != 1 ||
		kb.Attributes != 0 || kb.FirstTimestamp != 1700000000000 || kb.MaxTimestamp != 1700000000000 {
		t.Errorf("header %+v", kb)
	}
	var krecs []kmsg.Record
	for rest := kb.Records; len(rest) > 0; {
		n, w := binary.Varint(rest)
		var kr kmsg.Record
		if w <= 0 || kr.ReadFrom(rest[:w+int(n)]) != nil {
			t.Fatalf("kmsg cannot read record %d: %x", len(krecs), rest)
		}
		krecs, rest = append(krecs, kr), rest[w+int(n):]
	}
	if len(krecs) != len(recs) {
		t.Fatalf("kmsg read %d records", len(krecs))
	}
	for i, kr := range krecs {
		if kr.Key != nil || kr.OffsetDelta != int32(i) || !bytes.Equal(kr.Value, AppendRecord(nil, recs[i])) {
			t.Errorf("record %d: %+v", i, kr)
		}
	}
	got, err := DecodeBatch(b)
	if err != nil || !reflect.DeepEqual(got, Batch{BaseOffset: 42, LeaderEpoch: 7, AppendTime: 1700000000000,
		Records: recs}) || got.LastOffset() != 43 {
		t.Errorf("decoded %+v %v", got, err)
	}

	cb := EncodeControlBatch(44, 7, 5, []Control{SnapshotFooter{}})
	if logstore.Batch(cb).Attributes() != attrControl || !logstore.Batch(cb).IsControl() {
		t.Errorf("control attributes %#x", logstore.Batch(cb).Attributes())
	}
	if got, err := DecodeBatch(cb); err != nil || len(got.Controls) != 1 || got.Records != nil {
		t.Errorf("control batch %+v %v", got, err)
	}

	b[len(b)-1] ^= 1
	if _, err := DecodeBatch(b); err == nil {
		t.Errorf("a flipped byte passed the CRC")
	}
}
