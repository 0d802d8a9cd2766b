package tools

import (
	"github.com/twmb/franz-go/pkg/kadm"
)

var topicListCmd = command{
	name:    "topic list",
	usage:   "weir topic list [--internal]",
	summary: "List topics with their partition counts and replication factors.",
	examples: `
		weir topic list
		weir topic list --internal --output json`,
}

// listedTopic is one line of `topic list`.
type listedTopic struct {
	Topic             string `json:"topic"`
	ID                string `json:"id,omitempty"`
	Internal          bool   `json:"internal"`
	PartitionCount    int    `json:"partition_count"`
	ReplicationFactor int    `json:"replication_factor"`
}

func topicList(args []string, io IO) int {
	c := topicListCmd
	a := newAdmin(c, io)
	internal := a.fs.Bool("internal", false, "include internal topics (__consumer_offsets)")
	if code, done := a.parse(args); done {
		return code
	}
	if a.fs.NArg() > 0 {
		return usageError(c, io, "unexpected argument %q (to describe topics: weir topic describe)", a.fs.Arg(0))
	}
	s, exit := a.open()
	if s == nil {
		return exit
	}
	defer s.close()
	list := s.adm.ListTopics
	if *internal {
		list = s.adm.ListTopicsWithInternal
	}
	details, err := list(s.ctx)
	if err != nil {
		return failure(c, io, "%s", a.cn.explain(err))
	}
	topics := make([]listedTopic, 0, len(details))
	for _, d := range details.Sorted() {
		topics = append(topics, listed(d))
	}
	if a.out.json() {
		writeJSON(io.Out, topics)
		return exitOK
	}
	t := newTable(io.Out, "TOPIC", "PARTITIONS", "REPLICATION-FACTOR")
	for _, l := range topics {
		t.row(l.Topic, l.PartitionCount, l.ReplicationFactor)
	}
	t.flush()
	return exitOK
}

func listed(d kadm.TopicDetail) listedTopic {
	return listedTopic{Topic: d.Topic, ID: topicID(d.ID), Internal: d.IsInternal,
		PartitionCount: len(d.Partitions), ReplicationFactor: d.Partitions.NumReplicas()}
}
