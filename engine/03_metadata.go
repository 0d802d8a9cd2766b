package engine

import (
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/weirmq/weir/engine/controller"
	"github.com/weirmq/weir/engine/metadata"
)

// Metadata: v0-13
//
// Behavior:
// * Brokers: every registered broker that is not fenced (Kafka's alive
//   brokers) with an endpoint on the listener the request came in on,
//   with that endpoint's host and port, and its rack.
// * ControllerID: as KRaft does, a broker clients can send admin requests
//   to (a single node: itself). ClusterID from meta.properties.
// * Topics: v0 empty or v1+ null asks for all topics; v1+ empty for none.
//   Each topic with its id, internal flag (__consumer_offsets,
//   __transaction_state, __share_group_state) and partitions: leader,
//   leader epoch, replicas, ISR, offline replicas (not registered, fenced,
//   or without this listener). A partition whose leader is none (-1) or
//   not registered on this listener, or that this node leads but could not
//   create the log of, has leader -1 and LEADER_NOT_AVAILABLE, as in
//   Kafka. Whether this node hosts a partition led by another does not
//   matter.
// * An unknown name is auto-created when auto.create.topics.enable (true by
//   default) and the request allows it (always before v4): num.partitions
//   partitions, default.replication.factor replicas; __consumer_offsets and
//   __transaction_state with their offsets.topic.* / transaction.state.log.*
//   settings and compaction. The request that creates a topic is answered
//   as Kafka's KRaft brokers answer it (AutoTopicCreationManager forwards
//   the creation to the controller and answers at once): the topic with
//   UNKNOWN_TOPIC_OR_PARTITION, its internal flag, no id and no
//   partitions; clients ask again. Weir creates the topic before that
//   answer, so the next request finds its partitions. (Kafka's ZooKeeper
//   mode answered LEADER_NOT_AVAILABLE here; Kafka 4 has no such mode.)
//   A creation that fails answers its error (INVALID_REPLICATION_FACTOR,
//   ...), where Kafka only logs it. Otherwise an unknown name gets
//   UNKNOWN_TOPIC_OR_PARTITION, an invalid one INVALID_TOPIC_EXCEPTION, an
//   unknown id (v10+, name null) UNKNOWN_TOPIC_ID. A topic asked twice is
//   answered once.
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
	if names := b.autoCreatable(r.image, req); len(names) > 0 {
		go func() {
			codes := b.autoCreate(names)
			// The image as of the request: the topics just created are
			// answered with their codes, the others as they were.
			r.respond(b.metadataResponse(req, r.image, r.listener, codes))
		}()
		return nil, nil
	}
	return b.metadataResponse(req, r.image, r.listener, nil), nil
}

// autoCreatedCode is the topic error Kafka's KRaft brokers answer the
// Metadata request that starts a topic's auto-creation with.
var autoCreatedCode = kerr.UnknownTopicOrPartition.Code

// metadataResponse answers req from im; created holds the answer codes of
// the topics req auto-created (autoCreate), which im does not have.
func (b *Broker) metadataResponse(req *kmsg.MetadataRequest, im *metadata.Image, listener string,
	created map[string]int16) *kmsg.MetadataResponse {
	resp := req.ResponseKind().(*kmsg.MetadataResponse)
	for _, br := range im.Brokers() {
		ep, ok := br.Endpoints[listener]
		if !ok || br.Fenced {
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
			resp.Topics = append(resp.Topics, b.metadataTopic(im, listener, t))
		}
		return resp
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
				resp.Topics = append(resp.Topics, b.metadataTopic(im, listener, t))
			} else {
				st := missingTopic("", kerr.UnknownTopicID.Code)
				st.Topic, st.TopicID = nil, rt.TopicID
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
			resp.Topics = append(resp.Topics, b.metadataTopic(im, listener, t))
		} else if code, ok := created[name]; ok {
			resp.Topics = append(resp.Topics, missingTopic(name, code))
		} else if controller.TopicNameError(name) != "" {
			resp.Topics = append(resp.Topics, missingTopic(name, kerr.InvalidTopicException.Code))
		} else {
			resp.Topics = append(resp.Topics, missingTopic(name, kerr.UnknownTopicOrPartition.Code))
		}
	}
	return resp
}

// metadataTopic describes a topic of the image with its partitions.
func (b *Broker) metadataTopic(im *metadata.Image, listener string, t *metadata.Topic) kmsg.MetadataResponseTopic {
	st := kmsg.NewMetadataResponseTopic()
	st.Topic, st.TopicID, st.IsInternal = kmsg.StringPtr(t.Name), t.ID, t.Internal
	for i, p := range t.Partitions {
		sp := kmsg.NewMetadataResponseTopicPartition()
		sp.Partition, sp.Leader, sp.LeaderEpoch = int32(i), p.Leader, p.LeaderEpoch
		sp.Replicas, sp.ISR, sp.OfflineReplicas = p.Replicas, p.ISR, offlineReplicas(im, listener, p.Replicas)
		// This node knows only its own logs: a partition it leads without
		// one is not available; another leader's is as that leader says.
		if !reachable(im, listener, p.Leader) || p.Leader == b.nodeID && b.lookupPartition(t.Name, int32(i)) == nil {
			sp.ErrorCode, sp.Leader = kerr.LeaderNotAvailable.Code, -1
		}
		st.Partitions = append(st.Partitions, sp)
	}
	return st
}

// reachable says whether broker id is registered with an endpoint on
// listener (fenced or not, as Kafka's getAliveEndpoint): a partition led
// by another gets LEADER_NOT_AVAILABLE and leader -1, as in Kafka.
func reachable(im *metadata.Image, listener string, id int32) bool {
	br, ok := im.Broker(id)
	if !ok {
		return false
	}
	_, ok = br.Endpoints[listener]
	return ok
}

// offlineReplicas are the replicas not registered, fenced, or without an
// endpoint on listener (Kafka's getOfflineReplicas); never nil.
func offlineReplicas(im *metadata.Image, listener string, replicas []int32) []int32 {
	out := []int32{}
	for _, id := range replicas {
		br, ok := im.Broker(id)
		if !ok || br.Fenced {
			out = append(out, id)
		} else if _, ok := br.Endpoints[listener]; !ok {
			out = append(out, id)
		}
	}
	return out
}

func missingTopic(name string, code int16) kmsg.MetadataResponseTopic {
	st := kmsg.NewMetadataResponseTopic()
	st.Topic, st.ErrorCode, st.IsInternal = &name, code, metadata.IsInternal(name)
	return st
}

// autoCreatable are the names of req to create before answering: unknown,
// valid, and the request and the broker allow it.
func (b *Broker) autoCreatable(im *metadata.Image, req *kmsg.MetadataRequest) []string {
	if req.Topics == nil || (req.Version >= 4 && !req.AllowAutoTopicCreation) ||
		!b.brokerConfig().Bool("auto.create.topics.enable") {
		return nil
	}
	var names []string
	for _, rt := range req.Topics {
		if rt.Topic == nil || (req.Version >= 10 && rt.TopicID != [16]byte{}) {
			continue
		}
		name := *rt.Topic
		if _, ok := im.Topic(name); ok || controller.TopicNameError(name) != "" || name == controller.ClusterMetadataTopic {
			continue
		}
		names = append(names, name)
	}
	return names
}

// autoCreate creates topics as Kafka's AutoTopicCreationManager asks its
// controller to, each on its own, and returns the code to answer each
// with: autoCreatedCode, or the error of a creation that failed (a topic
// another request created meanwhile counts as created).
func (b *Broker) autoCreate(names []string) map[string]int16 {
	if b.forwards(19) {
		return b.autoCreateRemote(names)
	}
	codes := map[string]int16{}
	b.ctl.mu.Lock()
	defer b.ctl.mu.Unlock()
	broker := b.brokerConfig()
	for _, name := range names {
		codes[name] = autoCreatedCode
		im := b.image.Load()
		if _, ok := im.Topic(name); ok {
			continue
		}
		req := b.autoTopicRequest(name, broker, len(im.Brokers()))
		plan, e := controller.PlanTopic(im, broker, nil, req, [16]byte(NewUUID()))
		if e == nil {
			if err := b.createTopicsLocked([]*controller.TopicPlan{plan}); err != nil {
				e = b.commitErr(err)
			}
		}
		if e != nil {
			b.log.Warn("cannot auto-create topic", "topic", name, "error", kerr.ErrorForCode(e.Code), "message", e.Message())
			codes[name] = e.Code
		}
	}
	return codes
}
