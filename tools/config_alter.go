package tools

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kmsg"
)

var configAlterCmd = command{
	name: "config alter",
	usage: "weir config alter (--topic T | --broker N | --entity-type topics|brokers --entity-name X) " +
		"[--add-config k=v[,k2=v2]] [--delete-config k[,k2]]",
	summary: "Set or remove configs of a topic or broker (IncrementalAlterConfigs).",
	examples: `
		weir config alter --topic orders --add-config retention.ms=86400000,max.message.bytes=2097152
		weir config alter --topic orders --add-config cleanup.policy=[compact,delete]
		weir config alter --entity-type topics --entity-name orders --delete-config retention.ms
		weir config alter --entity-type brokers --entity-default --add-config log.retention.ms=604800000`,
}

// alteredConfigs is what `config alter --output json` prints.
type alteredConfigs struct {
	EntityType string            `json:"entity_type"`
	EntityName string            `json:"entity_name"`
	Set        map[string]string `json:"set,omitempty"`
	Deleted    []string          `json:"deleted,omitempty"`
}

func configAlter(args []string, io IO) int {
	c := configAlterCmd
	a := newAdmin(c, io)
	var ef entityFlags
	ef.register(a.fs)
	adds := a.fs.StringArray("add-config", nil,
		"key=value pairs to set, comma-separated; [brackets] around a value that holds commas (repeatable)")
	deletes := a.fs.StringArray("delete-config", nil, "keys to remove, comma-separated (repeatable)")
	if code, done := a.parse(args); done {
		return code
	}
	e, err := ef.resolve()
	var set []configPair
	var deleted []string
	if err == nil {
		set, err = parseAddConfig(*adds)
	}
	if err == nil {
		deleted, err = parseKeys(*deletes)
	}
	if err == nil {
		err = checkKeys(set, deleted)
	}
	switch {
	case err != nil:
		return usageError(c, io, "%v", err)
	case a.fs.NArg() > 0:
		return usageError(c, io, "unexpected argument %q", a.fs.Arg(0))
	case len(set) == 0 && len(deleted) == 0:
		return usageError(c, io, "nothing to change: give --add-config or --delete-config")
	}
	s, exit := a.open()
	if s == nil {
		return exit
	}
	defer s.close()
	resp, err := alterEntity(s, e, alterOps(set, deleted))
	if err != nil {
		return failure(c, io, "%s: %s", e, a.cn.explain(err))
	}
	if len(resp) != 1 {
		return failure(c, io, "%s: the broker answered %d resources for 1", e, len(resp))
	}
	if r := resp[0]; r.Err != nil {
		return failure(c, io, "%s: %s", e, topicProblem(r.Err, r.ErrMessage))
	}
	if a.out.json() {
		writeJSON(io.Out, alteredConfigs{EntityType: e.typeName(), EntityName: e.name,
			Set: pairMap(set), Deleted: deleted})
		return exitOK
	}
	var did []string
	for _, p := range set {
		did = append(did, fmt.Sprintf("set %s=%s", p.key, p.value))
	}
	for _, k := range deleted {
		did = append(did, "deleted "+k)
	}
	fmt.Fprintf(io.Out, "Updated %s: %s.\n", e, strings.Join(did, ", "))
	return exitOK
}

// alterEntity sends IncrementalAlterConfigs for e; kgo routes a broker's
// request to that broker.
func alterEntity(s *session, e entity, ops []kadm.AlterConfig) (kadm.AlterConfigsResponses, error) {
	if e.typ == kmsg.ConfigResourceTypeTopic {
		return s.adm.AlterTopicConfigs(s.ctx, ops, e.name)
	}
	if e.name == "" {
		return s.adm.AlterBrokerConfigs(s.ctx, ops)
	}
	id, _ := strconv.ParseInt(e.name, 10, 32) // checked by resolve
	return s.adm.AlterBrokerConfigs(s.ctx, ops, int32(id))
}
