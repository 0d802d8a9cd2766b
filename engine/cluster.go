package engine

import (
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/weirmq/weir/engine/config"
	"github.com/weirmq/weir/engine/controller"
	"github.com/weirmq/weir/engine/metadata"
	"github.com/weirmq/weir/engine/quorum"
	"github.com/weirmq/weir/logstore"
	"github.com/weirmq/weir/logstore/metalog"
)

// A node of a cluster (controller.quorum.voters names other voters) runs
// as a Kafka 4 combined node does:
//
//   - Its controller is a voter of the Raft quorum (controller.Raft over
//     quorum.Node), whose messages travel over the controller listener
//     (raftnet.go). Every voter builds the image from the committed
//     metadata log; only the quorum's leader, the active controller,
//     plans and commits changes, and keeps the brokers' sessions: a node
//     that becomes leader starts every registered broker's session
//     afresh, then fences those not heard from for
//     broker.session.timeout.ms.
//   - Its broker registers with the active controller and heartbeats it
//     every broker.heartbeat.interval.ms with BrokerRegistration (62) and
//     BrokerHeartbeat (63), sent over the controller listener like any
//     Kafka broker's (in-process when it is the active controller
//     itself), reporting the metadata offset it has applied; a
//     STALE_BROKER_EPOCH answer makes it register again.
//   - It follows the committed image: each applied change is published
//     (publishLocked), which creates the logs of the partitions whose
//     replicas name this node, deletes those of deleted topics and of
//     partitions moved off it, and makes each hosted partition leader or
//     follower as the image says (with its leader epoch); the group
//     coordinator loads the groups of the __consumer_offsets partitions
//     it comes to lead and unloads those of the ones it stops leading
//     (group_leadership.go).
//   - On SIGTERM, ControlledShutdown asks the controller to move
//     leadership off it (WantShutDown) and waits until told to stop.
//
// A cluster's id is derived from controller.quorum.voters when a log
// dir is formatted (every node of the quorum configures the same voters,
// so they agree without a separate format step); a node whose log dirs
// hold another cluster's id is refused by the controller
// (INCONSISTENT_CLUSTER_ID).
type cluster struct {
	// A voter (process.roles holds controller) runs raft over transport;
	// a broker that is not one follows the quorum as obs (observer.go).
	// member is whichever of the two this node runs.
	raft      *controller.Raft
	transport *quorum.TCP
	obs       *observer
	member    interface {
		controller.Proposer
		AppliedOffset() int64
	}
	broker    bool             // process.roles holds broker
	voters    map[int32]string // controller listener address by voter id
	client    *peerClient      // to the active controller: registration, heartbeats
	forwarder *peerClient      // to the active controller: forwarded requests
	leader    atomic.Int32     // the active controller as last seen; -1: none

	// published: a new image was applied and waits to be published.
	published chan struct{}
	// changed is closed, and replaced, at each applied change (metadata
	// fetches long-poll on it).
	changedMu sync.Mutex
	changed   chan struct{}
	// observers are the brokers fetching the metadata log from this node
	// while it leads (observer.go).
	observersMu sync.Mutex
	observers   map[int32]observerSeen
	stop        chan struct{}
	wg          sync.WaitGroup

	// The broker side's lifecycle (the heartbeat goroutine's).
	epoch  atomic.Int64 // this broker's epoch; -1 until registered
	fenced bool
	// reconciled: the logs of partitions this node no longer hosts were
	// set aside (once, when first caught up).
	reconciled bool
	// active: this node was the active controller at its last tick (the
	// controller goroutine's).
	active bool
	// shuttingDown asks the controller for a controlled shutdown;
	// shutDown closes once it says this broker may stop.
	shuttingDown atomic.Bool
	shutDown     chan struct{}
	lastAnswer   atomic.Int64 // unix ns of the last heartbeat the controller accepted
	shutOnce     sync.Once
}

// clustered says whether cfg names a quorum other than this node alone.
func clustered(cfg *config.Resolved) bool {
	return len(cfg.Voters) > 1 || len(cfg.Voters) == 1 && cfg.Voters[0].ID != cfg.NodeID
}

// derivedClusterID is the cluster id of a new cluster's log dirs: a
// UUID (base64url, as Kafka prints them) hashed from the voters.
func derivedClusterID(voters []config.Voter) string {
	names := make([]string, len(voters))
	for i, v := range voters {
		names[i] = v.String()
	}
	sort.Strings(names)
	sum := sha256.Sum256([]byte("weir cluster " + strings.Join(names, ",")))
	var id [16]byte
	copy(id[:], sum[:16])
	id[6] = id[6]&0x0f | 0x40 // a version 4 UUID, as Kafka's Uuid.randomUuid
	id[8] = id[8]&0x3f | 0x80
	return base64.RawURLEncoding.EncodeToString(id[:])
}

// openClusterMetadata opens this node's part in the quorum (a voter's
// quorum node on the metadata log of the first log dir, or a broker's
// observer), then the log dirs, and publishes the image it starts from
// (a voter's snapshot; the changes after it follow as they are applied).
func (b *Broker) openClusterMetadata() error {
	c := b.opts.Config
	cl := &cluster{voters: map[int32]string{}, published: make(chan struct{}, 1), changed: make(chan struct{}),
		stop: make(chan struct{}), shutDown: make(chan struct{}), broker: slices.Contains(b.cfg.Roles, "broker")}
	cl.leader.Store(-1)
	cl.epoch.Store(-1)
	var ids []int32
	for _, v := range b.cfg.Voters {
		cl.voters[v.ID] = v.Addr()
		ids = append(ids, v.ID)
	}
	cl.client = newPeerClient(fmt.Sprintf("weir-broker-%d", b.nodeID), b.peerTimeout())
	cl.forwarder = newPeerClient(fmt.Sprintf("weir-forward-%d", b.nodeID), forwardTimeout)
	if !slices.Contains(b.cfg.Roles, "controller") {
		cl.obs = newObserver(b, b.baseImage(), func() { cl.applied(nil) })
		cl.member = cl.obs
		return b.openClusterLogs(cl)
	}
	tr, err := quorum.ListenTCP(quorum.TCPConfig{Node: b.nodeID, Peers: cl.voters, Frame: raftFramer(b.nodeID),
		Logger: b.log, DialTimeout: 2 * time.Second})
	if err != nil {
		return err
	}
	election := time.Duration(c.Int("controller.quorum.election.timeout.ms")) * time.Millisecond
	r, err := controller.OpenRaft(quorum.Config{
		NodeID: b.nodeID, Voters: ids, Dir: filepath.Join(b.cfg.LogDirs[0], metalog.DirName),
		Transport: tr, Logger: b.log,
		// Kafka's election timeout is the longest a follower waits
		// without hearing from the leader; etcd raft draws each wait in
		// [1, 2) x ElectionTicks: so ElectionTicks is half of it, and
		// the leader heartbeats every tick.
		Tick: max(election/20, 5*time.Millisecond), ElectionTicks: 10, HeartbeatTicks: 1,
		SnapshotBytes:    c.Long("metadata.log.max.record.bytes.between.snapshots"),
		SnapshotInterval: time.Duration(c.Long("metadata.log.max.snapshot.interval.ms")) * time.Millisecond,
	}, b.baseImage(), controller.RaftOptions{OnImage: cl.applied})
	if err != nil {
		tr.Close()
		return err
	}
	cl.raft, cl.transport, cl.member = r, tr, r
	return b.openClusterLogs(cl)
}

// baseImage is what an image holds before the metadata log: the cluster
// id and this node.
func (b *Broker) baseImage() *metadata.Image {
	return metadata.New(b.clusterID, b.nodeID, -1, nil, nil)
}

// openClusterLogs opens the log dirs once cl is this node's part in the
// quorum, publishes, and starts following the images.
func (b *Broker) openClusterLogs(cl *cluster) error {
	b.cluster, b.ctl.proposer = cl, cl.member
	b.ctl.sessions = controller.NewSessions(time.Duration(b.opts.Config.Int("broker.session.timeout.ms")) * time.Millisecond)
	if err := b.openLogStores(cl.member.Image()); err != nil {
		return err
	}
	b.ctl.mu.Lock()
	b.publishLocked(nil)
	b.ctl.mu.Unlock()
	cl.wg.Add(1)
	go b.followImages()
	return nil
}

// peerTimeout bounds a request to the active controller: two heartbeat
// intervals, within [1 s, 5 s].
func (b *Broker) peerTimeout() time.Duration {
	hb := time.Duration(b.opts.Config.Int("broker.heartbeat.interval.ms")) * time.Millisecond
	return min(max(2*hb, time.Second), 5*time.Second)
}

// applied is Raft's OnImage (and the observer's): it runs on the quorum
// node's goroutine, so it only marks the image to be published and wakes
// the metadata fetches waiting.
func (cl *cluster) applied(*metadata.Image) {
	cl.poke()
	cl.changedMu.Lock()
	close(cl.changed)
	cl.changed = make(chan struct{})
	cl.changedMu.Unlock()
}

// changes is closed at the next applied change.
func (cl *cluster) changes() <-chan struct{} {
	cl.changedMu.Lock()
	defer cl.changedMu.Unlock()
	return cl.changed
}

// activeController is the active controller as this node last saw it;
// -1 when none is known.
func (cl *cluster) activeController() int32 {
	if cl.obs != nil {
		return cl.obs.Leader()
	}
	return cl.leader.Load()
}

func (cl *cluster) poke() {
	select {
	case cl.published <- struct{}{}:
	default:
	}
}

// followImages publishes the applied images, the newest each time, until
// the cluster stops.
func (b *Broker) followImages() {
	cl := b.cluster
	defer cl.wg.Done()
	for {
		select {
		case <-cl.stop:
			return
		case <-cl.published:
		}
		b.ctl.mu.Lock()
		b.publishLocked(nil)
		b.ctl.mu.Unlock()
	}
}

// clusterImage is the image to publish on a cluster's node: the last
// applied, with the controller Metadata and DescribeCluster name: the
// active controller when it is also a live broker, else this node, which
// forwards admin requests to it (clients can only reach brokers; Kafka 4
// names a random live broker).
func (b *Broker) clusterImage() *metadata.Image {
	im := b.cluster.member.Image()
	ctl := b.cluster.activeController()
	if br, ok := im.Broker(ctl); !ok || br.Fenced {
		ctl = b.nodeID
	}
	return im.WithBrokers(ctl, im.Brokers())
}

// hostLocked makes this node's logs follow im, from the published image:
// a log for each partition whose replicas name this node (created
// empty when missing), none for a deleted topic or a partition moved
// off it. A log that cannot be made is logged, and its partition is not
// hosted (LEADER_NOT_AVAILABLE where this node leads it). b.ctl.mu must
// be held.
func (b *Broker) hostLocked(im *metadata.Image) {
	prev := b.image.Load()
	if prev != nil {
		for _, t := range prev.Topics() {
			cur, ok := im.Topic(t.Name)
			for i := range t.Partitions {
				gone := !ok || cur.ID != t.ID || i >= len(cur.Partitions) ||
					!slices.Contains(cur.Partitions[i].Replicas, b.nodeID)
				if !gone || !slices.Contains(t.Partitions[i].Replicas, b.nodeID) {
					continue
				}
				tp := logstore.TopicPartition{Topic: t.Name, Partition: int32(i)}
				if _, l := b.findLog(tp); l != nil {
					if err := b.deleteLog(tp); err != nil {
						b.log.Error("cannot delete partition log", "partition", tp.String(), "err", err)
					} else {
						b.log.Info("deleted a partition log no longer hosted here", "partition", tp.String())
					}
				}
			}
		}
	}
	broker := b.brokerConfigOf(im)
	var logs []newLog
	for _, t := range im.Topics() {
		var lc logstore.Config
		for i := range t.Partitions {
			if !slices.Contains(t.Partitions[i].Replicas, b.nodeID) {
				continue
			}
			tp := logstore.TopicPartition{Topic: t.Name, Partition: int32(i)}
			if _, l := b.findLog(tp); l != nil {
				if id, ok := l.TopicID(); !ok || id == t.ID {
					continue
				}
			}
			if len(logs) == 0 || logs[len(logs)-1].tp.Topic != t.Name {
				lc = b.topicConfigOf(broker, t.Configs).log
			}
			logs = append(logs, newLog{tp: tp, id: t.ID, cfg: lc})
		}
	}
	if len(logs) == 0 {
		return
	}
	if err := b.createLogs(logs); err != nil {
		// One at a time, keeping those that can be made.
		for _, nl := range logs {
			if _, err := b.createLog(nl.tp, nl.id, nl.cfg); err != nil {
				b.errs.Error("cannot create a partition log", "partition", nl.tp.String(), "err", err)
			}
		}
	}
	b.log.Info("created partition logs", "partitions", len(logs))
}

// hosts says whether this node hosts partition p of the image: on a
// single node every partition; in a cluster those whose replicas name it.
func (b *Broker) hosts(p *metadata.Partition) bool {
	return b.cluster == nil || slices.Contains(p.Replicas, b.nodeID)
}

// startCluster starts the controller's and the broker's lifecycles.
func (b *Broker) startCluster() {
	cl := b.cluster
	if cl.raft != nil {
		// The controller's tick notes a new leader soon after its
		// election and fences on time; it asks the local node only.
		tick := min(b.lifeTick(), 100*time.Millisecond)
		cl.wg.Add(1)
		go func() {
			defer cl.wg.Done()
			b.every(tick, b.controllerTick)
		}()
	}
	if cl.broker {
		cl.wg.Add(2)
		go func() {
			defer cl.wg.Done()
			b.every(replicaTick, b.tickReplicas)
		}()
		go func() {
			defer cl.wg.Done()
			hb := time.Duration(b.opts.Config.Int("broker.heartbeat.interval.ms")) * time.Millisecond
			b.heartbeatController(time.Now())
			b.every(max(hb, 10*time.Millisecond), b.heartbeatController)
		}()
	}
}

// every calls fn every d until the cluster stops.
func (b *Broker) every(d time.Duration, fn func(now time.Time)) {
	t := time.NewTicker(d)
	defer t.Stop()
	for {
		select {
		case <-b.cluster.stop:
			return
		case now := <-t.C:
			fn(now)
		}
	}
}

// controllerTick notes the quorum's leader and, on the active
// controller, fences the brokers whose sessions expired. A node that has
// just become the active controller starts every broker's session now.
func (b *Broker) controllerTick(now time.Time) {
	cl := b.cluster
	st := cl.raft.Node().Status()
	if old := cl.leader.Swap(st.Leader); old != st.Leader {
		b.log.Info("the active controller changed", "controller", st.Leader, "epoch", st.Term)
		cl.poke() // Metadata names the new controller
	}
	leading := st.Role == quorum.RoleLeader
	b.ctl.mu.Lock()
	defer b.ctl.mu.Unlock()
	if leading && !cl.active {
		b.ctl.sessions = controller.NewSessions(b.ctl.sessions.Timeout())
		b.ctl.sessions.Load(cl.raft.Image(), now)
		b.log.Info("this node is the active controller", "epoch", st.Term)
	}
	cl.active = leading
	if !leading {
		return
	}
	if err := b.fenceExpiredLocked(now); err != nil && !errors.As(err, new(*controller.NotControllerError)) {
		b.errs.Error("cannot fence expired broker sessions", "err", err)
	}
}

// heartbeatController registers this broker with the active controller,
// or sends it a heartbeat.
func (b *Broker) heartbeatController(now time.Time) {
	cl := b.cluster
	leader := cl.activeController()
	if leader < 0 && cl.raft != nil {
		leader = cl.raft.Node().Status().Leader
	}
	if leader < 0 {
		return
	}
	if cl.epoch.Load() < 0 {
		resp, err := b.toController(leader, b.registrationRequest(), now)
		if err != nil {
			b.log.Debug("cannot register with the controller", "controller", leader, "err", err)
			return
		}
		r := resp.(*kmsg.BrokerRegistrationResponse)
		if r.ErrorCode != 0 {
			b.errs.Error("the controller refused this broker's registration", "controller", leader,
				"err", kerr.ErrorForCode(r.ErrorCode))
			return
		}
		cl.epoch.Store(r.BrokerEpoch)
		cl.fenced = true
		b.log.Info("registered with the controller", "controller", leader, "broker_epoch", r.BrokerEpoch)
	}
	req := kmsg.NewPtrBrokerHeartbeatRequest()
	req.Version = 1
	req.BrokerID, req.BrokerEpoch = b.nodeID, cl.epoch.Load()
	req.CurrentMetadataOffset = cl.member.AppliedOffset()
	req.WantShutdown = cl.shuttingDown.Load()
	resp, err := b.toController(leader, req, now)
	if err != nil {
		b.log.Debug("cannot heartbeat the controller", "controller", leader, "err", err)
		return
	}
	r := resp.(*kmsg.BrokerHeartbeatResponse)
	switch r.ErrorCode {
	case 0:
		cl.lastAnswer.Store(time.Now().UnixNano())
	case kerr.StaleBrokerEpoch.Code:
		b.log.Info("the controller does not know this broker's epoch; registering again",
			"broker_epoch", cl.epoch.Load())
		cl.epoch.Store(-1)
		return
	default:
		b.log.Debug("the controller refused a heartbeat", "controller", leader, "err", kerr.ErrorForCode(r.ErrorCode))
		return
	}
	if r.IsFenced != cl.fenced {
		cl.fenced = r.IsFenced
		b.log.Info("this broker's state changed", "fenced", r.IsFenced, "caught_up", r.IsCaughtUp)
	}
	if r.IsCaughtUp && !cl.reconciled {
		cl.reconciled = true
		b.ctl.mu.Lock()
		b.publishLocked(nil)
		b.reconcileStraysLocked(b.image.Load())
		b.ctl.mu.Unlock()
	}
	if r.ShouldShutdown {
		cl.shutOnce.Do(func() { close(cl.shutDown) })
	}
}

// toController sends req to the active controller leader: over its
// controller listener, or in-process when it is this node.
func (b *Broker) toController(leader int32, req kmsg.Request, now time.Time) (kmsg.Response, error) {
	if leader == b.nodeID {
		switch req := req.(type) {
		case *kmsg.BrokerRegistrationRequest:
			return b.registerBroker(req, now), nil
		case *kmsg.BrokerHeartbeatRequest:
			return b.brokerHeartbeat(req, now), nil
		}
	}
	addr, ok := b.cluster.voters[leader]
	if !ok {
		return nil, fmt.Errorf("controller %d is not a voter", leader)
	}
	return b.cluster.client.do(addr, req)
}

// registrationRequest is this broker's BrokerRegistration (v4): its
// broker listeners as advertised (bound ports), features and rack.
func (b *Broker) registrationRequest() *kmsg.BrokerRegistrationRequest {
	reg := b.selfRegistration(*b.endpoints.Load())
	req := kmsg.NewPtrBrokerRegistrationRequest()
	req.Version = 4
	req.BrokerID, req.ClusterID, req.IncarnationID, req.Rack = reg.BrokerID, reg.ClusterID, reg.IncarnationID, reg.Rack
	req.PreviousBrokerEpoch = reg.PreviousBrokerEpoch
	for _, l := range reg.Listeners {
		rl := kmsg.NewBrokerRegistrationRequestListener()
		rl.Name, rl.Host, rl.Port, rl.SecurityProtocol = l.Name, l.Host, l.Port, l.SecurityProtocol
		req.Listeners = append(req.Listeners, rl)
	}
	for _, f := range reg.Features {
		rf := kmsg.NewBrokerRegistrationRequestFeature()
		rf.Name, rf.MinSupportedVersion, rf.MaxSupportedVersion = f.Name, f.MinSupportedVersion, f.MaxSupportedVersion
		req.Features = append(req.Features, rf)
	}
	return req
}

// ControlledShutdown asks the active controller to move leadership off
// this broker and waits, at most timeout, until it says the broker may
// stop (Kafka's controlled shutdown on SIGTERM). It stops waiting sooner
// when no controller has answered a heartbeat for a while (the quorum is
// gone: nobody can move anything). A single node has no one to hand
// leadership to, nor a controller-only node: it returns at once.
func (b *Broker) ControlledShutdown(timeout time.Duration) error {
	cl := b.cluster
	if cl == nil || !cl.broker {
		return nil
	}
	cl.shuttingDown.Store(true)
	hb := time.Duration(b.opts.Config.Int("broker.heartbeat.interval.ms")) * time.Millisecond
	silence := 2*hb + b.peerTimeout()
	start := time.Now()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-cl.shutDown:
			b.log.Info("controlled shutdown: the controller moved leadership off this broker")
			return nil
		case now := <-tick.C:
			if now.Sub(start) > timeout {
				return fmt.Errorf("controlled shutdown: the controller did not release this broker within %s", timeout)
			}
			last := time.Unix(0, cl.lastAnswer.Load())
			if now.Sub(start) > silence && now.Sub(last) > silence {
				return fmt.Errorf("controlled shutdown: no controller has answered for %s", now.Sub(last).Round(time.Millisecond))
			}
		}
	}
}

// registeredEpoch is this broker's epoch, -1 before it is registered.
func (cl *cluster) registeredEpoch() int64 { return cl.epoch.Load() }

// ctlImage is the image the controller plans against: its proposer's
// last committed image (the published one may lag it in a cluster).
func (b *Broker) ctlImage() *metadata.Image {
	if b.ctl.proposer != nil {
		return b.ctl.proposer.Image()
	}
	return b.image.Load()
}

// stopCluster stops the lifecycles and the image follower, and closes the
// client; the quorum node closes with the metadata (closeMetadata).
func (b *Broker) stopCluster() {
	cl := b.cluster
	if cl == nil {
		return
	}
	select {
	case <-cl.stop:
		return
	default:
	}
	close(cl.stop)
	cl.wg.Wait()
	cl.client.close()
	cl.forwarder.close()
}

// sameAssignment says whether a partition's registration is unchanged
// for its replica: same leader, epochs, replicas and ISR.
func sameAssignment(a, b metadata.Partition) bool {
	return a.Leader == b.Leader && a.LeaderEpoch == b.LeaderEpoch && a.PartitionEpoch == b.PartitionEpoch &&
		slices.Equal(a.Replicas, b.Replicas) && slices.Equal(a.ISR, b.ISR)
}

// reassign makes hosted partition p leader or follower under its new
// registration, on its owner shard (which owns its replica and the
// leader epoch its appends stamp). b.ctl.mu must be held: p.assigned is
// set here so the next publication compares against it.
func (b *Broker) reassign(p *partition, reg metadata.Partition) {
	old := p.assigned
	p.assigned = reg
	b.shards.Run(b.owner(p), func() { p.assign(b.nodeID, reg) })
	if old.Leader != reg.Leader || old.LeaderEpoch != reg.LeaderEpoch {
		role := "follower"
		if reg.Leader == b.nodeID {
			role = "leader"
		}
		b.log.Info("partition leadership changed", "partition", fmt.Sprintf("%s-%d", p.topic, p.index),
			"role", role, "leader", reg.Leader, "leader_epoch", reg.LeaderEpoch)
		if reg.Leader == b.nodeID && reg.LeaderRecoveryState == metalog.RecoveringLeader {
			// unclean.leader.election.enable made a replica outside the
			// ISR the leader: what the ISR had past its log end is gone.
			b.log.Warn("leader by an unclean election: records other replicas held at or past this log end are lost",
				"partition", fmt.Sprintf("%s-%d", p.topic, p.index), "log_end_offset", p.log.LogEndOffset(),
				"high_watermark", p.log.HighWatermark(), "leader_epoch", reg.LeaderEpoch)
		}
	}
}

// resign hands the quorum's leadership, if this node holds it, to the
// most caught-up voter heard from lately, and waits (at most an election
// timeout) for it to take over: the others need not wait out an election
// timeout to find this node gone, as Kafka's controller resigns at
// shutdown.
func (b *Broker) resign() {
	if b.cluster.raft == nil {
		return
	}
	node := b.cluster.raft.Node()
	st := node.Status()
	if st.Role != quorum.RoleLeader {
		return
	}
	next, best := int32(-1), uint64(0)
	for _, v := range st.Voters {
		if v.Node != b.nodeID && time.Since(v.LastContact) < node.ElectionTimeout() && v.Match >= best {
			next, best = v.Node, v.Match
		}
	}
	if next < 0 {
		return
	}
	node.TransferLeadership(next)
	for deadline := time.Now().Add(node.ElectionTimeout()); time.Now().Before(deadline); {
		if st := node.Status(); st.Leader != b.nodeID {
			b.log.Info("handed the quorum's leadership over", "to", next, "leader", st.Leader)
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// reconcileStraysLocked sets aside the logs this node holds for no
// partition it hosts in im: topics deleted or partitions moved off it
// while it was down. It runs once, when the controller first finds this
// broker caught up (it has applied its own registration, so im holds
// every change made before it came back). An empty log is deleted;
// one with records is renamed `-stray` and kept, as Kafka's LogManager
// does (KIP-858). b.ctl.mu must be held.
func (b *Broker) reconcileStraysLocked(im *metadata.Image) {
	for _, d := range b.logDirs {
		for _, l := range d.Logs() {
			tp := logstore.TopicPartition{Topic: l.Topic(), Partition: l.Partition()}
			t, ok := im.Topic(tp.Topic)
			id, hasID := l.TopicID()
			if ok && int(tp.Partition) < len(t.Partitions) && (!hasID || id == t.ID) &&
				slices.Contains(t.Partitions[tp.Partition].Replicas, b.nodeID) {
				continue
			}
			var err error
			if l.LogEndOffset() == 0 {
				b.log.Info("removing an empty partition log this node no longer hosts", "partition", tp.String())
				err = d.DeleteLog(tp)
			} else {
				b.log.Warn("log dir holds a partition log this node no longer hosts; renaming it stray and keeping it",
					"partition", tp.String(), "dir", d.Path(), "topic_id", UUID(id).String())
				err = d.StrayLog(tp)
			}
			if err != nil {
				b.log.Error("cannot set a partition log aside", "partition", tp.String(), "err", err)
			}
		}
	}
}
