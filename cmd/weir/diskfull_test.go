package main

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/weirmq/weir/logstore/smallfs"
)

// diskFullProducer sends acks=all without idempotence and retries a failed
// batch twice, soon (franz-go refreshes metadata before it retries a
// partition's error, by default at most every 5 s), so that a full disk
// shows as the error a record fails with.
func diskFullProducer(t *testing.T, addr, topic string, opts ...kgo.Opt) *kgo.Client {
	cl, err := kgo.NewClient(append(opts, kgo.SeedBrokers(addr), kgo.DefaultProduceTopic(topic),
		kgo.RequiredAcks(kgo.AllISRAcks()), kgo.DisableIdempotentWrite(), kgo.RecordRetries(2),
		kgo.RetryBackoffFn(func(int) time.Duration { return 20 * time.Millisecond }),
		kgo.ProducerBatchMaxBytes(256<<10), kgo.ProducerLinger(0), kgo.RetryTimeout(2*time.Second),
		kgo.MetadataMinAge(50*time.Millisecond))...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	return cl
}

// produceRound sends n records of size bytes (to the partitions in parts
// in turn, if any; the client must partition manually then) and returns
// the acknowledged ones (partition -> offset -> value) and the first error.
func produceRound(cl *kgo.Client, round, n, size int, acked map[int32]map[int64]string, parts ...int32) error {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var recs []*kgo.Record
	for i := 0; i < n; i++ {
		v := make([]byte, size) // incompressible: each record takes its size on disk
		rand.Read(v)
		copy(v, fmt.Sprintf("round %d record %d ", round, i))
		r := &kgo.Record{Value: v}
		if len(parts) > 0 {
			r.Partition = parts[i%len(parts)]
		}
		recs = append(recs, r)
	}
	var first error
	for _, r := range cl.ProduceSync(ctx, recs...) {
		if r.Err != nil {
			if first == nil {
				first = r.Err
			}
			continue
		}
		if acked[r.Record.Partition] == nil {
			acked[r.Record.Partition] = map[int64]string{}
		}
		acked[r.Record.Partition][r.Record.Offset] = string(r.Record.Value)
	}
	return first
}

func countAcked(acked map[int32]map[int64]string) int {
	n := 0
	for _, m := range acked {
		n += len(m)
	}
	return n
}

// checkAcked reads the topic from the start and checks that every
// acknowledged record is there, at its offset, unchanged.
func checkAcked(t *testing.T, addr, topic string, acked map[int32]map[int64]string) {
	t.Helper()
	want := countAcked(acked)
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr), kgo.ConsumeTopics(topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	found := 0
	for found < want {
		fs := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatalf("found %d of %d acknowledged records before the deadline", found, want)
		}
		fs.EachError(func(topic string, p int32, err error) { t.Fatalf("fetch %s-%d: %v", topic, p, err) })
		fs.EachRecord(func(r *kgo.Record) {
			v, ok := acked[r.Partition][r.Offset]
			if !ok {
				return // sent but refused or unacknowledged: may exist, need not
			}
			if v != string(r.Value) {
				t.Fatalf("partition %d offset %d holds another value", r.Partition, r.Offset)
			}
			found++
		})
	}
}

// TestDiskFull fills a small ext4 file system with producers: every
// acknowledged record stays readable, produce answers KAFKA_STORAGE_ERROR
// while the broker keeps answering, CreateTopics fails cleanly, the broker
// restarts on the full disk and serves reads, and once space is freed the
// same partitions take writes again, without a restart. A second log dir
// on another file system keeps taking writes throughout.
func TestDiskFull(t *testing.T) {
	start := time.Now()
	mnt, ext4 := smallfs.Mount(t, 48<<20)
	if !ext4 {
		t.Log("no loop-mounted ext4 here: running on tmpfs")
	}
	dir, other := filepath.Join(mnt, "data"), t.TempDir()
	port := freePort(t)
	opts := brokerOpts{io: "uring", logDir: other, port: port, args: []string{"--log.segment.bytes=4194304",
		"--log.segment.preallocate.step.bytes=1048576", "--offsets.topic.num.partitions=1",
		"--log.dirs=" + other + "," + dir}}
	// Space to give back at the end, as an operator deleting files would.
	ballast := filepath.Join(mnt, "ballast")
	if err := os.WriteFile(ballast, make([]byte, 12<<20), 0o644); err != nil {
		t.Fatal(err)
	}
	b := startBroker(t, opts)
	const topic = "fill"
	createTopic(t, b.addr, topic, 4)
	var onOther []int32 // partitions on the log dir that does not fill up
	for p := int32(0); p < 4; p++ {
		if _, err := os.Stat(filepath.Join(other, fmt.Sprintf("%s-%d", topic, p))); err == nil {
			onOther = append(onOther, p)
		}
	}
	if len(onOther) == 0 || len(onOther) == 4 {
		t.Fatalf("partitions on %s: %v; want them spread over both log dirs", other, onOther)
	}
	cl := diskFullProducer(t, b.addr, topic)
	acked := map[int32]map[int64]string{}
	var full error
	for round := 0; round < 200 && full == nil; round++ {
		full = produceRound(cl, round, 64, 8<<10, acked)
	}
	if !errors.Is(full, kerr.KafkaStorageError) {
		t.Fatalf("filling the disk: %v, want KAFKA_STORAGE_ERROR (%d partitions acked)\n%s", full, len(acked), b.stderr)
	}
	t.Logf("disk full after %d acknowledged records (%v) at %v", countAcked(acked), full, time.Since(start))
	// No block left at all now: appends are refused once the partitions'
	// reserved steps are used up.
	fillers := smallfs.Fill(t, mnt)
	full = nil
	for round := 1000; round < 1100 && full == nil; round++ {
		full = produceRound(cl, round, 16, 8<<10, acked)
	}
	if !errors.Is(full, kerr.KafkaStorageError) {
		t.Fatalf("produce to a full disk: %v, want KAFKA_STORAGE_ERROR", full)
	}
	manual := diskFullProducer(t, b.addr, topic, kgo.RecordPartitioner(kgo.ManualPartitioner()))
	if err := produceRound(manual, 1500, 16, 8<<10, acked, onOther...); err != nil {
		t.Fatalf("produce to partitions %v of the other log dir while one is full: %v", onOther, err)
	}
	adm := newAdmin(t, b.addr)
	if _, err := adm.ListTopics(ctxTimeout(t)); err != nil {
		t.Fatalf("metadata on a full disk: %v", err)
	}
	resp, err := adm.CreateTopic(ctxTimeout(t), 2, 1, nil, "on-a-full-disk")
	if err == nil {
		err = resp.Err // kadm returns the topic's error as err too
	}
	if !errors.Is(err, kerr.KafkaStorageError) {
		t.Fatalf("CreateTopics on a full disk: %v, want KAFKA_STORAGE_ERROR", err)
	}
	if topics, err := adm.ListTopics(ctxTimeout(t)); err != nil || topics.Has("on-a-full-disk") {
		t.Fatalf("a topic that failed to be created is listed: %v", err)
	}
	checkAcked(t, b.addr, topic, acked)
	t.Logf("full: %d acknowledged records read back; CreateTopics refused (%v)", countAcked(acked), time.Since(start))
	if n := strings.Count(b.stderr.String(), "append failed"); n == 0 || n > 3 {
		t.Errorf("%d 'append failed' lines for many refused appends: want them rate-limited to a few:\n%s", n, b.stderr)
	}

	// A restart on the full disk serves what is there.
	if code, _ := b.stop(); code != 0 {
		t.Fatalf("weir exited %d on a full disk:\n%s", code, b.stderr)
	}
	b = startBroker(t, opts)
	checkAcked(t, b.addr, topic, acked)

	// Space comes back: the same partitions take writes again.
	t.Logf("restarted on a full disk and read every acknowledged record back (%v)", time.Since(start))
	for _, p := range append(fillers, ballast) {
		if err := os.Remove(p); err != nil {
			t.Fatal(err)
		}
	}
	cl = diskFullProducer(t, b.addr, topic)
	if err := produceRound(cl, 2000, 64, 1<<10, acked); err != nil {
		t.Fatalf("produce after space was freed: %v", err)
	}
	checkAcked(t, b.addr, topic, acked)
	if resp, err := adm.CreateTopic(ctxTimeout(t), 2, 1, nil, "after-space-came-back"); err != nil || resp.Err != nil {
		t.Fatalf("CreateTopics after space was freed: %v %v\n%s", err, resp.Err, b.stderr)
	}
}
