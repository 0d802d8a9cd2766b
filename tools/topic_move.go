package tools

import (
	"fmt"
	"path/filepath"
	"slices"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

var topicMoveCmd = command{
	name:  "topic move-log-dir",
	usage: "weir topic move-log-dir --topic T --partition N[,M...] --log-dir DIR [--broker ID] [--wait]",
	summary: "Move partitions' replicas to another log dir of their broker (AlterReplicaLogDirs, " +
		"as kafka-reassign-partitions.sh does for a plan's log_dirs).",
	examples: `
		weir topic move-log-dir --topic orders --partition 0 --log-dir /data/disk2
		weir topic move-log-dir --topic orders --partition 0,1 --log-dir /data/disk2 --broker 2 --wait`,
}

// movedReplica is one replica's result of `topic move-log-dir`: where it
// is (and where its future replica is, while it moves) after the request,
// or after the move with --wait.
type movedReplica struct {
	Topic     string `json:"topic"`
	Partition int32  `json:"partition"`
	Broker    int32  `json:"broker"`
	LogDir    string `json:"log_dir"`                  // where it is now
	FutureDir string `json:"future_log_dir,omitempty"` // where it is moving
	Behind    int64  `json:"future_offset_lag,omitempty"`
	Moved     bool   `json:"moved"` // it is in the dir asked for
	Error     string `json:"error,omitempty"`
}

// moveWaitEvery is how often --wait asks where the replicas are.
const moveWaitEvery = 100 * time.Millisecond

func topicMove(args []string, io IO) int {
	c := topicMoveCmd
	a := newAdmin(c, io)
	topic := a.fs.String("topic", "", "topic of the partitions")
	partitions := a.fs.Int32Slice("partition", nil, "partition to move (repeatable)")
	dir := a.fs.String("log-dir", "", "the log dir to move to, an absolute path as the broker names it")
	broker := a.fs.Int32("broker", -1, "broker whose replicas move (default: each partition's leader)")
	wait := a.fs.Bool("wait", false, "wait until the replicas are in the log dir (or their move failed)")
	if code, done := a.parse(args); done {
		return code
	}
	switch {
	case *topic == "":
		return usageError(c, io, "missing --topic")
	case len(*partitions) == 0:
		return usageError(c, io, "missing --partition")
	case *dir == "":
		return usageError(c, io, "missing --log-dir")
	case !filepath.IsAbs(*dir):
		return usageError(c, io, "--log-dir %q: want an absolute path", *dir)
	}
	s, exit := a.open()
	if s == nil {
		return exit
	}
	defer s.close()
	md, err := s.adm.Metadata(s.ctx, *topic)
	if err != nil {
		return failure(c, io, "%s", a.cn.explain(err))
	}
	d := md.Topics[*topic]
	if d.Err != nil {
		return failure(c, io, "%s", topicError(*topic, d.Err))
	}
	results := make([]movedReplica, len(*partitions))
	byBroker := map[int32][]int{} // broker -> indexes in results
	for i, p := range *partitions {
		r := movedReplica{Topic: *topic, Partition: p, Broker: *broker}
		if pd, ok := d.Partitions[p]; !ok {
			r.Error = "no such partition"
		} else if r.Broker < 0 {
			r.Broker = pd.Leader
		}
		results[i] = r
		if r.Error == "" {
			byBroker[r.Broker] = append(byBroker[r.Broker], i)
		}
	}
	for id, idx := range byBroker {
		alterLogDirs(s, id, *dir, results, idx)
	}
	for id, idx := range byBroker {
		locateReplicas(s, &a.cn, id, *dir, results, idx, *wait)
	}
	return reportMoved(a, results, *wait)
}

// alterLogDirs asks broker id to move the replicas results[idx] to dir.
func alterLogDirs(s *session, id int32, dir string, results []movedReplica, idx []int) {
	req := kmsg.NewPtrAlterReplicaLogDirsRequest()
	rd := kmsg.NewAlterReplicaLogDirsRequestDir()
	rd.Dir = dir
	rt := kmsg.NewAlterReplicaLogDirsRequestDirTopic()
	rt.Topic = results[idx[0]].Topic
	for _, i := range idx {
		rt.Partitions = append(rt.Partitions, results[i].Partition)
	}
	rd.Topics = append(rd.Topics, rt)
	req.Dirs = append(req.Dirs, rd)
	resp, err := req.RequestWith(s.ctx, s.cl.Broker(int(id)))
	answered := map[int32]int16{}
	if err == nil {
		for _, t := range resp.Topics {
			for _, p := range t.Partitions {
				answered[p.Partition] = p.ErrorCode
			}
		}
	}
	for _, i := range idx {
		r := &results[i]
		code, ok := answered[r.Partition]
		switch {
		case err != nil:
			r.Error = fmt.Sprintf("broker %d: %v", id, err)
		case !ok:
			r.Error = fmt.Sprintf("broker %d did not answer for it", id)
		case code != 0:
			r.Error = kerr.ErrorForCode(code).Error()
		}
	}
}

// locateReplicas fills in where broker id holds the replicas results[idx]
// that it took the request for; with wait, once none is moving any more
// (each request is bounded by --request-timeout, the wait is not).
func locateReplicas(s *session, cn *conn, id int32, dir string, results []movedReplica, idx []int, wait bool) {
	idx = slices.DeleteFunc(slices.Clone(idx), func(i int) bool { return results[i].Error != "" })
	if len(idx) == 0 {
		return
	}
	req := kmsg.NewPtrDescribeLogDirsRequest()
	rt := kmsg.NewDescribeLogDirsRequestTopic()
	rt.Topic = results[idx[0]].Topic
	for _, i := range idx {
		rt.Partitions = append(rt.Partitions, results[i].Partition)
	}
	req.Topics = append(req.Topics, rt)
	for {
		ctx, cancel := cn.context()
		resp, err := req.RequestWith(ctx, s.cl.Broker(int(id)))
		cancel()
		moving := false
		for _, i := range idx {
			r := &results[i]
			r.LogDir, r.FutureDir, r.Behind = "", "", 0
			if err != nil {
				r.Error = fmt.Sprintf("broker %d: %v", id, err)
				continue
			}
			placeReplica(r, resp)
			r.Moved = r.LogDir == filepath.Clean(dir)
			moving = moving || r.FutureDir != ""
		}
		if err != nil || !wait || !moving {
			break
		}
		time.Sleep(moveWaitEvery)
	}
	if !wait {
		return
	}
	for _, i := range idx {
		if r := &results[i]; !r.Moved && r.Error == "" {
			r.Error = "the move ended elsewhere (see the broker's log)"
		}
	}
}

// placeReplica finds r in a DescribeLogDirs answer.
func placeReplica(r *movedReplica, resp *kmsg.DescribeLogDirsResponse) {
	for _, d := range resp.Dirs {
		for _, t := range d.Topics {
			if t.Topic != r.Topic {
				continue
			}
			for _, p := range t.Partitions {
				switch {
				case p.Partition != r.Partition:
				case p.IsFuture:
					r.FutureDir, r.Behind = d.Dir, p.OffsetLag
				default:
					r.LogDir = d.Dir
				}
			}
		}
	}
}

// reportMoved prints the results: each failure on stderr (exit 1), then
// where each replica is.
func reportMoved(a *admin, results []movedReplica, waited bool) int {
	code := exitOK
	for _, r := range results {
		if r.Error != "" {
			code = failure(a.c, a.io, "partition %s-%d: %s", r.Topic, r.Partition, r.Error)
		}
	}
	if a.out.json() {
		writeJSON(a.io.Out, results)
		return code
	}
	for _, r := range results {
		name := fmt.Sprintf("%s-%d", r.Topic, r.Partition)
		switch {
		case r.Error != "":
		case r.FutureDir != "":
			fmt.Fprintf(a.io.Out, "Moving the replica of %s on broker %d from %s to %s (%d offsets behind).\n",
				name, r.Broker, r.LogDir, r.FutureDir, r.Behind)
		case waited:
			fmt.Fprintf(a.io.Out, "The replica of %s on broker %d is in %s now.\n", name, r.Broker, r.LogDir)
		default:
			fmt.Fprintf(a.io.Out, "The replica of %s on broker %d is in %s.\n", name, r.Broker, r.LogDir)
		}
	}
	return code
}
