package tools

import (
	"fmt"
	"strings"

	"github.com/twmb/franz-go/pkg/kadm"
)

var topicAlterCmd = command{
	name:    "topic alter",
	usage:   "weir topic alter --topic T [--partitions N] [--config k=v ...] [--delete-config k ...]",
	summary: "Add partitions to topics or change their configs.",
	examples: `
		weir topic alter --topic orders --partitions 12
		weir topic alter --topic orders --config retention.ms=86400000 --delete-config cleanup.policy
		weir topic alter a b --config max.message.bytes=2097152 --output json`,
}

// alteredTopic is one topic's result of `topic alter`.
type alteredTopic struct {
	Topic      string            `json:"topic"`
	Partitions int               `json:"partitions,omitempty"` // the new count, when asked
	Set        map[string]string `json:"set,omitempty"`
	Deleted    []string          `json:"deleted,omitempty"`
	Errors     []string          `json:"errors,omitempty"`
}

func topicAlter(args []string, io IO) int {
	c := topicAlterCmd
	a := newAdmin(c, io)
	topics := topicFlag(a.fs, "topic to alter")
	partitions := a.fs.Int("partitions", 0, "new partition count; partitions can only be added")
	configs := a.fs.StringArray("config", nil, "set a topic config key=value (repeatable)")
	deletes := a.fs.StringArray("delete-config", nil,
		"remove a topic config, back to the broker's default (repeatable)")
	if code, done := a.parse(args); done {
		return code
	}
	names := namesFrom(*topics, a.fs)
	set, err := parseConfigFlags(*configs)
	var deleted []string
	if err == nil {
		if deleted, err = parseKeys(*deletes); err == nil {
			err = checkKeys(set, deleted)
		}
	}
	switch {
	case len(names) == 0:
		return usageError(c, io, "missing --topic")
	case err != nil:
		return usageError(c, io, "%v", err)
	case a.fs.Changed("partitions") && *partitions < 1:
		return usageError(c, io, "--partitions must be at least 1")
	case !a.fs.Changed("partitions") && len(set) == 0 && len(deleted) == 0:
		return usageError(c, io, "nothing to change: give --partitions, --config or --delete-config")
	}
	s, exit := a.open()
	if s == nil {
		return exit
	}
	defer s.close()
	results := map[string]*alteredTopic{}
	for _, n := range names {
		results[n] = &alteredTopic{Topic: n}
	}
	if len(set)+len(deleted) > 0 {
		resp, err := s.adm.AlterTopicConfigs(s.ctx, alterOps(set, deleted), names...)
		if err != nil {
			return failure(c, io, "%s", a.cn.explain(err))
		}
		for _, r := range resp {
			if res := results[r.Name]; res != nil && r.Err != nil {
				res.Errors = append(res.Errors, "configs: "+topicProblem(r.Err, r.ErrMessage))
			} else if res != nil {
				res.Set, res.Deleted = pairMap(set), deleted
			}
		}
	}
	if a.fs.Changed("partitions") {
		resp, err := s.adm.UpdatePartitions(s.ctx, *partitions, names...)
		if err != nil {
			return failure(c, io, "%s", a.cn.explain(err))
		}
		for _, r := range resp {
			if res := results[r.Topic]; res != nil && r.Err != nil {
				res.Errors = append(res.Errors, "partitions: "+topicProblem(r.Err, r.ErrMessage))
			} else if res != nil {
				res.Partitions = *partitions
			}
		}
	}
	return reportAltered(a, names, results)
}

// alterOps are IncrementalAlterConfigs operations: SET for each pair,
// DELETE (back to the inherited value) for each key.
func alterOps(set []configPair, deleted []string) []kadm.AlterConfig {
	var ops []kadm.AlterConfig
	for _, p := range set {
		ops = append(ops, kadm.AlterConfig{Op: kadm.SetConfig, Name: p.key, Value: kadm.StringPtr(p.value)})
	}
	for _, k := range deleted {
		ops = append(ops, kadm.AlterConfig{Op: kadm.DeleteConfig, Name: k})
	}
	return ops
}

func pairMap(pairs []configPair) map[string]string {
	if len(pairs) == 0 {
		return nil
	}
	m := map[string]string{}
	for _, p := range pairs {
		m[p.key] = p.value
	}
	return m
}

func reportAltered(a *admin, names []string, results map[string]*alteredTopic) int {
	code := exitOK
	list := make([]*alteredTopic, 0, len(names))
	for _, n := range names {
		r := results[n]
		for _, e := range r.Errors {
			code = failure(a.c, a.io, "topic %s: %s", n, e)
		}
		list = append(list, r)
	}
	if a.out.json() {
		writeJSON(a.io.Out, list)
		return code
	}
	for _, r := range list {
		var did []string
		if r.Partitions > 0 {
			did = append(did, fmt.Sprintf("now %d partitions", r.Partitions))
		}
		for _, k := range sortedKeys(r.Set) {
			did = append(did, fmt.Sprintf("set %s=%s", k, r.Set[k]))
		}
		for _, k := range r.Deleted {
			did = append(did, "deleted "+k)
		}
		if len(did) > 0 {
			fmt.Fprintf(a.io.Out, "Topic %s: %s.\n", r.Topic, strings.Join(did, ", "))
		}
	}
	return code
}
