package tools

import (
	"errors"
	"fmt"

	"github.com/twmb/franz-go/pkg/kerr"
)

var topicDeleteCmd = command{
	name:    "topic delete",
	usage:   "weir topic delete --topic T [--if-exists]",
	summary: "Delete topics and their data.",
	examples: `
		weir topic delete --topic orders
		weir topic delete old-1 old-2 --if-exists`,
}

// deletedTopic is one topic's result of `topic delete`.
type deletedTopic struct {
	Topic   string `json:"topic"`
	Deleted bool   `json:"deleted"`
	Error   string `json:"error,omitempty"`
}

func topicDelete(args []string, io IO) int {
	c := topicDeleteCmd
	a := newAdmin(c, io)
	topics := topicFlag(a.fs, "topic to delete")
	ifExists := a.fs.Bool("if-exists", false, "succeed when the topic does not exist")
	if code, done := a.parse(args); done {
		return code
	}
	names := namesFrom(*topics, a.fs)
	if len(names) == 0 {
		return usageError(c, io, "missing --topic")
	}
	s, exit := a.open()
	if s == nil {
		return exit
	}
	defer s.close()
	resp, err := s.adm.DeleteTopics(s.ctx, names...)
	if err != nil {
		return failure(c, io, "%s", a.cn.explain(err))
	}
	return printResults(a, "topic", names, func(name string) (deletedTopic, string) {
		r, ok := resp[name]
		res := deletedTopic{Topic: name, Deleted: ok && r.Err == nil}
		switch {
		case !ok:
			res.Error = "the broker did not answer for this topic"
		case errors.Is(r.Err, kerr.UnknownTopicOrPartition) && *ifExists:
		case r.Err != nil:
			res.Error = topicProblem(r.Err, r.ErrMessage)
		}
		return res, res.Error
	}, func(r deletedTopic) {
		if r.Deleted {
			fmt.Fprintf(io.Out, "Deleted topic %s.\n", r.Topic)
		} else if r.Error == "" {
			fmt.Fprintf(io.Out, "Topic %s does not exist.\n", r.Topic)
		}
	})
}
