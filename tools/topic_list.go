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
	fs := newFlags(c, io)
	internal := fs.Bool("internal", false, "include internal topics (__consumer_offsets)")
	var out output
	var cn conn
	out.register(fs)
	cn.register(fs)
	if code, done := parseFlags(fs, c, args, io); done {
		return code
	}
	if fs.NArg() > 0 {
		return usageError(c, io, "unexpected argument %q (to describe topics: weir topic describe)", fs.Arg(0))
	}
	if err := out.check(); err != nil {
		return usageError(c, io, "%v", err)
	}
	s, err := cn.open()
	if err != nil {
		return failure(c, io, "%v", err)
	}
	defer s.close()
	list := s.adm.ListTopics
	if *internal {
		list = s.adm.ListTopicsWithInternal
	}
	details, err := list(s.ctx)
	if err != nil {
		return failure(c, io, "%s", cn.explain(err))
	}
	topics := make([]listedTopic, 0, len(details))
	for _, d := range details.Sorted() {
		topics = append(topics, listed(d))
	}
	if out.json() {
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
