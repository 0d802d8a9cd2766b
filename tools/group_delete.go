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
	a := newAdmin(c, io)
	groups := groupFlag(a.fs, "group to delete")
	topics := a.fs.StringArrayP("topic", "t", nil,
		"delete only the group's offsets of this topic, or of T:0,1,2 (repeatable)")
	if code, done := a.parse(args); done {
		return code
	}
	names := namesFrom(*groups, a.fs)
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
	s, exit := a.open()
	if s == nil {
		return exit
	}
	defer s.close()
	if len(sels) > 0 {
		return deleteGroupOffsets(a, s, names[0], sels)
	}
	resp, err := s.adm.DeleteGroups(s.ctx, names...)
	if err != nil {
		return failure(c, io, "%s", a.cn.explain(err))
	}
	return printResults(a, "group", names, func(name string) (deletedGroup, string) {
		r, ok := resp[name]
		res := deletedGroup{Group: name, Deleted: ok && r.Err == nil}
		switch {
		case !ok:
			res.Error = "the broker did not answer for this group"
		case r.Err != nil:
			res.Error = groupProblem(r.Err, r.ErrMessage)
		}
		return res, res.Error
	}, func(r deletedGroup) {
		if r.Deleted {
			fmt.Fprintf(io.Out, "Deleted group %s.\n", r.Group)
		}
	})
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
func deleteGroupOffsets(a *admin, s *session, group string, sels []topicSelection) int {
	committed, err := s.adm.FetchOffsets(s.ctx, group)
	if err != nil {
		return failure(a.c, a.io, "group %s: %s", group, requestProblem(&a.cn, err, groupProblem))
	}
	set := make(kadm.TopicsSet)
	for _, sel := range sels {
		if sel.partitions != nil {
			set.Add(sel.topic, sel.partitions...)
			continue
		}
		ps := committed[sel.topic]
		if len(ps) == 0 {
			return failure(a.c, a.io, "group %s has no committed offsets for topic %s", group, sel.topic)
		}
		for p := range ps {
			set.Add(sel.topic, p)
		}
	}
	resp, err := s.adm.DeleteOffsets(s.ctx, group, set)
	if err != nil {
		return failure(a.c, a.io, "group %s: %s", group, requestProblem(&a.cn, err, groupProblem))
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
				code = failure(a.c, a.io, "group %s, %s:%d: %s", group, r.Topic, r.Partition, r.Error)
			}
			results = append(results, r)
		}
	}
	if a.out.json() {
		writeJSON(a.io.Out, struct {
			Group   string          `json:"group"`
			Offsets []deletedOffset `json:"offsets"`
		}{group, results})
		return code
	}
	t := newTable(a.io.Out, "TOPIC", "PARTITION", "STATUS")
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
