package groups

import (
	"sort"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// MetadataMaxBytes is the longest offset metadata a commit may carry.
const MetadataMaxBytes = 4096

// Commit handles an OffsetCommit for the group of __consumer_offsets
// partition part (NOT_COORDINATOR or COORDINATOR_LOAD_IN_PROGRESS unless
// it is loaded). resp has one partition per request partition, in the
// same order, each with error code 0 or, for a partition the caller
// found unknown and must not be committed, UNKNOWN_TOPIC_OR_PARTITION.
// Commit fills in the other codes and returns resp, or nil when the
// answer comes after the append: respond is then called once, on a
// goroutine of its own.
func (c *Coordinator) Commit(req *kmsg.OffsetCommitRequest, part int32, resp *kmsg.OffsetCommitResponse,
	respond func(kmsg.Response)) kmsg.Response {
	if req.Version == 0 {
		req.Generation, req.MemberID = -1, ""
	}
	setAll := func(code int16) {
		for i := range resp.Topics {
			for j := range resp.Topics[i].Partitions {
				if resp.Topics[i].Partitions[j].ErrorCode == 0 {
					resp.Topics[i].Partitions[j].ErrorCode = code
				}
			}
		}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if code := c.partError(part); code != 0 {
		setAll(code)
		return resp
	}
	seq := c.loadedSeq(part)
	g := c.groups[req.Group]
	if code := g.validateCommit(req); code != 0 {
		setAll(code)
		return resp
	}
	if g != nil {
		if m := g.members[req.MemberID]; m != nil && m.waiting == nil {
			g.heartbeat(m) // a commit counts as a heartbeat
		}
	}
	now := c.now().UnixMilli()
	type commit struct {
		pk partitionKey
		e  offsetEntry
	}
	var recs []Record
	var commits []commit
	for i, t := range req.Topics {
		for j, p := range t.Partitions {
			rp := &resp.Topics[i].Partitions[j]
			if rp.ErrorCode != 0 {
				continue
			}
			md := ""
			if p.Metadata != nil {
				md = *p.Metadata
			}
			if len(md) > MetadataMaxBytes {
				rp.ErrorCode = kerr.OffsetMetadataTooLarge.Code
				continue
			}
			e := offsetEntry{offset: p.Offset, leaderEpoch: p.LeaderEpoch, metadata: md, commitTime: now}
			if req.Version < 6 {
				e.leaderEpoch = -1
			}
			recs = append(recs, offsetRecord(req.Group, t.Topic, p.Partition, &e))
			commits = append(commits, commit{partitionKey{t.Topic, p.Partition}, e})
		}
	}
	if len(recs) == 0 {
		return resp
	}
	c.append(part, recs, func(code int16) {
		// done may run on the partition's owner, or under c.mu: the lock is
		// taken on a goroutine of its own. The offsets are applied only
		// while the partition is still the load they were committed to: an
		// Unload in between dropped the group, and the next load reads them.
		go func() {
			if code == 0 {
				c.mu.Lock()
				if c.loadedSeq(part) == seq {
					g := c.getGroup(req.Group, part, true)
					for _, cm := range commits {
						g.offsets[cm.pk] = cm.e
					}
				}
				c.mu.Unlock()
			} else {
				setAll(code)
			}
			respond(resp)
		}()
	})
	return nil
}

// validateCommit is Kafka's classic group commit check; g may be nil.
func (g *group) validateCommit(req *kmsg.OffsetCommitRequest) int16 {
	if g == nil {
		if req.Generation < 0 && req.MemberID == "" {
			return 0
		}
		return kerr.IllegalGeneration.Code
	}
	switch {
	case g.state == Dead:
		return kerr.CoordinatorNotAvailable.Code
	case req.Generation < 0 && g.state == Empty:
		return 0
	}
	if code := g.validateInstance(req.InstanceID, req.MemberID); code != 0 {
		return code
	}
	if g.members[req.MemberID] == nil {
		return kerr.UnknownMemberID.Code
	}
	if req.Generation != g.generation {
		return kerr.IllegalGeneration.Code
	}
	if g.state == CompletingRebalance {
		return kerr.RebalanceInProgress.Code
	}
	return 0
}

// FetchOffsets answers one group of an OffsetFetch, the group of
// __consumer_offsets partition part: the committed offsets of the asked
// partitions (nil Topics: every committed partition, sorted), offset -1
// for a partition without one. When part is not loaded it returns only
// the error (NOT_COORDINATOR, COORDINATOR_LOAD_IN_PROGRESS) in ErrorCode.
func (c *Coordinator) FetchOffsets(rg kmsg.OffsetFetchRequestGroup, part int32) kmsg.OffsetFetchResponseGroup {
	out := kmsg.NewOffsetFetchResponseGroup()
	out.Group = rg.Group
	c.mu.Lock()
	defer c.mu.Unlock()
	if code := c.partError(part); code != 0 {
		out.ErrorCode = code
		return out
	}
	var offsets map[partitionKey]offsetEntry
	if g := c.groups[rg.Group]; g != nil {
		offsets = g.offsets
	}
	answer := func(topic string, p int32) kmsg.OffsetFetchResponseGroupTopicPartition {
		op := kmsg.NewOffsetFetchResponseGroupTopicPartition()
		op.Partition, op.Offset = p, -1
		md := ""
		if e, ok := offsets[partitionKey{topic, p}]; ok {
			op.Offset, op.LeaderEpoch, md = e.offset, e.leaderEpoch, e.metadata
		}
		op.Metadata = &md
		return op
	}
	if rg.Topics == nil { // every committed partition
		byTopic := map[string][]int32{}
		for pk := range offsets {
			byTopic[pk.topic] = append(byTopic[pk.topic], pk.index)
		}
		names := make([]string, 0, len(byTopic))
		for n := range byTopic {
			names = append(names, n)
		}
		sort.Strings(names)
		for _, n := range names {
			ps := byTopic[n]
			sort.Slice(ps, func(i, j int) bool { return ps[i] < ps[j] })
			ot := kmsg.NewOffsetFetchResponseGroupTopic()
			ot.Topic = n
			for _, p := range ps {
				ot.Partitions = append(ot.Partitions, answer(n, p))
			}
			out.Topics = append(out.Topics, ot)
		}
		return out
	}
	for _, t := range rg.Topics {
		ot := kmsg.NewOffsetFetchResponseGroupTopic()
		ot.Topic = t.Topic
		for _, p := range t.Partitions {
			ot.Partitions = append(ot.Partitions, answer(t.Topic, p))
		}
		out.Topics = append(out.Topics, ot)
	}
	return out
}

// DeleteOffsets handles an OffsetDelete for the group of partition part:
// tombstones for the asked partitions' offsets, GROUP_SUBSCRIBED_TO_TOPIC
// for a topic a member subscribes to. It returns the answer, or nil when
// respond gets it after the append.
func (c *Coordinator) DeleteOffsets(req *kmsg.OffsetDeleteRequest, part int32,
	respond func(kmsg.Response)) kmsg.Response {
	resp := req.ResponseKind().(*kmsg.OffsetDeleteResponse)
	c.mu.Lock()
	defer c.mu.Unlock()
	if code := c.partError(part); code != 0 {
		resp.ErrorCode = code
		return resp
	}
	g := c.groups[req.Group]
	if g == nil || g.state == Dead {
		resp.ErrorCode = kerr.GroupIDNotFound.Code
		return resp
	}
	subscribed := g.subscribedTopics()
	var recs []Record
	for _, t := range req.Topics {
		rt := kmsg.NewOffsetDeleteResponseTopic()
		rt.Topic = t.Topic
		for _, p := range t.Partitions {
			rp := kmsg.NewOffsetDeleteResponseTopicPartition()
			rp.Partition = p.Partition
			pk := partitionKey{t.Topic, p.Partition}
			if subscribed[t.Topic] {
				rp.ErrorCode = kerr.GroupSubscribedToTopic.Code
			} else if _, ok := g.offsets[pk]; ok {
				delete(g.offsets, pk)
				recs = append(recs, offsetRecord(req.Group, t.Topic, p.Partition, nil))
			}
			rt.Partitions = append(rt.Partitions, rp)
		}
		resp.Topics = append(resp.Topics, rt)
	}
	if len(recs) == 0 {
		return resp
	}
	c.append(part, recs, func(code int16) {
		if code != 0 {
			resp.ErrorCode = code
		}
		respond(resp)
	})
	return nil
}

// ExpireOffsets drops the offsets of Empty groups (and standalone
// consumers' groups) older than offsets.retention.minutes at now, counted
// from the later of the commit and the moment the group became empty, as
// Kafka does: tombstones go to __consumer_offsets. An Empty group left
// without offsets is deleted (its metadata tombstoned). Only the groups of
// loaded partitions are here; those for which owned is false (coordinated
// elsewhere now, not unloaded yet) are left alone. owned runs under the
// coordinator's lock: it must not call back.
func (c *Coordinator) ExpireOffsets(now time.Time, owned func(group string) bool) {
	retention := c.opts.Config().OffsetsRetention
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return
	}
	for name, g := range c.groups {
		if g.state != Empty || !owned(name) {
			continue
		}
		var recs []Record
		for pk, e := range g.offsets {
			base := time.UnixMilli(e.commitTime)
			if g.stateTime.After(base) {
				base = g.stateTime
			}
			if now.Sub(base) >= retention {
				delete(g.offsets, pk)
				recs = append(recs, offsetRecord(name, pk.topic, pk.index, nil))
			}
		}
		if len(g.offsets) == 0 && len(g.pending) == 0 {
			recs = append(recs, g.metadataRecord(true))
			g.setState(Dead)
			g.stopTimer()
			delete(c.groups, name)
		}
		if len(recs) > 0 {
			c.append(g.part, recs, nil)
		}
	}
}
