package engine

import (
	"bytes"
	"fmt"
	"hash/crc32"
	"testing"

	"github.com/klauspost/compress/zstd"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/weirmq/weir/engine/groups"
	"github.com/weirmq/weir/logstore"
)

// readRecords replays plain and compressed batches alike, in order, up
// to the log end (the high watermark is left at 0), and what it hands out
// stays valid after the next batch (a compressed batch's records come from
// a buffer the decoder reuses).
func TestGroupReplayReadsCompressedBatches(t *testing.T) {
	l, err := logstore.Open(t.TempDir(), offsetsTopic, 0, logstore.DefaultConfig(), logstore.Options{},
		logstore.OpenState{Clean: true})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	var want []groups.Record
	for i := 0; i < 6; i++ {
		recs := []groups.Record{
			{Key: []byte(fmt.Sprintf("key-%d-a", i)), Value: bytes.Repeat([]byte{byte(i)}, 50)},
			{Key: []byte(fmt.Sprintf("key-%d-b", i))}, // a tombstone
		}
		batch := buildGroupBatch(recs)
		if i%2 == 1 {
			batch = zstdGroupBatch(t, recs)
		}
		if _, err := l.Append(batch, 0); err != nil {
			t.Fatal(err)
		}
		want = append(want, recs...)
	}
	var got []groups.Record
	more := func() bool { return true }
	if err := readRecords(&partition{log: l}, more, func(key, value []byte) {
		got = append(got, groups.Record{Key: key, Value: value})
	}); err != nil {
		t.Fatal(err)
	}
	if len(got) != len(want) {
		t.Fatalf("%d records, want %d", len(got), len(want))
	}
	for i := range want {
		if !bytes.Equal(got[i].Key, want[i].Key) || !bytes.Equal(got[i].Value, want[i].Value) ||
			(got[i].Value == nil) != (want[i].Value == nil) {
			t.Fatalf("record %d: %q=%v, want %q=%v", i, got[i].Key, got[i].Value, want[i].Key, want[i].Value)
		}
	}
}

// zstdGroupBatch is buildGroupBatch's batch with its records compressed.
func zstdGroupBatch(t *testing.T, recs []groups.Record) []byte {
	var rb kmsg.RecordBatch
	if err := rb.ReadFrom(buildGroupBatch(recs)); err != nil {
		t.Fatal(err)
	}
	enc, err := zstd.NewWriter(nil)
	if err != nil {
		t.Fatal(err)
	}
	rb.Records, rb.Attributes = enc.EncodeAll(rb.Records, nil), 4
	b := rb.AppendTo(nil)
	rb.Length = int32(len(b) - logstore.LogOverhead)
	b = rb.AppendTo(b[:0])
	rb.CRC = int32(crc32.Checksum(b[21:], crc32.MakeTable(crc32.Castagnoli)))
	return rb.AppendTo(b[:0])
}
