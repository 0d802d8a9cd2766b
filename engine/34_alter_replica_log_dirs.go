package engine

import (
	"path/filepath"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/weirmq/weir/logstore"
)

// AlterReplicaLogDirs: v0-2
//
// Behavior:
// * Moves this broker's replicas of the partitions named under each log
//   dir to that log dir, as Kafka's ReplicaManager.alterReplicaLogDirs:
//   a future log is made there and filled in the background, then
//   switched in (logmoves.go; DescribeLogDirs shows it meanwhile, with
//   IsFuture and its lag). The answer comes once each move has started.
// * A dir that is not one of this broker's log dirs as DescribeLogDirs
//   names them (absolute, cleaned): LOG_DIR_NOT_FOUND for every partition
//   under it. A topic whose future directory name would pass 255 bytes:
//   INVALID_TOPIC_EXCEPTION.
// * A partition this broker does not host: REPLICA_NOT_AVAILABLE when the
//   metadata knows it (Kafka answers NOT_LEADER_OR_FOLLOWER as that),
//   UNKNOWN_TOPIC_OR_PARTITION when it does not. The dir is remembered:
//   should the partition come here later, its log is made there (Kafka's
//   preferred log dir).
// * A partition already in that dir: 0, and a move of it elsewhere is
//   cancelled; already moving there: 0; moving elsewhere: that move is
//   cancelled and this one starts. The future log cannot be made there
//   (read-only, full or failed disk): KAFKA_STORAGE_ERROR.
// * A partition named twice takes the last dir, as Kafka's map does.
//   Results are grouped by topic in the order first named.
// * Runs on a goroutine, one request at a time. No authorization (Weir
//   has none; Kafka wants ALTER on the cluster).
//
// Version notes:
// * v1: ThrottleMillis semantics only
// * v2: flexible

func init() { register(api{key: 34, min: 0, max: 2, handle: handleAlterReplicaLogDirs}) }

func handleAlterReplicaLogDirs(b *Broker, r *request) (kmsg.Response, error) {
	req := r.kreq.(*kmsg.AlterReplicaLogDirsRequest)
	go func() { r.respond(b.alterReplicaLogDirs(r, req)) }()
	return nil, nil
}

func (b *Broker) alterReplicaLogDirs(r *request, req *kmsg.AlterReplicaLogDirsRequest) *kmsg.AlterReplicaLogDirsResponse {
	resp := req.ResponseKind().(*kmsg.AlterReplicaLogDirsResponse)
	var order []logstore.TopicPartition
	dirOf := map[logstore.TopicPartition]string{}
	for _, rd := range req.Dirs {
		for _, rt := range rd.Topics {
			for _, p := range rt.Partitions {
				tp := logstore.TopicPartition{Topic: rt.Topic, Partition: p}
				if _, ok := dirOf[tp]; !ok {
					order = append(order, tp)
				}
				dirOf[tp] = rd.Dir
			}
		}
	}
	b.moves.req.Lock()
	defer b.moves.req.Unlock()
	byTopic := map[string]int{}
	for _, tp := range order {
		i := topicSlot(byTopic, &resp.Topics, tp.Topic, func() kmsg.AlterReplicaLogDirsResponseTopic {
			rt := kmsg.NewAlterReplicaLogDirsResponseTopic()
			rt.Topic = tp.Topic
			return rt
		})
		rp := kmsg.NewAlterReplicaLogDirsResponseTopicPartition()
		rp.Partition = tp.Partition
		rp.ErrorCode = b.alterReplicaLogDir(r, tp, dirOf[tp])
		resp.Topics[i].Partitions = append(resp.Topics[i].Partitions, rp)
	}
	return resp
}

// alterReplicaLogDir moves tp's log to the log dir at path and answers
// the partition's error code. b.moves.req is held.
func (b *Broker) alterReplicaLogDir(r *request, tp logstore.TopicPartition, path string) int16 {
	if !logstore.FutureDirFits(tp) {
		return kerr.InvalidTopicException.Code
	}
	to := b.logDirAt(path)
	if to == nil {
		return kerr.LogDirNotFound.Code
	}
	p := b.lookupPartition(tp.Topic, tp.Partition)
	if p == nil {
		b.preferLogDir(tp, to)
		if t, ok := r.image.Topic(tp.Topic); ok && tp.Partition >= 0 && int(tp.Partition) < len(t.Partitions) {
			return kerr.ReplicaNotAvailable.Code
		}
		return kerr.UnknownTopicOrPartition.Code
	}
	if mv := b.moveOf(tp); mv != nil {
		if mv.m.To() == to {
			return 0
		}
		b.cancelMove(tp) // or it switched meanwhile
	}
	from, l := b.findLog(tp)
	if l == nil || l != p.log {
		return kerr.ReplicaNotAvailable.Code // being deleted or replaced
	}
	if from == to {
		return 0
	}
	if err := b.startMove(tp, from, to); err != nil {
		b.log.Error("cannot start moving a partition log", "partition", tp.String(), "to", to.Path(), "err", err)
		return kerr.KafkaStorageError.Code
	}
	return 0
}

// logDirAt is the log dir whose absolute path is path (cleaned), or nil.
func (b *Broker) logDirAt(path string) *logstore.Dir {
	if !filepath.IsAbs(path) {
		return nil
	}
	path = filepath.Clean(path)
	for _, d := range b.logStores() {
		if abs, err := filepath.Abs(d.Path()); err == nil && abs == path {
			return d
		}
	}
	return nil
}
