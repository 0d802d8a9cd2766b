package engine

import (
	"testing"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/weirmq/weir/engine/metadata"
	"github.com/weirmq/weir/netio"
)

// TestFetchDivergingEpoch: a fetch naming the epoch of its last batch
// (LastFetchedEpoch, v12+) that this log ends before the fetch offset, or
// that this log never had, is answered with DivergingEpoch (the epoch and
// its end offset here) and no records (KIP-595); one that agrees gets its
// records; before v12 the field does not exist and the offset range
// decides.
func TestFetchDivergingEpoch(t *testing.T) {
	b, cl := startDataBroker(t, netio.IOUring)
	addTestPartitions(t, b, "div", 1)
	for i := 0; i < 3; i++ {
		send(t, cl, produceReq(9, -1, "div", map[int32][]byte{0: makeBatch(-1, -1, -1, "x", "y")}))
	}
	fetch := func(version int16, offset int64, lastFetched int32) kmsg.FetchResponseTopicPartition {
		t.Helper()
		req := fetchReq(version, "div", 0, offset, 0)
		req.Topics[0].Partitions[0].LastFetchedEpoch = lastFetched
		return send(t, cl, req).(*kmsg.FetchResponse).Topics[0].Partitions[0]
	}
	for _, tc := range []struct {
		name        string
		offset      int64
		lastFetched int32
		wantEpoch   int32 // -1: no divergence
		wantEnd     int64
	}{
		{"agrees, at the log end", 6, 0, -1, -1},
		{"agrees, inside the epoch", 2, 0, -1, -1},
		{"past the end of its epoch here", 9, 0, 0, 6},
		{"an epoch this log never had", 2, 4, 0, 6},
		{"no last epoch", 2, -1, -1, -1},
	} {
		got := fetch(12, tc.offset, tc.lastFetched)
		if got.ErrorCode != 0 || got.DivergingEpoch.Epoch != tc.wantEpoch || got.DivergingEpoch.EndOffset != tc.wantEnd {
			t.Errorf("%s: error %d, diverging %+v; want epoch %d end %d", tc.name, got.ErrorCode,
				got.DivergingEpoch, tc.wantEpoch, tc.wantEnd)
		}
		if hasData := tc.wantEpoch < 0 && tc.offset < 6; hasData != (len(got.RecordBatches) > 0) {
			t.Errorf("%s: %d record bytes", tc.name, len(got.RecordBatches))
		}
	}
	if got := fetch(11, 9, 0); got.ErrorCode != kerr.OffsetOutOfRange.Code {
		t.Errorf("v11 fetch past the end: error %d, want OFFSET_OUT_OF_RANGE", got.ErrorCode)
	}
}

// TestReplicaFetchSession: a follower's fetches go over a fetch session
// (KIP-227): the first is full and opens one, later ones name only the
// partitions whose position moved and forget those no longer followed,
// and after an error the next fetch is full again. The leader opens
// sessions for replicas as for consumers.
func TestReplicaFetchSession(t *testing.T) {
	b, cl := startDataBroker(t, netio.IOStd)
	addTestPartitions(t, b, "fol", 3)
	p0, p1, p2 := b.lookupPartition("fol", 0), b.lookupPartition("fol", 1), b.lookupPartition("fol", 2)
	named := func(req *kmsg.FetchRequest) map[int32]bool {
		out := map[int32]bool{}
		for _, rt := range req.Topics {
			for _, rp := range rt.Partitions {
				out[rp.Partition] = true
			}
		}
		return out
	}
	var s replicaSession
	parts := map[*partition]int32{p0: 0, p1: 0, p2: 0}
	req, next, _ := s.request(2, parts)
	if req.SessionID != 0 || req.SessionEpoch != 0 || len(named(req)) != 3 {
		t.Fatalf("first fetch: session %d epoch %d, partitions %v", req.SessionID, req.SessionEpoch, named(req))
	}
	if e := req.Topics[0].Partitions[0].LastFetchedEpoch; e != -1 {
		t.Fatalf("an empty log's last fetched epoch %d, want -1", e)
	}
	resp := send(t, cl, req).(*kmsg.FetchResponse)
	if resp.ErrorCode != 0 || resp.SessionID == 0 {
		t.Fatalf("the leader opened no session for a replica: error %d, session %d", resp.ErrorCode, resp.SessionID)
	}
	s.answered(resp.SessionID, next)

	req, next, _ = s.request(2, parts)
	if req.SessionID != resp.SessionID || req.SessionEpoch != 1 || len(named(req)) != 0 {
		t.Fatalf("nothing moved: session %d epoch %d, partitions %v", req.SessionID, req.SessionEpoch, named(req))
	}
	s.answered(0, next)

	send(t, cl, produceReq(9, 1, "fol", map[int32][]byte{1: makeBatch(-1, -1, -1, "a")}))
	req, next, _ = s.request(2, parts)
	if got := named(req); len(got) != 1 || !got[1] || req.SessionEpoch != 2 {
		t.Fatalf("after an append to partition 1: epoch %d, partitions %v", req.SessionEpoch, got)
	}
	if fp := req.Topics[0].Partitions[0]; fp.FetchOffset != 1 || fp.LastFetchedEpoch != 0 {
		t.Fatalf("partition 1 fetched from %d, last epoch %d; want 1, 0", fp.FetchOffset, fp.LastFetchedEpoch)
	}
	s.answered(0, next)

	delete(parts, p2)
	parts[p0] = 3 // a new leader epoch
	req, next, _ = s.request(2, parts)
	if got := named(req); len(got) != 1 || !got[0] {
		t.Fatalf("a new epoch for partition 0: partitions %v", got)
	}
	if len(req.ForgottenTopics) != 1 || len(req.ForgottenTopics[0].Partitions) != 1 || req.ForgottenTopics[0].Partitions[0] != 2 {
		t.Fatalf("partition 2 not forgotten: %+v", req.ForgottenTopics)
	}
	s.answered(0, next)

	s.reset(kerr.InvalidFetchSessionEpoch.Code)
	req, _, _ = s.request(2, parts)
	if req.SessionID != resp.SessionID || req.SessionEpoch != 0 || len(named(req)) != 2 {
		t.Fatalf("after an error: session %d epoch %d, partitions %v", req.SessionID, req.SessionEpoch, named(req))
	}
	s.reset(kerr.FetchSessionIDNotFound.Code)
	if req, _, _ = s.request(2, parts); req.SessionID != 0 || req.SessionEpoch != 0 {
		t.Fatalf("after an unknown session: session %d epoch %d", req.SessionID, req.SessionEpoch)
	}
}

// TestFollowerAppendsAndRoleChange: a follower's fetcher appends off the
// shard loop only while the partition follows in the fetch's epoch; a
// change of role takes the appends whose state the shard has not taken
// yet, so a follower that becomes leader answers a retry of a batch it
// replicated as a duplicate at once.
func TestFollowerAppendsAndRoleChange(t *testing.T) {
	p := openUnit(t, t.TempDir(), 2) // follows node 2 in epoch 1
	batch := setOffset(makeBatch(7, 0, 0, "replicated"), 0)
	if ok, err := p.appendFollowed(0, batch); ok || err != nil {
		t.Fatalf("an append in an epoch the partition does not follow: %v %v", ok, err)
	}
	if ok, err := p.appendFollowed(1, batch); !ok || err != nil {
		t.Fatalf("append in the followed epoch: %v %v", ok, err)
	}
	if p.log.LogEndOffset() != 1 {
		t.Fatalf("log end %d after the follower's append", p.log.LogEndOffset())
	}
	// The shard's applyFollowed has not run: leadership comes first.
	p.assign(1, metadata.Partition{Replicas: []int32{1, 2}, ISR: []int32{1}, Leader: 1, LeaderEpoch: 2})
	if ok, _ := p.appendFollowed(1, setOffset(makeBatch(7, 0, 1, "late"), 1)); ok {
		t.Fatal("the fetcher appended after the partition became leader")
	}
	res, err := p.append(makeBatch(7, 0, 0, "replicated"), originClient, false)
	if err != nil || !res.Duplicate || res.FirstOffset != 0 {
		t.Fatalf("retry on the new leader: %+v %v, want a duplicate at 0", res, err)
	}
}
