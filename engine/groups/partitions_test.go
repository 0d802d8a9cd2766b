package groups

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// replayPart feeds rp the records of partition part of l, in order.
func replayPart(rp *Replay, l *memLog, part int32) {
	for _, rec := range l.records() {
		if rec.part == part {
			rp.Record(rec.Key, rec.Value)
		}
	}
}

// coordErrors are the answers of the requests that name a partition, for
// group on partition part: join, commit, fetch, offset delete, delete.
func (h *harness) coordErrors(group string, part int32) [5]int16 {
	t := h.t
	t.Helper()
	var out [5]int16
	jr := newReply()
	out[0] = jr.take(h.c.Join(joinReq(3, group, "", nil, "x"), part, Client{ID: "c"}, jr.respond)).join(t).ErrorCode
	creq := commitReq(group, "", -1, "t", 0, 1)
	cr := newReply()
	out[1] = cr.take(h.c.Commit(creq, part, commitResp(creq), cr.respond)).wait(t).(*kmsg.OffsetCommitResponse).
		Topics[0].Partitions[0].ErrorCode
	rg := kmsg.NewOffsetFetchRequestGroup()
	rg.Group = group
	out[2] = h.c.FetchOffsets(rg, part).ErrorCode
	dreq := kmsg.NewPtrOffsetDeleteRequest()
	dreq.Group = group
	dr := newReply()
	out[3] = dr.take(h.c.DeleteOffsets(dreq, part, dr.respond)).wait(t).(*kmsg.OffsetDeleteResponse).ErrorCode
	deleted := make(chan int16, 1)
	h.c.Delete(group, part, func(code int16) { deleted <- code })
	out[4] = <-deleted
	return out
}

func allCodes(code int16) [5]int16 { return [5]int16{code, code, code, code, code} }

// Unloading a partition drops its groups (a waiting join is answered
// NOT_COORDINATOR, and so is every request naming the partition) and
// leaves the others'; loading it again answers COORDINATOR_LOAD_IN_PROGRESS
// until the replay is done, then serves the groups and offsets it read.
func TestUnloadAndReload(t *testing.T) {
	h := newHarness(t, testConfig())
	h.c.Load(1, 0).Done()
	a, gen := h.stableOne("g")
	if code := h.commit(commitReq("g", a, gen, "t", 0, 10)); code != 0 {
		t.Fatal(kerr.ErrorForCode(code))
	}
	other := commitReq("other", "", -1, "t", 0, 4)
	r := newReply()
	if resp := r.take(h.c.Commit(other, 1, commitResp(other), r.respond)).wait(t).(*kmsg.OffsetCommitResponse); resp.Topics[0].Partitions[0].ErrorCode != 0 {
		t.Fatalf("commit on partition 1: %+v", resp)
	}
	jb := h.join(joinReq(3, "g", "", nil, "b")) // waits for a to rejoin
	if jb.now() != nil {
		t.Fatal("join answered before the rebalance completed")
	}

	if n := h.c.Unload(0); n != 1 {
		t.Fatalf("unloaded %d groups, want 1", n)
	}
	if resp := jb.join(t); resp.ErrorCode != kerr.NotCoordinator.Code {
		t.Fatalf("waiting join answered %v", kerr.ErrorForCode(resp.ErrorCode))
	}
	if got := h.coordErrors("g", 0); got != allCodes(kerr.NotCoordinator.Code) {
		t.Fatalf("unloaded partition answers %v", got)
	}
	if code := h.heartbeat("g", a, gen, nil); code != kerr.UnknownMemberID.Code {
		t.Fatalf("heartbeat of an unloaded group: %v", kerr.ErrorForCode(code))
	}
	if _, led, loaded := h.c.Partition(0); led || loaded || h.c.Loaded(0) {
		t.Fatal("partition 0 still led after Unload")
	}
	if l := h.c.List(); len(l) != 1 || l[0].Group != "other" {
		t.Fatalf("groups after unloading partition 0: %+v", l)
	}
	// The dropped group's timers are gone: nothing is written for it.
	n := len(h.log.records())
	h.advance(time.Minute)
	if got := len(h.log.records()); got != n {
		t.Fatalf("%d records written for an unloaded group", got-n)
	}

	rp := h.c.Load(0, 1)
	if rp == nil {
		t.Fatal("no replay for an unloaded partition")
	}
	if got := h.coordErrors("g", 0); got != allCodes(kerr.CoordinatorLoadInProgress.Code) {
		t.Fatalf("loading partition answers %v", got)
	}
	if epoch, led, loaded := h.c.Partition(0); epoch != 1 || !led || loaded {
		t.Fatalf("loading partition: epoch %d led %v loaded %v", epoch, led, loaded)
	}
	replayPart(rp, h.log, 0)
	if n, ok := rp.Done(); n != 1 || !ok {
		t.Fatalf("reload: %d groups, %v", n, ok)
	}
	if off, _ := h.fetch("g", "t", 0); off != 10 {
		t.Fatalf("reloaded offset %d, want 10", off)
	}
	if st := h.state("g"); st != "Stable" {
		t.Fatalf("reloaded state %s", st)
	}
	if code := h.heartbeat("g", a, gen, nil); code != 0 {
		t.Fatalf("reloaded member's heartbeat: %v", kerr.ErrorForCode(code))
	}
}

// A load abandoned by an Unload, or overtaken by a later Load, installs
// nothing when it ends; the newest load wins whatever the order the
// replays finish in. A new leader epoch of a loaded partition keeps its
// groups.
func TestLoadsRaceUnloads(t *testing.T) {
	h := newHarness(t, testConfig())
	if code := h.commit(commitReq("solo", "", -1, "t", 0, 5)); code != 0 {
		t.Fatal(kerr.ErrorForCode(code))
	}
	h.c.Unload(0)

	rp1 := h.c.Load(0, 1)
	replayPart(rp1, h.log, 0)
	h.c.Unload(0) // leadership moved away (epoch 2) before the replay ended
	if rp1.Current() {
		t.Fatal("an unloaded partition's replay is current")
	}
	if _, ok := rp1.Done(); ok || h.c.Loaded(0) {
		t.Fatal("a replay abandoned by Unload was installed")
	}
	if got := h.coordErrors("solo", 0); got != allCodes(kerr.NotCoordinator.Code) {
		t.Fatalf("after the abandoned load: %v", got)
	}

	rp2 := h.c.Load(0, 3)
	if h.c.Load(0, 3) != nil {
		t.Fatal("a second replay of a partition loading at the same epoch")
	}
	h.c.Unload(0)
	rp3 := h.c.Load(0, 5)
	replayPart(rp2, h.log, 0)
	replayPart(rp3, h.log, 0)
	if _, ok := rp2.Done(); ok || h.c.Loaded(0) {
		t.Fatal("an overtaken replay was installed")
	}
	if n, ok := rp3.Done(); n != 1 || !ok {
		t.Fatalf("newest replay: %d groups, %v", n, ok)
	}
	if off, _ := h.fetch("solo", "t", 0); off != 5 {
		t.Fatalf("offset %d after the newest load, want 5", off)
	}
	if _, ok := rp3.Done(); ok {
		t.Fatal("a replay installed twice")
	}

	if h.c.Load(0, 6) != nil {
		t.Fatal("a loaded partition's new epoch starts a replay")
	}
	if epoch, led, loaded := h.c.Partition(0); epoch != 5 || !led || !loaded {
		t.Fatalf("after a new epoch: epoch %d led %v loaded %v", epoch, led, loaded)
	}
	if off, _ := h.fetch("solo", "t", 0); off != 5 {
		t.Fatalf("offset %d after a new epoch, want 5", off)
	}
	// Appends name the leadership the partition was loaded at.
	if code := h.commit(commitReq("solo", "", -1, "t", 0, 6)); code != 0 {
		t.Fatal(kerr.ErrorForCode(code))
	}
	recs := h.log.records()
	if last := recs[len(recs)-1]; last.epoch != 5 {
		t.Fatalf("appended at epoch %d, want 5", last.epoch)
	}
}

// holdLog is a Log whose appends are written at once but report their
// outcome only when the test releases them.
type holdLog struct {
	memLog
	held []func()
}

func (l *holdLog) Append(part, epoch int32, recs []Record, done func(code int16)) {
	l.memLog.Append(part, epoch, recs, nil)
	l.mu.Lock()
	defer l.mu.Unlock()
	if done != nil {
		l.held = append(l.held, func() { done(0) })
	}
}

func (l *holdLog) release() {
	l.mu.Lock()
	held := l.held
	l.held = nil
	l.mu.Unlock()
	for _, f := range held {
		f()
	}
}

// A commit whose append ends after its partition was unloaded is
// answered, but does not bring the group back; the next load reads it.
func TestCommitAppendedAfterUnload(t *testing.T) {
	h := newHarness(t, testConfig())
	hl := &holdLog{}
	h.c = New(Options{Log: hl, Config: func() Config { return h.cfg }, Clock: h.clock})
	h.c.Load(0, 0).Done()
	req := commitReq("solo", "", -1, "t", 0, 8)
	r := newReply()
	if r.take(h.c.Commit(req, 0, commitResp(req), r.respond)).now() != nil {
		t.Fatal("commit answered before its append")
	}
	h.c.Unload(0)
	hl.release()
	if code := r.wait(t).(*kmsg.OffsetCommitResponse).Topics[0].Partitions[0].ErrorCode; code != 0 {
		t.Fatalf("commit: %v", kerr.ErrorForCode(code))
	}
	if l := h.c.List(); len(l) != 0 {
		t.Fatalf("groups after the late commit: %+v", l)
	}
	rp := h.c.Load(0, 1)
	replayPart(rp, &hl.memLog, 0)
	rp.Done()
	if off, _ := h.fetch("solo", "t", 0); off != 8 {
		t.Fatalf("offset %d after the reload, want 8", off)
	}
}

// Offsets are not expired while their partition is not loaded here;
// the broker that loads it again expires them.
func TestExpiryWhileUnloaded(t *testing.T) {
	h := newHarness(t, testConfig())
	a, gen := h.stableOne("g")
	if code := h.commit(commitReq("g", a, gen, "t", 0, 3)); code != 0 {
		t.Fatal(kerr.ErrorForCode(code))
	}
	h.c.Leave("g", []kmsg.LeaveGroupRequestMember{{MemberID: a}}) // Empty from now on
	h.c.Unload(0)
	h.advance(8 * 24 * time.Hour)
	n := len(h.log.records())
	all := func(string) bool { return true }
	h.c.ExpireOffsets(h.clock(), all)
	if got := len(h.log.records()); got != n {
		t.Fatalf("%d tombstones for an unloaded partition", got-n)
	}
	rp := h.c.Load(0, 1)
	replayPart(rp, h.log, 0)
	rp.Done()
	if off, _ := h.fetch("g", "t", 0); off != 3 {
		t.Fatalf("offset %d after the reload, want 3", off)
	}
	h.c.ExpireOffsets(h.clock(), all)
	if off, _ := h.fetch("g", "t", 0); off != -1 {
		t.Fatalf("offset %d after expiry, want none", off)
	}
	if got := len(h.log.records()); got != n+2 { // the offset's and the group's tombstones
		t.Fatalf("%d records written by the expiry, want 2", got-n)
	}
}

// Close abandons a load in progress and starts no other.
func TestCloseAbandonsLoads(t *testing.T) {
	h := newHarness(t, testConfig())
	rp := h.c.Load(1, 0)
	h.c.Close()
	if rp.Current() {
		t.Fatal("a replay is current after Close")
	}
	if _, ok := rp.Done(); ok {
		t.Fatal("a replay was installed after Close")
	}
	if h.c.Load(2, 0) != nil {
		t.Fatal("a load started after Close")
	}
}

// Replays run on goroutines of their own, alongside the requests of the
// loaded partitions (run with -race).
func TestReplaysAlongsideRequests(t *testing.T) {
	h := newHarness(t, testConfig())
	var wg sync.WaitGroup
	for part := int32(1); part <= 4; part++ {
		rp := h.c.Load(part, 0)
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := int32(0); i < 500; i++ {
				rec := offsetRecord(fmt.Sprintf("g%d", part), "t", i, &offsetEntry{offset: int64(i)})
				rp.Record(rec.Key, rec.Value)
			}
			rp.Done()
		}()
	}
	for i := int64(0); i < 20; i++ {
		if code := h.commit(commitReq("solo", "", -1, "t", int32(i), i)); code != 0 {
			t.Fatal(kerr.ErrorForCode(code))
		}
		if off, _ := h.fetch("solo", "t", int32(i)); off != i {
			t.Errorf("t-%d at %d", i, off)
		}
	}
	wg.Wait()
	for part := int32(1); part <= 4; part++ {
		if !h.c.Loaded(part) {
			t.Errorf("partition %d not loaded", part)
		}
		if off, _ := h.fetch(fmt.Sprintf("g%d", part), "t", 499); off != 499 {
			t.Errorf("g%d's t-499 at %d", part, off)
		}
	}
}
