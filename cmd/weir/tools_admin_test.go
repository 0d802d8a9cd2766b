package main

import (
	"context"
	"encoding/json"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// runAdminTool runs weir to completion (bounded) and returns its exit
// code, stdout and stderr.
func runAdminTool(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	return runBounded(t, readyTimeout, "", args...)
}

// adminJSON runs a tool with --output json, wants exit 0 and decodes
// its output into v.
func adminJSON(t *testing.T, v any, args ...string) {
	t.Helper()
	code, stdout, stderr := runAdminTool(t, append(args, "--output", "json")...)
	if code != 0 {
		t.Fatalf("weir %q: exit %d\n%s", args, code, stderr)
	}
	if err := json.Unmarshal([]byte(stdout), v); err != nil {
		t.Fatalf("weir %q: %v in\n%s", args, err, stdout)
	}
}

// wantExit runs a tool and checks its exit code and that stderr says
// what is wrong.
func wantExit(t *testing.T, want int, stderrHas string, args ...string) {
	t.Helper()
	code, _, stderr := runAdminTool(t, args...)
	if code != want || !strings.Contains(stderr, stderrHas) {
		t.Errorf("weir %q: exit %d, stderr %q; want exit %d and %q", args, code, stderr, want, stderrHas)
	}
}

// The admin tools against one broker: topics, configs, then groups.
func TestAdminTools(t *testing.T) {
	b := startBroker(t, brokerOpts{io: "std", args: groupArgs})
	bs := "--bootstrap-server=" + b.addr
	t.Run("topic", func(t *testing.T) { testTopicTool(t, b.addr, bs) })
	t.Run("config", func(t *testing.T) { testConfigTool(t, bs) })
	t.Run("group", func(t *testing.T) { testGroupTool(t, b.addr, bs) })
}

type topicJSON struct {
	Topic             string            `json:"topic"`
	Created           bool              `json:"created"`
	Deleted           bool              `json:"deleted"`
	PartitionCount    int               `json:"partition_count"`
	Partitions        json.RawMessage   `json:"partitions"`
	ReplicationFactor int               `json:"replication_factor"`
	Configs           map[string]string `json:"configs"`
}

type partitionJSON struct {
	Partition      int32   `json:"partition"`
	Leader         int32   `json:"leader"`
	Replicas       []int32 `json:"replicas"`
	ISR            []int32 `json:"isr"`
	LogStartOffset int64   `json:"log_start_offset"`
	LogEndOffset   int64   `json:"log_end_offset"`
}

// describeTopic returns a topic's partitions from `topic describe`.
func describeTopic(t *testing.T, bs, topic string) (topicJSON, []partitionJSON) {
	t.Helper()
	var got []topicJSON
	adminJSON(t, &got, "topic", "describe", "--topic", topic, bs)
	if len(got) != 1 || got[0].Topic != topic {
		t.Fatalf("describe %s: %+v", topic, got)
	}
	var parts []partitionJSON
	if err := json.Unmarshal(got[0].Partitions, &parts); err != nil {
		t.Fatal(err)
	}
	return got[0], parts
}

func testTopicTool(t *testing.T, addr, bs string) {
	var created []topicJSON
	adminJSON(t, &created, "topic", "create", "--topic", "orders", "--partitions", "3",
		"--config", "retention.ms=3600000", bs)
	if len(created) != 1 || !created[0].Created {
		t.Fatalf("create: %+v", created)
	}
	wantExit(t, 1, "already exists", "topic", "create", "--topic", "orders", bs)
	adminJSON(t, &created, "topic", "create", "orders", "--if-not-exists", bs)
	if created[0].Created {
		t.Errorf("create --if-not-exists of an existing topic: %+v", created)
	}

	var listed []topicJSON
	adminJSON(t, &listed, "topic", "list", bs)
	if len(listed) != 1 || listed[0].Topic != "orders" || listed[0].PartitionCount != 3 ||
		listed[0].ReplicationFactor != 1 {
		t.Errorf("list: %+v", listed)
	}

	produceN(t, addr, "orders", 0, 30)
	d, parts := describeTopic(t, bs, "orders")
	var total int64
	for i, p := range parts {
		if p.Partition != int32(i) || p.Leader != 1 || len(p.Replicas) != 1 || len(p.ISR) != 1 ||
			p.LogStartOffset != 0 {
			t.Errorf("describe: partition %+v", p)
		}
		total += p.LogEndOffset
	}
	if len(parts) != 3 || total != 30 || d.Configs["retention.ms"] != "3600000" {
		t.Errorf("describe: %d partitions, %d records, configs %v; want 3, 30, retention.ms", len(parts), total,
			d.Configs)
	}
	code, stdout, stderr := runAdminTool(t, "topic", "describe", "orders", bs)
	header := regexp.MustCompile(`(?m)^PARTITION +LEADER +REPLICAS +ISR +LOG-START-OFFSET +LOG-END-OFFSET$`)
	if code != 0 || !strings.Contains(stdout, "Topic: orders") || !header.MatchString(stdout) {
		t.Errorf("describe table: exit %d\n%s%s", code, stdout, stderr)
	}

	code, _, stderr = runAdminTool(t, "topic", "alter", "--topic", "orders", "--partitions", "5",
		"--config", "max.message.bytes=2000000", "--delete-config", "retention.ms", bs)
	if code != 0 {
		t.Fatalf("alter: exit %d\n%s", code, stderr)
	}
	d, parts = describeTopic(t, bs, "orders")
	if len(parts) != 5 || d.Configs["max.message.bytes"] != "2000000" || d.Configs["retention.ms"] != "" {
		t.Errorf("after alter: %d partitions, configs %v", len(parts), d.Configs)
	}
	wantExit(t, 1, "INVALID_PARTITIONS", "topic", "alter", "--topic", "orders", "--partitions", "2", bs)
	wantExit(t, 1, "does not exist", "topic", "describe", "--topic", "nope", bs)
	wantExit(t, 1, "does not exist", "topic", "alter", "nope", "--partitions", "9", bs)

	// One broker leads every partition it holds: no election is needed.
	code, stdout, stderr = runAdminTool(t, "topic", "elect-leaders", "--type", "preferred", "--topic", "orders", bs)
	if code != 0 || stdout != "Valid replica already elected for partitions orders-0, orders-1, orders-2, "+
		"orders-3, orders-4\n" {
		t.Errorf("elect-leaders: exit %d\n%s%s", code, stdout, stderr)
	}
	code, stdout, stderr = runAdminTool(t, "topic", "elect-leaders", "--type", "unclean", bs)
	if code != 0 || stdout != "No partition needed a leader election (UNCLEAN).\n" {
		t.Errorf("elect-leaders of every partition: exit %d\n%s%s", code, stdout, stderr)
	}
	wantExit(t, 1, "partition orders-9: UNKNOWN_TOPIC_OR_PARTITION: No such partition as orders-9",
		"topic", "elect-leaders", "--type", "preferred", "--topic", "orders", "--partition", "1,9", bs)
	wantExit(t, 1, "does not exist", "topic", "elect-leaders", "--type", "preferred", "--topic", "nope", bs)
	wantExit(t, 2, "missing --type", "topic", "elect-leaders", "--topic", "orders", bs)
	wantExit(t, 2, "exactly one --topic", "topic", "elect-leaders", "--type", "unclean", "--partition", "0", bs)

	var deleted []topicJSON
	adminJSON(t, &deleted, "topic", "delete", "--topic", "orders", bs)
	if len(deleted) != 1 || !deleted[0].Deleted {
		t.Errorf("delete: %+v", deleted)
	}
	wantExit(t, 1, "does not exist", "topic", "describe", "orders", bs)
	wantExit(t, 1, "does not exist", "topic", "delete", "orders", bs)
	wantExit(t, 0, "", "topic", "delete", "orders", "--if-exists", bs)

	// Bad usage exits 2; --help exits 0 with examples.
	wantExit(t, 2, "missing --topic", "topic", "create", bs)
	wantExit(t, 2, "unknown flag", "topic", "create", "--topic", "x", "--bogus", bs)
	wantExit(t, 2, "unknown subcommand", "topic", "frob")
	wantExit(t, 2, "not key=value", "topic", "create", "--topic", "x", "--config", "retention", bs)
	wantExit(t, 2, "nothing to change", "topic", "alter", "--topic", "x", bs)
	for _, args := range [][]string{{"topic", "--help"}, {"topic", "create", "--help"},
		{"group", "reset-offsets", "--help"}, {"config", "alter", "--help"}} {
		if code, stdout, _ := runAdminTool(t, args...); code != 0 || !strings.Contains(stdout, "weir "+args[0]) {
			t.Errorf("weir %q: exit %d\n%s", args, code, stdout)
		}
	}
}

type configsJSON struct {
	Configs []struct {
		Name      string  `json:"name"`
		Value     *string `json:"value"`
		Source    string  `json:"source"`
		ReadOnly  bool    `json:"read_only"`
		Sensitive bool    `json:"sensitive"`
	} `json:"configs"`
}

func (c configsJSON) find(name string) (value, source string, readOnly, ok bool) {
	for _, e := range c.Configs {
		if e.Name == name {
			if e.Value != nil {
				value = *e.Value
			}
			return value, e.Source, e.ReadOnly, true
		}
	}
	return "", "", false, false
}

func testConfigTool(t *testing.T, bs string) {
	wantExit(t, 0, "", "topic", "create", "--topic", "conf", bs)
	var got configsJSON
	adminJSON(t, &got, "config", "describe", "--entity-type", "topics", "--entity-name", "conf", bs)
	if v, src, _, ok := got.find("cleanup.policy"); !ok || v != "delete" || src != "DEFAULT_CONFIG" {
		t.Errorf("cleanup.policy = %q from %q (%v), want delete from DEFAULT_CONFIG", v, src, ok)
	}
	wantExit(t, 0, "", "config", "alter", "--topic", "conf",
		"--add-config", "retention.ms=1234,cleanup.policy=[compact,delete]", bs)
	adminJSON(t, &got, "config", "describe", "--topic", "conf", "--dynamic", bs)
	if len(got.Configs) != 2 {
		t.Errorf("--dynamic after alter: %+v", got.Configs)
	}
	if v, src, _, _ := got.find("cleanup.policy"); v != "compact,delete" || src != "DYNAMIC_TOPIC_CONFIG" {
		t.Errorf("cleanup.policy = %q from %q, want compact,delete from DYNAMIC_TOPIC_CONFIG", v, src)
	}
	wantExit(t, 0, "", "config", "alter", "--topic", "conf",
		"--delete-config", "retention.ms,cleanup.policy", bs)
	adminJSON(t, &got, "config", "describe", "--topic", "conf", "--dynamic", bs)
	if len(got.Configs) != 0 {
		t.Errorf("--dynamic after delete-config: %+v", got.Configs)
	}
	wantExit(t, 1, "INVALID_CONFIG", "config", "alter", "--topic", "conf", "--add-config", "bogus.key=1", bs)
	wantExit(t, 1, "does not exist", "config", "describe", "--topic", "nope", bs)

	adminJSON(t, &got, "config", "describe", "--entity-type", "brokers", "--entity-name", "1", bs)
	if _, _, ro, ok := got.find("advertised.listeners"); !ok || !ro {
		t.Errorf("broker 1: advertised.listeners missing or not read-only")
	}
	if _, _, ro, ok := got.find("log.retention.ms"); !ok || ro {
		t.Errorf("broker 1: log.retention.ms missing or read-only")
	}
	code, stdout, _ := runAdminTool(t, "config", "describe", "--broker", "1", bs)
	if code != 0 || !strings.Contains(stdout, "NAME") || !strings.Contains(stdout, "READ-ONLY") {
		t.Errorf("broker table: exit %d\n%s", code, stdout)
	}
	wantExit(t, 2, "give one entity", "config", "describe", "--topic", "conf", "--broker", "1", bs)
	wantExit(t, 2, "missing entity", "config", "describe", bs)
	wantExit(t, 2, "topics or brokers", "config", "describe",
		"--entity-type", "users", "--entity-name", "x", bs)
	wantExit(t, 2, "nothing to change", "config", "alter", "--topic", "conf", bs)
}

type groupJSON struct {
	Group   string `json:"group"`
	State   string `json:"state"`
	Members []struct {
		MemberID   string             `json:"member_id"`
		Assignment map[string][]int32 `json:"assignment"`
	} `json:"members"`
	Offsets []struct {
		Topic     string `json:"topic"`
		Partition int32  `json:"partition"`
		Current   *int64 `json:"current_offset"`
		End       int64  `json:"log_end_offset"`
		Lag       *int64 `json:"lag"`
	} `json:"offsets"`
	TotalLag int64 `json:"total_lag"`
}

// produceEach writes n records to each partition of topic.
func produceEach(t *testing.T, addr, topic string, partitions int32, n int) {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr), kgo.DefaultProduceTopic(topic),
		kgo.RecordPartitioner(kgo.ManualPartitioner()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	var recs []*kgo.Record
	for p := int32(0); p < partitions; p++ {
		for i := 0; i < n; i++ {
			recs = append(recs, &kgo.Record{Partition: p, Value: []byte(strconv.Itoa(i))})
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := cl.ProduceSync(ctx, recs...).FirstErr(); err != nil {
		t.Fatal(err)
	}
}

// committed is the group's offsets as OffsetFetch answers.
func committed(t *testing.T, adm *kadm.Client, group string) map[int32]int64 {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	resp, err := adm.FetchOffsets(ctx, group)
	if err != nil {
		t.Fatal(err)
	}
	out := map[int32]int64{}
	resp.Each(func(o kadm.OffsetResponse) { out[o.Partition] = o.At })
	return out
}

func testGroupTool(t *testing.T, addr, bs string) {
	const topic = "events"
	createTopic(t, addr, topic, 3)
	produceEach(t, addr, topic, 3, 20)
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	// A partial consume: partition 0 done, 1 at 5, 2 not started.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	offs := kadm.Offsets{}
	offs.AddOffset(topic, 0, 20, -1)
	offs.AddOffset(topic, 1, 5, -1)
	if err := adm.CommitAllOffsets(ctx, "billing", offs); err != nil {
		t.Fatal(err)
	}

	var groups []groupJSON
	adminJSON(t, &groups, "group", "describe", "--group", "billing", bs)
	if len(groups) != 1 || groups[0].State != "Empty" || groups[0].TotalLag != 15 {
		t.Fatalf("describe billing: %+v", groups)
	}
	for _, o := range groups[0].Offsets {
		want := map[int32]int64{0: 0, 1: 15}
		if lag, ok := want[o.Partition]; ok && (o.Lag == nil || *o.Lag != lag || o.End != 20) {
			t.Errorf("partition %d: lag %v end %d, want %d and 20", o.Partition, o.Lag, o.End, lag)
		}
		if o.Partition == 2 && (o.Current != nil || o.Lag != nil) {
			t.Errorf("partition 2 has no commit, but shows %v, lag %v", o.Current, o.Lag)
		}
	}
	code, stdout, _ := runAdminTool(t, "group", "describe", "billing", bs)
	row := regexp.MustCompile(`(?m)^events +1 +5 +20 +15 +- +- +-$`)
	if code != 0 || !strings.Contains(stdout, "LAG") || !row.MatchString(stdout) {
		t.Errorf("describe table: exit %d\n%s", code, stdout)
	}
	wantExit(t, 1, "does not exist", "group", "describe", "nope", bs)

	// Dry run by default: the plan, and nothing committed.
	var plan struct {
		Executed bool `json:"executed"`
		Offsets  []struct {
			Partition int32  `json:"partition"`
			Current   *int64 `json:"current_offset"`
			New       int64  `json:"new_offset"`
		} `json:"offsets"`
	}
	reset := func(args ...string) []string {
		return append([]string{"group", "reset-offsets", "--group", "billing"}, append(args, bs)...)
	}
	adminJSON(t, &plan, reset("--topic", topic, "--to-earliest")...)
	if plan.Executed || len(plan.Offsets) != 3 || plan.Offsets[1].New != 0 || *plan.Offsets[1].Current != 5 {
		t.Errorf("dry run plan: %+v", plan)
	}
	if got := committed(t, adm, "billing"); got[0] != 20 || got[1] != 5 {
		t.Errorf("after a dry run: committed %v, want 0:20 1:5", got)
	}
	wantExit(t, 0, "", reset("--topic", topic+":1", "--to-offset", "10", "--execute")...)
	wantExit(t, 0, "", reset("--topic", topic+":0", "--shift-by", "-3", "--execute")...)
	wantExit(t, 0, "", reset("--topic", topic+":2", "--to-datetime", "2999-01-01T00:00:00.000",
		"--execute")...)
	if got := committed(t, adm, "billing"); got[0] != 17 || got[1] != 10 || got[2] != 20 {
		t.Errorf("after resets: committed %v, want 0:17 1:10 2:20", got)
	}
	wantExit(t, 1, "no committed offset", "group", "reset-offsets", "-g", "fresh", "-t", topic,
		"--shift-by", "1", bs)
	wantExit(t, 2, "give one of", reset("--all-topics", "--to-earliest", "--to-latest")...)
	wantExit(t, 2, "missing --group", "group", "reset-offsets", "--all-topics", "--to-earliest", bs)
	wantExit(t, 2, "--to-datetime", reset("--all-topics", "--to-datetime", "yesterday")...)

	// An active member: its group can be described, but neither reset
	// nor deleted.
	o := &owners{owned: map[string]map[int32]bool{}}
	member := groupMember(t, addr, "busy", topic, "m1", o)
	o.waitSplit(t, []string{"m1"}, 3, 15*time.Second)
	adminJSON(t, &groups, "group", "describe", "busy", bs)
	if len(groups) != 1 || groups[0].State != "Stable" || len(groups[0].Members) != 1 ||
		len(groups[0].Members[0].Assignment[topic]) != 3 {
		t.Errorf("describe busy: %+v", groups)
	}
	wantExit(t, 1, "active members", "group", "reset-offsets", "--group", "busy", "--all-topics",
		"--to-earliest", "--execute", bs)
	wantExit(t, 1, "active members", "group", "delete", "--group", "busy", bs)
	wantExit(t, 1, "consume this topic", "group", "delete", "--group", "busy", "--topic", topic+":0", bs)
	member.Close()

	// Deleting only some offsets (OffsetDelete).
	wantExit(t, 0, "", "group", "delete", "--group", "billing", "--topic", topic+":2", bs)
	if got := committed(t, adm, "billing"); len(got) != 2 || got[0] != 17 {
		t.Errorf("after deleting partition 2's offset: committed %v, want 0:17 1:10", got)
	}

	var listed []struct {
		Group string `json:"group"`
		State string `json:"state"`
	}
	adminJSON(t, &listed, "group", "list", bs)
	if len(listed) != 2 || listed[0].Group != "billing" || listed[1].Group != "busy" {
		t.Errorf("list: %+v", listed)
	}
	wantExit(t, 0, "", "group", "delete", "billing", "busy", bs)
	wantExit(t, 1, "does not exist", "group", "describe", "billing", bs)
}

// An unreachable cluster fails fast with a clear message.
func TestAdminToolsUnreachable(t *testing.T) {
	bs := "--bootstrap-server=127.0.0.1:" + strconv.Itoa(freePort(t))
	for _, args := range [][]string{{"topic", "list"}, {"group", "describe", "g"},
		{"config", "describe", "--topic", "t"}} {
		start := time.Now()
		code, _, stderr := runAdminTool(t, append(args, bs, "--request-timeout=2s")...)
		if code != 1 || !strings.Contains(stderr, "cannot reach") && !strings.Contains(stderr, "no answer") {
			t.Errorf("weir %q: exit %d, stderr %q", args, code, stderr)
		}
		if took := time.Since(start); took > 5*time.Second {
			t.Errorf("weir %q took %v with --request-timeout=2s", args, took)
		}
	}
}
