package tools

import (
	"errors"
	"fmt"

	"github.com/spf13/pflag"
	"github.com/twmb/franz-go/pkg/kadm"
)

var groupResetCmd = command{
	name: "group reset-offsets",
	usage: "weir group reset-offsets --group G (--topic T[:partitions] ... | --all-topics) " +
		"(--to-earliest | --to-latest | --to-current | --to-offset N | --to-datetime D | --shift-by N) [--execute]",
	summary: "Move a group's committed offsets; prints the plan, and applies it with --execute.",
	examples: `
		weir group reset-offsets --group billing --topic orders --to-earliest     # dry run: prints the plan
		weir group reset-offsets --group billing --topic orders --to-earliest --execute
		weir group reset-offsets --group billing --topic orders:0,1 --shift-by -100 --execute
		weir group reset-offsets --group billing --all-topics --to-datetime 2024-05-01T00:00:00.000 --execute`,
}

// resetFlags are reset-offsets' choices as given.
type resetFlags struct {
	earliest, latest, current, allTopics, dryRun, execute bool
	offset, shift                                         int64
	datetime                                              string
	topics                                                []string
}

func (f *resetFlags) register(fs *pflag.FlagSet) {
	fs.StringArrayVarP(&f.topics, "topic", "t", nil, "topic T, or T:0,1,2 for some partitions (repeatable)")
	fs.BoolVar(&f.allTopics, "all-topics", false, "every topic the group has committed offsets for")
	fs.BoolVar(&f.earliest, "to-earliest", false, "to the log start offset")
	fs.BoolVar(&f.latest, "to-latest", false, "to the log end offset")
	fs.BoolVar(&f.current, "to-current", false, "to the committed offset (the log end where none)")
	fs.Int64Var(&f.offset, "to-offset", 0, "to this offset, within the log's start and end")
	fs.StringVar(&f.datetime, "to-datetime", "",
		"to the first offset at or after this time: YYYY-MM-DDTHH:mm:SS.sss (UTC unless a zone follows) "+
			"or RFC 3339")
	fs.Int64Var(&f.shift, "shift-by", 0, "by this many offsets from the committed one (negative: back)")
	fs.BoolVar(&f.dryRun, "dry-run", false, "only print the plan (the default)")
	fs.BoolVar(&f.execute, "execute", false, "commit the new offsets")
}

// spec checks that exactly one mode and one scope are chosen.
func (f *resetFlags) spec(fs *pflag.FlagSet) (resetSpec, []topicSelection, error) {
	var modes []resetSpec
	var given []string
	for _, m := range []struct {
		flag string
		on   bool
		spec resetSpec
	}{
		{"--to-earliest", f.earliest, resetSpec{mode: toEarliest}},
		{"--to-latest", f.latest, resetSpec{mode: toLatest}},
		{"--to-current", f.current, resetSpec{mode: toCurrent}},
		{"--to-offset", fs.Changed("to-offset"), resetSpec{mode: toOffset, n: f.offset}},
		{"--to-datetime", fs.Changed("to-datetime"), resetSpec{mode: toDatetime}},
		{"--shift-by", fs.Changed("shift-by"), resetSpec{mode: shiftBy, n: f.shift}},
	} {
		if m.on {
			modes = append(modes, m.spec)
			given = append(given, m.flag)
		}
	}
	switch {
	case len(modes) == 0:
		return resetSpec{}, nil, errors.New("missing the new position: --to-earliest, --to-latest, --to-current, " +
			"--to-offset, --to-datetime or --shift-by")
	case len(modes) > 1:
		return resetSpec{}, nil, fmt.Errorf("give one of %v", given)
	case f.dryRun && f.execute:
		return resetSpec{}, nil, errors.New("give --dry-run or --execute, not both")
	case f.allTopics && len(f.topics) > 0:
		return resetSpec{}, nil, errors.New("give --topic or --all-topics, not both")
	case !f.allTopics && len(f.topics) == 0:
		return resetSpec{}, nil, errors.New("missing --topic (or --all-topics)")
	case f.offset < 0 && modes[0].mode == toOffset:
		return resetSpec{}, nil, errors.New("--to-offset must be >= 0")
	}
	var sels []topicSelection
	for _, t := range f.topics {
		sel, err := parseTopicSelection(t)
		if err != nil {
			return resetSpec{}, nil, err
		}
		sels = append(sels, sel)
	}
	return modes[0], sels, nil
}

// resetResult is what `group reset-offsets --output json` prints.
type resetResult struct {
	Group    string     `json:"group"`
	Executed bool       `json:"executed"`
	Offsets  []resetRow `json:"offsets"`
}

func groupReset(args []string, io IO) int {
	c := groupResetCmd
	a := newAdmin(c, io)
	group := a.fs.StringP("group", "g", "", "the group whose offsets to move")
	var rf resetFlags
	rf.register(a.fs)
	if code, done := a.parse(args); done {
		return code
	}
	groups := namesFrom([]string{*group}, a.fs)
	spec, sels, err := rf.spec(a.fs)
	var at int64
	if err == nil && spec.mode == toDatetime {
		t, perr := parseDatetime(rf.datetime)
		if perr != nil {
			err = fmt.Errorf("--to-datetime: %v", perr)
		}
		at = t.UnixMilli()
	}
	switch {
	case len(groups) == 0:
		return usageError(c, io, "missing --group")
	case len(groups) > 1:
		return usageError(c, io, "one group at a time; %d given", len(groups))
	case err != nil:
		return usageError(c, io, "%v", err)
	}
	g := groups[0]

	s, exit := a.open()
	if s == nil {
		return exit
	}
	defer s.close()
	if problem := checkInactive(s, &a.cn, g); problem != "" {
		return failure(c, io, "%s", problem)
	}
	states, problem := resetStates(s, &a.cn, g, sels, spec.mode == toDatetime, at)
	if problem != "" {
		return failure(c, io, "%s", problem)
	}
	rows, err := planReset(spec, states)
	if err != nil {
		return failure(c, io, "group %s: %v", g, err)
	}
	code := exitOK
	if rf.execute && len(rows) > 0 {
		code = commitPlan(c, io, &a.cn, s, g, rows)
	}
	if a.out.json() {
		writeJSON(io.Out, resetResult{Group: g, Executed: rf.execute && code == exitOK, Offsets: rows})
	} else {
		t := newTable(io.Out, "TOPIC", "PARTITION", "CURRENT-OFFSET", "NEW-OFFSET")
		for _, r := range rows {
			t.row(r.Topic, r.Partition, optCell(r.Current), r.New)
		}
		t.flush()
	}
	switch {
	case len(rows) == 0:
		fmt.Fprintf(io.Err, "Nothing to reset: group %s has no committed offsets.\n", g)
	case !rf.execute:
		fmt.Fprintln(io.Err, "Dry run: nothing changed. Add --execute to commit these offsets.")
	}
	return code
}

// commitPlan commits the new offsets as an admin (no member, no
// generation), which the broker takes only from an inactive group.
func commitPlan(c command, io IO, cn *conn, s *session, g string, rows []resetRow) int {
	offsets := make(kadm.Offsets)
	for _, r := range rows {
		offsets.Add(kadm.Offset{Topic: r.Topic, Partition: r.Partition, At: r.New, LeaderEpoch: -1})
	}
	resp, err := s.adm.CommitOffsets(s.ctx, g, offsets)
	if err != nil {
		return failure(c, io, "group %s: %s", g, cn.explain(err))
	}
	code := exitOK
	for _, r := range resp.Sorted() {
		if r.Err != nil {
			code = failure(c, io, "group %s, %s:%d: commit: %s", g, r.Topic, r.Partition, groupProblem(r.Err, ""))
		}
	}
	return code
}
