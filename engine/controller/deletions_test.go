package controller

import (
	"reflect"
	"testing"

	"github.com/weirmq/weir/engine/metadata"
)

func TestResolveDeletions(t *testing.T) {
	recs := append(topicRecs("a", 1, []int32{1}), topicRecs("b", 2, []int32{1})...)
	im := cluster(t, 1, recs...)
	byName := func(n string) TopicRef { return TopicRef{Name: str(n)} }
	byID := func(id byte) TopicRef { return TopicRef{ID: [16]byte{id}} }
	tests := []struct {
		refs []TopicRef
		want []string // per answer: the topic deleted, or the refusal
	}{
		{[]TopicRef{byName("a"), byID(2)}, []string{"a", "b"}},
		{[]TopicRef{byName("x"), byID(9)}, []string{
			"UNKNOWN_TOPIC_OR_PARTITION: This server does not host this topic-partition.",
			"UNKNOWN_TOPIC_ID: This server does not host this topic ID."}},
		{[]TopicRef{byName("a"), byName("a"), byName("b")}, []string{"INVALID_REQUEST: Duplicate topic name.", "b"}},
		{[]TopicRef{byID(1), byID(1)}, []string{"INVALID_REQUEST: Duplicate topic id."}},
		{[]TopicRef{{}}, []string{"INVALID_REQUEST: Neither topic name nor id were specified."}},
		{[]TopicRef{{Name: str("a"), ID: [16]byte{1}}},
			[]string{"INVALID_REQUEST: You may not specify both topic name and topic id."}},
		{[]TopicRef{byName("a"), byID(1)}, []string{
			"INVALID_REQUEST: The provided topic name maps to an ID that was already supplied.",
			"INVALID_REQUEST: Duplicate topic id."}},
	}
	for _, tt := range tests {
		var got []string
		for _, d := range ResolveDeletions(im, tt.refs) {
			if d.Refusal != nil {
				got = append(got, refused(d.Refusal))
			} else {
				got = append(got, d.Topic.Name)
			}
		}
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%+v:\n%q\nwant\n%q", tt.refs, got, tt.want)
		}
	}
	a, _ := im.Topic("a")
	want := []metadata.Record{metadata.RemoveTopicRecord{ID: [16]byte{1}}}
	if got := RemoveRecords([]*metadata.Topic{a}); !reflect.DeepEqual(got, want) {
		t.Errorf("records %+v", got)
	}
}
