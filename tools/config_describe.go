package tools

import (
	"fmt"
	"sort"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

var configDescribeCmd = command{
	name: "config describe",
	usage: "weir config describe (--topic T | --broker N | --entity-type topics|brokers --entity-name X) " +
		"[--dynamic]",
	summary: "Show a topic's or broker's configs: value, source, read-only and sensitive.",
	examples: `
		weir config describe --topic orders
		weir config describe --entity-type brokers --entity-name 1
		weir config describe --topic orders --dynamic      # only values set on the topic
		weir config describe --entity-type brokers --entity-default --output json`,
}

// describedConfigs is what `config describe --output json` prints.
type describedConfigs struct {
	EntityType string        `json:"entity_type"`
	EntityName string        `json:"entity_name"`
	Configs    []configEntry `json:"configs"`
}

type configEntry struct {
	Name      string  `json:"name"`
	Value     *string `json:"value"` // null when unset or sensitive
	Source    string  `json:"source"`
	ReadOnly  bool    `json:"read_only"`
	Sensitive bool    `json:"sensitive"`
}

func configDescribe(args []string, io IO) int {
	c := configDescribeCmd
	a := newAdmin(c, io)
	var ef entityFlags
	ef.register(a.fs)
	dynamic := a.fs.Bool("dynamic", false, "only values set on the entity itself (kafka-configs.sh's default)")
	a.fs.Bool("all", true, "every config with where its value comes from (the default; kept for kafka-configs.sh habits)")
	if code, done := a.parse(args); done {
		return code
	}
	e, err := ef.resolve()
	if err == nil && a.fs.NArg() > 0 {
		err = fmt.Errorf("unexpected argument %q", a.fs.Arg(0))
	}
	if err != nil {
		return usageError(c, io, "%v", err)
	}
	s, exit := a.open()
	if s == nil {
		return exit
	}
	defer s.close()
	entries, problem, err := describeEntity(s, e)
	if err != nil {
		return failure(c, io, "%s: %s", e, a.cn.explain(err))
	}
	if problem != "" {
		return failure(c, io, "%s: %s", e, problem)
	}
	shown := []configEntry{}
	for _, ce := range entries {
		if !*dynamic || ce.source == e.ownSource() {
			shown = append(shown, ce.entry)
		}
	}
	if a.out.json() {
		writeJSON(io.Out, describedConfigs{EntityType: e.typeName(), EntityName: e.name, Configs: shown})
		return exitOK
	}
	if len(shown) == 0 {
		fmt.Fprintf(io.Out, "No configs set on %s.\n", e)
		return exitOK
	}
	t := newTable(io.Out, "NAME", "VALUE", "SOURCE", "READ-ONLY", "SENSITIVE")
	for _, ce := range shown {
		t.row(ce.Name, configValue(ce), ce.Source, ce.ReadOnly, ce.Sensitive)
	}
	t.flush()
	return exitOK
}

func configValue(ce configEntry) string {
	switch {
	case ce.Sensitive:
		return "(sensitive)"
	case ce.Value == nil:
		return "null"
	}
	return *ce.Value
}

// sourcedEntry keeps the source as a number to filter on.
type sourcedEntry struct {
	entry  configEntry
	source kmsg.ConfigSource
}

// describeEntity asks for every config of e, sorted by name. It sends
// DescribeConfigs itself, since kadm drops the read-only flag. problem is
// the broker's answer for the entity (unknown topic, ...), err a request
// that failed.
func describeEntity(s *session, e entity) (entries []sourcedEntry, problem string, err error) {
	req := kmsg.NewPtrDescribeConfigsRequest()
	rr := kmsg.NewDescribeConfigsRequestResource()
	rr.ResourceType, rr.ResourceName = e.typ, e.name
	req.Resources = append(req.Resources, rr)
	resp, err := req.RequestWith(s.ctx, s.cl)
	if err != nil {
		return nil, "", err
	}
	if len(resp.Resources) != 1 {
		return nil, "", fmt.Errorf("the broker answered %d resources for 1", len(resp.Resources))
	}
	res := resp.Resources[0]
	if err := kerr.ErrorForCode(res.ErrorCode); err != nil {
		msg := ""
		if res.ErrorMessage != nil {
			msg = *res.ErrorMessage
		}
		return nil, topicProblem(err, msg), nil
	}
	for _, rc := range res.Configs {
		ce := configEntry{Name: rc.Name, Value: rc.Value, Source: rc.Source.String(),
			ReadOnly: rc.ReadOnly, Sensitive: rc.IsSensitive}
		entries = append(entries, sourcedEntry{entry: ce, source: rc.Source})
	}
	sort.Slice(entries, func(i, j int) bool { return entries[i].entry.Name < entries[j].entry.Name })
	return entries, "", nil
}
