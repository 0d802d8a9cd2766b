package tools

import (
	"errors"
	"fmt"
	"strings"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

var topicDescribeCmd = command{
	name:    "topic describe",
	usage:   "weir topic describe [--topic T ...] [--internal]",
	summary: "Show topics' partitions (leader, replicas, ISR, log start and end offsets) and configs set on them.",
	examples: `
		weir topic describe --topic orders
		weir topic describe                 # every topic
		weir topic describe orders audit --output json`,
}

// describedTopic is one topic of `topic describe`.
type describedTopic struct {
	Topic             string               `json:"topic"`
	ID                string               `json:"id,omitempty"`
	Internal          bool                 `json:"internal"`
	PartitionCount    int                  `json:"partition_count"`
	ReplicationFactor int                  `json:"replication_factor"`
	Configs           map[string]string    `json:"configs"` // set on the topic itself
	Partitions        []describedPartition `json:"partitions"`
}

// describedPartition is one partition; offsets are -1 when unknown.
type describedPartition struct {
	Partition      int32   `json:"partition"`
	Leader         int32   `json:"leader"`
	LeaderEpoch    int32   `json:"leader_epoch"`
	Replicas       []int32 `json:"replicas"`
	ISR            []int32 `json:"isr"`
	LogStartOffset int64   `json:"log_start_offset"`
	LogEndOffset   int64   `json:"log_end_offset"`
	Error          string  `json:"error,omitempty"`
}

func topicDescribe(args []string, io IO) int {
	c := topicDescribeCmd
	a := newAdmin(c, io)
	topics := topicFlag(a.fs, "topic to describe (none: every topic)")
	internal := a.fs.Bool("internal", false, "with no --topic, include internal topics")
	if code, done := a.parse(args); done {
		return code
	}
	names := namesFrom(*topics, a.fs)
	s, exit := a.open()
	if s == nil {
		return exit
	}
	defer s.close()
	md, err := s.adm.Metadata(s.ctx, names...)
	if err != nil {
		return failure(c, io, "%s", a.cn.explain(err))
	}
	if len(names) == 0 && !*internal {
		md.Topics.FilterInternal()
	}
	code := exitOK
	var found []string
	for _, d := range md.Topics.Sorted() {
		if d.Err != nil {
			code = failure(c, io, "%s", topicError(d.Topic, d.Err))
			continue
		}
		found = append(found, d.Topic)
	}
	var described []describedTopic
	if len(found) > 0 {
		var errs []string
		described, errs, err = describeTopics(s, md.Topics, found)
		if err != nil {
			return failure(c, io, "%s", a.cn.explain(err))
		}
		for _, e := range errs {
			code = failure(c, io, "%s", e)
		}
	}
	if a.out.json() {
		if described == nil {
			described = []describedTopic{}
		}
		writeJSON(io.Out, described)
		return code
	}
	for i, d := range described {
		if i > 0 {
			fmt.Fprintln(io.Out)
		}
		printTopic(io, d)
	}
	return code
}

// topicError words a topic's error; an unknown topic is the common case
// and gets a plain sentence rather than the code's description.
func topicError(topic string, err error) string {
	return fmt.Sprintf("topic %s: %s", topic, topicProblem(err, ""))
}

func topicProblem(err error, msg string) string {
	if errors.Is(err, kerr.UnknownTopicOrPartition) {
		return "does not exist"
	}
	return brokerError(err, msg)
}

// describeTopics adds log offsets and configs to the metadata of the
// named topics. It returns per-partition and per-topic errors as text.
func describeTopics(s *session, details kadm.TopicDetails, names []string) (
	[]describedTopic, []string, error) {
	starts, err := s.adm.ListStartOffsets(s.ctx, names...)
	if err != nil {
		return nil, nil, err
	}
	ends, err := s.adm.ListEndOffsets(s.ctx, names...)
	if err != nil {
		return nil, nil, err
	}
	configs, err := s.adm.DescribeTopicConfigs(s.ctx, names...)
	if err != nil {
		return nil, nil, err
	}
	var errs []string
	set := map[string]map[string]string{}
	for _, rc := range configs {
		if rc.Err != nil {
			errs = append(errs, fmt.Sprintf("topic %s configs: %s", rc.Name, brokerError(rc.Err, rc.ErrMessage)))
			continue
		}
		set[rc.Name] = map[string]string{}
		for _, cf := range rc.Configs {
			if cf.Source == kmsg.ConfigSourceDynamicTopicConfig {
				set[rc.Name][cf.Key] = cf.MaybeValue()
			}
		}
	}
	var out []describedTopic
	for _, name := range names {
		d := details[name]
		dt := describedTopic{Topic: name, ID: topicID(d.ID), Internal: d.IsInternal,
			PartitionCount: len(d.Partitions), ReplicationFactor: d.Partitions.NumReplicas(),
			Configs: set[name], Partitions: []describedPartition{}}
		if dt.Configs == nil {
			dt.Configs = map[string]string{}
		}
		for _, p := range d.Partitions.Sorted() {
			dp := describedPartition{Partition: p.Partition, Leader: p.Leader, LeaderEpoch: p.LeaderEpoch,
				Replicas: p.Replicas, ISR: p.ISR, LogStartOffset: -1, LogEndOffset: -1}
			perr := p.Err
			if o, ok := starts.Lookup(name, p.Partition); ok && o.Err == nil {
				dp.LogStartOffset = o.Offset
			} else if ok && perr == nil {
				perr = o.Err
			}
			if o, ok := ends.Lookup(name, p.Partition); ok && o.Err == nil {
				dp.LogEndOffset = o.Offset
			} else if ok && perr == nil {
				perr = o.Err
			}
			if perr != nil {
				dp.Error = perr.Error()
				errs = append(errs, fmt.Sprintf("topic %s partition %d: %v", name, p.Partition, perr))
			}
			dt.Partitions = append(dt.Partitions, dp)
		}
		out = append(out, dt)
	}
	return out, errs, nil
}

// printTopic prints a topic as kafka-topics.sh --describe does: a summary
// line, then a row per partition.
func printTopic(io IO, d describedTopic) {
	var cfg []string
	for _, k := range sortedKeys(d.Configs) {
		cfg = append(cfg, k+"="+d.Configs[k])
	}
	fmt.Fprintf(io.Out, "Topic: %s  TopicId: %s  PartitionCount: %d  ReplicationFactor: %d  Configs: %s\n",
		d.Topic, d.ID, d.PartitionCount, d.ReplicationFactor, strings.Join(cfg, ","))
	t := newTable(io.Out, "PARTITION", "LEADER", "REPLICAS", "ISR", "LOG-START-OFFSET", "LOG-END-OFFSET")
	for _, p := range d.Partitions {
		t.row(p.Partition, p.Leader, joinInts(p.Replicas), joinInts(p.ISR), offsetCell(p.LogStartOffset),
			offsetCell(p.LogEndOffset))
	}
	t.flush()
}

// offsetCell prints an offset, "-" when unknown.
func offsetCell(o int64) any {
	if o < 0 {
		return "-"
	}
	return o
}
