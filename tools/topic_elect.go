package tools

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

var topicElectCmd = command{
	name:  "topic elect-leaders",
	usage: "weir topic elect-leaders --type preferred|unclean [--topic T [--partition N ...]]",
	summary: "Elect partition leaders: the preferred replica again, or a live replica for partitions " +
		"without a leader (kafka-leader-election.sh).",
	examples: `
		weir topic elect-leaders --type preferred            # every partition its preferred replica does not lead
		weir topic elect-leaders --type preferred --topic orders
		weir topic elect-leaders --type unclean --topic orders --partition 3 --output json`,
}

// electedPartition is one partition's result of `topic elect-leaders`.
type electedPartition struct {
	Topic     string `json:"topic"`
	Partition int32  `json:"partition"`
	Elected   bool   `json:"elected"`         // a new leader was elected
	Error     string `json:"error,omitempty"` // none: elected, or no election was needed
}

func topicElect(args []string, io IO) int {
	c := topicElectCmd
	a := newAdmin(c, io)
	typ := a.fs.String("type", "", "preferred: the first replica leads again where it is alive and in sync; "+
		"unclean: partitions without a leader get one, in sync or not (may lose data)")
	topics := topicFlag(a.fs, "topic whose partitions to elect (none: every partition)")
	partitions := a.fs.Int32Slice("partition", nil, "partition of the one --topic (repeatable; none: all of them)")
	if code, done := a.parse(args); done {
		return code
	}
	names := namesFrom(*topics, a.fs)
	var electionType int8
	switch strings.ToLower(*typ) {
	case "preferred":
	case "unclean":
		electionType = 1
	case "":
		return usageError(c, io, "missing --type (preferred or unclean)")
	default:
		return usageError(c, io, "--type %q: want preferred or unclean", *typ)
	}
	if len(*partitions) > 0 && len(names) != 1 {
		return usageError(c, io, "--partition needs exactly one --topic")
	}
	s, exit := a.open()
	if s == nil {
		return exit
	}
	defer s.close()
	req := kmsg.NewPtrElectLeadersRequest()
	req.ElectionType, req.TimeoutMillis = electionType, int32(a.cn.timeout.Milliseconds())
	if len(names) > 0 {
		md, err := s.adm.Metadata(s.ctx, names...)
		if err != nil {
			return failure(c, io, "%s", a.cn.explain(err))
		}
		code := exitOK
		for _, n := range names {
			d := md.Topics[n]
			if d.Err != nil {
				code = failure(c, io, "%s", topicError(n, d.Err))
				continue
			}
			rt := kmsg.NewElectLeadersRequestTopic()
			rt.Topic, rt.Partitions = n, *partitions
			if len(rt.Partitions) == 0 {
				rt.Partitions = d.Partitions.Numbers()
			}
			req.Topics = append(req.Topics, rt)
		}
		if code != exitOK {
			return code
		}
	}
	resp, err := req.RequestWith(s.ctx, s.cl)
	if err != nil {
		return failure(c, io, "%s", a.cn.explain(err))
	}
	if resp.ErrorCode != 0 && len(resp.Topics) == 0 {
		return failure(c, io, "%s", kerr.ErrorForCode(resp.ErrorCode))
	}
	return reportElected(a, strings.ToUpper(*typ), electionResults(resp), req.Topics == nil)
}

// electionResults are a response's partitions, by topic and partition.
func electionResults(resp *kmsg.ElectLeadersResponse) []electedPartition {
	var out []electedPartition
	for _, t := range resp.Topics {
		for _, p := range t.Partitions {
			r := electedPartition{Topic: t.Topic, Partition: p.Partition, Elected: p.ErrorCode == 0}
			if err := kerr.ErrorForCode(p.ErrorCode); err != nil && err != kerr.ElectionNotNeeded {
				r.Error = brokerError(err, deref(p.ErrorMessage))
			}
			out = append(out, r)
		}
	}
	slices.SortFunc(out, func(a, b electedPartition) int {
		return cmp.Or(cmp.Compare(a.Topic, b.Topic), cmp.Compare(a.Partition, b.Partition))
	})
	return out
}

// reportElected prints the results as kafka-leader-election.sh does: the
// partitions elected, then those that needed no election, each failure on
// stderr (exit 1).
func reportElected(a *admin, typ string, results []electedPartition, all bool) int {
	code := exitOK
	var elected, noop []string
	for _, r := range results {
		name := fmt.Sprintf("%s-%d", r.Topic, r.Partition)
		switch {
		case r.Error != "":
			code = failure(a.c, a.io, "partition %s: %s", name, r.Error)
		case r.Elected:
			elected = append(elected, name)
		default:
			noop = append(noop, name)
		}
	}
	if a.out.json() {
		if results == nil {
			results = []electedPartition{}
		}
		writeJSON(a.io.Out, results)
		return code
	}
	if len(elected) > 0 {
		fmt.Fprintf(a.io.Out, "Successfully completed leader election (%s) for partitions %s\n", typ,
			strings.Join(elected, ", "))
	}
	if len(noop) > 0 {
		fmt.Fprintf(a.io.Out, "Valid replica already elected for partitions %s\n", strings.Join(noop, ", "))
	}
	if all && len(results) == 0 {
		fmt.Fprintf(a.io.Out, "No partition needed a leader election (%s).\n", typ)
	}
	return code
}
