package main

import (
	"context"
	"fmt"
	"sort"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// groupArgs keep the group tests fast: a small offsets topic and no
// initial rebalance delay. offsets.topic.replication.factor keeps Kafka's
// default (3): every group test runs on a default single node.
var groupArgs = []string{"--offsets.topic.num.partitions=5",
	"--group.initial.rebalance.delay.ms=0", "--group.min.session.timeout.ms=1000"}

// owners tracks which member owns which partitions, from the clients'
// assignment callbacks.
type owners struct {
	mu    sync.Mutex
	owned map[string]map[int32]bool
}

func (o *owners) set(member string, add, remove map[string][]int32) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.owned[member] == nil {
		o.owned[member] = map[int32]bool{}
	}
	for _, ps := range remove {
		for _, p := range ps {
			delete(o.owned[member], p)
		}
	}
	for _, ps := range add {
		for _, p := range ps {
			o.owned[member][p] = true
		}
	}
}

func (o *owners) drop(member string) {
	o.mu.Lock()
	delete(o.owned, member)
	o.mu.Unlock()
}

// split says whether the members in want together own all n partitions,
// each exactly once, and each of them at least one (n >= members).
func (o *owners) split(want []string, n int) (bool, string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	seen := map[int32]string{}
	desc := ""
	for _, m := range want {
		var ps []int
		for p := range o.owned[m] {
			if other, dup := seen[p]; dup {
				return false, fmt.Sprintf("partition %d owned by %s and %s", p, other, m)
			}
			seen[p] = m
			ps = append(ps, int(p))
		}
		sort.Ints(ps)
		desc += fmt.Sprintf("%s=%v ", m, ps)
		if len(ps) == 0 {
			return false, desc
		}
	}
	for m := range o.owned {
		found := false
		for _, w := range want {
			found = found || w == m
		}
		if !found && len(o.owned[m]) > 0 {
			return false, desc + " and stale " + m
		}
	}
	return len(seen) == n, desc
}

func (o *owners) waitSplit(t *testing.T, want []string, n int, within time.Duration) time.Duration {
	t.Helper()
	start := time.Now()
	var desc string
	for time.Since(start) < within {
		var ok bool
		if ok, desc = o.split(want, n); ok {
			return time.Since(start)
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("members %v never split %d partitions: %s", want, n, desc)
	return 0
}

// groupMember starts a franz-go group member that polls in the background.
func groupMember(t *testing.T, addr, group, topic, name string, o *owners, extra ...kgo.Opt) *kgo.Client {
	t.Helper()
	opts := append([]kgo.Opt{kgo.SeedBrokers(addr), kgo.ConsumerGroup(group), kgo.ConsumeTopics(topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.SessionTimeout(3 * time.Second), kgo.HeartbeatInterval(300 * time.Millisecond),
		kgo.RebalanceTimeout(5 * time.Second),
		kgo.OnPartitionsAssigned(func(_ context.Context, _ *kgo.Client, a map[string][]int32) { o.set(name, a, nil) }),
		kgo.OnPartitionsRevoked(func(_ context.Context, _ *kgo.Client, r map[string][]int32) { o.set(name, nil, r) }),
		kgo.OnPartitionsLost(func(_ context.Context, _ *kgo.Client, r map[string][]int32) { o.set(name, nil, r) }),
	}, extra...)
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		for {
			fs := cl.PollFetches(context.Background())
			if fs.IsClientClosed() {
				return
			}
		}
	}()
	return cl
}

func TestConsumerGroupSplitsPartitions(t *testing.T) {
	b := startBroker(t, brokerOpts{io: "std", args: groupArgs})
	for _, bal := range []struct {
		name string
		opt  kgo.GroupBalancer
	}{{"range", kgo.RangeBalancer()}, {"cooperative-sticky", kgo.CooperativeStickyBalancer()}} {
		t.Run(bal.name, func(t *testing.T) {
			topic, group := "split-"+bal.name, "g-"+bal.name
			createTopic(t, b.addr, topic, 6)
			o := &owners{owned: map[string]map[int32]bool{}}
			m1 := groupMember(t, b.addr, group, topic, "m1", o, kgo.Balancers(bal.opt))
			defer m1.Close()
			m2 := groupMember(t, b.addr, group, topic, "m2", o, kgo.Balancers(bal.opt))
			defer m2.Close()
			took := o.waitSplit(t, []string{"m1", "m2"}, 6, 15*time.Second)
			t.Logf("%s: 2 members stable after %v", bal.name, took)
			start := time.Now()
			m3 := groupMember(t, b.addr, group, topic, "m3", o, kgo.Balancers(bal.opt))
			o.waitSplit(t, []string{"m1", "m2", "m3"}, 6, 15*time.Second)
			t.Logf("%s: 3 members stable after %v", bal.name, time.Since(start))
			// A member leaving (LeaveGroup): the others take its partitions.
			start = time.Now()
			m3.Close()
			o.drop("m3")
			o.waitSplit(t, []string{"m1", "m2"}, 6, 15*time.Second)
			t.Logf("%s: rebalanced after a leave in %v", bal.name, time.Since(start))
			// A member crashing: a static member closes without LeaveGroup,
			// so only its session timeout removes it.
			m4 := groupMember(t, b.addr, group, topic, "m4", o, kgo.Balancers(bal.opt), kgo.InstanceID("crasher-"+bal.name))
			o.waitSplit(t, []string{"m1", "m2", "m4"}, 6, 15*time.Second)
			start = time.Now()
			m4.Close() // static members do not leave on close
			o.drop("m4")
			o.waitSplit(t, []string{"m1", "m2"}, 6, 20*time.Second)
			t.Logf("%s: rebalanced after a crash (3 s session) in %v", bal.name, time.Since(start))
		})
	}
}

// consumeN reads exactly n records as a group member (no more arrive
// within a short wait) and returns their offsets by partition.
func consumeN(t *testing.T, addr, group, topic string, n int, opts ...kgo.Opt) (*kgo.Client, []*kgo.Record) {
	t.Helper()
	cl, err := kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(addr), kgo.ConsumerGroup(group), kgo.ConsumeTopics(topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.FetchMaxWait(200 * time.Millisecond)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	var got []*kgo.Record
	deadline := time.Now().Add(15 * time.Second)
	for len(got) < n && time.Now().Before(deadline) {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		fs := cl.PollFetches(ctx)
		cancel()
		fs.EachRecord(func(r *kgo.Record) { got = append(got, r) })
	}
	if len(got) != n {
		cl.Close()
		t.Fatalf("group %s consumed %d records, want %d", group, len(got), n)
	}
	// Nothing beyond n.
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	fs := cl.PollFetches(ctx)
	cancel()
	if extra := fs.NumRecords(); extra != 0 {
		cl.Close()
		t.Fatalf("group %s consumed %d records more than %d", group, extra, n)
	}
	return cl, got
}

func produceN(t *testing.T, addr, topic string, from, n int) {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(seedList(addr)...), kgo.DefaultProduceTopic(topic))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	var recs []*kgo.Record
	for i := from; i < from+n; i++ {
		recs = append(recs, &kgo.Record{Key: []byte(fmt.Sprint(i)), Value: []byte(fmt.Sprint(i))})
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := cl.ProduceSync(ctx, recs...).FirstErr(); err != nil {
		t.Fatal(err)
	}
}

// It runs on the uring backend (the split test on std), so commits and
// reloads go through both backends' shard loops.
func TestConsumerGroupCommitsSurviveRestart(t *testing.T) {
	dir := t.TempDir()
	b := startBroker(t, brokerOpts{io: "uring", logDir: dir, args: groupArgs})
	port := b.port
	const topic = "commits"
	createTopic(t, b.addr, topic, 6)
	produceN(t, b.addr, topic, 0, 60)

	// Manual sync commit.
	cl, _ := consumeN(t, b.addr, "manual", topic, 60, kgo.DisableAutoCommit())
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	if err := cl.CommitUncommittedOffsets(ctx); err != nil {
		t.Fatal(err)
	}
	cancel()
	cl.Close()
	// Auto commit (committed on close, and every 100 ms).
	cl, _ = consumeN(t, b.addr, "auto", topic, 60, kgo.AutoCommitInterval(100*time.Millisecond))
	time.Sleep(300 * time.Millisecond)
	cl.Close()
	// CommitRecords of a part only: the rest is read again.
	cl, recs := consumeN(t, b.addr, "partial", topic, 60, kgo.DisableAutoCommit())
	var half []*kgo.Record
	for _, r := range recs {
		if r.Partition < 3 {
			half = append(half, r)
		}
	}
	ctx, cancel = context.WithTimeout(context.Background(), 10*time.Second)
	if err := cl.CommitRecords(ctx, half...); err != nil {
		t.Fatal(err)
	}
	cancel()
	cl.Close()

	// Async commits in the poll loop, a sync commit on shutdown.
	cl, err := kgo.NewClient(kgo.SeedBrokers(b.addr), kgo.ConsumerGroup("async"), kgo.ConsumeTopics(topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.DisableAutoCommit(), kgo.FetchMaxWait(200*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	seen := 0
	for deadline := time.Now().Add(15 * time.Second); seen < 60 && time.Now().Before(deadline); {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		fs := cl.PollFetches(ctx)
		cancel()
		seen += fs.NumRecords()
		cl.CommitOffsets(context.Background(), cl.UncommittedOffsets(), nil) // async: no wait
	}
	ctx, cancel = context.WithTimeout(context.Background(), 10*time.Second)
	if err := cl.CommitUncommittedOffsets(ctx); err != nil || seen != 60 {
		t.Fatalf("async group: read %d, final commit %v", seen, err)
	}
	cancel()
	cl.Close()

	produceN(t, b.addr, topic, 60, 30)
	// New members resume at the committed offsets.
	cl, _ = consumeN(t, b.addr, "manual", topic, 30)
	cl.Close()
	cl, _ = consumeN(t, b.addr, "partial", topic, 30+60-len(half), kgo.DisableAutoCommit())
	cl.Close()

	// Restart: the offsets come back from __consumer_offsets.
	b.stop()
	b = startBroker(t, brokerOpts{io: "uring", logDir: dir, port: port, args: groupArgs})
	adm, err := kgo.NewClient(kgo.SeedBrokers(b.addr))
	if err != nil {
		t.Fatal(err)
	}
	defer adm.Close()
	ctx, cancel = context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	offs, err := kadm.NewClient(adm).FetchOffsets(ctx, "manual")
	if err != nil {
		t.Fatal(err)
	}
	var sum int64
	offs.Each(func(o kadm.OffsetResponse) { sum += o.At })
	if sum != 90 {
		t.Fatalf("manual group's offsets after restart sum to %d, want 90: %v", sum, offs)
	}
	produceN(t, b.addr, topic, 90, 12)
	cl, _ = consumeN(t, b.addr, "manual", topic, 12)
	cl.Close()
	cl, _ = consumeN(t, b.addr, "auto", topic, 42)
	cl.Close()
	cl, _ = consumeN(t, b.addr, "async", topic, 42)
	cl.Close()

	// SIGKILL: the commits are in __consumer_offsets all the same.
	cl, _ = consumeN(t, b.addr, "killed", topic, 102, kgo.DisableAutoCommit())
	ctx2, cancel2 := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel2()
	if err := cl.CommitUncommittedOffsets(ctx2); err != nil {
		t.Fatal(err)
	}
	cl.Close()
	syscall.Kill(b.pid(), syscall.SIGKILL)
	<-b.done
	b = startBroker(t, brokerOpts{io: "uring", logDir: dir, port: port, args: groupArgs})
	produceN(t, b.addr, topic, 102, 6)
	cl, _ = consumeN(t, b.addr, "killed", topic, 6)
	cl.Close()
}
