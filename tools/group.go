package tools

import (
	"errors"

	"github.com/spf13/pflag"
	"github.com/twmb/franz-go/pkg/kerr"
)

// Group runs `weir group <subcommand>`.
func Group(args []string, io IO) int {
	return dispatch("group", "List, describe, delete consumer groups and reset their offsets.", []subcommand{
		{groupListCmd, groupList},
		{groupDescribeCmd, groupDescribe},
		{groupDeleteCmd, groupDelete},
		{groupResetCmd, groupReset},
	}, args, io)
}

// groupFlag registers --group, repeatable and comma-separated.
func groupFlag(fs *pflag.FlagSet, help string) *[]string {
	return fs.StringSliceP("group", "g", nil, help+" (repeatable; names may also follow the flags)")
}

// groupProblem words a group's error code; the common ones get a plain
// sentence rather than the code's description.
func groupProblem(err error, msg string) string {
	switch {
	case errors.Is(err, kerr.GroupIDNotFound):
		return "does not exist"
	case errors.Is(err, kerr.NonEmptyGroup):
		return "has active members (stop its consumers first)"
	}
	return brokerError(err, msg)
}

var groupListCmd = command{
	name:    "group list",
	usage:   "weir group list [--state S ...]",
	summary: "List consumer groups with their states.",
	examples: `
		weir group list
		weir group list --state Empty --output json`,
}

// listedGroup is one line of `group list`.
type listedGroup struct {
	Group        string `json:"group"`
	State        string `json:"state"`
	ProtocolType string `json:"protocol_type"`
	Coordinator  int32  `json:"coordinator"`
}

func groupList(args []string, io IO) int {
	c := groupListCmd
	a := newAdmin(c, io)
	states := a.fs.StringSlice("state", nil, "only groups in these states (Empty, Stable, ...)")
	if code, done := a.parse(args); done {
		return code
	}
	if a.fs.NArg() > 0 {
		return usageError(c, io, "unexpected argument %q (to describe a group: weir group describe)", a.fs.Arg(0))
	}
	s, exit := a.open()
	if s == nil {
		return exit
	}
	defer s.close()
	listed, err := s.adm.ListGroups(s.ctx, *states...)
	if err != nil {
		return failure(c, io, "%s", a.cn.explain(err))
	}
	groups := []listedGroup{}
	for _, g := range listed.Sorted() {
		groups = append(groups, listedGroup{Group: g.Group, State: g.State, ProtocolType: g.ProtocolType,
			Coordinator: g.Coordinator})
	}
	if a.out.json() {
		writeJSON(io.Out, groups)
		return exitOK
	}
	t := newTable(io.Out, "GROUP", "STATE", "PROTOCOL-TYPE", "COORDINATOR")
	for _, g := range groups {
		t.row(g.Group, g.State, g.ProtocolType, g.Coordinator)
	}
	t.flush()
	return exitOK
}
