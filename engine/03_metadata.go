package engine

import (
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// Metadata: v0-13
//
// Behavior:
// * Brokers: every broker with an endpoint on the listener the request
//   came in on, with that endpoint's host and port, and its rack.
// * ControllerID: as KRaft does, a broker clients can send admin requests
//   to (a single node: itself). ClusterID from meta.properties.
// * Topics: v0 empty or v1+ null asks for all topics; v1+ empty for none.
//   An unknown name gets UNKNOWN_TOPIC_OR_PARTITION and an unknown id
//   (v10+, name null) UNKNOWN_TOPIC_ID; a topic asked twice is answered
//   once. No topics exist yet, and none is auto-created.
// * Authorized operations are not computed (Kafka's "not requested" value).
//
// Version notes:
// * v1: ControllerID, IsInternal, Rack; null topics means all
// * v2: ClusterID
// * v3: ThrottleMillis
// * v4: AllowAutoTopicCreation
// * v5: OfflineReplicas
// * v7: LeaderEpoch
// * v8: authorized operations
// * v9: flexible
// * v10: TopicID
// * v13: top-level ErrorCode (KIP-1102)

func init() { register(api{key: 3, min: 0, max: 13, handle: handleMetadata}) }

func handleMetadata(b *Broker, r *request) (kmsg.Response, error) {
	req := r.kreq.(*kmsg.MetadataRequest)
	resp := req.ResponseKind().(*kmsg.MetadataResponse)
	im := r.image

	for _, br := range im.Brokers() {
		ep, ok := br.Endpoints[r.listener]
		if !ok {
			continue
		}
		rb := kmsg.NewMetadataResponseBroker()
		rb.NodeID, rb.Host, rb.Port, rb.Rack = br.NodeID, ep.Host, ep.Port, br.Rack
		resp.Brokers = append(resp.Brokers, rb)
	}
	resp.ClusterID = &im.ClusterID
	resp.ControllerID = im.ControllerID

	allTopics := req.Topics == nil || (req.Version == 0 && len(req.Topics) == 0)
	if allTopics {
		for _, t := range im.Topics() {
			resp.Topics = append(resp.Topics, metadataTopic(t.Name, t.ID, t.Internal, 0))
		}
		return resp, nil
	}
	seenNames := map[string]bool{}
	seenIDs := map[[16]byte]bool{}
	for _, rt := range req.Topics {
		if rt.Topic == nil || (req.Version >= 10 && rt.TopicID != [16]byte{}) {
			// A lookup by id.
			if seenIDs[rt.TopicID] {
				continue
			}
			seenIDs[rt.TopicID] = true
			if t, ok := im.TopicByID(rt.TopicID); ok {
				resp.Topics = append(resp.Topics, metadataTopic(t.Name, t.ID, t.Internal, 0))
			} else {
				st := metadataTopic("", rt.TopicID, false, kerr.UnknownTopicID.Code)
				st.Topic = nil
				resp.Topics = append(resp.Topics, st)
			}
			continue
		}
		name := *rt.Topic
		if seenNames[name] {
			continue
		}
		seenNames[name] = true
		if t, ok := im.Topic(name); ok {
			resp.Topics = append(resp.Topics, metadataTopic(t.Name, t.ID, t.Internal, 0))
		} else {
			resp.Topics = append(resp.Topics, metadataTopic(name, [16]byte{}, false,
				kerr.UnknownTopicOrPartition.Code))
		}
	}
	return resp, nil
}

// metadataTopic is one topic of the response (partitions come with topics).
func metadataTopic(name string, id [16]byte, internal bool, errCode int16) kmsg.MetadataResponseTopic {
	st := kmsg.NewMetadataResponseTopic()
	st.Topic = &name
	st.TopicID = id
	st.IsInternal = internal
	st.ErrorCode = errCode
	return st
}
