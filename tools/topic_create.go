package tools

import (
	"errors"
	"fmt"

	"github.com/twmb/franz-go/pkg/kerr"
)

var topicCreateCmd = command{
	name:    "topic create",
	usage:   "weir topic create --topic T [--partitions N] [--replication-factor N] [--config k=v ...]",
	summary: "Create topics.",
	examples: `
		weir topic create --topic orders --partitions 6
		weir topic create --topic audit --config cleanup.policy=compact --config retention.ms=604800000
		weir topic create --topic orders --partitions 6 --if-not-exists
		weir topic create a b c --partitions 3 --output json`,
}

// createdTopic is one topic's result, as --output json prints it.
type createdTopic struct {
	Topic             string `json:"topic"`
	ID                string `json:"id,omitempty"`
	Partitions        int32  `json:"partitions,omitempty"`
	ReplicationFactor int16  `json:"replication_factor,omitempty"`
	Created           bool   `json:"created"`
	Error             string `json:"error,omitempty"`
}

func topicCreate(args []string, io IO) int {
	c := topicCreateCmd
	a := newAdmin(c, io)
	topics := topicFlag(a.fs, "topic to create")
	partitions := a.fs.Int32("partitions", -1, "partition count (-1: the broker's num.partitions)")
	rf := a.fs.Int16("replication-factor", -1,
		"replicas per partition (-1: the broker's default.replication.factor)")
	configs := a.fs.StringArray("config", nil, "topic config key=value (repeatable)")
	ifNotExists := a.fs.Bool("if-not-exists", false, "succeed when the topic already exists")
	if code, done := a.parse(args); done {
		return code
	}
	names := namesFrom(*topics, a.fs)
	pairs, err := parseConfigFlags(*configs)
	switch {
	case len(names) == 0:
		return usageError(c, io, "missing --topic")
	case err != nil:
		return usageError(c, io, "%v", err)
	case *partitions == 0 || *partitions < -1:
		return usageError(c, io, "--partitions must be at least 1 (or -1 for the broker's default)")
	case *rf == 0 || *rf < -1:
		return usageError(c, io, "--replication-factor must be at least 1 (or -1 for the broker's default)")
	}
	cfg := map[string]*string{}
	for _, p := range pairs {
		cfg[p.key] = &p.value
	}
	s, exit := a.open()
	if s == nil {
		return exit
	}
	defer s.close()
	resp, err := s.adm.CreateTopics(s.ctx, *partitions, *rf, cfg, names...)
	if err != nil {
		return failure(c, io, "%s", a.cn.explain(err))
	}
	return printResults(a, "topic", names, func(name string) (createdTopic, string) {
		r, ok := resp[name]
		res := createdTopic{Topic: name, ID: topicID(r.ID), Partitions: r.NumPartitions,
			ReplicationFactor: r.ReplicationFactor, Created: ok && r.Err == nil}
		switch {
		case !ok:
			res.Error = "the broker did not answer for this topic"
		case errors.Is(r.Err, kerr.TopicAlreadyExists) && *ifNotExists:
			res.ID, res.Partitions, res.ReplicationFactor = "", 0, 0
		case r.Err != nil:
			res.Error = brokerError(r.Err, r.ErrMessage)
		}
		return res, res.Error
	}, func(r createdTopic) {
		switch {
		case r.Created && r.Partitions > 0:
			fmt.Fprintf(io.Out, "Created topic %s (%d partitions, replication factor %d).\n",
				r.Topic, r.Partitions, r.ReplicationFactor)
		case r.Created:
			fmt.Fprintf(io.Out, "Created topic %s.\n", r.Topic)
		case r.Error == "":
			fmt.Fprintf(io.Out, "Topic %s already exists.\n", r.Topic)
		}
	})
}
