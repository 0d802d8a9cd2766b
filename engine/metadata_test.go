package engine

import (
	"testing"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func metadataRequest(v int16, topics ...string) *kmsg.MetadataRequest {
	req := kmsg.NewPtrMetadataRequest()
	req.Version = v
	for _, name := range topics {
		rt := kmsg.NewMetadataRequestTopic()
		rt.Topic = kmsg.StringPtr(name)
		req.Topics = append(req.Topics, rt)
	}
	return req
}

func TestMetadataEveryVersion(t *testing.T) {
	b := newTestBroker(t, "broker.rack=r1", "auto.create.topics.enable=false")
	for v := int16(0); v <= kmsg.NewPtrMetadataRequest().MaxVersion(); v++ {
		// All topics: null in v1+, empty in v0.
		resp := roundTrip(t, b, metadataRequest(v)).(*kmsg.MetadataResponse)
		if len(resp.Brokers) != 1 {
			t.Fatalf("v%d: brokers %+v", v, resp.Brokers)
		}
		br := resp.Brokers[0]
		if br.NodeID != 1 || br.Host != "127.0.0.1" || br.Port != 9092 {
			t.Errorf("v%d: broker %+v", v, br)
		}
		if v >= 1 && (br.Rack == nil || *br.Rack != "r1" || resp.ControllerID != 1) {
			t.Errorf("v%d: rack %v controller %d", v, br.Rack, resp.ControllerID)
		}
		if v >= 2 && (resp.ClusterID == nil || *resp.ClusterID != b.ClusterID()) {
			t.Errorf("v%d: cluster id %v, want %s", v, resp.ClusterID, b.ClusterID())
		}
		if len(resp.Topics) != 0 || resp.ErrorCode != 0 {
			t.Errorf("v%d: all topics: %+v error %d", v, resp.Topics, resp.ErrorCode)
		}

		// Named topics are unknown; a repeated one is answered once.
		resp = roundTrip(t, b, metadataRequest(v, "a", "b", "a")).(*kmsg.MetadataResponse)
		if len(resp.Topics) != 2 {
			t.Fatalf("v%d: topics %+v", v, resp.Topics)
		}
		for i, name := range []string{"a", "b"} {
			rt := resp.Topics[i]
			if rt.Topic == nil || *rt.Topic != name || rt.ErrorCode != kerr.UnknownTopicOrPartition.Code ||
				len(rt.Partitions) != 0 {
				t.Errorf("v%d: topic %d: %+v", v, i, rt)
			}
		}

		if v >= 1 { // an empty list asks for no topics
			req := metadataRequest(v)
			req.Topics = []kmsg.MetadataRequestTopic{}
			if resp := roundTrip(t, b, req).(*kmsg.MetadataResponse); len(resp.Topics) != 0 {
				t.Errorf("v%d: empty request got topics %+v", v, resp.Topics)
			}
		}
		if v >= 10 { // lookups by id
			req := metadataRequest(v)
			id := [16]byte{1, 2, 3}
			req.Topics = []kmsg.MetadataRequestTopic{{TopicID: id}, {TopicID: id}}
			resp := roundTrip(t, b, req).(*kmsg.MetadataResponse)
			if len(resp.Topics) != 1 || resp.Topics[0].ErrorCode != kerr.UnknownTopicID.Code ||
				resp.Topics[0].TopicID != id || !nullName(v, resp.Topics[0].Topic) {
				t.Errorf("v%d: by id: %+v", v, resp.Topics)
			}
		}
	}
}

// Brokers are described with the endpoint of the listener the request came
// in on.
func TestMetadataListenerEndpoints(t *testing.T) {
	b := newTestBroker(t,
		"listeners=INSIDE://127.0.0.1:9092,OUTSIDE://127.0.0.1:9093",
		"advertised.listeners=INSIDE://inside.example:9092,OUTSIDE://outside.example:19093",
		"listener.security.protocol.map=INSIDE:PLAINTEXT,OUTSIDE:PLAINTEXT")
	for listener, want := range map[string]string{"INSIDE": "inside.example:9092", "OUTSIDE": "outside.example:19093"} {
		r, err := tryRoundTrip(b, listener, metadataRequest(12))
		if err != nil {
			t.Fatal(err)
		}
		resp := r.(*kmsg.MetadataResponse)
		if len(resp.Brokers) != 1 || b.Advertised(listener) != want ||
			resp.Brokers[0].Host+":"+itoa(resp.Brokers[0].Port) != want {
			t.Errorf("%s: brokers %+v, want %s", listener, resp.Brokers, want)
		}
	}
}

func itoa(n int32) string {
	if n == 0 {
		return "0"
	}
	s := ""
	for ; n > 0; n /= 10 {
		s = string(rune('0'+n%10)) + s
	}
	return s
}

// nullName: a topic's name is null from v12, when it became nullable, and
// empty before.
func nullName(v int16, name *string) bool {
	if v >= 12 {
		return name == nil
	}
	return name != nil && *name == ""
}
