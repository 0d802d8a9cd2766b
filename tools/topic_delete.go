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
	fs := newFlags(c, io)
	topics := topicFlag(fs, "topic to delete")
	ifExists := fs.Bool("if-exists", false, "succeed when the topic does not exist")
	var out output
	var cn conn
	out.register(fs)
	cn.register(fs)
	if code, done := parseFlags(fs, c, args, io); done {
		return code
	}
	names := namesFrom(*topics, fs)
	if len(names) == 0 {
		return usageError(c, io, "missing --topic")
	}
	if err := out.check(); err != nil {
		return usageError(c, io, "%v", err)
	}
	s, err := cn.open()
	if err != nil {
		return failure(c, io, "%v", err)
	}
	defer s.close()
	resp, err := s.adm.DeleteTopics(s.ctx, names...)
	if err != nil {
		return failure(c, io, "%s", cn.explain(err))
	}
	code := exitOK
	var results []deletedTopic
	for _, name := range names {
		r, ok := resp[name]
		res := deletedTopic{Topic: name, Deleted: ok && r.Err == nil}
		switch {
		case !ok:
			res.Error = "the broker did not answer for this topic"
		case errors.Is(r.Err, kerr.UnknownTopicOrPartition) && *ifExists:
		case r.Err != nil:
			res.Error = topicProblem(r.Err, r.ErrMessage)
		}
		if res.Error != "" {
			code = failure(c, io, "topic %s: %s", name, res.Error)
		}
		results = append(results, res)
	}
	if out.json() {
		writeJSON(io.Out, results)
		return code
	}
	for _, r := range results {
		if r.Deleted {
			fmt.Fprintf(io.Out, "Deleted topic %s.\n", r.Topic)
		} else if r.Error == "" {
			fmt.Fprintf(io.Out, "Topic %s does not exist.\n", r.Topic)
		}
	}
	return code
}
