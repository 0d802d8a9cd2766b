package tools

import (
	"errors"
	"fmt"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
)

var groupDeleteCmd = command{
	name:    "group delete",
	usage:   "weir group delete --group G [--topic T[:partitions] ...]",
	summary: "Delete groups that have no active members, or only their offsets of some topics.",
	examples: `
		weir group delete --group billing
		weir group delete old-1 old-2
		weir group delete --group billing --topic retired-topic     # only these offsets (OffsetDelete)`,
}

// deletedGroup is one group's result of `group delete`.
type deletedGroup struct {
	Group   string `json:"group"`
	Deleted bool   `json:"deleted"`
	Error   string `json:"error,omitempty"`
}

func groupDelete(args []string, io IO) int {
	c := groupDeleteCmd
	fs := newFlags(c, io)
	groups := groupFlag(fs, "group to delete")
	topics := fs.StringArrayP("topic", "t", nil,
		"delete only the group's offsets of this topic, or of T:0,1,2 (repeatable)")
	var out output
	var cn conn
	out.register(fs)
	cn.register(fs)
	if code, done := parseFlags(fs, c, args, io); done {
		return code
	}
	names := namesFrom(*groups, fs)
	var sels []topicSelection
	for _, t := range *topics {
		sel, err := parseTopicSelection(t)
		if err != nil {
			return usageError(c, io, "%v", err)
		}
		sels = append(sels, sel)
	}
	switch {
	case len(names) == 0:
		return usageError(c, io, "missing --group")
	case len(sels) > 0 && len(names) > 1:
		return usageError(c, io, "--topic deletes the offsets of one group; %d given", len(names))
	}
	if err := out.check(); err != nil {
		return usageError(c, io, "%v", err)
	}
	s, err := cn.open()
	if err != nil {
		return failure(c, io, "%v", err)
	}
	defer s.close()
	if len(sels) > 0 {
		return deleteGroupOffsets(c, io, out, &cn, s, names[0], sels)
	}
	resp, err := s.adm.DeleteGroups(s.ctx, names...)
	if err != nil {
		return failure(c, io, "%s", cn.explain(err))
	}
	code := exitOK
	var results []deletedGroup
	for _, name := range names {
		r, ok := resp[name]
		res := deletedGroup{Group: name, Deleted: ok && r.Err == nil}
		switch {
		case !ok:
			res.Error = "the broker did not answer for this group"
		case r.Err != nil:
			res.Error = groupProblem(r.Err, r.ErrMessage)
		}
		if res.Error != "" {
			code = failure(c, io, "group %s: %s", name, res.Error)
		}
		results = append(results, res)
	}
	if out.json() {
		writeJSON(io.Out, results)
		return code
	}
	for _, r := range results {
		if r.Deleted {
			fmt.Fprintf(io.Out, "Deleted group %s.\n", r.Group)
		}
	}
	return code
}

// deletedOffset is one partition's result of `group delete --topic`.
type deletedOffset struct {
	Topic     string `json:"topic"`
	Partition int32  `json:"partition"`
	Deleted   bool   `json:"deleted"`
	Error     string `json:"error,omitempty"`
}

// deleteGroupOffsets removes one group's committed offsets of the chosen
// topics (OffsetDelete), as kafka-consumer-groups.sh --delete-offsets
// does. A topic without partitions means every partition the group has
// an offset for.
func deleteGroupOffsets(c command, io IO, out output, cn *conn, s *session, group string,
	sels []topicSelection) int {
	committed, err := s.adm.FetchOffsets(s.ctx, group)
	if err != nil {
		return failure(c, io, "group %s: %s", group, requestProblem(cn, err, groupProblem))
	}
	set := make(kadm.TopicsSet)
	for _, sel := range sels {
		if sel.partitions != nil {
			set.Add(sel.topic, sel.partitions...)
			continue
		}
		ps := committed[sel.topic]
		if len(ps) == 0 {
			return failure(c, io, "group %s has no committed offsets for topic %s", group, sel.topic)
		}
		for p := range ps {
			set.Add(sel.topic, p)
		}
	}
	resp, err := s.adm.DeleteOffsets(s.ctx, group, set)
	if err != nil {
		return failure(c, io, "group %s: %s", group, requestProblem(cn, err, groupProblem))
	}
	code := exitOK
	results := []deletedOffset{}
	for _, tp := range set.Sorted() {
		for _, p := range tp.Partitions {
			r := deletedOffset{Topic: tp.Topic, Partition: p}
			perr, ok := resp.Lookup(tp.Topic, p)
			switch {
			case !ok:
				r.Error = "the broker did not answer for this partition"
			case errors.Is(perr, kerr.GroupSubscribedToTopic):
				r.Error = "the group's members consume this topic (stop them first)"
			case perr != nil:
				r.Error = perr.Error()
			default:
				r.Deleted = true
			}
			if r.Error != "" {
				code = failure(c, io, "group %s, %s:%d: %s", group, r.Topic, r.Partition, r.Error)
			}
			results = append(results, r)
		}
	}
	if out.json() {
		writeJSON(io.Out, struct {
			Group   string          `json:"group"`
			Offsets []deletedOffset `json:"offsets"`
		}{group, results})
		return code
	}
	t := newTable(io.Out, "TOPIC", "PARTITION", "STATUS")
	for _, r := range results {
		status := "deleted"
		if !r.Deleted {
			status = "failed"
		}
		t.row(r.Topic, r.Partition, status)
	}
	t.flush()
	return code
}

// requestProblem words a failed request: a Kafka error code through
// words (groupProblem, topicProblem), anything else (no broker
// answered) through conn.explain.
func requestProblem(cn *conn, err error, words func(error, string) string) string {
	var ke *kerr.Error
	if errors.As(err, &ke) {
		return words(err, "")
	}
	return cn.explain(err)
}
