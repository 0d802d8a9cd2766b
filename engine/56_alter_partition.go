package engine

import (
	"context"
	"log/slog"
	"strconv"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/weirmq/weir/engine/controller"
	"github.com/weirmq/weir/replica"
)

// AlterPartition: v0-3
//
// Behavior:
// * Served on controller listeners only (KIP-497): a partition's leader
//   asks the active controller to change its ISR, shrinking it when a
//   follower falls behind for replica.lag.time.max.ms and expanding it
//   when one has caught up (package replica decides; replication.go
//   sends).
// * Decided by controller.PlanAlterPartition, as Kafka's
//   ReplicationControlManager: STALE_BROKER_EPOCH for the whole request;
//   per partition UNKNOWN_TOPIC_ID / UNKNOWN_TOPIC_OR_PARTITION,
//   NOT_LEADER_OR_FOLLOWER, FENCED_LEADER_EPOCH, INVALID_UPDATE_VERSION
//   (another partition epoch), INVALID_REQUEST (an ISR without the
//   leader, or with a non-replica), INELIGIBLE_REPLICA (a new member
//   fenced, shutting down, or of another broker epoch).
// * The accepted changes are committed as one change; each partition is
//   answered as committed (leader, epochs, ISR). Not the active
//   controller: NOT_CONTROLLER.
//
// Version notes:
// * v1: LeaderRecoveryState
// * v2: topic ids
// * v3: NewIsrWithEpochs (each member's broker epoch)

func init() {
	register(api{key: 56, min: 0, max: 3, handle: handleAlterPartition, only: controllerListener})
}

func handleAlterPartition(b *Broker, r *request) (kmsg.Response, error) {
	req := r.kreq.(*kmsg.AlterPartitionRequest)
	go func() { r.respond(b.alterPartition(req)) }()
	return nil, nil
}

func (b *Broker) alterPartition(req *kmsg.AlterPartitionRequest) *kmsg.AlterPartitionResponse {
	resp := req.ResponseKind().(*kmsg.AlterPartitionResponse)
	b.ctl.mu.Lock()
	defer b.ctl.mu.Unlock()
	if b.ctl.proposer == nil {
		resp.ErrorCode = kerrNotController.Code
		return resp
	}
	im := b.ctlImage()
	var changes []controller.ISRChange
	for _, t := range req.Topics {
		id := t.TopicID
		if req.Version < 2 {
			if mt, ok := im.Topic(t.Topic); ok {
				id = mt.ID
			}
		}
		for _, p := range t.Partitions {
			c := controller.ISRChange{TopicID: id, Partition: p.Partition, LeaderEpoch: p.LeaderEpoch,
				PartitionEpoch: p.PartitionEpoch, ISR: p.NewISR}
			if req.Version >= 3 {
				c.ISR = nil
				for _, m := range p.NewEpochISR {
					c.ISR, c.ISREpochs = append(c.ISR, m.BrokerID), append(c.ISREpochs, m.BrokerEpoch)
				}
			}
			changes = append(changes, c)
		}
	}
	recs, results, refused := controller.PlanAlterPartition(im, req.BrokerID, req.BrokerEpoch, changes)
	if refused != nil {
		resp.ErrorCode = refused.Code
		return resp
	}
	if len(recs) > 0 {
		next, err := b.commitLocked(recs)
		if err != nil {
			resp.ErrorCode = b.commitErr(err).Code
			return resp
		}
		b.publishLocked(next)
	}
	i := 0
	for _, t := range req.Topics {
		rt := kmsg.NewAlterPartitionResponseTopic()
		rt.Topic, rt.TopidID = t.Topic, t.TopicID
		for _, p := range t.Partitions {
			res := results[i]
			i++
			rp := kmsg.NewAlterPartitionResponseTopicPartition()
			rp.Partition, rp.ErrorCode = p.Partition, res.Code
			if res.Code == 0 {
				q := res.Partition
				rp.LeaderID, rp.LeaderEpoch, rp.ISR = q.Leader, q.LeaderEpoch, q.ISR
				rp.LeaderRecoveryState, rp.PartitionEpoch = q.LeaderRecoveryState, q.PartitionEpoch
			}
			rt.Partitions = append(rt.Partitions, rp)
		}
		resp.Topics = append(resp.Topics, rt)
	}
	return resp
}

// proposeISR sends a leader's ISR proposal for p to the active controller
// (AlterPartition v3; in-process when it is this node), off the shard
// loop; a refusal or a lost request tells p's replica on its owner shard,
// which may propose again. A success changes nothing here: the committed
// image brings the new ISR (reassign).
func (b *Broker) proposeISR(p *partition, prop replica.Proposal) {
	cl := b.cluster
	if cl == nil {
		return
	}
	go func() {
		im := b.image.Load()
		req := kmsg.NewPtrAlterPartitionRequest()
		req.Version = 3
		req.BrokerID, req.BrokerEpoch = b.nodeID, cl.registeredEpoch()
		rt := kmsg.NewAlterPartitionRequestTopic()
		rt.TopicID = p.topicID
		rp := kmsg.NewAlterPartitionRequestTopicPartition()
		rp.Partition, rp.LeaderEpoch, rp.PartitionEpoch = p.index, prop.LeaderEpoch, prop.PartitionEpoch
		for _, id := range prop.ISR {
			m := kmsg.NewAlterPartitionRequestTopicPartitionNewEpochISR()
			m.BrokerID, m.BrokerEpoch = id, -1
			if br, ok := im.Broker(id); ok {
				m.BrokerEpoch = br.Epoch
			}
			rp.NewEpochISR = append(rp.NewEpochISR, m)
		}
		rt.Partitions = append(rt.Partitions, rp)
		req.Topics = append(req.Topics, rt)
		resp, err := b.askController(req, 5*time.Second, func() kmsg.Response { return b.alterPartition(req) })
		code := kerr.UnknownServerError.Code
		if err == nil {
			r := resp.(*kmsg.AlterPartitionResponse)
			code = r.ErrorCode
			if code == 0 && len(r.Topics) == 1 && len(r.Topics[0].Partitions) == 1 {
				code = r.Topics[0].Partitions[0].ErrorCode
			}
		}
		if code != 0 {
			// Refusals while brokers come and go are expected (a member not
			// unfenced yet, a new controller, a newer epoch): the replica
			// proposes again at its next fetch or tick.
			level := slog.LevelDebug
			switch code {
			case kerr.IneligibleReplica.Code, kerr.NotController.Code, kerr.FencedLeaderEpoch.Code,
				kerr.InvalidUpdateVersion.Code, kerr.NotLeaderForPartition.Code:
			default:
				level = slog.LevelWarn
			}
			b.log.Log(context.Background(), level, "the controller did not take an ISR change",
				"partition", p.topic+"-"+strconv.Itoa(int(p.index)), "isr", prop.ISR,
				"err", kerr.ErrorForCode(code), "send_err", err)
			b.shards.Run(b.owner(p), p.rep.ProposalFailed)
		}
	}()
}
