package controller

import (
	"reflect"
	"testing"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/weirmq/weir/engine/metadata"
)

func TestPlanAlterations(t *testing.T) {
	recs := topicRecs("a", 1, []int32{1})
	recs = append(recs,
		metadata.ConfigRecord{ResourceType: metadata.ResourceTopic, ResourceName: "a", Name: "retention.ms", Value: str("1000")},
		metadata.ConfigRecord{ResourceType: metadata.ResourceTopic, ResourceName: "a", Name: "cleanup.policy", Value: str("delete")})
	im := cluster(t, 1, recs...)
	topic, broker := kmsg.ConfigResourceTypeTopic, kmsg.ConfigResourceTypeBroker
	set := func(k, v string) ConfigOp {
		return ConfigOp{Key: k, Op: kmsg.IncrementalAlterConfigOpSet, Value: str(v)}
	}
	del := func(k string) ConfigOp { return ConfigOp{Key: k, Op: kmsg.IncrementalAlterConfigOpDelete} }
	cfg := func(typ int8, name, k string, v *string) metadata.Record {
		return metadata.ConfigRecord{ResourceType: typ, ResourceName: name, Name: k, Value: v}
	}
	tests := []struct {
		name    string
		alt     Alteration
		recs    []metadata.Record
		refusal string
	}{
		{"set and delete", Alteration{Type: topic, Name: "a", Ops: []ConfigOp{set("retention.ms", "2000"), del("cleanup.policy")}},
			[]metadata.Record{cfg(metadata.ResourceTopic, "a", "retention.ms", str("2000")),
				cfg(metadata.ResourceTopic, "a", "cleanup.policy", nil)}, ""},
		{"legacy replaces the whole set", Alteration{Type: topic, Name: "a", Legacy: true, Ops: []ConfigOp{set("segment.ms", "5000")}},
			[]metadata.Record{cfg(metadata.ResourceTopic, "a", "segment.ms", str("5000")),
				cfg(metadata.ResourceTopic, "a", "cleanup.policy", nil), cfg(metadata.ResourceTopic, "a", "retention.ms", nil)}, ""},
		{"append to the own list", Alteration{Type: topic, Name: "a",
			Ops: []ConfigOp{{Key: "cleanup.policy", Op: kmsg.IncrementalAlterConfigOpAppend, Value: str("compact")}}},
			[]metadata.Record{cfg(metadata.ResourceTopic, "a", "cleanup.policy", str("delete,compact"))}, ""},
		{"append to a non-list", Alteration{Type: topic, Name: "a",
			Ops: []ConfigOp{{Key: "retention.ms", Op: kmsg.IncrementalAlterConfigOpAppend, Value: str("1")}}},
			nil, "INVALID_CONFIG: Can't APPEND to key retention.ms because its type is not LIST."},
		{"unknown key", Alteration{Type: topic, Name: "a", Ops: []ConfigOp{set("foo", "1")}},
			nil, "INVALID_CONFIG: Unknown topic config name: foo"},
		{"unknown topic", Alteration{Type: topic, Name: "x", Ops: []ConfigOp{set("retention.ms", "1")}},
			nil, "UNKNOWN_TOPIC_OR_PARTITION: The topic 'x' does not exist."},
		{"default topic", Alteration{Type: topic, Ops: []ConfigOp{set("retention.ms", "1")}},
			nil, "INVALID_REQUEST: Default topic resources are not allowed."},
		{"key twice", Alteration{Type: topic, Name: "a", Ops: []ConfigOp{set("retention.ms", "1"), set("retention.ms", "2")}},
			nil, "INVALID_REQUEST: Error due to duplicate config keys"},
		{"null value", Alteration{Type: topic, Name: "a", Ops: []ConfigOp{{Key: "retention.ms"}}},
			nil, "INVALID_REQUEST: Null value not supported for : retention.ms"},
		{"broker default", Alteration{Type: broker, Ops: []ConfigOp{set("log.retention.ms", "60000")}},
			[]metadata.Record{cfg(metadata.ResourceBroker, "", "log.retention.ms", str("60000"))}, ""},
		{"this broker", Alteration{Type: broker, Name: "1", Ops: []ConfigOp{set("log.retention.ms", "60000")}},
			[]metadata.Record{cfg(metadata.ResourceBroker, "1", "log.retention.ms", str("60000"))}, ""},
		{"another broker", Alteration{Type: broker, Name: "2", Ops: []ConfigOp{set("log.retention.ms", "1")}},
			nil, "INVALID_REQUEST: Unexpected broker id, expected 1, but received 2"},
		{"static broker key", Alteration{Type: broker, Ops: []ConfigOp{set("num.io.threads", "4")}},
			nil, "INVALID_REQUEST: Cannot update these configs dynamically: Set(num.io.threads)"},
		{"resource type", Alteration{Type: kmsg.ConfigResourceTypeBrokerLogger, Name: "1"},
			nil, "INVALID_REQUEST: Unknown resource type 8"},
	}
	for _, tt := range tests {
		recs, refusals, planned := PlanAlterations(im, brokerConfig(t), 1, []Alteration{tt.alt})
		if got := refused(refusals[0]); got != tt.refusal {
			t.Errorf("%s: refusal %q\nwant %q", tt.name, got, tt.refusal)
			continue
		}
		if !reflect.DeepEqual(recs, tt.recs) || (tt.refusal == "") != (len(planned) == 1) {
			t.Errorf("%s: records %+v, planned %v\nwant %+v", tt.name, recs, planned, tt.recs)
		}
		if _, err := im.Apply(recs...); err != nil {
			t.Errorf("%s: records do not apply: %v", tt.name, err)
		}
	}
}

// A resource named twice is refused both times; the others still plan.
func TestPlanAlterationsDuplicateResource(t *testing.T) {
	im := cluster(t, 1, topicRecs("a", 1, []int32{1})...)
	set := []ConfigOp{{Key: "retention.ms", Op: kmsg.IncrementalAlterConfigOpSet, Value: str("1")}}
	alts := []Alteration{{Type: kmsg.ConfigResourceTypeTopic, Name: "a", Ops: set},
		{Type: kmsg.ConfigResourceTypeBroker, Name: "", Ops: []ConfigOp{{Key: "log.retention.ms",
			Op: kmsg.IncrementalAlterConfigOpSet, Value: str("1")}}},
		{Type: kmsg.ConfigResourceTypeTopic, Name: "a", Ops: set}}
	recs, refusals, planned := PlanAlterations(im, brokerConfig(t), 1, alts)
	want := "INVALID_REQUEST: Each resource must appear at most once."
	if refused(refusals[0]) != want || refused(refusals[2]) != want || refusals[1] != nil ||
		!reflect.DeepEqual(planned, []int{1}) || len(recs) != 1 {
		t.Fatalf("refusals %v, planned %v, records %+v", refusals, planned, recs)
	}
}

func TestCheckBrokerName(t *testing.T) {
	tests := []struct {
		name     string
		describe bool
		want     string
	}{
		{"1", false, ""},
		{"x", false, "INVALID_REQUEST: Node id must be an integer, but it is: x"},
		{"x", true, "INVALID_REQUEST: Broker id must be an integer, but it is: x"},
		{"2", true, "INVALID_REQUEST: Unexpected broker id, expected 1 or empty string, but received 2"},
	}
	for _, tt := range tests {
		if got := refused(CheckBrokerName(1, tt.name, tt.describe)); got != tt.want {
			t.Errorf("%q: %q, want %q", tt.name, got, tt.want)
		}
	}
	// A cluster's active controller (-1): any broker id, still an integer.
	if got := refused(CheckBrokerName(-1, "2", false)); got != "" {
		t.Errorf("controller, broker 2: %q", got)
	}
	if got := refused(CheckBrokerName(-1, "x", false)); got == "" {
		t.Errorf("controller, broker x: accepted")
	}
}
