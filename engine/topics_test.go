package engine

import (
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/weirmq/weir/engine/config"
	"github.com/weirmq/weir/engine/controller"
	"github.com/weirmq/weir/engine/metadata"
	"github.com/weirmq/weir/logstore"
)

// smallLogs keep every test broker's files small: 1 MiB segments, 64 KiB
// indexes, the offsets topic's segments as small.
var smallLogs = []string{"log.segment.bytes=1048576", "log.index.size.max.bytes=65536",
	"offsets.topic.segment.bytes=1048576"}

// newTopicBroker is a broker for admin tests: small segments, more config.
func newTopicBroker(t *testing.T, kv ...string) *Broker {
	t.Helper()
	return newTestBroker(t, append(append([]string{}, smallLogs...), kv...)...)
}

// openBrokerAt opens a broker on an existing log dir (a restart).
func openBrokerAt(t *testing.T, dir string, kv ...string) *Broker {
	t.Helper()
	c := config.New(config.Kafka)
	base := append([]string{"node.id=1", "listeners=PLAINTEXT://127.0.0.1:9092", "log.dirs=" + dir}, smallLogs...)
	for _, p := range append(base, kv...) {
		k, v, _ := cut(p)
		if err := c.Set(k, v, config.SourceFlag); err != nil {
			t.Fatal(err)
		}
	}
	b, err := Open(Options{Config: c, Logger: discardLogger()})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func createReq(v int16, validateOnly bool, topics ...kmsg.CreateTopicsRequestTopic) *kmsg.CreateTopicsRequest {
	req := kmsg.NewPtrCreateTopicsRequest()
	req.Version, req.ValidateOnly, req.Topics = v, validateOnly, topics
	return req
}

// newTopic is a topic to create; configs are key=value.
func newTopic(name string, partitions int32, rf int16, configs ...string) kmsg.CreateTopicsRequestTopic {
	rt := kmsg.NewCreateTopicsRequestTopic()
	rt.Topic, rt.NumPartitions, rt.ReplicationFactor = name, partitions, rf
	for _, kv := range configs {
		k, v, _ := cut(kv)
		c := kmsg.NewCreateTopicsRequestTopicConfig()
		c.Name, c.Value = k, kmsg.StringPtr(v)
		rt.Configs = append(rt.Configs, c)
	}
	return rt
}

// createTopic creates one topic at v7 and fails the test on an error.
func createTopic(t *testing.T, b *Broker, name string, partitions int32, configs ...string) kmsg.CreateTopicsResponseTopic {
	t.Helper()
	resp := roundTrip(t, b, createReq(7, false, newTopic(name, partitions, 1, configs...))).(*kmsg.CreateTopicsResponse)
	if len(resp.Topics) != 1 || resp.Topics[0].ErrorCode != 0 {
		t.Fatalf("create %s: %+v", name, resp.Topics)
	}
	return resp.Topics[0]
}

func msgOf(p *string) string {
	if p == nil {
		return "<nil>"
	}
	return *p
}

func TestCreateTopics(t *testing.T) {
	b := newTopicBroker(t, "num.partitions=3")
	rt := createTopic(t, b, "orders", 4, "retention.ms=1000", "cleanup.policy=compact,delete")
	if rt.TopicID == [16]byte{} || rt.NumPartitions != 4 || rt.ReplicationFactor != 1 {
		t.Fatalf("result %+v", rt)
	}
	var sawRetention bool
	for _, c := range rt.Configs {
		if c.Name == "retention.ms" {
			sawRetention = msgOf(c.Value) == "1000" && c.Source == int8(kmsg.ConfigSourceDynamicTopicConfig)
		}
	}
	if !sawRetention || len(rt.Configs) != len(config.Topic.Names()) {
		t.Errorf("configs in the result: %+v", rt.Configs)
	}
	// Published: the image, the partition table, the logs with their id and
	// configuration.
	tp, ok := b.image.Load().Topic("orders")
	if !ok || tp.ID != rt.TopicID || len(tp.Partitions) != 4 {
		t.Fatalf("image: %+v", tp)
	}
	for i := int32(0); i < 4; i++ {
		p := b.lookupPartition("orders", i)
		if p == nil || p.topicID != rt.TopicID {
			t.Fatalf("partition %d: %+v", i, p)
		}
		id, ok, err := logstore.ReadPartitionMetadata(p.log.Dir())
		if err != nil || !ok || id != rt.TopicID {
			t.Errorf("partition.metadata of %d: %x %v %v", i, id, ok, err)
		}
		if cfg := p.log.Config(); cfg.RetentionMs != 1000 || cfg.SegmentBytes != 1048576 {
			t.Errorf("log config %+v", cfg)
		}
	}
	if b.parts.Load().byID[rt.TopicID] != "orders" {
		t.Errorf("topic id not in the table")
	}
	if tc := b.topicConfig("orders"); tc == nil || tc.values.Long("retention.ms") != 1000 {
		t.Errorf("topic config %+v", tc)
	}

	// Defaults (-1), validate-only, errors, duplicates, in one request.
	bad := newTopic("b", 1, 1)
	bad.Configs = append(bad.Configs, kmsg.CreateTopicsRequestTopicConfig{Name: "retention.ms"})
	resp := roundTrip(t, b, createReq(7, false,
		newTopic("defaults", -1, -1),
		newTopic("orders", 1, 1),
		newTopic("rf2", 1, 2),
		newTopic("zero", 0, 1),
		newTopic("rf0", 1, 0),
		newTopic("unknown-key", 1, 1, "retention.dayz=3"),
		newTopic("bad-value", 1, 1, "retention.ms=-2"),
		newTopic("conflict", 1, 1, "min.compaction.lag.ms=10", "max.compaction.lag.ms=5"),
		bad,
		newTopic("dup", 1, 1), newTopic("dup", 2, 1),
		newTopic("__cluster_metadata", 1, 1),
	)).(*kmsg.CreateTopicsResponse)
	want := []struct {
		name string
		code int16
		msg  string
	}{
		{"defaults", 0, "<nil>"},
		{"orders", kerr.TopicAlreadyExists.Code, "Topic 'orders' already exists."},
		{"rf2", kerr.InvalidReplicationFactor.Code, "Unable to replicate the partition 2 time(s): The target " +
			"replication factor of 2 cannot be reached because only 1 broker(s) are registered."},
		{"zero", kerr.InvalidPartitions.Code, "Number of partitions was set to an invalid non-positive value."},
		{"rf0", kerr.InvalidReplicationFactor.Code, "Replication factor must be larger than 0, or -1 to use the default value."},
		{"unknown-key", kerr.InvalidConfig.Code, "Unknown topic config name: retention.dayz"},
		{"bad-value", kerr.InvalidConfig.Code, "Invalid value -2 for configuration retention.ms: Value must be at least -1"},
		{"conflict", kerr.InvalidConfig.Code, "conflict topic config setting min.compaction.lag.ms (10) > max.compaction.lag.ms (5)"},
		{"b", kerr.InvalidConfig.Code, "Null value not supported for topic configs: retention.ms"},
		{"__cluster_metadata", kerr.InvalidRequest.Code, "Creation of internal topic __cluster_metadata is prohibited."},
		{"dup", kerr.InvalidRequest.Code, "Duplicate topic name."},
	}
	if len(resp.Topics) != len(want) {
		t.Fatalf("%d results: %+v", len(resp.Topics), resp.Topics)
	}
	for i, w := range want {
		got := resp.Topics[i]
		if got.Topic != w.name || got.ErrorCode != w.code || msgOf(got.ErrorMessage) != w.msg {
			t.Errorf("result %d: %s %d %q, want %s %d %q", i, got.Topic, got.ErrorCode, msgOf(got.ErrorMessage),
				w.name, w.code, w.msg)
		}
	}
	if tp, _ := b.image.Load().Topic("defaults"); tp == nil || len(tp.Partitions) != 3 {
		t.Errorf("num.partitions not applied: %+v", tp)
	}

	// Validate-only creates nothing and gives no id.
	resp = roundTrip(t, b, createReq(7, true, newTopic("dry", 2, 1))).(*kmsg.CreateTopicsResponse)
	if r := resp.Topics[0]; r.ErrorCode != 0 || r.TopicID != [16]byte{} || r.NumPartitions != 2 {
		t.Errorf("validate-only: %+v", r)
	}
	if _, ok := b.image.Load().Topic("dry"); ok || b.lookupPartition("dry", 0) != nil {
		t.Errorf("validate-only created the topic")
	}
	if _, err := os.Stat(filepath.Join(b.cfg.LogDirs[0], "dry-0")); err == nil {
		t.Errorf("validate-only created a log")
	}
}

// Every version creates; responses decode at their version.
func TestCreateTopicsEveryVersion(t *testing.T) {
	b := newTopicBroker(t)
	for v := int16(0); v <= 7; v++ {
		name := "v" + itoa(int32(v))
		resp := roundTrip(t, b, createReq(v, false, newTopic(name, 2, 1))).(*kmsg.CreateTopicsResponse)
		if len(resp.Topics) != 1 || resp.Topics[0].ErrorCode != 0 || resp.Topics[0].Topic != name {
			t.Fatalf("v%d: %+v", v, resp.Topics)
		}
		if tp, ok := b.image.Load().Topic(name); !ok || len(tp.Partitions) != 2 {
			t.Errorf("v%d: not created", v)
		}
	}
}

func TestTopicNameRules(t *testing.T) {
	long := strings.Repeat("x", 249)
	tests := []struct {
		name string
		msg  string // "" when legal
	}{
		{"", "Topic name is invalid: the empty string is not allowed"},
		{".", "Topic name is invalid: '.' is not allowed"},
		{"..", "Topic name is invalid: '..' is not allowed"},
		{long, ""},
		{long + "x", "Topic name is invalid: the length of '" + long + "x' is longer than the max allowed length 249"},
		{"a/b", "Topic name is invalid: 'a/b' contains one or more characters other than ASCII alphanumerics, '.', '_' and '-'"},
		{"a b", "Topic name is invalid: 'a b' contains one or more characters other than ASCII alphanumerics, '.', '_' and '-'"},
		{"ü", "Topic name is invalid: 'ü' contains one or more characters other than ASCII alphanumerics, '.', '_' and '-'"},
		{"...", ""},
		{"Az09._-", ""},
	}
	b := newTopicBroker(t)
	for _, tt := range tests {
		if got := controller.TopicNameError(tt.name); got != tt.msg {
			t.Errorf("%q: %q, want %q", tt.name, got, tt.msg)
		}
		if tt.msg == "" {
			continue
		}
		resp := roundTrip(t, b, createReq(7, false, newTopic(tt.name, 1, 1))).(*kmsg.CreateTopicsResponse)
		if r := resp.Topics[0]; r.ErrorCode != kerr.InvalidTopicException.Code || msgOf(r.ErrorMessage) != tt.msg {
			t.Errorf("create %q: %d %q", tt.name, r.ErrorCode, msgOf(r.ErrorMessage))
		}
	}
	// '.' and '_' collide, with an existing topic and within a request.
	createTopic(t, b, "metrics.cpu", 1)
	resp := roundTrip(t, b, createReq(7, false, newTopic("metrics_cpu", 1, 1),
		newTopic("a.b", 1, 1), newTopic("a_b", 1, 1))).(*kmsg.CreateTopicsResponse)
	wantMsg := []string{"Topic 'metrics_cpu' collides with existing topic: metrics.cpu", "<nil>",
		"Topic 'a_b' collides with existing topic: a.b"}
	for i, r := range resp.Topics {
		code := kerr.InvalidTopicException.Code
		if i == 1 {
			code = 0
		}
		if r.ErrorCode != code || msgOf(r.ErrorMessage) != wantMsg[i] {
			t.Errorf("%s: %d %q", r.Topic, r.ErrorCode, msgOf(r.ErrorMessage))
		}
	}
}

func TestCreateTopicsAssignments(t *testing.T) {
	b := newTopicBroker(t)
	assigned := func(name string, parts map[int32][]int32, order ...int32) kmsg.CreateTopicsRequestTopic {
		rt := newTopic(name, -1, -1)
		for _, p := range order {
			rt.ReplicaAssignment = append(rt.ReplicaAssignment,
				kmsg.CreateTopicsRequestTopicReplicaAssignment{Partition: p, Replicas: parts[p]})
		}
		return rt
	}
	ok := map[int32][]int32{0: {1}, 1: {1}}
	withRF := assigned("with-rf", ok, 1, 0)
	withRF.ReplicationFactor = 1
	resp := roundTrip(t, b, createReq(7, false,
		assigned("ok", ok, 1, 0),
		withRF,
		assigned("gap", map[int32][]int32{0: {1}, 2: {1}}, 0, 2),
		assigned("twice", ok, 0, 0),
		assigned("unknown-broker", map[int32][]int32{0: {2}}, 0),
		assigned("same-broker", map[int32][]int32{0: {1, 1}}, 0),
		assigned("empty", map[int32][]int32{0: {}}, 0),
	)).(*kmsg.CreateTopicsResponse)
	want := map[string]string{
		"ok":             "",
		"with-rf":        "A manual partition assignment was specified, but replication factor was not set to -1.",
		"gap":            "partitions should be a consecutive 0-based integer sequence",
		"twice":          "Found multiple manual partition assignments for partition 0",
		"unknown-broker": "The manual partition assignment includes broker 2, but no such broker is registered.",
		"same-broker":    "The manual partition assignment includes the broker 1 more than once.",
		"empty":          "The manual partition assignment includes an empty replica list.",
	}
	for _, r := range resp.Topics {
		w := want[r.Topic]
		if (w == "") != (r.ErrorCode == 0) || (w != "" && msgOf(r.ErrorMessage) != w) {
			t.Errorf("%s: %d %q, want %q", r.Topic, r.ErrorCode, msgOf(r.ErrorMessage), w)
		}
	}
	if tp, _ := b.image.Load().Topic("ok"); tp == nil || len(tp.Partitions) != 2 {
		t.Errorf("assigned topic %+v", tp)
	}
}

func deleteReq(v int16, names ...string) *kmsg.DeleteTopicsRequest {
	req := kmsg.NewPtrDeleteTopicsRequest()
	req.Version = v
	if v < 6 {
		req.TopicNames = names
	} else {
		for _, n := range names {
			req.Topics = append(req.Topics, kmsg.DeleteTopicsRequestTopic{Topic: kmsg.StringPtr(n)})
		}
	}
	return req
}

func TestDeleteTopics(t *testing.T) {
	b := newTopicBroker(t)
	for v := int16(0); v <= 6; v++ {
		name := "del" + itoa(int32(v))
		createTopic(t, b, name, 2)
		dir := b.lookupPartition(name, 1).log.Dir()
		resp := roundTrip(t, b, deleteReq(v, name, "nope")).(*kmsg.DeleteTopicsResponse)
		if len(resp.Topics) != 2 || resp.Topics[0].ErrorCode != 0 || msgOf(resp.Topics[0].Topic) != name ||
			resp.Topics[1].ErrorCode != kerr.UnknownTopicOrPartition.Code {
			t.Fatalf("v%d: %+v", v, resp.Topics)
		}
		if _, ok := b.image.Load().Topic(name); ok || b.lookupPartition(name, 0) != nil {
			t.Errorf("v%d: still published", v)
		}
		if _, err := os.Stat(dir); !os.IsNotExist(err) {
			t.Errorf("v%d: log dir %s still there: %v", v, dir, err)
		}
	}
	// v6: by id; unknown ids, duplicates and malformed entries.
	id := createTopic(t, b, "by-id", 1).TopicID
	createTopic(t, b, "twice", 1)
	req := deleteReq(6)
	req.Topics = []kmsg.DeleteTopicsRequestTopic{
		{TopicID: id}, {TopicID: [16]byte{9}}, {}, {Topic: kmsg.StringPtr("twice"), TopicID: id},
		{Topic: kmsg.StringPtr("twice")}, {Topic: kmsg.StringPtr("twice")},
	}
	resp := roundTrip(t, b, req).(*kmsg.DeleteTopicsResponse)
	want := []struct {
		code int16
		msg  string
	}{
		{0, "<nil>"},
		{kerr.UnknownTopicID.Code, kerr.UnknownTopicID.Description},
		{kerr.InvalidRequest.Code, "Neither topic name nor id were specified."},
		{kerr.InvalidRequest.Code, "You may not specify both topic name and topic id."},
		{kerr.InvalidRequest.Code, "Duplicate topic name."},
	}
	if len(resp.Topics) != len(want) {
		t.Fatalf("%+v", resp.Topics)
	}
	for i, w := range want {
		if r := resp.Topics[i]; r.ErrorCode != w.code || msgOf(r.ErrorMessage) != w.msg {
			t.Errorf("entry %d: %d %q, want %d %q", i, r.ErrorCode, msgOf(r.ErrorMessage), w.code, w.msg)
		}
	}
	if resp.Topics[0].TopicID != id || msgOf(resp.Topics[0].Topic) != "by-id" {
		t.Errorf("by id: %+v", resp.Topics[0])
	}
	if _, ok := b.image.Load().Topic("twice"); !ok {
		t.Errorf("a duplicated name was deleted")
	}
	// A recreated topic gets a new id and empty logs.
	id2 := createTopic(t, b, "by-id", 1).TopicID
	if id2 == id {
		t.Errorf("recreated with the same id")
	}

	off := newTopicBroker(t, "delete.topic.enable=false")
	createTopic(t, off, "keep", 1)
	for _, v := range []int16{2, 3} {
		r := roundTrip(t, off, deleteReq(v, "keep")).(*kmsg.DeleteTopicsResponse).Topics[0]
		want := kerr.TopicDeletionDisabled.Code
		if v < 3 {
			want = kerr.InvalidRequest.Code
		}
		if r.ErrorCode != want {
			t.Errorf("disabled v%d: %d", v, r.ErrorCode)
		}
	}
}

func createPartitionsReq(validateOnly bool, topic string, count int32, assignments ...[]int32) *kmsg.CreatePartitionsRequest {
	req := kmsg.NewPtrCreatePartitionsRequest()
	req.Version, req.ValidateOnly = 3, validateOnly
	rt := kmsg.NewCreatePartitionsRequestTopic()
	rt.Topic, rt.Count = topic, count
	for _, a := range assignments {
		rt.Assignment = append(rt.Assignment, kmsg.CreatePartitionsRequestTopicAssignment{Replicas: a})
	}
	req.Topics = append(req.Topics, rt)
	return req
}

func TestCreatePartitions(t *testing.T) {
	b := newTopicBroker(t)
	id := createTopic(t, b, "grow", 2, "retention.ms=5000").TopicID
	tests := []struct {
		req  *kmsg.CreatePartitionsRequest
		code int16
		msg  string
	}{
		{createPartitionsReq(true, "grow", 5), 0, "<nil>"},
		{createPartitionsReq(false, "grow", 2), kerr.InvalidPartitions.Code, "Topic already has 2 partition(s)."},
		{createPartitionsReq(false, "grow", 1), kerr.InvalidPartitions.Code,
			"The topic grow currently has 2 partition(s); 1 would not be an increase."},
		{createPartitionsReq(false, "nope", 3), kerr.UnknownTopicOrPartition.Code, "<nil>"},
		{createPartitionsReq(false, "grow", 4, []int32{1}), kerr.InvalidReplicaAssignment.Code,
			"Attempted to add 2 additional partition(s), but only 1 assignment(s) were specified."},
		{createPartitionsReq(false, "grow", 3, []int32{7}), kerr.InvalidReplicaAssignment.Code,
			"The manual partition assignment includes broker 7, but no such broker is registered."},
		{createPartitionsReq(false, "grow", 4), 0, "<nil>"},
		{createPartitionsReq(false, "grow", 5, []int32{1}), 0, "<nil>"},
	}
	for i, tt := range tests {
		r := roundTrip(t, b, tt.req).(*kmsg.CreatePartitionsResponse).Topics[0]
		if r.ErrorCode != tt.code || msgOf(r.ErrorMessage) != tt.msg {
			t.Errorf("case %d: %d %q, want %d %q", i, r.ErrorCode, msgOf(r.ErrorMessage), tt.code, tt.msg)
		}
		if i == 0 {
			if tp, _ := b.image.Load().Topic("grow"); len(tp.Partitions) != 2 {
				t.Errorf("validate-only grew the topic")
			}
		}
	}
	tp, _ := b.image.Load().Topic("grow")
	if len(tp.Partitions) != 5 {
		t.Fatalf("partitions %d", len(tp.Partitions))
	}
	for i := int32(2); i < 5; i++ {
		p := b.lookupPartition("grow", i)
		if p == nil || p.topicID != id || p.log.Config().RetentionMs != 5000 {
			t.Fatalf("new partition %d: %+v", i, p)
		}
		if got, _ := p.log.TopicID(); got != id {
			t.Errorf("partition %d: partition.metadata id %x", i, got)
		}
	}
	dup := createPartitionsReq(false, "grow", 9)
	dup.Topics = append(dup.Topics, dup.Topics[0])
	r := roundTrip(t, b, dup).(*kmsg.CreatePartitionsResponse)
	if len(r.Topics) != 1 || r.Topics[0].ErrorCode != kerr.InvalidRequest.Code || msgOf(r.Topics[0].ErrorMessage) != "Duplicate topic name." {
		t.Errorf("duplicate: %+v", r.Topics)
	}
}

// Topics, ids, partitions, configs (topic and broker) and logs survive a
// restart; a missing partition log is recreated empty, a stray log is
// renamed `-stray` and kept, an empty one of no known topic removed.
func TestTopicsPersistAcrossRestart(t *testing.T) {
	dir := t.TempDir()
	b := openBrokerAt(t, dir)
	id := createTopic(t, b, "keep", 3, "retention.ms=7000").TopicID
	createTopic(t, b, "gone", 1)
	roundTrip(t, b, deleteReq(6, "gone"))
	roundTrip(t, b, createPartitionsReq(false, "keep", 4))
	alter := kmsg.NewPtrIncrementalAlterConfigsRequest()
	alter.Resources = []kmsg.IncrementalAlterConfigsRequestResource{{ResourceType: kmsg.ConfigResourceTypeBroker,
		Configs: []kmsg.IncrementalAlterConfigsRequestResourceConfig{{Name: "log.retention.bytes", Value: kmsg.StringPtr("123456")}}}}
	if r := roundTrip(t, b, alter).(*kmsg.IncrementalAlterConfigsResponse); r.Resources[0].ErrorCode != 0 {
		t.Fatalf("alter: %+v", r.Resources)
	}
	if _, err := b.lookupPartition("keep", 0).log.Append(makeBatch(-1, -1, -1, "a", "b"), 0); err != nil {
		t.Fatal(err)
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	// While it is down: one partition's log goes, a stray log with data
	// appears, and an empty one (a create that a stop interrupted).
	os.RemoveAll(filepath.Join(dir, "keep-2"))
	for _, name := range []string{"stray", "empty"} {
		l, err := logstore.Open(filepath.Join(dir, name+"-0"), name, 0, logstore.DefaultConfig(),
			logstore.Options{Logger: discardLogger()}, logstore.OpenState{})
		if err != nil {
			t.Fatal(err)
		}
		if name == "stray" {
			if _, err := l.Append(makeBatch(-1, -1, -1, "kept"), 0); err != nil {
				t.Fatal(err)
			}
		}
		l.Close()
	}

	b = openBrokerAt(t, dir)
	defer b.Close()
	tp, ok := b.image.Load().Topic("keep")
	if !ok || tp.ID != id || len(tp.Partitions) != 4 || tp.Configs["retention.ms"] != "7000" {
		t.Fatalf("after restart: %+v", tp)
	}
	if _, ok := b.image.Load().Topic("gone"); ok {
		t.Errorf("deleted topic is back")
	}
	if got := b.image.Load().BrokerConfigs("")["log.retention.bytes"]; got != "123456" {
		t.Errorf("broker config %q", got)
	}
	for i := int32(0); i < 4; i++ {
		p := b.lookupPartition("keep", i)
		if p == nil {
			t.Fatalf("partition %d not hosted", i)
		}
		if got, _ := p.log.TopicID(); got != id || p.log.Config().RetentionMs != 7000 ||
			p.log.Config().RetentionBytes != 123456 {
			t.Errorf("partition %d: id %x config %+v", i, got, p.log.Config())
		}
	}
	if leo := b.lookupPartition("keep", 0).log.LogEndOffset(); leo != 2 {
		t.Errorf("data lost: log end %d", leo)
	}
	if _, err := os.Stat(filepath.Join(dir, "stray-0")); !os.IsNotExist(err) || b.lookupPartition("stray", 0) != nil {
		t.Errorf("stray log: %v, hosted %v", err, b.lookupPartition("stray", 0) != nil)
	}
	aside, _ := filepath.Glob(filepath.Join(dir, "stray-0.*-stray"))
	if len(aside) != 1 {
		t.Errorf("stray log set aside as %v", aside)
	}
	// Deleted: gone, or renamed `-delete` for the background remover.
	left, _ := filepath.Glob(filepath.Join(dir, "empty-0*"))
	left = slices.DeleteFunc(left, func(d string) bool { return strings.HasSuffix(d, "-delete") })
	if len(left) != 0 {
		t.Errorf("an empty log of no known topic was kept: %v", left)
	}
	// The stray's name can still be created, beside the kept stray.
	createTopic(t, b, "stray", 1)
	if got, _ := b.lookupPartition("stray", 0).log.TopicID(); got == [16]byte{} {
		t.Errorf("new topic of a stray's name has no id")
	}
}

func TestMetadataListsTopics(t *testing.T) {
	b := newTopicBroker(t)
	id := createTopic(t, b, "listed", 3).TopicID
	for v := int16(0); v <= 13; v++ {
		resp := roundTrip(t, b, metadataRequest(v)).(*kmsg.MetadataResponse)
		if len(resp.Topics) != 1 {
			t.Fatalf("v%d: topics %+v", v, resp.Topics)
		}
		rt := resp.Topics[0]
		if msgOf(rt.Topic) != "listed" || rt.ErrorCode != 0 || len(rt.Partitions) != 3 || (v >= 10 && rt.TopicID != id) {
			t.Errorf("v%d: %+v", v, rt)
		}
		for i, p := range rt.Partitions {
			if p.Partition != int32(i) || p.Leader != 1 || len(p.Replicas) != 1 || p.Replicas[0] != 1 ||
				len(p.ISR) != 1 || p.ErrorCode != 0 || (v >= 5 && len(p.OfflineReplicas) != 0) {
				t.Errorf("v%d partition %d: %+v", v, i, p)
			}
		}
	}
	req := metadataRequest(12)
	req.Topics = []kmsg.MetadataRequestTopic{{TopicID: id}}
	if rt := roundTrip(t, b, req).(*kmsg.MetadataResponse).Topics; len(rt) != 1 || msgOf(rt[0].Topic) != "listed" {
		t.Errorf("by id: %+v", rt)
	}
}

func TestMetadataAutoCreate(t *testing.T) {
	b := newTopicBroker(t, "num.partitions=2", "offsets.topic.num.partitions=3")
	req := metadataRequest(12, "auto", "bad/name", "__consumer_offsets")
	req.AllowAutoTopicCreation = true
	resp := roundTrip(t, b, req).(*kmsg.MetadataResponse)
	if len(resp.Topics) != 3 {
		t.Fatalf("%+v", resp.Topics)
	}
	// Kafka's KRaft answer to the request that auto-creates a topic:
	// UNKNOWN_TOPIC_OR_PARTITION, no id, no partitions.
	if rt := resp.Topics[0]; rt.ErrorCode != kerr.UnknownTopicOrPartition.Code || len(rt.Partitions) != 0 ||
		rt.TopicID != [16]byte{} || rt.IsInternal || msgOf(rt.Topic) != "auto" {
		t.Errorf("auto-created, first answer: %+v", rt)
	}
	if rt := resp.Topics[1]; rt.ErrorCode != kerr.InvalidTopicException.Code {
		t.Errorf("invalid name: %+v", rt)
	}
	if rt := resp.Topics[2]; rt.ErrorCode != kerr.UnknownTopicOrPartition.Code || !rt.IsInternal {
		t.Errorf("__consumer_offsets, first answer: %+v", rt)
	}
	// The next request finds the partitions; offsets.topic.replication.factor
	// is 3 by default, capped at the one broker.
	resp = roundTrip(t, b, req).(*kmsg.MetadataResponse)
	if rt := resp.Topics[0]; rt.ErrorCode != 0 || len(rt.Partitions) != 2 || rt.TopicID == [16]byte{} {
		t.Errorf("auto-created, second answer: %+v", rt)
	}
	if rt := resp.Topics[2]; rt.ErrorCode != 0 || !rt.IsInternal || len(rt.Partitions) != 3 ||
		len(rt.Partitions[0].Replicas) != 1 {
		t.Errorf("__consumer_offsets, second answer: %+v", rt)
	}
	// v4+ may refuse auto-creation.
	req = metadataRequest(12, "not-auto")
	if rt := roundTrip(t, b, req).(*kmsg.MetadataResponse).Topics[0]; rt.ErrorCode != kerr.UnknownTopicOrPartition.Code {
		t.Errorf("refused auto-creation: %+v", rt)
	}
	if _, ok := b.image.Load().Topic("not-auto"); ok {
		t.Errorf("not-auto was created")
	}

	b = newTopicBroker(t, "offsets.topic.replication.factor=1", "offsets.topic.num.partitions=3")
	rt := roundTrip(t, b, metadataRequest(1, "__consumer_offsets")).(*kmsg.MetadataResponse).Topics[0]
	if rt.ErrorCode != kerr.UnknownTopicOrPartition.Code || !rt.IsInternal || len(rt.Partitions) != 0 {
		t.Fatalf("__consumer_offsets, first answer: %+v", rt)
	}
	rt = roundTrip(t, b, metadataRequest(1, "__consumer_offsets")).(*kmsg.MetadataResponse).Topics[0]
	if rt.ErrorCode != 0 || !rt.IsInternal || len(rt.Partitions) != 3 {
		t.Fatalf("__consumer_offsets: %+v", rt)
	}
	if tc := b.topicConfig("__consumer_offsets"); tc.values.Text("cleanup.policy") != "compact" ||
		tc.values.Int("segment.bytes") != 1048576 { // offsets.topic.segment.bytes
		t.Errorf("__consumer_offsets configs: %s %d", tc.values.Text("cleanup.policy"), tc.values.Int("segment.bytes"))
	}
	off := newTopicBroker(t, "auto.create.topics.enable=false")
	if rt := roundTrip(t, off, metadataRequest(1, "x")).(*kmsg.MetadataResponse).Topics[0]; rt.ErrorCode != kerr.UnknownTopicOrPartition.Code {
		t.Errorf("auto-create disabled: %+v", rt)
	}
}

// A deleted topic read by a request that does not allow auto-creation
// stays deleted; one that allows it creates it anew (a new id).
func TestMetadataDeletedTopicNotRecreated(t *testing.T) {
	b := newTopicBroker(t)
	id := createTopic(t, b, "gone", 2).TopicID
	if rt := roundTrip(t, b, deleteReq(6, "gone")).(*kmsg.DeleteTopicsResponse).Topics; rt[0].ErrorCode != 0 {
		t.Fatalf("delete: %+v", rt)
	}
	for i := 0; i < 2; i++ {
		rt := roundTrip(t, b, metadataRequest(12, "gone")).(*kmsg.MetadataResponse).Topics[0]
		if rt.ErrorCode != kerr.UnknownTopicOrPartition.Code || len(rt.Partitions) != 0 {
			t.Fatalf("deleted topic, auto-create off: %+v", rt)
		}
	}
	if _, ok := b.image.Load().Topic("gone"); ok || b.lookupPartition("gone", 0) != nil {
		t.Fatalf("deleted topic re-created by a request that did not allow it")
	}
	req := metadataRequest(12, "gone")
	req.AllowAutoTopicCreation = true
	if rt := roundTrip(t, b, req).(*kmsg.MetadataResponse).Topics[0]; rt.ErrorCode != kerr.UnknownTopicOrPartition.Code {
		t.Fatalf("auto-create after delete, first answer: %+v", rt)
	}
	rt := roundTrip(t, b, req).(*kmsg.MetadataResponse).Topics[0]
	if rt.ErrorCode != 0 || len(rt.Partitions) != 1 || rt.TopicID == id {
		t.Fatalf("auto-create after delete, second answer: %+v", rt)
	}
}

// Past metadata.log.max.record.bytes.between.snapshots the metadata log
// is compacted into a snapshot; a restart rebuilds the same topics from it
// and the batches after it.
func TestMetadataSnapshotAcrossRestart(t *testing.T) {
	dir := t.TempDir()
	const small = "metadata.log.max.record.bytes.between.snapshots=2048"
	b := openBrokerAt(t, dir, small)
	ids := map[string][16]byte{}
	for i := 0; i < 12; i++ {
		name := "t" + itoa(int32(i))
		ids[name] = createTopic(t, b, name, 2, "retention.ms="+itoa(int32(1000+i))).TopicID
		if i%3 == 0 {
			roundTrip(t, b, deleteReq(6, name))
			delete(ids, name)
		}
	}
	snaps, _ := filepath.Glob(filepath.Join(dir, "__cluster_metadata-0", "*.checkpoint"))
	if len(snaps) != 1 {
		t.Fatalf("snapshots: %v", snaps)
	}
	st := b.ctl.proposer.(*controller.Local).LogState()
	if st.Size > 2048+1024 {
		t.Errorf("log not compacted: %d bytes", st.Size)
	}
	if segs, _ := filepath.Glob(filepath.Join(dir, "__cluster_metadata-0", "*.log")); len(segs) != 1 ||
		st.StartOffset != st.Snapshot.EndOffset {
		t.Errorf("segments %v, log start %d, snapshot %+v", segs, st.StartOffset, st.Snapshot)
	}
	before := withoutBrokers(b.image.Load().Records())
	b.Close()
	b = openBrokerAt(t, dir, small)
	defer b.Close()
	// The broker registers anew at each start; the rest is as it was.
	if after := withoutBrokers(b.image.Load().Records()); !reflect.DeepEqual(after, before) {
		t.Fatalf("image after restart differs:\n%v\n%v", after, before)
	}
	for name, id := range ids {
		if p := b.lookupPartition(name, 1); p == nil || p.topicID != id {
			t.Errorf("%s not hosted after restart", name)
		}
	}
}

// A log dir written by the Weir before metalog (JSON frames in
// metadata.records and metadata.snapshot) opens with its topics and
// configs, now kept in KRaft's format.
func TestMetadataMigratedFromOldFormat(t *testing.T) {
	dir := t.TempDir()
	meta := filepath.Join(dir, "__cluster_metadata-0")
	os.MkdirAll(meta, 0o755)
	for _, name := range []string{"metadata.records", "metadata.snapshot"} {
		data, err := os.ReadFile(filepath.Join("..", "logstore", "metalog", "testdata", "legacy", name))
		if err != nil {
			t.Fatal(err)
		}
		os.WriteFile(filepath.Join(meta, name), data, 0o644)
	}
	check := func(b *Broker) {
		t.Helper()
		im := b.image.Load()
		names := []string{}
		for _, tp := range im.Topics() {
			names = append(names, tp.Name)
		}
		orders, _ := im.Topic("orders")
		events, _ := im.Topic("events")
		if !reflect.DeepEqual(names, []string{"events", "orders"}) || len(orders.Partitions) != 2 ||
			len(orders.Configs) != 0 || events.Configs["cleanup.policy"] != "compact" ||
			im.BrokerConfigs("")["log.retention.ms"] != "86400000" || b.lookupPartition("orders", 1) == nil {
			t.Fatalf("topics %v, orders %+v, events %+v, broker %v", names, orders, events, im.BrokerConfigs(""))
		}
	}
	b := openBrokerAt(t, dir)
	check(b)
	b.Close()
	if _, err := os.Stat(filepath.Join(meta, "metadata.records")); !os.IsNotExist(err) {
		t.Errorf("old log left: %v", err)
	}
	b = openBrokerAt(t, dir)
	defer b.Close()
	check(b)
}

// withoutBrokers are recs without the broker registrations.
func withoutBrokers(recs []metadata.Record) []metadata.Record {
	var out []metadata.Record
	for _, r := range recs {
		if _, ok := r.(metadata.RegisterBrokerRecord); !ok {
			out = append(out, r)
		}
	}
	return out
}
