package engine

import (
	"cmp"
	"path/filepath"
	"slices"

	"github.com/twmb/franz-go/pkg/kmsg"
	"golang.org/x/sys/unix"

	"github.com/weirmq/weir/logstore"
)

// DescribeLogDirs: v0-5
//
// Behavior:
// * One result per log dir (absolute path), with every partition log in
//   it, or those asked for (null Topics: all): its size (all segments'
//   bytes), offset lag max(high watermark - log end, 0) (0 on a leader)
//   and IsFuture false.
// * A replica moving to another log dir (AlterReplicaLogDirs) is listed
//   twice, as Kafka does: in its dir as above, and in the destination
//   with IsFuture true, the future log's size, and as offset lag how many
//   offsets the future log is behind the log's end. Once switched it is
//   listed in the destination only.
// * v4+: TotalBytes and UsableBytes of the dir's file system (statfs;
//   usable is what an unprivileged writer may use, as Java's
//   getUsableSpace), -1 when statfs fails. Never cordoned (v5).
// * Directories moved aside are not listed (nor by Kafka): those of
//   deleted partitions (`-delete`, removed in the background) and stray
//   ones (`-stray`, a log of no topic the metadata knew at startup, kept
//   for the operator).
//
// Version notes:
// * v1: ThrottleMillis semantics only
// * v2: flexible
// * v3: top-level ErrorCode
// * v4: TotalBytes, UsableBytes
// * v5: IsCordoned

func init() { register(api{key: 35, min: 0, max: 5, handle: handleDescribeLogDirs}) }

func handleDescribeLogDirs(b *Broker, r *request) (kmsg.Response, error) {
	req := r.kreq.(*kmsg.DescribeLogDirsRequest)
	resp := req.ResponseKind().(*kmsg.DescribeLogDirsResponse)
	var want map[logstore.TopicPartition]bool
	if req.Topics != nil {
		want = map[logstore.TopicPartition]bool{}
		for _, t := range req.Topics {
			for _, p := range t.Partitions {
				want[logstore.TopicPartition{Topic: t.Topic, Partition: p}] = true
			}
		}
	}
	for _, d := range b.logStores() {
		rd := kmsg.NewDescribeLogDirsResponseDir()
		rd.Dir = d.Path()
		if abs, err := filepath.Abs(d.Path()); err == nil {
			rd.Dir = abs
		}
		rd.TotalBytes, rd.UsableBytes = diskSpace(d.Path())
		for _, e := range dirReplicas(d) {
			l := e.log
			tp := logstore.TopicPartition{Topic: l.Topic(), Partition: l.Partition()}
			if want != nil && !want[tp] {
				continue
			}
			n := len(rd.Topics)
			if n == 0 || rd.Topics[n-1].Topic != l.Topic() {
				rt := kmsg.NewDescribeLogDirsResponseDirTopic()
				rt.Topic = l.Topic()
				rd.Topics = append(rd.Topics, rt)
				n++
			}
			rp := kmsg.NewDescribeLogDirsResponseDirTopicPartition()
			rp.Partition, rp.Size, rp.IsFuture = l.Partition(), l.Size(), e.future
			rp.OffsetLag = max(l.HighWatermark()-l.LogEndOffset(), 0)
			if e.future {
				rp.OffsetLag = -1 // Kafka's INVALID_OFFSET_LAG: the log is gone
				if _, cur := b.findLog(tp); cur != nil {
					rp.OffsetLag = max(cur.LogEndOffset()-l.LogEndOffset(), 0)
				}
			}
			rd.Topics[n-1].Partitions = append(rd.Topics[n-1].Partitions, rp)
		}
		resp.Dirs = append(resp.Dirs, rd)
	}
	return resp, nil
}

// dirReplica is a log a log dir holds: a partition's, or the future log
// of a move into it.
type dirReplica struct {
	log    *logstore.Log
	future bool
}

// dirReplicas are d's logs and future logs, sorted by topic and partition
// (a log dir never holds both of one partition).
func dirReplicas(d *logstore.Dir) []dirReplica {
	logs, futures := d.Logs(), d.Futures()
	out := make([]dirReplica, 0, len(logs)+len(futures))
	for _, l := range logs {
		out = append(out, dirReplica{log: l})
	}
	for _, f := range futures {
		out = append(out, dirReplica{log: f, future: true})
	}
	slices.SortStableFunc(out, func(a, b dirReplica) int {
		return cmp.Or(cmp.Compare(a.log.Topic(), b.log.Topic()), cmp.Compare(a.log.Partition(), b.log.Partition()))
	})
	return out
}

// logStores are the log dirs; the list is fixed once Open returns.
func (b *Broker) logStores() []*logstore.Dir { return b.logDirs }

// diskSpace is the total and unprivileged-usable bytes of the file system
// holding dir, or -1, -1.
func diskSpace(dir string) (total, usable int64) {
	var st unix.Statfs_t
	if err := unix.Statfs(dir, &st); err != nil {
		return -1, -1
	}
	return int64(st.Blocks) * st.Bsize, int64(st.Bavail) * st.Bsize
}
