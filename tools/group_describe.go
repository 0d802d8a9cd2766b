package tools

import (
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
)

var groupDescribeCmd = command{
	name:    "group describe",
	usage:   "weir group describe (--group G ... | --all-groups)",
	summary: "Show groups' members and, per partition, committed offset, log end offset and lag.",
	examples: `
		weir group describe --group billing
		weir group describe --all-groups
		weir group describe billing --output json`,
}

// describedGroup is one group of `group describe`.
type describedGroup struct {
	Group        string        `json:"group"`
	State        string        `json:"state"`
	ProtocolType string        `json:"protocol_type"`
	Protocol     string        `json:"protocol"`
	Coordinator  int32         `json:"coordinator"`
	Members      []groupMember `json:"members"`
	Offsets      []groupOffset `json:"offsets"`
	TotalLag     int64         `json:"total_lag"`
}

type groupMember struct {
	MemberID   string             `json:"member_id"`
	InstanceID string             `json:"instance_id,omitempty"`
	ClientID   string             `json:"client_id"`
	Host       string             `json:"host"`
	Assignment map[string][]int32 `json:"assignment"` // topic -> partitions
}

// groupOffset is one partition the group is assigned or has committed.
// Current and Lag are null where nothing is committed, as
// kafka-consumer-groups.sh prints "-".
type groupOffset struct {
	Topic        string `json:"topic"`
	Partition    int32  `json:"partition"`
	Current      *int64 `json:"current_offset"`
	LogEndOffset int64  `json:"log_end_offset"`
	Lag          *int64 `json:"lag"`
	MemberID     string `json:"member_id,omitempty"`
	Host         string `json:"host,omitempty"`
	ClientID     string `json:"client_id,omitempty"`
	Error        string `json:"error,omitempty"`
}

func groupDescribe(args []string, io IO) int {
	c := groupDescribeCmd
	a := newAdmin(c, io)
	groups := groupFlag(a.fs, "group to describe")
	all := a.fs.Bool("all-groups", false, "describe every group")
	if code, done := a.parse(args); done {
		return code
	}
	names := namesFrom(*groups, a.fs)
	switch {
	case len(names) == 0 && !*all:
		return usageError(c, io, "missing --group (or --all-groups)")
	case len(names) > 0 && *all:
		return usageError(c, io, "give --group or --all-groups, not both")
	}
	s, exit := a.open()
	if s == nil {
		return exit
	}
	defer s.close()
	lags, err := s.adm.Lag(s.ctx, names...)
	if err != nil {
		return failure(c, io, "%s", a.cn.explain(err))
	}
	code := exitOK
	described := []describedGroup{}
	for _, l := range lags.Sorted() {
		d, problems := describeGroup(l)
		for _, p := range problems {
			code = failure(c, io, "group %s: %s", l.Group, p)
		}
		if d != nil {
			described = append(described, *d)
		}
	}
	if a.out.json() {
		writeJSON(io.Out, described)
		return code
	}
	for i, d := range described {
		if i > 0 {
			fmt.Fprintln(io.Out)
		}
		printGroup(io, d)
	}
	return code
}

// describeGroup turns kadm's lag into our view; nil when the group could
// not be described. problems are the group's and its partitions' errors.
func describeGroup(l kadm.DescribedGroupLag) (*describedGroup, []string) {
	switch {
	case l.DescribeErr != nil:
		return nil, []string{groupProblem(l.DescribeErr, "")}
	case l.State == "Dead":
		// Brokers before DescribeGroups v6 answer an unknown group so.
		return nil, []string{"does not exist"}
	case l.FetchErr != nil:
		return nil, []string{"fetching its offsets: " + groupProblem(l.FetchErr, "")}
	}
	d := &describedGroup{Group: l.Group, State: l.State, ProtocolType: l.ProtocolType, Protocol: l.Protocol,
		Coordinator: l.Coordinator.NodeID, Members: []groupMember{}, Offsets: []groupOffset{}}
	for _, m := range l.Members {
		gm := groupMember{MemberID: m.MemberID, ClientID: m.ClientID, Host: m.ClientHost,
			Assignment: map[string][]int32{}}
		if m.InstanceID != nil {
			gm.InstanceID = *m.InstanceID
		}
		if a, ok := m.Assigned.AsConsumer(); ok {
			for _, t := range a.Topics {
				ps := append([]int32{}, t.Partitions...)
				sort.Slice(ps, func(i, j int) bool { return ps[i] < ps[j] })
				gm.Assignment[t.Topic] = ps
			}
		}
		d.Members = append(d.Members, gm)
	}
	var problems []string
	for _, ml := range l.Lag.Sorted() {
		o := groupOffset{Topic: ml.Topic, Partition: ml.Partition, LogEndOffset: ml.End.Offset}
		if ml.Member != nil {
			o.MemberID, o.Host, o.ClientID = ml.Member.MemberID, ml.Member.ClientHost, ml.Member.ClientID
		}
		if ml.Commit.At >= 0 {
			cur, lag := ml.Commit.At, ml.Lag
			o.Current = &cur
			if ml.Err == nil {
				o.Lag = &lag
				d.TotalLag += lag
			}
		}
		if ml.Err != nil {
			o.Error = ml.Err.Error()
			if errors.Is(ml.Err, kerr.UnknownTopicOrPartition) {
				o.Error = "the topic or partition does not exist"
			}
			problems = append(problems, fmt.Sprintf("%s:%d: %s", o.Topic, o.Partition, o.Error))
		}
		d.Offsets = append(d.Offsets, o)
	}
	return d, problems
}

// printGroup prints a group as kafka-consumer-groups.sh --describe does,
// followed by its members (--members --verbose).
func printGroup(io IO, d describedGroup) {
	fmt.Fprintf(io.Out, "Group: %s  State: %s  Protocol: %s  Coordinator: %d  Members: %d  Total lag: %d\n\n",
		d.Group, d.State, orDash(d.Protocol), d.Coordinator, len(d.Members), d.TotalLag)
	if len(d.Offsets) == 0 {
		fmt.Fprintln(io.Out, "No partitions assigned or committed.")
	} else {
		t := newTable(io.Out, "TOPIC", "PARTITION", "CURRENT-OFFSET", "LOG-END-OFFSET", "LAG",
			"CONSUMER-ID", "HOST", "CLIENT-ID")
		for _, o := range d.Offsets {
			t.row(o.Topic, o.Partition, optCell(o.Current), offsetCell(o.LogEndOffset), optCell(o.Lag),
				orDash(o.MemberID), orDash(o.Host), orDash(o.ClientID))
		}
		t.flush()
	}
	fmt.Fprintln(io.Out)
	if len(d.Members) == 0 {
		fmt.Fprintln(io.Out, "No active members.")
		return
	}
	t := newTable(io.Out, "MEMBER-ID", "CLIENT-ID", "HOST", "ASSIGNMENT")
	for _, m := range d.Members {
		t.row(m.MemberID, m.ClientID, m.Host, assignmentCell(m.Assignment))
	}
	t.flush()
}

// assignmentCell prints an assignment as "orders:0,1 audit:2".
func assignmentCell(a map[string][]int32) string {
	if len(a) == 0 {
		return "-"
	}
	var parts []string
	for _, t := range sortedKeys(a) {
		parts = append(parts, t+":"+joinInts(a[t]))
	}
	return strings.Join(parts, " ")
}

func optCell(v *int64) any {
	if v == nil {
		return "-"
	}
	return *v
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
