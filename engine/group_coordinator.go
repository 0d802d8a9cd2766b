package engine

import (
	"bytes"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"hash/crc32"
	"sync"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/weirmq/weir/logstore"
)

// groupCoordinator holds the classic groups this broker coordinates (those
// whose __consumer_offsets partition it leads) and their committed
// offsets. One mutex guards every group: group operations are short and
// never wait on I/O under it (appends to __consumer_offsets go to the
// partition's owner shard and answer from there).
type groupCoordinator struct {
	b      *Broker
	mu     sync.Mutex
	groups map[string]*group
	loaded atomic.Bool
	// closed is set when the broker closes: timers and the expiry pass
	// stop touching the groups.
	closed atomic.Bool
	stop   chan struct{}
}

// startExpiry runs the offsets expiry pass every
// offsets.retention.check.interval.ms until close.
func (c *groupCoordinator) startExpiry() {
	every := time.Duration(c.b.opts.Config.Long("offsets.retention.check.interval.ms")) * time.Millisecond
	c.stop = make(chan struct{})
	stop := c.stop
	go func() {
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-stop:
				return
			case now := <-t.C:
				c.expireOffsets(now)
			}
		}
	}()
}

// expireOffsets drops the offsets of Empty groups (and standalone
// consumers' groups) older than offsets.retention.minutes, counted from
// the later of the commit and the moment the group became empty, as
// Kafka does: tombstones go to __consumer_offsets. An Empty group left
// without offsets is deleted (its metadata tombstoned).
func (c *groupCoordinator) expireOffsets(now time.Time) {
	retention := time.Duration(c.b.brokerConfig().Int("offsets.retention.minutes")) * time.Minute
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed.Load() {
		return
	}
	for name, g := range c.groups {
		if g.state != groupEmpty {
			continue
		}
		if _, code := c.b.groupError(name); code != 0 {
			continue
		}
		var recs []groupRecord
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
			g.setState(groupDead)
			g.timerSeq++
			delete(c.groups, name)
		}
		if len(recs) > 0 {
			c.append(g.part, recs, nil)
		}
	}
}

// close stops the coordinator's timers and expiry pass.
func (c *groupCoordinator) close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed.Load() {
		return
	}
	c.closed.Store(true)
	if c.stop != nil {
		close(c.stop)
	}
	for _, g := range c.groups {
		g.timerSeq++
		if g.rebalanceTimer != nil {
			g.rebalanceTimer.Stop()
		}
		for _, m := range g.members {
			if m.session != nil {
				m.session.Stop()
			}
			m.sessionSeq++
		}
		for _, m := range g.pending {
			if m.session != nil {
				m.session.Stop()
			}
			m.sessionSeq++
		}
	}
}

func (c *groupCoordinator) initialDelay() time.Duration {
	return time.Duration(c.b.brokerConfig().Int("group.initial.rebalance.delay.ms")) * time.Millisecond
}

// coord returns the broker's coordinator, made on first use.
func (b *Broker) coord() *groupCoordinator {
	b.groupsOnce.Do(func() {
		b.groups = &groupCoordinator{b: b, groups: map[string]*group{}}
	})
	return b.groups
}

// groupError is the coordinator error for group on this broker, or 0:
// COORDINATOR_NOT_AVAILABLE before __consumer_offsets exists,
// NOT_COORDINATOR when its partition is led elsewhere,
// COORDINATOR_LOAD_IN_PROGRESS while the groups load.
func (b *Broker) groupError(group string) (int32, int16) {
	t, ok := b.image.Load().Topic(offsetsTopic)
	if !ok || len(t.Partitions) == 0 {
		return -1, kerr.CoordinatorNotAvailable.Code
	}
	idx := groupPartition(group, len(t.Partitions))
	if t.Partitions[idx].Leader != b.nodeID {
		return -1, kerr.NotCoordinator.Code
	}
	if b.lookupPartition(offsetsTopic, int32(idx)) == nil {
		return -1, kerr.CoordinatorNotAvailable.Code
	}
	if !b.coord().loaded.Load() {
		return -1, kerr.CoordinatorLoadInProgress.Code
	}
	return int32(idx), 0
}

// getGroup finds a group; create makes it Empty when absent. c.mu held.
func (c *groupCoordinator) getGroup(name string, part int32, create bool) *group {
	g := c.groups[name]
	if g == nil && create {
		g = &group{c: c, name: name, part: part, members: map[string]*groupMember{},
			pending: map[string]*groupMember{}, static: map[string]string{},
			offsets: map[partitionKey]offsetEntry{}, stateTime: time.Now()}
		c.groups[name] = g
	}
	return g
}

var invalidGroupID = kerr.InvalidGroupID.Code

func newMemberID(clientID string, instanceID *string) string {
	var u [16]byte
	rand.Read(u[:])
	prefix := clientID
	if instanceID != nil {
		prefix = *instanceID
	}
	return prefix + "-" + hex.EncodeToString(u[:4]) + "-" + hex.EncodeToString(u[4:6]) + "-" +
		hex.EncodeToString(u[6:8]) + "-" + hex.EncodeToString(u[8:10]) + "-" + hex.EncodeToString(u[10:])
}

// join handles a JoinGroup: it returns the answer, or nil when the request
// waits for the rebalance to complete. c.mu held.
func (c *groupCoordinator) join(r *request, req *kmsg.JoinGroupRequest, part int32) kmsg.Response {
	resp := req.ResponseKind().(*kmsg.JoinGroupResponse)
	resp.Generation = -1
	fail := func(code int16) kmsg.Response { resp.ErrorCode = code; return resp }
	cfg := c.b.brokerConfig()
	if req.SessionTimeoutMillis < cfg.Int("group.min.session.timeout.ms") ||
		req.SessionTimeoutMillis > cfg.Int("group.max.session.timeout.ms") {
		return fail(kerr.InvalidSessionTimeout.Code)
	}
	if req.Version == 0 {
		req.RebalanceTimeoutMillis = req.SessionTimeoutMillis
	}
	g := c.getGroup(req.Group, part, req.MemberID == "")
	if g == nil {
		return fail(kerr.UnknownMemberID.Code)
	}
	if g.state == groupDead {
		return fail(kerr.CoordinatorNotAvailable.Code)
	}
	if !g.protocolsMatch(req.ProtocolType, req.Protocols) {
		if len(g.members) == 0 && g.state == groupEmpty && len(g.offsets) == 0 {
			delete(c.groups, g.name)
		}
		return fail(kerr.InconsistentGroupProtocol.Code)
	}
	host := ""
	if a := r.conn.RemoteAddr(); a != nil {
		host = "/" + a.String()
		if i := lastColon(host); i > 0 {
			host = host[:i]
		}
	}
	newMember := func(id string) *groupMember {
		return &groupMember{id: id, instanceID: req.InstanceID, clientID: r.clientID, clientHost: host}
	}
	setJoin := func(m *groupMember) {
		m.protocolType, m.protocols = req.ProtocolType, cloneProtocols(req.Protocols)
		m.sessionTimeout, m.rebalanceTimeout = req.SessionTimeoutMillis, req.RebalanceTimeoutMillis
	}
	if req.MemberID == "" {
		if req.InstanceID != nil {
			if old, ok := g.static[*req.InstanceID]; ok && g.members[old] != nil {
				return c.replaceStatic(r, req, g, g.members[old], newMember, setJoin)
			}
		}
		if int32(len(g.members)+len(g.pending)) >= cfg.Int("group.max.size") {
			return fail(kerr.GroupMaxSizeReached.Code)
		}
		m := newMember(newMemberID(r.clientID, req.InstanceID))
		setJoin(m)
		if req.Version >= 4 && req.InstanceID == nil {
			// KIP-394: the member must come back with this id.
			g.pending[m.id] = m
			g.heartbeat(m)
			resp.MemberID = m.id
			return fail(kerr.MemberIDRequired.Code)
		}
		if req.InstanceID != nil {
			g.static[*req.InstanceID] = m.id
		}
		return g.addMember(r, m)
	}
	if code := g.validateInstance(req.InstanceID, req.MemberID); code != 0 {
		return fail(code)
	}
	if m := g.pending[req.MemberID]; m != nil {
		delete(g.pending, m.id)
		if m.session != nil {
			m.session.Stop()
		}
		if int32(len(g.members)) >= cfg.Int("group.max.size") {
			return fail(kerr.GroupMaxSizeReached.Code)
		}
		setJoin(m)
		return g.addMember(r, m)
	}
	m := g.members[req.MemberID]
	if m == nil {
		return fail(kerr.UnknownMemberID.Code)
	}
	switch g.state {
	case groupPreparingRebalance:
		g.updateMember(r, m, setJoin)
		return nil
	case groupCompletingRebalance:
		if m.sameProtocols(req.Protocols) {
			// A retried join: the same answer again.
			g.fillJoin(m.id, resp)
			g.heartbeat(m)
			return resp
		}
		g.updateMember(r, m, setJoin)
		return nil
	case groupStable:
		if m.id != g.leader && m.sameProtocols(req.Protocols) {
			g.fillJoin(m.id, resp)
			g.heartbeat(m)
			return resp
		}
		g.updateMember(r, m, setJoin)
		return nil
	}
	return fail(kerr.UnknownMemberID.Code)
}

func lastColon(s string) int {
	for i := len(s) - 1; i >= 0; i-- {
		if s[i] == ':' {
			return i
		}
	}
	return -1
}

func (g *group) addMember(r *request, m *groupMember) kmsg.Response {
	if len(g.members) == 0 {
		g.protocolType = m.protocolType
	}
	g.members[m.id] = m
	m.waiting = r
	g.nJoin++
	if m.session != nil {
		m.session.Stop()
	}
	if g.state == groupPreparingRebalance && !g.initialDelay && g.nJoin < len(g.members) {
		return nil // the rebalance under way takes it in
	}
	if g.initialDelay {
		g.rebalance() // a new member extends the initial delay
		return nil
	}
	g.rebalance()
	return nil
}

func (g *group) updateMember(r *request, m *groupMember, setJoin func(*groupMember)) {
	setJoin(m)
	// A join replacing an older join (a retry) or a sync still waiting.
	g.failWaiting(m, kerr.RebalanceInProgress.Code)
	m.waiting = r
	g.nJoin++
	if m.session != nil {
		m.session.Stop()
	}
	if g.state == groupPreparingRebalance && !g.initialDelay {
		if g.nJoin >= len(g.members) {
			g.completeRebalance()
		}
		return
	}
	if g.state != groupPreparingRebalance {
		g.rebalance()
	}
}

// failWaiting answers the join or sync m is parked on, if any, with code.
func (g *group) failWaiting(m *groupMember, code int16) {
	if m.waiting == nil {
		return
	}
	switch req := m.waiting.kreq.(type) {
	case *kmsg.JoinGroupRequest:
		resp := req.ResponseKind().(*kmsg.JoinGroupResponse)
		resp.ErrorCode, resp.Generation = code, -1
		m.waiting.respond(resp)
		g.nJoin--
	case *kmsg.SyncGroupRequest:
		resp := req.ResponseKind().(*kmsg.SyncGroupResponse)
		resp.ErrorCode = code
		m.waiting.respond(resp)
	}
	m.waiting = nil
}

// replaceStatic is KIP-345: a static member rejoining without its member
// id replaces the old one (fenced); when nothing changed in a Stable group
// it gets its old assignment back without a rebalance.
func (c *groupCoordinator) replaceStatic(r *request, req *kmsg.JoinGroupRequest, g *group, old *groupMember,
	newMember func(string) *groupMember, setJoin func(*groupMember)) kmsg.Response {
	resp := req.ResponseKind().(*kmsg.JoinGroupResponse)
	m := newMember(newMemberID(r.clientID, req.InstanceID))
	setJoin(m)
	m.assignment = old.assignment
	g.failWaiting(old, kerr.FencedInstanceID.Code)
	same := old.sameProtocols(req.Protocols)
	wasLeader := g.leader == old.id
	if old.session != nil {
		old.session.Stop()
	}
	old.sessionSeq++
	delete(g.members, old.id)
	delete(g.pendingSync, old.id)
	g.members[m.id] = m
	g.static[*req.InstanceID] = m.id
	if wasLeader {
		g.leader = m.id
	}
	if g.state == groupStable && same {
		g.fillJoin(m.id, resp)
		if wasLeader && req.Version >= 9 {
			resp.SkipAssignment = true // KIP-814: the old assignment stands
		}
		g.heartbeat(m)
		g.persistMetadata()
		return resp
	}
	m.waiting = r
	g.nJoin++
	if g.state == groupPreparingRebalance {
		if g.nJoin >= len(g.members) && !g.initialDelay {
			g.completeRebalance()
		}
		return nil
	}
	g.rebalance()
	return nil
}

// sync handles a SyncGroup; nil: the request waits for the leader. c.mu held.
func (c *groupCoordinator) sync(r *request, req *kmsg.SyncGroupRequest) kmsg.Response {
	resp := req.ResponseKind().(*kmsg.SyncGroupResponse)
	fail := func(code int16) kmsg.Response { resp.ErrorCode = code; return resp }
	g := c.groups[req.Group]
	if g == nil {
		return fail(kerr.UnknownMemberID.Code)
	}
	if code := g.validateInstance(req.InstanceID, req.MemberID); code != 0 {
		return fail(code)
	}
	m := g.members[req.MemberID]
	if m == nil {
		return fail(kerr.UnknownMemberID.Code)
	}
	if req.Generation != g.generation {
		return fail(kerr.IllegalGeneration.Code)
	}
	if (req.ProtocolType != nil && *req.ProtocolType != g.protocolType) ||
		(req.Protocol != nil && *req.Protocol != g.protocol) {
		return fail(kerr.InconsistentGroupProtocol.Code)
	}
	switch g.state {
	case groupPreparingRebalance:
		return fail(kerr.RebalanceInProgress.Code)
	case groupCompletingRebalance:
		delete(g.pendingSync, m.id)
		if m.waiting != nil {
			if old, ok := m.waiting.kreq.(*kmsg.SyncGroupRequest); ok {
				wr := old.ResponseKind().(*kmsg.SyncGroupResponse)
				wr.ErrorCode = kerr.RebalanceInProgress.Code
				m.waiting.respond(wr)
			}
		}
		m.waiting = r
		g.heartbeat(m)
		if m.id == g.leader {
			g.completeSync(req)
		}
		return nil
	case groupStable:
		g.fillSync(m, resp)
		g.heartbeat(m)
		return resp
	}
	return fail(kerr.UnknownMemberID.Code)
}

// heartbeatReq handles a Heartbeat. c.mu held.
func (c *groupCoordinator) heartbeatReq(req *kmsg.HeartbeatRequest) int16 {
	g := c.groups[req.Group]
	if g == nil {
		return kerr.UnknownMemberID.Code
	}
	if code := g.validateInstance(req.InstanceID, req.MemberID); code != 0 {
		return code
	}
	m := g.members[req.MemberID]
	if m == nil {
		return kerr.UnknownMemberID.Code
	}
	if req.Generation != g.generation {
		return kerr.IllegalGeneration.Code
	}
	switch g.state {
	case groupPreparingRebalance:
		g.heartbeat(m)
		return kerr.RebalanceInProgress.Code
	case groupCompletingRebalance, groupStable:
		g.heartbeat(m)
		return 0
	}
	return kerr.UnknownMemberID.Code
}

// leave removes members (by member id, or by instance id for static
// members) and rebalances. c.mu held.
func (c *groupCoordinator) leave(groupName string, members []kmsg.LeaveGroupRequestMember) []kmsg.LeaveGroupResponseMember {
	g := c.groups[groupName]
	var out []kmsg.LeaveGroupResponseMember
	left := false
	for _, lm := range members {
		o := kmsg.NewLeaveGroupResponseMember()
		o.MemberID, o.InstanceID = lm.MemberID, lm.InstanceID
		switch {
		case g == nil:
			o.ErrorCode = kerr.UnknownMemberID.Code
		case lm.InstanceID != nil:
			id, ok := g.static[*lm.InstanceID]
			switch {
			case !ok:
				o.ErrorCode = kerr.UnknownMemberID.Code
			case lm.MemberID != "" && lm.MemberID != id:
				o.ErrorCode = kerr.FencedInstanceID.Code
			default:
				if m := g.members[id]; m != nil {
					g.removeMember(m)
					left = true
				}
			}
		default:
			if m := g.members[lm.MemberID]; m != nil {
				g.removeMember(m)
				left = true
			} else if p := g.pending[lm.MemberID]; p != nil {
				delete(g.pending, p.id)
				if p.session != nil {
					p.session.Stop()
				}
			} else {
				o.ErrorCode = kerr.UnknownMemberID.Code
			}
		}
		out = append(out, o)
	}
	if left {
		g.memberLeft()
	}
	return out
}

// ---- Persistence in __consumer_offsets ----

// groupRecord is one key/value (nil value: tombstone).
type groupRecord struct{ key, value []byte }

func offsetRecord(group, topic string, part int32, e *offsetEntry) groupRecord {
	k := kmsg.NewOffsetCommitKey()
	k.Version, k.Group, k.Topic, k.Partition = 1, group, topic, part
	rec := groupRecord{key: k.AppendTo(nil)}
	if e != nil {
		v := kmsg.NewOffsetCommitValue()
		v.Version, v.Offset, v.LeaderEpoch, v.Metadata, v.CommitTimestamp = 3, e.offset, e.leaderEpoch, e.metadata, e.commitTime
		rec.value = v.AppendTo(nil)
	}
	return rec
}

// metadataRecord is the group's GroupMetadataValue (v3), or a tombstone
// when tomb.
func (g *group) metadataRecord(tomb bool) groupRecord {
	k := kmsg.NewGroupMetadataKey()
	k.Version, k.Group = 2, g.name
	rec := groupRecord{key: k.AppendTo(nil)}
	if tomb {
		return rec
	}
	v := kmsg.NewGroupMetadataValue()
	v.Version, v.ProtocolType, v.Generation = 3, g.protocolType, g.generation
	if g.protocol != "" {
		v.Protocol = kmsg.StringPtr(g.protocol)
	}
	if g.leader != "" {
		v.Leader = kmsg.StringPtr(g.leader)
	}
	v.CurrentStateTimestamp = g.stateTime.UnixMilli()
	for _, m := range g.members {
		vm := kmsg.NewGroupMetadataValueMember()
		vm.MemberID, vm.InstanceID, vm.ClientID, vm.ClientHost = m.id, m.instanceID, m.clientID, m.clientHost
		vm.RebalanceTimeoutMillis, vm.SessionTimeoutMillis = m.rebalanceTimeout, m.sessionTimeout
		for _, p := range m.protocols {
			if p.Name == g.protocol {
				vm.Subscription = p.Metadata
			}
		}
		vm.Assignment = m.assignment
		v.Members = append(v.Members, vm)
	}
	rec.value = v.AppendTo(nil)
	return rec
}

// persistMetadata writes the group's metadata, not waiting for it.
func (g *group) persistMetadata() {
	g.c.append(g.part, []groupRecord{g.metadataRecord(false)}, nil)
}

// buildGroupBatch encodes recs as one uncompressed magic-2 batch.
func buildGroupBatch(recs []groupRecord) []byte {
	var raw []byte
	for i, gr := range recs {
		r := kmsg.Record{OffsetDelta: int32(i), Key: gr.key, Value: gr.value}
		r.Length = int32(len(r.AppendTo(nil)) - 1) // the length varint of 0 is one byte
		raw = r.AppendTo(raw)
	}
	now := time.Now().UnixMilli()
	rb := kmsg.RecordBatch{Magic: 2, LastOffsetDelta: int32(len(recs) - 1), FirstTimestamp: now, MaxTimestamp: now,
		ProducerID: -1, ProducerEpoch: -1, FirstSequence: -1, NumRecords: int32(len(recs)), Records: raw}
	b := rb.AppendTo(nil)
	rb.Length = int32(len(b) - 12)
	b = rb.AppendTo(b[:0])
	rb.CRC = int32(crc32.Checksum(b[21:], crc32.MakeTable(crc32.Castagnoli)))
	return rb.AppendTo(b[:0])
}

// append writes recs to __consumer_offsets partition part on its owner
// shard; done (if set) runs there after the append with its error code.
func (c *groupCoordinator) append(part int32, recs []groupRecord, done func(code int16)) {
	p := c.b.lookupPartition(offsetsTopic, part)
	if p == nil || c.b.data == nil || c.closed.Load() {
		if done != nil {
			done(kerr.CoordinatorNotAvailable.Code)
		}
		return
	}
	batch := buildGroupBatch(recs)
	c.b.data.Run(c.b.owner(p), func() {
		var code int16
		if _, err := p.log.Append(batch, p.leaderEpoch); err != nil {
			c.b.log.Warn("cannot write to __consumer_offsets", "partition", part, "err", err)
			code = kerr.UnknownServerError.Code
		} else {
			p.appended()
			p.wakeWaiters()
		}
		if done != nil {
			done(code)
		}
	})
}

// loadGroups reads every hosted __consumer_offsets partition and rebuilds
// the groups and offsets in it: the last record per key wins, tombstones
// delete. Members of a loaded group get a fresh session.
func (b *Broker) loadGroups() {
	c := b.coord()
	defer c.loaded.Store(true)
	t, ok := b.image.Load().Topic(offsetsTopic)
	if !ok {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	metas := map[string]*kmsg.GroupMetadataValue{}
	for i := range t.Partitions {
		p := b.lookupPartition(offsetsTopic, int32(i))
		if p == nil || t.Partitions[i].Leader != b.nodeID {
			continue
		}
		err := readRecords(p, func(key, value []byte) {
			if len(key) < 2 {
				return
			}
			switch binary.BigEndian.Uint16(key) {
			case 0, 1:
				var k kmsg.OffsetCommitKey
				if k.ReadFrom(key) != nil {
					return
				}
				g := c.getGroup(k.Group, int32(i), true)
				pk := partitionKey{k.Topic, k.Partition}
				if value == nil {
					delete(g.offsets, pk)
					return
				}
				var v kmsg.OffsetCommitValue
				if v.ReadFrom(value) != nil {
					return
				}
				g.offsets[pk] = offsetEntry{offset: v.Offset, leaderEpoch: v.LeaderEpoch, metadata: v.Metadata, commitTime: v.CommitTimestamp}
			case 2:
				var k kmsg.GroupMetadataKey
				if k.ReadFrom(key) != nil {
					return
				}
				c.getGroup(k.Group, int32(i), true)
				if value == nil {
					delete(metas, k.Group)
					metas[k.Group] = nil
					return
				}
				v := new(kmsg.GroupMetadataValue)
				if v.ReadFrom(value) != nil {
					return
				}
				metas[k.Group] = v
			}
		})
		if err != nil {
			b.log.Warn("cannot read __consumer_offsets", "partition", i, "err", err)
		}
	}
	for name, v := range metas {
		g := c.groups[name]
		if v == nil {
			if len(g.offsets) == 0 {
				delete(c.groups, name)
			}
			continue
		}
		g.protocolType, g.generation = v.ProtocolType, v.Generation
		if v.Protocol != nil {
			g.protocol = *v.Protocol
		}
		if v.Leader != nil {
			g.leader = *v.Leader
		}
		for _, vm := range v.Members {
			m := &groupMember{id: vm.MemberID, instanceID: vm.InstanceID, clientID: vm.ClientID, clientHost: vm.ClientHost,
				protocolType: v.ProtocolType, sessionTimeout: vm.SessionTimeoutMillis, rebalanceTimeout: vm.RebalanceTimeoutMillis,
				assignment: vm.Assignment}
			if m.rebalanceTimeout <= 0 {
				m.rebalanceTimeout = m.sessionTimeout
			}
			p := kmsg.NewJoinGroupRequestProtocol()
			p.Name, p.Metadata = g.protocol, vm.Subscription
			m.protocols = []kmsg.JoinGroupRequestProtocol{p}
			g.members[m.id] = m
			if m.instanceID != nil {
				g.static[*m.instanceID] = m.id
			}
			g.heartbeat(m)
		}
		if v.CurrentStateTimestamp > 0 {
			g.stateTime = time.UnixMilli(v.CurrentStateTimestamp)
		}
		if len(g.members) > 0 {
			g.state = groupStable
		}
	}
	if n := len(c.groups); n > 0 {
		b.log.Info("loaded consumer groups", "groups", n)
	}
}

// readRecords calls fn with every record's key and value (nil: a
// tombstone) in p's log below the high watermark, skipping control
// batches. A damaged batch is skipped from its first bad record on, as the
// rest of the log is read; the first such error is returned at the end.
func readRecords(p *partition, fn func(key, value []byte)) error {
	l := p.log
	var dec logstore.Decoder
	var damaged error
	off, hw := l.LogStartOffset(), l.HighWatermark()
	for off < hw {
		s, err := l.Read(off, 1<<20, hw)
		if err != nil {
			return err
		}
		if s.Len == 0 {
			return damaged
		}
		buf := make([]byte, s.Len)
		_, err = s.Seg.File().ReadAt(buf, s.Pos)
		s.Release()
		if err != nil {
			return err
		}
		for len(buf) >= logstore.BatchHeaderSize {
			b := logstore.Batch(buf)
			size := b.Size()
			if size > int64(len(buf)) || size < logstore.BatchHeaderSize {
				return damaged
			}
			b, buf = b[:size], buf[size:]
			off = max(off, b.LastOffset()+1)
			if b.IsControl() {
				continue
			}
			// buf is read afresh each time and fn's decoders may keep views
			// of it; a compressed batch's records are in dec's buffer, which
			// the next batch reuses, so they are copied.
			copied := b.Codec() != 0
			err := dec.ForEachRecord(b, func(r logstore.Record) error {
				if r.Offset < l.LogStartOffset() {
					return nil
				}
				if copied {
					r.Key, r.Value = bytes.Clone(r.Key), bytes.Clone(r.Value)
				}
				fn(r.Key, r.Value)
				return nil
			})
			if err != nil && damaged == nil {
				damaged = fmt.Errorf("batch at offset %d: %w", b.BaseOffset(), err)
			}
		}
	}
	return damaged
}
