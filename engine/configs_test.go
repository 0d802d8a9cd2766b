package engine

import (
	"fmt"
	"testing"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func describeReq(v int16, typ kmsg.ConfigResourceType, name string, keys ...string) *kmsg.DescribeConfigsRequest {
	req := kmsg.NewPtrDescribeConfigsRequest()
	req.Version, req.IncludeSynonyms, req.IncludeDocumentation = v, true, true
	req.Resources = []kmsg.DescribeConfigsRequestResource{{ResourceType: typ, ResourceName: name, ConfigNames: keys}}
	return req
}

// describe returns the one resource's entries by name.
func describe(t *testing.T, b *Broker, typ kmsg.ConfigResourceType, name string, keys ...string) (
	kmsg.DescribeConfigsResponseResource, map[string]kmsg.DescribeConfigsResponseResourceConfig) {
	t.Helper()
	res := roundTrip(t, b, describeReq(4, typ, name, keys...)).(*kmsg.DescribeConfigsResponse).Resources[0]
	m := map[string]kmsg.DescribeConfigsResponseResourceConfig{}
	for _, c := range res.Configs {
		m[c.Name] = c
	}
	return res, m
}

// synonyms renders an entry's synonyms as SOURCE:name=value, ...
func synonyms(c kmsg.DescribeConfigsResponseResourceConfig) string {
	s := ""
	for i, syn := range c.ConfigSynonyms {
		if i > 0 {
			s += ", "
		}
		s += fmt.Sprintf("%s:%s=%s", syn.Source, syn.Name, msgOf(syn.Value))
	}
	return s
}

func TestDescribeTopicConfigs(t *testing.T) {
	// segment.bytes comes from a flag (smallLogs): STATIC_BROKER_CONFIG.
	b := newTopicBroker(t, "log.retention.minutes=5")
	createTopic(t, b, "t", 1, "max.message.bytes=2000")
	incAlter(t, b, kmsg.ConfigResourceTypeBroker, "", "log.flush.interval.messages", kmsg.IncrementalAlterConfigOpSet, "10")
	incAlter(t, b, kmsg.ConfigResourceTypeBroker, "1", "log.flush.interval.messages", kmsg.IncrementalAlterConfigOpSet, "20")

	res, m := describe(t, b, kmsg.ConfigResourceTypeTopic, "t")
	if res.ErrorCode != 0 || len(m) < 30 {
		t.Fatalf("describe: %d %d entries", res.ErrorCode, len(m))
	}
	tests := []struct {
		key, value string
		source     kmsg.ConfigSource
		synonyms   string
	}{
		{"max.message.bytes", "2000", kmsg.ConfigSourceDynamicTopicConfig,
			"DYNAMIC_TOPIC_CONFIG:max.message.bytes=2000, DEFAULT_CONFIG:message.max.bytes=1048588"},
		{"retention.ms", "300000", kmsg.ConfigSourceStaticBrokerConfig,
			"STATIC_BROKER_CONFIG:log.retention.minutes=5, DEFAULT_CONFIG:log.retention.hours=168"},
		{"segment.bytes", "1048576", kmsg.ConfigSourceStaticBrokerConfig,
			"STATIC_BROKER_CONFIG:log.segment.bytes=1048576, DEFAULT_CONFIG:log.segment.bytes=1073741824"},
		{"flush.messages", "20", kmsg.ConfigSourceDynamicBrokerConfig,
			"DYNAMIC_BROKER_CONFIG:log.flush.interval.messages=20, " +
				"DYNAMIC_DEFAULT_BROKER_CONFIG:log.flush.interval.messages=10, " +
				"DEFAULT_CONFIG:log.flush.interval.messages=9223372036854775807"},
		{"cleanup.policy", "delete", kmsg.ConfigSourceDefaultConfig, "DEFAULT_CONFIG:log.cleanup.policy=delete"},
		{"remote.storage.enable", "false", kmsg.ConfigSourceDefaultConfig, ""},
		{"min.cleanable.dirty.ratio", "0.5", kmsg.ConfigSourceDefaultConfig,
			"DEFAULT_CONFIG:log.cleaner.min.cleanable.ratio=0.5"},
	}
	for _, tt := range tests {
		c, ok := m[tt.key]
		if !ok {
			t.Errorf("%s missing", tt.key)
			continue
		}
		if msgOf(c.Value) != tt.value || c.Source != tt.source || synonyms(c) != tt.synonyms || c.ReadOnly ||
			c.IsSensitive || c.Documentation == nil {
			t.Errorf("%s = %s from %s [%s], want %s from %s [%s]", tt.key, msgOf(c.Value), c.Source, synonyms(c),
				tt.value, tt.source, tt.synonyms)
		}
	}
	if m["retention.ms"].ConfigType != kmsg.ConfigTypeLong || m["cleanup.policy"].ConfigType != kmsg.ConfigTypeList {
		t.Errorf("config types %v %v", m["retention.ms"].ConfigType, m["cleanup.policy"].ConfigType)
	}
	// Named keys only; every version decodes.
	if _, m := describe(t, b, kmsg.ConfigResourceTypeTopic, "t", "retention.ms", "nope"); len(m) != 1 {
		t.Errorf("named keys: %v", m)
	}
	for v := int16(0); v <= 4; v++ {
		res := roundTrip(t, b, describeReq(v, kmsg.ConfigResourceTypeTopic, "t", "max.message.bytes")).(*kmsg.DescribeConfigsResponse)
		c := res.Resources[0].Configs[0]
		if msgOf(c.Value) != "2000" || (v >= 1 && c.Source != kmsg.ConfigSourceDynamicTopicConfig) || c.IsDefault {
			t.Errorf("v%d: %+v", v, c)
		}
	}
	for name, code := range map[string]int16{"nope": kerr.UnknownTopicOrPartition.Code, "a/b": kerr.InvalidTopicException.Code} {
		if res, _ := describe(t, b, kmsg.ConfigResourceTypeTopic, name); res.ErrorCode != code {
			t.Errorf("%s: %d", name, res.ErrorCode)
		}
	}
}

func TestDescribeBrokerConfigs(t *testing.T) {
	b := newTopicBroker(t)
	incAlter(t, b, kmsg.ConfigResourceTypeBroker, "", "log.retention.ms", kmsg.IncrementalAlterConfigOpSet, "99")
	res, m := describe(t, b, kmsg.ConfigResourceTypeBroker, "1")
	if res.ErrorCode != 0 || len(m) < 50 {
		t.Fatalf("%d, %d entries", res.ErrorCode, len(m))
	}
	if c := m["log.retention.ms"]; msgOf(c.Value) != "99" || c.Source != kmsg.ConfigSourceDynamicDefaultBrokerConfig || c.ReadOnly {
		t.Errorf("log.retention.ms: %+v %s", c, synonyms(c))
	}
	if c := m["log.segment.bytes"]; msgOf(c.Value) != "1048576" || c.Source != kmsg.ConfigSourceStaticBrokerConfig {
		t.Errorf("log.segment.bytes: %+v", c)
	}
	if c := m["node.id"]; msgOf(c.Value) != "1" || !c.ReadOnly || c.Source != kmsg.ConfigSourceStaticBrokerConfig {
		t.Errorf("node.id: %+v", c)
	}
	if c := m["num.io.threads"]; msgOf(c.Value) != "8" || c.Source != kmsg.ConfigSourceDefaultConfig {
		t.Errorf("num.io.threads: %+v", c)
	}
	// The cluster-wide resource lists only the dynamic defaults.
	if _, m := describe(t, b, kmsg.ConfigResourceTypeBroker, ""); len(m) != 1 || msgOf(m["log.retention.ms"].Value) != "99" {
		t.Errorf("cluster defaults: %+v", m)
	}
	for name, msg := range map[string]string{
		"2": "Unexpected broker id, expected 1 or empty string, but received 2",
		"x": "Broker id must be an integer, but it is: x",
	} {
		if res, _ := describe(t, b, kmsg.ConfigResourceTypeBroker, name); res.ErrorCode != kerr.InvalidRequest.Code ||
			msgOf(res.ErrorMessage) != msg {
			t.Errorf("broker %s: %d %q", name, res.ErrorCode, msgOf(res.ErrorMessage))
		}
	}
	if res, _ := describe(t, b, kmsg.ConfigResourceTypeBrokerLogger, "1"); res.ErrorCode != kerr.InvalidRequest.Code {
		t.Errorf("broker logger: %d", res.ErrorCode)
	}
}

// incAlter changes one key with IncrementalAlterConfigs and fails the
// test on an error.
func incAlter(t *testing.T, b *Broker, typ kmsg.ConfigResourceType, name, key string, op kmsg.IncrementalAlterConfigOp, value string) {
	t.Helper()
	r := incAlterRes(t, b, false, typ, name, op, key, value)
	if r.ErrorCode != 0 {
		t.Fatalf("alter %s %s %s %s: %d %s", name, op, key, value, r.ErrorCode, msgOf(r.ErrorMessage))
	}
}

// incAlterRes sends ops (op, key, value triples; value "<nil>" for null).
func incAlterRes(t *testing.T, b *Broker, validateOnly bool, typ kmsg.ConfigResourceType, name string,
	ops ...any) kmsg.IncrementalAlterConfigsResponseResource {
	t.Helper()
	req := kmsg.NewPtrIncrementalAlterConfigsRequest()
	req.Version, req.ValidateOnly = 1, validateOnly
	res := kmsg.IncrementalAlterConfigsRequestResource{ResourceType: typ, ResourceName: name}
	for i := 0; i+2 < len(ops); i += 3 {
		c := kmsg.IncrementalAlterConfigsRequestResourceConfig{Name: ops[i+1].(string), Op: ops[i].(kmsg.IncrementalAlterConfigOp)}
		if v := ops[i+2].(string); v != "<nil>" {
			c.Value = kmsg.StringPtr(v)
		}
		res.Configs = append(res.Configs, c)
	}
	req.Resources = append(req.Resources, res)
	return roundTrip(t, b, req).(*kmsg.IncrementalAlterConfigsResponse).Resources[0]
}

func TestIncrementalAlterConfigs(t *testing.T) {
	b := newTopicBroker(t)
	createTopic(t, b, "t", 2)
	const (
		set      = kmsg.IncrementalAlterConfigOpSet
		del      = kmsg.IncrementalAlterConfigOpDelete
		appendOp = kmsg.IncrementalAlterConfigOpAppend
		subtract = kmsg.IncrementalAlterConfigOpSubtract
	)
	topic := kmsg.ConfigResourceTypeTopic
	incAlter(t, b, topic, "t", "retention.ms", set, "4000")
	incAlter(t, b, topic, "t", "cleanup.policy", appendOp, "compact")
	if got := b.image.Load(); got != nil {
		tp, _ := got.Topic("t")
		if tp.Configs["retention.ms"] != "4000" || tp.Configs["cleanup.policy"] != "delete,compact" {
			t.Fatalf("own configs %v", tp.Configs)
		}
	}
	for i := int32(0); i < 2; i++ {
		if cfg := b.lookupPartition("t", i).log.Config(); cfg.RetentionMs != 4000 {
			t.Errorf("partition %d: retention.ms not applied: %+v", i, cfg)
		}
	}
	incAlter(t, b, topic, "t", "cleanup.policy", subtract, "delete")
	incAlter(t, b, topic, "t", "retention.ms", del, "<nil>")
	tp, _ := b.image.Load().Topic("t")
	if tp.Configs["cleanup.policy"] != "compact" || len(tp.Configs) != 1 {
		t.Errorf("after subtract and delete: %v", tp.Configs)
	}
	if cfg := b.lookupPartition("t", 0).log.Config(); cfg.RetentionMs != 604800000 {
		t.Errorf("retention.ms not back to the default: %d", cfg.RetentionMs)
	}

	// A dynamic broker default reaches the logs of topics that inherit it.
	incAlter(t, b, kmsg.ConfigResourceTypeBroker, "", "log.retention.ms", set, "123000")
	if cfg := b.lookupPartition("t", 1).log.Config(); cfg.RetentionMs != 123000 {
		t.Errorf("broker default not applied: %d", cfg.RetentionMs)
	}
	incAlter(t, b, kmsg.ConfigResourceTypeBroker, "1", "log.retention.ms", set, "456000")
	if cfg := b.lookupPartition("t", 1).log.Config(); cfg.RetentionMs != 456000 {
		t.Errorf("per-broker value not applied: %d", cfg.RetentionMs)
	}

	errs := []struct {
		name     string
		typ      kmsg.ConfigResourceType
		resource string
		ops      []any
		code     int16
		msg      string
	}{
		{"unknown key", topic, "t", []any{set, "retention.dayz", "1"}, kerr.InvalidConfig.Code,
			"Unknown topic config name: retention.dayz"},
		{"bad value", topic, "t", []any{set, "segment.ms", "0"}, kerr.InvalidConfig.Code,
			"Invalid value 0 for configuration segment.ms: Value must be at least 1"},
		{"not a list", topic, "t", []any{appendOp, "retention.ms", "5"}, kerr.InvalidConfig.Code,
			"Can't APPEND to key retention.ms because its type is not LIST."},
		{"null", topic, "t", []any{set, "retention.ms", "<nil>"}, kerr.InvalidRequest.Code,
			"Null value not supported for : retention.ms"},
		{"twice", topic, "t", []any{set, "retention.ms", "1", del, "retention.ms", "<nil>"},
			kerr.InvalidRequest.Code, "Error due to duplicate config keys"},
		{"unknown topic", topic, "nope", []any{set, "retention.ms", "1"}, kerr.UnknownTopicOrPartition.Code,
			"The topic 'nope' does not exist."},
		{"default topic", topic, "", []any{set, "retention.ms", "1"}, kerr.InvalidRequest.Code,
			"Default topic resources are not allowed."},
		{"read-only broker key", kmsg.ConfigResourceTypeBroker, "", []any{set, "log.retention.hours", "1"},
			kerr.InvalidRequest.Code, "Cannot update these configs dynamically: Set(log.retention.hours)"},
		{"unknown broker key", kmsg.ConfigResourceTypeBroker, "1", []any{set, "no.such", "1"},
			kerr.InvalidRequest.Code, "Cannot update these configs dynamically: Set(no.such)"},
		{"bad broker value", kmsg.ConfigResourceTypeBroker, "", []any{set, "log.segment.bytes", "x"},
			kerr.InvalidRequest.Code, "Invalid value x for configuration log.segment.bytes: Not a 32-bit integer"},
		{"other broker", kmsg.ConfigResourceTypeBroker, "2", []any{set, "log.retention.ms", "1"},
			kerr.InvalidRequest.Code, "Unexpected broker id, expected 1, but received 2"},
	}
	for _, tt := range errs {
		r := incAlterRes(t, b, false, tt.typ, tt.resource, tt.ops...)
		if r.ErrorCode != tt.code || msgOf(r.ErrorMessage) != tt.msg {
			t.Errorf("%s: %d %q, want %d %q", tt.name, r.ErrorCode, msgOf(r.ErrorMessage), tt.code, tt.msg)
		}
	}
	// Validate-only changes nothing.
	if r := incAlterRes(t, b, true, topic, "t", set, "retention.ms", "1"); r.ErrorCode != 0 {
		t.Fatalf("validate-only: %+v", r)
	}
	if tp, _ := b.image.Load().Topic("t"); tp.Configs["retention.ms"] != "" {
		t.Errorf("validate-only changed the topic: %v", tp.Configs)
	}
}

func TestAlterConfigsReplacesAll(t *testing.T) {
	b := newTopicBroker(t)
	createTopic(t, b, "t", 1, "retention.ms=1000", "segment.ms=50000")
	alter := func(validateOnly bool, typ kmsg.ConfigResourceType, name string, kv ...string) kmsg.AlterConfigsResponseResource {
		req := kmsg.NewPtrAlterConfigsRequest()
		req.Version, req.ValidateOnly = 2, validateOnly
		res := kmsg.AlterConfigsRequestResource{ResourceType: typ, ResourceName: name}
		for _, p := range kv {
			k, v, _ := cut(p)
			res.Configs = append(res.Configs, kmsg.AlterConfigsRequestResourceConfig{Name: k, Value: kmsg.StringPtr(v)})
		}
		req.Resources = []kmsg.AlterConfigsRequestResource{res}
		return roundTrip(t, b, req).(*kmsg.AlterConfigsResponse).Resources[0]
	}
	if r := alter(false, kmsg.ConfigResourceTypeTopic, "t", "retention.ms=2000"); r.ErrorCode != 0 {
		t.Fatalf("alter: %+v", r)
	}
	tp, _ := b.image.Load().Topic("t")
	if len(tp.Configs) != 1 || tp.Configs["retention.ms"] != "2000" {
		t.Errorf("configs %v: segment.ms should be gone", tp.Configs)
	}
	if cfg := b.lookupPartition("t", 0).log.Config(); cfg.RetentionMs != 2000 || cfg.SegmentMs != 604800000 {
		t.Errorf("log config %+v", cfg)
	}
	if r := alter(false, kmsg.ConfigResourceTypeTopic, "t", "cleanup.policy=shred"); r.ErrorCode != kerr.InvalidConfig.Code ||
		msgOf(r.ErrorMessage) != `Invalid value shred for configuration cleanup.policy: "shred" is not one of [compact, delete]` {
		t.Errorf("bad value: %d %q", r.ErrorCode, msgOf(r.ErrorMessage))
	}
	if r := alter(true, kmsg.ConfigResourceTypeBroker, "1", "message.max.bytes=5000"); r.ErrorCode != 0 {
		t.Errorf("validate-only broker: %+v", r)
	}
	if r := alter(false, kmsg.ConfigResourceTypeBroker, "1", "message.max.bytes=5000"); r.ErrorCode != 0 {
		t.Errorf("broker: %+v", r)
	}
	if cfg := b.lookupPartition("t", 0).log.Config(); cfg.MaxMessageBytes != 5000 {
		t.Errorf("message.max.bytes not applied: %+v", cfg)
	}
	// Every version decodes.
	for v := int16(0); v <= 2; v++ {
		req := kmsg.NewPtrAlterConfigsRequest()
		req.Version = v
		req.Resources = []kmsg.AlterConfigsRequestResource{{ResourceType: kmsg.ConfigResourceTypeTopic, ResourceName: "t"}}
		if r := roundTrip(t, b, req).(*kmsg.AlterConfigsResponse); r.Resources[0].ErrorCode != 0 {
			t.Errorf("v%d: %+v", v, r.Resources)
		}
	}
	// Twice the same resource.
	req := kmsg.NewPtrAlterConfigsRequest()
	res := kmsg.AlterConfigsRequestResource{ResourceType: kmsg.ConfigResourceTypeTopic, ResourceName: "t"}
	req.Resources = []kmsg.AlterConfigsRequestResource{res, res}
	for _, r := range roundTrip(t, b, req).(*kmsg.AlterConfigsResponse).Resources {
		if r.ErrorCode != kerr.InvalidRequest.Code || msgOf(r.ErrorMessage) != "Each resource must appear at most once." {
			t.Errorf("duplicate resource: %+v", r)
		}
	}
}

func TestDescribeCluster(t *testing.T) {
	b := newTestBroker(t, "broker.rack=r1")
	for v := int16(0); v <= 2; v++ {
		req := kmsg.NewPtrDescribeClusterRequest()
		req.Version = v
		resp := roundTrip(t, b, req).(*kmsg.DescribeClusterResponse)
		if resp.ErrorCode != 0 || resp.ClusterID != b.ClusterID() || resp.ControllerID != 1 || len(resp.Brokers) != 1 {
			t.Fatalf("v%d: %+v", v, resp)
		}
		br := resp.Brokers[0]
		if br.NodeID != 1 || br.Host != "127.0.0.1" || br.Port != 9092 || br.Rack == nil || *br.Rack != "r1" {
			t.Errorf("v%d: broker %+v", v, br)
		}
		if v >= 1 && resp.EndpointType != 1 {
			t.Errorf("v%d: endpoint type %d", v, resp.EndpointType)
		}
	}
	req := kmsg.NewPtrDescribeClusterRequest()
	req.Version, req.EndpointType = 1, 2
	resp := roundTrip(t, b, req).(*kmsg.DescribeClusterResponse)
	if resp.ErrorCode != kerr.MismatchedEndpointType.Code ||
		msgOf(resp.ErrorMessage) != "The request was sent to an endpoint of type BROKER, but we wanted an endpoint of type CONTROLLER" {
		t.Errorf("controllers asked of a broker listener: %d %q", resp.ErrorCode, msgOf(resp.ErrorMessage))
	}
	req.EndpointType = 7
	if resp := roundTrip(t, b, req).(*kmsg.DescribeClusterResponse); resp.ErrorCode != kerr.UnsupportedEndpointType.Code {
		t.Errorf("unknown endpoint type: %d", resp.ErrorCode)
	}
}

func TestDescribeLogDirs(t *testing.T) {
	b := newTopicBroker(t)
	createTopic(t, b, "a", 2)
	createTopic(t, b, "b", 1)
	if _, err := b.lookupPartition("a", 1).log.Append(makeBatch(-1, -1, -1, "x"), 0); err != nil {
		t.Fatal(err)
	}
	for v := int16(0); v <= 5; v++ {
		req := kmsg.NewPtrDescribeLogDirsRequest()
		req.Version = v
		resp := roundTrip(t, b, req).(*kmsg.DescribeLogDirsResponse)
		if len(resp.Dirs) != 1 {
			t.Fatalf("v%d: %+v", v, resp.Dirs)
		}
		d := resp.Dirs[0]
		if d.Dir != b.cfg.LogDirs[0] || d.ErrorCode != 0 || len(d.Topics) != 2 || d.Topics[0].Topic != "a" ||
			len(d.Topics[0].Partitions) != 2 || d.Topics[0].Partitions[1].Size == 0 || d.Topics[0].Partitions[0].Size != 0 {
			t.Errorf("v%d: %+v", v, d)
		}
		if v >= 4 && (d.TotalBytes <= 0 || d.UsableBytes <= 0 || d.UsableBytes > d.TotalBytes) {
			t.Errorf("v%d: total %d usable %d", v, d.TotalBytes, d.UsableBytes)
		}
	}
	req := kmsg.NewPtrDescribeLogDirsRequest()
	req.Topics = []kmsg.DescribeLogDirsRequestTopic{{Topic: "a", Partitions: []int32{1}}}
	d := roundTrip(t, b, req).(*kmsg.DescribeLogDirsResponse).Dirs[0]
	if len(d.Topics) != 1 || len(d.Topics[0].Partitions) != 1 || d.Topics[0].Partitions[0].Partition != 1 {
		t.Errorf("asked for a-1: %+v", d.Topics)
	}
}
