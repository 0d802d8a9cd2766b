package main

import (
	"context"
	"crypto/rand"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// deleteGoneWithin bounds how long after a restart the directories of a
// killed delete may stay.
const deleteGoneWithin = 15 * time.Second

// TestKilledDeleteFinishesAfterRestart: a broker SIGKILLed in a
// DeleteTopics, once where the removal is in the metadata log but no
// partition directory is renamed yet (held there by WEIR_TEST_HALT_AT) and
// once right after the answer (directories renamed `-delete`, waiting out
// file.delete.delay.ms), is restarted: the topic's directories are gone
// within a bounded time, another topic keeps its records, and the name can
// be created again, empty.
func TestKilledDeleteFinishesAfterRestart(t *testing.T) {
	backends(t, func(t *testing.T, io string) {
		dir := t.TempDir()
		args := []string{"--log.segment.bytes=262144"}
		b := startBroker(t, brokerOpts{io: io, logDir: dir, args: args,
			env: []string{"WEIR_TEST_HALT_AT=delete-topics-committed"}})
		port := b.port
		createTopic(t, b.addr, "doomed", 3)
		createTopic(t, b.addr, "kept", 1)
		fillTopic(t, b.addr, "doomed", 3, 600)
		fillTopic(t, b.addr, "kept", 1, 50)

		// Killed between the metadata commit and the renames.
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { deleteTopic(ctx, b.addr, "doomed"); close(done) }() // never answered
		waitStderr(t, b, "halted for a crash test")
		kill(t, b)
		cancel()
		<-done // no retry reaches the restarted broker
		if got := partitionDirs(t, dir, "doomed"); len(got) != 3 {
			t.Fatalf("before restart: want doomed-0..2 in place, got %v", got)
		}
		if segs, _ := filepath.Glob(filepath.Join(dir, "doomed-0", "*.log")); len(segs) < 2 {
			t.Fatalf("doomed-0 holds segments %v, want several", segs)
		}
		b = startBroker(t, brokerOpts{io: io, logDir: dir, port: port, args: args})
		waitNoDirs(t, dir, "doomed")
		checkAfterDelete(t, b.addr)

		// Killed right after the answer: the directories are renamed,
		// their removal 60 s (file.delete.delay.ms) away.
		fillTopic(t, b.addr, "doomed", 3, 600)
		if err := deleteTopic(context.Background(), b.addr, "doomed"); err != nil {
			t.Fatal(err)
		}
		kill(t, b)
		if got := partitionDirs(t, dir, "doomed"); len(got) != 3 || !strings.HasSuffix(got[0], "-delete") {
			t.Fatalf("after the answer: want doomed's 3 dirs renamed -delete, got %v", got)
		}
		b = startBroker(t, brokerOpts{io: io, logDir: dir, port: port, args: args})
		waitNoDirs(t, dir, "doomed")
		checkAfterDelete(t, b.addr)
	})
}

// fillTopic writes n records of 1 KiB to every partition of topic.
func fillTopic(t *testing.T, addr, topic string, partitions int32, n int) {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr), kgo.DefaultProduceTopic(topic),
		kgo.RecordPartitioner(kgo.ManualPartitioner()), kgo.ProducerBatchMaxBytes(64<<10)) // below segment.bytes
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	var recs []*kgo.Record
	for p := int32(0); p < partitions; p++ {
		for i := 0; i < n; i++ {
			v := make([]byte, 1024)
			rand.Read(v)
			recs = append(recs, &kgo.Record{Partition: p, Value: v})
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := cl.ProduceSync(ctx, recs...).FirstErr(); err != nil {
		t.Fatal(err)
	}
}

// deleteTopic deletes topic through the admin API.
func deleteTopic(ctx context.Context, addr, topic string) error {
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr))
	if err != nil {
		return err
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	resp, err := kadm.NewClient(cl).DeleteTopic(ctx, topic)
	if err != nil {
		return err
	}
	return resp.Err
}

// waitStderr waits until the broker's stderr holds s.
func waitStderr(t *testing.T, b *broker, s string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !strings.Contains(b.stderr.String(), s) {
		if time.Now().After(deadline) {
			t.Fatalf("no %q from the broker:\n%s", s, b.stderr)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// kill SIGKILLs the broker and waits for it to exit.
func kill(t *testing.T, b *broker) {
	t.Helper()
	if err := syscall.Kill(b.pid(), syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-b.done
}

// partitionDirs are the entries of dir that are topic's partition
// directories, renamed or not.
func partitionDirs(t *testing.T, dir, topic string) []string {
	t.Helper()
	re := regexp.MustCompile(`^` + regexp.QuoteMeta(topic) + `-[0-9]+(\.[0-9a-f]{32}-(delete|stray))?$`)
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range ents {
		if re.MatchString(e.Name()) {
			out = append(out, e.Name())
		}
	}
	return out
}

// waitNoDirs waits up to deleteGoneWithin until dir holds no partition
// directory of topic.
func waitNoDirs(t *testing.T, dir, topic string) {
	t.Helper()
	deadline := time.Now().Add(deleteGoneWithin)
	for {
		got := partitionDirs(t, dir, topic)
		if len(got) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%v after restart, %v later: the delete was not finished", got, deleteGoneWithin)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// checkAfterDelete: doomed is gone and can be created again, empty; kept
// has its 50 records.
func checkAfterDelete(t *testing.T, addr string) {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	topics, err := adm.ListTopics(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if topics.Has("doomed") {
		t.Fatal("doomed is back after the restart")
	}
	if resp, err := adm.CreateTopic(ctx, 3, 1, nil, "doomed"); err != nil || resp.Err != nil {
		t.Fatalf("create doomed again: %v %v", err, resp.Err)
	}
	ends, err := adm.ListEndOffsets(ctx, "doomed", "kept")
	if err != nil {
		t.Fatal(err)
	}
	ends.Each(func(o kadm.ListedOffset) {
		want := int64(0)
		if o.Topic == "kept" {
			want = 50
		}
		if o.Err != nil || o.Offset != want {
			t.Errorf("%s-%d: end offset %d (%v), want %d", o.Topic, o.Partition, o.Offset, o.Err, want)
		}
	})
	if n := len(ends["doomed"]); n != 3 {
		t.Errorf("recreated doomed has %d partitions", n)
	}
}
