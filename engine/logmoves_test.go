package engine

import (
	"context"
	"encoding/hex"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/weirmq/weir/logstore"
)

// twoDirArgs are the settings of a broker with the log dirs a and b.
func twoDirArgs(a, b string) []string { return []string{"log.dirs=" + a + "," + b} }

// alterDirReq asks to move topic's partitions to dir.
func alterDirReq(v int16, dir, topic string, partitions ...int32) *kmsg.AlterReplicaLogDirsRequest {
	req := kmsg.NewPtrAlterReplicaLogDirsRequest()
	req.Version = v
	rd := kmsg.NewAlterReplicaLogDirsRequestDir()
	rd.Dir = dir
	rt := kmsg.NewAlterReplicaLogDirsRequestDirTopic()
	rt.Topic, rt.Partitions = topic, partitions
	rd.Topics = append(rd.Topics, rt)
	req.Dirs = append(req.Dirs, rd)
	return req
}

// alterCodes are the error codes of a response, by "topic-partition".
func alterCodes(resp *kmsg.AlterReplicaLogDirsResponse) map[string]int16 {
	out := map[string]int16{}
	for _, t := range resp.Topics {
		for _, p := range t.Partitions {
			out[fmt.Sprintf("%s-%d", t.Topic, p.Partition)] = p.ErrorCode
		}
	}
	return out
}

// replicaAt is where DescribeLogDirs lists a partition: dir -> IsFuture ->
// offset lag.
type replicaAt struct {
	dir    string
	future bool
	lag    int64
}

func describeReplicas(t *testing.T, b *Broker, topic string, partition int32) []replicaAt {
	t.Helper()
	req := kmsg.NewPtrDescribeLogDirsRequest()
	req.Version = 4
	var out []replicaAt
	for _, d := range roundTrip(t, b, req).(*kmsg.DescribeLogDirsResponse).Dirs {
		for _, rt := range d.Topics {
			for _, rp := range rt.Partitions {
				if rt.Topic == topic && rp.Partition == partition {
					out = append(out, replicaAt{d.Dir, rp.IsFuture, rp.OffsetLag})
				}
			}
		}
	}
	return out
}

// AlterReplicaLogDirs' answers: LOG_DIR_NOT_FOUND for every partition of
// an entry naming no log dir, UNKNOWN_TOPIC_OR_PARTITION for a partition
// the metadata does not know, REPLICA_NOT_AVAILABLE for one known but not
// hosted here, INVALID_TOPIC_EXCEPTION for a name too long for a future
// directory, 0 for a partition already there (no move), at every version.
func TestAlterReplicaLogDirsErrors(t *testing.T) {
	d1, d2 := t.TempDir(), t.TempDir()
	b := newTopicBroker(t, twoDirArgs(d1, d2)...)
	createTopic(t, b, "t", 2)
	long := strings.Repeat("l", 249)
	createTopic(t, b, long, 1)
	home := filepath.Dir(b.lookupPartition("t", 0).log.Dir())
	for v := int16(0); v <= 2; v++ {
		for _, dir := range []string{"relative", "/no/such/dir", d1 + "x"} {
			got := alterCodes(roundTrip(t, b, alterDirReq(v, dir, "t", 0, 1)).(*kmsg.AlterReplicaLogDirsResponse))
			if len(got) != 2 || got["t-0"] != kerr.LogDirNotFound.Code || got["t-1"] != kerr.LogDirNotFound.Code {
				t.Errorf("v%d %q: %v", v, dir, got)
			}
		}
		req := alterDirReq(v, home+"/", "t", 0, 7)
		req.Dirs = append(req.Dirs, alterDirReq(v, d2, "nope", 0).Dirs...)
		req.Dirs = append(req.Dirs, alterDirReq(v, d2, long, 0).Dirs...)
		resp := roundTrip(t, b, req).(*kmsg.AlterReplicaLogDirsResponse)
		got := alterCodes(resp)
		want := map[string]int16{"t-0": 0, "t-7": kerr.UnknownTopicOrPartition.Code,
			"nope-0": kerr.UnknownTopicOrPartition.Code, long + "-0": kerr.InvalidTopicException.Code}
		if fmt.Sprint(got) != fmt.Sprint(want) || resp.Topics[0].Topic != "t" || resp.Topics[1].Topic != "nope" {
			t.Errorf("v%d: %v, want %v", v, got, want)
		}
	}
	if b.moveOf(tpOf("t", 0)) != nil || len(b.logDirs[0].Futures())+len(b.logDirs[1].Futures()) != 0 {
		t.Error("a move started for a partition already in its dir")
	}
	// Known to the metadata, not hosted here.
	tab := b.parts.Load().clone()
	delete(tab.byName, partitionKey{"t", 1})
	b.parts.Store(tab)
	got := alterCodes(roundTrip(t, b, alterDirReq(2, d2, "t", 1)).(*kmsg.AlterReplicaLogDirsResponse))
	if got["t-1"] != kerr.ReplicaNotAvailable.Code {
		t.Errorf("a partition not hosted: %v", got)
	}
}

// A destination log dir that cannot take the future log answers
// KAFKA_STORAGE_ERROR, and the partition stays where it was.
func TestAlterReplicaLogDirsStorageError(t *testing.T) {
	d1, d2 := t.TempDir(), t.TempDir()
	b := newTopicBroker(t, twoDirArgs(d1, d2)...)
	createTopic(t, b, "t", 2)
	tp := tpOf("t", 0)
	from, _ := b.findLog(tp)
	to := b.logDirs[0]
	if from == to {
		to = b.logDirs[1]
	}
	// The destination turns into a file: nothing can be made in it.
	aside := to.Path() + ".aside"
	if err := os.Rename(to.Path(), aside); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to.Path(), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	got := alterCodes(roundTrip(t, b, alterDirReq(2, to.Path(), "t", 0)).(*kmsg.AlterReplicaLogDirsResponse))
	os.Remove(to.Path())
	if err := os.Rename(aside, to.Path()); err != nil {
		t.Fatal(err)
	}
	if got["t-0"] != kerr.KafkaStorageError.Code {
		t.Errorf("move to a failed dir: %v", got)
	}
	if d, _ := b.findLog(tp); d != from || b.moveOf(tp) != nil {
		t.Errorf("after the failed move: in %v, move %v", d, b.moveOf(tp))
	}
}

func tpOf(topic string, p int32) logstore.TopicPartition {
	return logstore.TopicPartition{Topic: topic, Partition: p}
}

// ackedRecords are the records a producer had acknowledged: offset ->
// value, and the first error.
type ackedRecords struct {
	mu    sync.Mutex
	byOff map[int64]string
	err   error
}

// produceUntil produces to topic's partition 0 until stop is closed and
// keeps what was acknowledged.
func produceUntil(t *testing.T, addr, topic string, stop <-chan struct{}) (*ackedRecords, *sync.WaitGroup) {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr), kgo.DefaultProduceTopic(topic),
		kgo.RecordPartitioner(kgo.ManualPartitioner()), kgo.ProducerLinger(time.Millisecond),
		kgo.ProducerBatchMaxBytes(32<<10), // below the test topic's segment.bytes
		kgo.SoftwareNameAndVersion("weir-engine-test", "1.0"))
	if err != nil {
		t.Fatal(err)
	}
	acked := &ackedRecords{byOff: map[int64]string{}}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		defer cl.Close()
		var inflight sync.WaitGroup
		rng := rand.NewChaCha8([32]byte{1})
		for i := 0; ; i++ {
			select {
			case <-stop:
				inflight.Wait()
				return
			default:
			}
			noise := make([]byte, 50+i%100)
			rng.Read(noise)
			v := strconv.Itoa(i) + " " + hex.EncodeToString(noise)
			inflight.Add(1)
			cl.Produce(context.Background(), &kgo.Record{Value: []byte(v)}, func(r *kgo.Record, err error) {
				defer inflight.Done()
				acked.mu.Lock()
				defer acked.mu.Unlock()
				if err != nil {
					if acked.err == nil {
						acked.err = err
					}
					return
				}
				acked.byOff[r.Offset] = string(r.Value)
			})
			if i%50 == 49 {
				time.Sleep(time.Millisecond)
			}
		}
	}()
	return acked, &wg
}

// consumeUntil reads topic's partition 0 from the start until stop is
// closed, and keeps what it read.
func consumeUntil(t *testing.T, addr, topic string, stop <-chan struct{}) (*[]*kgo.Record, *sync.WaitGroup) {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr), kgo.FetchMaxWait(50*time.Millisecond),
		kgo.FetchMaxBytes(256<<10), kgo.SoftwareNameAndVersion("weir-engine-test", "1.0"),
		kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{topic: {0: kgo.NewOffset().AtStart()}}))
	if err != nil {
		t.Fatal(err)
	}
	var recs []*kgo.Record
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		defer cl.Close()
		ctx, cancel := context.WithCancel(context.Background())
		go func() { <-stop; time.Sleep(200 * time.Millisecond); cancel() }()
		for ctx.Err() == nil {
			fs := cl.PollFetches(ctx)
			fs.EachError(func(_ string, _ int32, err error) {
				if ctx.Err() == nil {
					t.Errorf("fetch: %v", err)
				}
			})
			fs.EachRecord(func(r *kgo.Record) { recs = append(recs, r) })
		}
	}()
	return &recs, &wg
}

// checkAcked reads topic's partition 0 from the start: every acknowledged
// record is there at its offset, and the offsets increase without gaps.
func checkAcked(t *testing.T, addr, topic string, acked *ackedRecords) {
	t.Helper()
	acked.mu.Lock()
	defer acked.mu.Unlock()
	if acked.err != nil {
		t.Fatalf("a produce failed: %v", acked.err)
	}
	var last int64 = -1
	for off := range acked.byOff {
		last = max(last, off)
	}
	recs := readAll(t, addr, topic, last)
	for i, r := range recs {
		if r.Offset != int64(i) {
			t.Fatalf("record %d has offset %d", i, r.Offset)
		}
		if v, ok := acked.byOff[r.Offset]; ok && v != string(r.Value) {
			t.Fatalf("offset %d: %.20q, acknowledged %.20q", r.Offset, r.Value, v)
		}
	}
	if len(recs) != len(acked.byOff) {
		t.Fatalf("read %d records, %d acknowledged", len(recs), len(acked.byOff))
	}
}

// startTwoDirBroker runs a broker listening on a free port with the log
// dirs d1 and d2.
func startTwoDirBroker(t *testing.T, d1, d2 string) *Broker {
	t.Helper()
	b := newTopicBroker(t, append(twoDirArgs(d1, d2), "listeners=PLAINTEXT://127.0.0.1:0")...)
	b.opts.IO, b.opts.Shards = "std", 2
	if err := b.Start(); err != nil {
		t.Fatal(err)
	}
	return b
}

// A partition moves to the other log dir under a running franz-go
// producer: DescribeLogDirs lists the future replica in the destination
// while it copies, then the partition there alone; every acknowledged
// record reads back in order at its offset after the move and after a
// restart, and the partition is in its new dir then.
func TestMoveLogUnderProducer(t *testing.T) {
	d1, d2 := t.TempDir(), t.TempDir()
	b := startTwoDirBroker(t, d1, d2)
	addr := b.Servers()[0].Addr().String()
	createTopic(t, b, "moved", 1, "segment.bytes=65536")
	tp := tpOf("moved", 0)
	from, _ := b.findLog(tp)
	to := b.logDirs[1]
	if from == to {
		to = b.logDirs[0]
	}

	reached, release := make(chan struct{}), make(chan struct{})
	testHalt = func(point string) {
		if point == "log-move-copying" {
			close(reached)
			<-release
		}
	}
	defer func() { testHalt = nil }()
	stop := make(chan struct{})
	acked, producing := produceUntil(t, addr, "moved", stop)
	consumed, consuming := consumeUntil(t, addr, "moved", stop)
	p := b.lookupPartition("moved", 0)
	for p.log.LogEndOffset() < 20000 {
		time.Sleep(10 * time.Millisecond)
	}
	got := alterCodes(roundTrip(t, b, alterDirReq(1, to.Path(), "moved", 0)).(*kmsg.AlterReplicaLogDirsResponse))
	if got["moved-0"] != 0 {
		t.Fatalf("move: %v", got)
	}
	<-reached
	during := describeReplicas(t, b, "moved", 0)
	if len(during) != 2 || during[0].future == during[1].future {
		t.Fatalf("during the move: %+v", during)
	}
	for _, r := range during {
		if r.future && (r.dir != to.Path() || r.lag <= 0) || !r.future && (r.dir != from.Path() || r.lag != 0) {
			t.Errorf("during the move: %+v", during)
		}
	}
	// Asked again for the same dir: nothing changes.
	if got := alterCodes(roundTrip(t, b, alterDirReq(2, to.Path(), "moved", 0)).(*kmsg.AlterReplicaLogDirsResponse)); got["moved-0"] != 0 {
		t.Errorf("again: %v", got)
	}
	close(release)
	deadline := time.Now().Add(20 * time.Second)
	for {
		// The log dirs list it there just before the directories are
		// renamed and the log takes its new files.
		if r := describeReplicas(t, b, "moved", 0); len(r) == 1 && r[0].dir == to.Path() && !r[0].future &&
			b.moveOf(tp) == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("not moved: %+v", describeReplicas(t, b, "moved", 0))
		}
		time.Sleep(5 * time.Millisecond)
	}
	if p.log.Dir() != filepath.Join(to.Path(), "moved-0") || b.lookupPartition("moved", 0) != p {
		t.Errorf("the partition's log is in %s", p.log.Dir())
	}
	time.Sleep(100 * time.Millisecond) // appends to the moved log
	close(stop)
	producing.Wait()
	consuming.Wait()
	if n := len(acked.byOff); n < 20000 {
		t.Fatalf("only %d records acknowledged", n)
	}
	checkAcked(t, addr, "moved", acked)
	// A consumer that fetched all along, across the switch, read the
	// same records in order.
	if len(*consumed) < 20000 {
		t.Errorf("the consumer read %d records", len(*consumed))
	}
	for i, r := range *consumed {
		if r.Offset != int64(i) || acked.byOff[r.Offset] != string(r.Value) {
			t.Fatalf("consumed record %d: offset %d %.20q", i, r.Offset, r.Value)
		}
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	if names := namesMatching(t, from.Path(), regexp.MustCompile(`^moved-0`)); len(names) > 1 ||
		len(names) == 1 && !strings.HasSuffix(names[0], "-delete") {
		t.Errorf("left in the source dir: %v", names)
	}

	b = startTwoDirBroker(t, d1, d2)
	if r := describeReplicas(t, b, "moved", 0); len(r) != 1 || r[0].dir != to.Path() || r[0].future {
		t.Fatalf("after a restart: %+v", r)
	}
	checkAcked(t, b.Servers()[0].Addr().String(), "moved", acked)
}

// Deleting a topic whose partition is moving cancels the move: the
// future log goes with the log.
func TestDeleteTopicDuringMove(t *testing.T) {
	d1, d2 := t.TempDir(), t.TempDir()
	b := newTopicBroker(t, twoDirArgs(d1, d2)...)
	createTopic(t, b, "doomed", 1)
	p := b.lookupPartition("doomed", 0)
	for i := 0; i < 50; i++ {
		if _, err := p.log.Append(makeBatch(-1, -1, -1, "a", "b"), 0); err != nil {
			t.Fatal(err)
		}
	}
	from, _ := b.findLog(tpOf("doomed", 0))
	to := b.logDirs[1]
	if from == to {
		to = b.logDirs[0]
	}
	reached, release := make(chan struct{}), make(chan struct{})
	testHalt = func(point string) {
		if point == "log-move-copying" {
			close(reached)
			<-release
		}
	}
	defer func() { testHalt = nil }()
	if got := alterCodes(roundTrip(t, b, alterDirReq(2, to.Path(), "doomed", 0)).(*kmsg.AlterReplicaLogDirsResponse)); got["doomed-0"] != 0 {
		t.Fatalf("move: %v", got)
	}
	<-reached
	if len(to.Futures()) != 1 {
		t.Fatalf("futures: %v", to.Futures())
	}
	deleted := make(chan *kmsg.DeleteTopicsResponse)
	go func() { deleted <- b.deleteTopics(deleteReq(6, "doomed")) }()
	close(release)
	if resp := <-deleted; resp.Topics[0].ErrorCode != 0 {
		t.Fatalf("delete: %+v", resp.Topics)
	}
	if len(to.Futures()) != 0 || b.moveOf(tpOf("doomed", 0)) != nil {
		t.Errorf("after the delete: futures %v", to.Futures())
	}
	for _, d := range []string{d1, d2} {
		for _, n := range namesMatching(t, d, regexp.MustCompile(`^doomed-0`)) {
			if !strings.HasSuffix(n, "-delete") {
				t.Errorf("%s holds %s", d, n)
			}
		}
	}
}

// What a crash leaves of a move is settled at the next start: a future
// log beside the partition's log is deleted (the log stays); a future log
// whose partition has no log (the crash came between the switch's two
// renames) is put in place.
func TestLeftoverFutureAtOpen(t *testing.T) {
	d1, d2 := t.TempDir(), t.TempDir()
	b := newTopicBroker(t, twoDirArgs(d1, d2)...)
	createTopic(t, b, "a", 1)
	createTopic(t, b, "b", 1)
	for _, name := range []string{"a", "b"} {
		for i := 0; i < 20; i++ {
			if _, err := b.lookupPartition(name, 0).log.Append(makeBatch(-1, -1, -1, "x", "y"), 0); err != nil {
				t.Fatal(err)
			}
		}
	}
	dirA := b.lookupPartition("a", 0).log.Dir()
	dirB := b.lookupPartition("b", 0).log.Dir()
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	other := func(dir string) string {
		if filepath.Dir(dir) == d1 {
			return d2
		}
		return d1
	}
	const id = "0123456789abcdef0123456789abcdef"
	// a: a partial future beside the log.
	futureA := filepath.Join(other(dirA), "a-0."+id+"-future")
	if out, err := exec.Command("cp", "-a", dirA, futureA).CombinedOutput(); err != nil {
		t.Fatalf("%v %s", err, out)
	}
	// b: the log renamed -delete, its complete future not yet in place.
	futureB := filepath.Join(other(dirB), "b-0."+id+"-future")
	if out, err := exec.Command("cp", "-a", dirB, futureB).CombinedOutput(); err != nil {
		t.Fatalf("%v %s", err, out)
	}
	if err := os.Rename(dirB, filepath.Join(filepath.Dir(dirB), "b-0."+id+"-delete")); err != nil {
		t.Fatal(err)
	}

	b = newTopicBroker(t, twoDirArgs(d1, d2)...)
	if got := b.lookupPartition("a", 0).log.Dir(); got != dirA {
		t.Errorf("a is in %s, want %s", got, dirA)
	}
	if got, want := b.lookupPartition("b", 0).log.Dir(), filepath.Join(other(dirB), "b-0"); got != want {
		t.Errorf("b is in %s, want %s", got, want)
	}
	for _, name := range []string{"a", "b"} {
		if end := b.lookupPartition(name, 0).log.LogEndOffset(); end != 40 {
			t.Errorf("%s ends at %d", name, end)
		}
	}
	deadline := time.Now().Add(10 * time.Second)
	for _, d := range []string{d1, d2} {
		for len(namesMatching(t, d, regexp.MustCompile(`-(future|delete)$`))) > 0 {
			if time.Now().After(deadline) {
				t.Fatalf("%s still holds %v", d, namesMatching(t, d, regexp.MustCompile(`-(future|delete)$`)))
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
}
