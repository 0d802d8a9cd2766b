package engine

import (
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/weirmq/weir/engine/groups"
)

// offsetsOn is a node with broker 2 registered whose __consumer_offsets
// has one partition (every group's), replicas 1 and 2, led by 1, and a
// topic t to commit offsets of.
func offsetsOn(t *testing.T) *Broker {
	t.Helper()
	b, _ := twoBrokers(t, "group.initial.rebalance.delay.ms=5000")
	createAssigned(t, b, offsetsTopic, []int32{1, 2})
	createAssigned(t, b, "t", []int32{1})
	return b
}

// groupAnswers are the errors of an offset fetch, a commit and a join of
// group g, in that order, and the offset fetched.
type groupAnswers struct {
	fetch, commit, join int16
	offset              int64
}

func askGroup(t *testing.T, b *Broker, commit int64) groupAnswers {
	t.Helper()
	var out groupAnswers
	freq := kmsg.NewPtrOffsetFetchRequest()
	freq.Version = 8
	fg := kmsg.NewOffsetFetchRequestGroup()
	fg.Group = "g"
	fg.Topics = []kmsg.OffsetFetchRequestGroupTopic{{Topic: "t", Partitions: []int32{0}}}
	freq.Groups = append(freq.Groups, fg)
	fresp := roundTrip(t, b, freq).(*kmsg.OffsetFetchResponse)
	out.fetch, out.offset = fresp.Groups[0].ErrorCode, fresp.Groups[0].Topics[0].Partitions[0].Offset
	cresp := roundTrip(t, b, commitReq("g", "", -1, "t", 0, commit)).(*kmsg.OffsetCommitResponse)
	out.commit = cresp.Topics[0].Partitions[0].ErrorCode
	out.join = roundTrip(t, b, joinReq("g", "", nil, "m")).(*kmsg.JoinGroupResponse).ErrorCode
	return out
}

// coordinatorOf is the node FindCoordinator names for g.
func coordinatorOf(t *testing.T, b *Broker) int32 {
	t.Helper()
	req := kmsg.NewPtrFindCoordinatorRequest()
	req.Version, req.CoordinatorKey = 3, "g"
	resp := roundTrip(t, b, req).(*kmsg.FindCoordinatorResponse)
	if resp.ErrorCode != 0 {
		t.Fatalf("FindCoordinator: %v", kerr.ErrorForCode(resp.ErrorCode))
	}
	return resp.NodeID
}

// wantCoordinator checks the coordinator's record of partition 0 against
// the image: led and loaded at the image's leader epoch, or not led.
func wantCoordinator(t *testing.T, b *Broker, led bool) {
	t.Helper()
	epoch, isLed, loaded := b.coord().Partition(0)
	if isLed != led || loaded != led || led && epoch != partitionOf(b, offsetsTopic, 0).LeaderEpoch {
		t.Fatalf("coordinator's partition 0: epoch %d led %v loaded %v; image %+v", epoch, isLed, loaded,
			partitionOf(b, offsetsTopic, 0))
	}
}

// The group coordinator moves with the leadership of the group's
// __consumer_offsets partition: when another broker leads it, the groups
// are unloaded (a waiting join answered NOT_COORDINATOR, every request
// NOT_COORDINATOR, FindCoordinator names the leader, nothing expired or
// written here); when it comes back (a preferred election), requests get
// COORDINATOR_LOAD_IN_PROGRESS until the log is read, then the offsets
// committed before are there again.
func TestCoordinatorFollowsOffsetsLeadership(t *testing.T) {
	b := offsetsOn(t)
	if got := askGroup(t, b, 42); got.commit != 0 || got.fetch != 0 || got.offset != -1 {
		t.Fatalf("led here: %+v", got)
	}
	if got := askGroup(t, b, 42); got.offset != 42 {
		t.Fatalf("committed offset: %+v", got)
	}
	wantCoordinator(t, b, true)
	// A dynamic member (v3: no member id round) waits in the initial delay.
	joined := make(chan kmsg.Response, 1)
	go func() {
		req := joinReq("g", "", nil, "w")
		req.Version = 3
		resp, err := tryRoundTrip(b, "PLAINTEXT", req)
		if err != nil {
			t.Error(err)
		}
		joined <- resp
	}()
	for deadline := time.Now().Add(5 * time.Second); ; {
		out := kmsg.NewDescribeGroupsResponseGroup()
		out.Group = "g"
		if b.coord().Describe(&out); out.State == groups.PreparingRebalance.String() {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the join did not start a rebalance")
		}
		time.Sleep(5 * time.Millisecond)
	}

	changeByHand(t, b, offsetsTopic, 0, 2, 2, 1)
	select {
	case resp := <-joined:
		if code := resp.(*kmsg.JoinGroupResponse).ErrorCode; code != kerr.NotCoordinator.Code {
			t.Fatalf("waiting join answered %v", kerr.ErrorForCode(code))
		}
	case <-time.After(3 * time.Second):
		t.Fatal("the waiting join was not answered when leadership moved")
	}
	nc := kerr.NotCoordinator.Code
	if got := askGroup(t, b, 43); got.commit != nc || got.fetch != nc || got.join != nc {
		t.Fatalf("led elsewhere: %+v", got)
	}
	if n := coordinatorOf(t, b); n != 2 {
		t.Fatalf("FindCoordinator names %d, want 2", n)
	}
	wantCoordinator(t, b, false)
	if l := b.coord().List(); len(l) != 0 {
		t.Fatalf("groups still here: %+v", l)
	}
	p := b.lookupPartition(offsetsTopic, 0)
	end := p.log.LogEndOffset()
	b.coord().expireOffsets(time.Now().Add(8 * 24 * time.Hour))
	if p.log.LogEndOffset() != end {
		t.Fatal("offsets expired by a broker that does not lead their partition")
	}

	// Back through a preferred election; the load is held until the
	// requests have seen it.
	hold, held := make(chan struct{}), make(chan int32, 1)
	b.coord().holdLoad = func(part int32) { held <- part; <-hold }
	resp := roundTrip(t, b, electReq(2, 0, electTopic(offsetsTopic, 0))).(*kmsg.ElectLeadersResponse)
	if got := elected(resp); got != "__consumer_offsets-0 NONE" {
		t.Fatalf("preferred election: %s", got)
	}
	if part := <-held; part != 0 {
		t.Fatalf("loading partition %d", part)
	}
	lip := kerr.CoordinatorLoadInProgress.Code
	if got := askGroup(t, b, 44); got.commit != lip || got.fetch != lip || got.join != lip {
		t.Fatalf("loading: %+v", got)
	}
	if n := coordinatorOf(t, b); n != 1 {
		t.Fatalf("FindCoordinator names %d, want 1", n)
	}
	close(hold)
	b.coord().awaitLoads()
	wantCoordinator(t, b, true)
	if got := askGroup(t, b, 45); got.fetch != 0 || got.offset != 42 || got.commit != 0 {
		t.Fatalf("loaded again: %+v", got)
	}
}

// A load still reading when leadership moves away again installs
// nothing: the unload wins, and the broker answers NOT_COORDINATOR until
// it leads again (here after broker 2 is fenced) and loads anew.
func TestCoordinatorUnloadWinsOverLoad(t *testing.T) {
	b := offsetsOn(t)
	if got := askGroup(t, b, 7); got.commit != 0 {
		t.Fatalf("commit: %+v", got)
	}
	changeByHand(t, b, offsetsTopic, 0, 2, 2, 1)
	hold, held := make(chan struct{}), make(chan int32, 1)
	b.coord().holdLoad = func(part int32) { held <- part; <-hold }
	roundTrip(t, b, electReq(2, 0, electTopic(offsetsTopic, 0)))
	<-held
	changeByHand(t, b, offsetsTopic, 0, 2, 2, 1) // away before the load read anything
	close(hold)
	b.coord().awaitLoads()
	wantCoordinator(t, b, false)
	nc := kerr.NotCoordinator.Code
	if got := askGroup(t, b, 8); got.commit != nc || got.fetch != nc || got.join != nc {
		t.Fatalf("after the abandoned load: %+v", got)
	}

	b.coord().holdLoad = nil
	b.lifeTickOnce(time.Now().Add(time.Second)) // 2's session expires: 1 leads again
	if p := partitionOf(b, offsetsTopic, 0); p.Leader != 1 {
		t.Fatalf("after fencing 2: %+v", p)
	}
	b.coord().awaitLoads()
	wantCoordinator(t, b, true)
	if got := askGroup(t, b, 9); got.fetch != 0 || got.offset != 7 {
		t.Fatalf("loaded again: %+v", got)
	}
}

// The coordinator's appends go only to a partition this broker leads
// under the leadership the coordinator loaded it at, when they run: one
// that raced a move of leadership (away, or away and back) answers
// NOT_COORDINATOR and writes nothing; a new epoch of the same leadership
// (its ISR shrank) changes nothing.
func TestCoordinatorAppendsOnlyAsLeader(t *testing.T) {
	b := offsetsOn(t)
	p := b.lookupPartition(offsetsTopic, 0)
	appendAt := func(epoch int32) int16 {
		done := make(chan int16, 1)
		offsetsLog{b}.Append(0, epoch, []groups.Record{{Key: []byte("k"), Value: []byte("v")}},
			func(code int16) { done <- code })
		return <-done
	}
	e0 := partitionOf(b, offsetsTopic, 0).LeaderEpoch
	if code := appendAt(e0); code != 0 {
		t.Fatalf("append as the leader: %v", kerr.ErrorForCode(code))
	}
	changeByHand(t, b, offsetsTopic, 0, 2, 2, 1)
	end := p.log.LogEndOffset()
	if code := appendAt(e0); code != kerr.NotCoordinator.Code {
		t.Fatalf("append to a partition led elsewhere: %v", kerr.ErrorForCode(code))
	}
	roundTrip(t, b, electReq(2, 0, electTopic(offsetsTopic, 0)))
	e2 := partitionOf(b, offsetsTopic, 0).LeaderEpoch
	if e2 <= e0 {
		t.Fatalf("led again at epoch %d, was %d", e2, e0)
	}
	if code := appendAt(e0); code != kerr.NotCoordinator.Code {
		t.Fatalf("append of an earlier leadership: %v", kerr.ErrorForCode(code))
	}
	if p.log.LogEndOffset() != end {
		t.Fatal("written by appends of another leadership")
	}
	b.coord().awaitLoads()
	changeByHand(t, b, offsetsTopic, 0, 1, 1) // the ISR shrinks: a new epoch, the same leader
	if e := partitionOf(b, offsetsTopic, 0).LeaderEpoch; e <= e2 {
		t.Fatalf("ISR change at epoch %d, was %d", e, e2)
	}
	if code := appendAt(e2); code != 0 {
		t.Fatalf("append after the ISR changed: %v", kerr.ErrorForCode(code))
	}
	if epoch, led, loaded := b.coord().Partition(0); epoch != e2 || !led || !loaded {
		t.Fatalf("after the ISR changed: loaded at %d (%v %v), want %d", epoch, led, loaded, e2)
	}
}
