package engine

import (
	"maps"
	"slices"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/weirmq/weir/engine/controller"
	"github.com/weirmq/weir/engine/metadata"
)

// CreateTopics: v0-7
//
// Behavior:
// * Runs on a control-plane goroutine: the partition logs are created,
//   then the change is written to the metadata log (fsynced) and the
//   topics published; the response comes after. A log that cannot be
//   made (a full disk) fails the change: KAFKA_STORAGE_ERROR, nothing
//   written, the logs made deleted.
// * Names follow Kafka's Topic.validate (1-249 of [a-zA-Z0-9._-], not "."
//   or ".."): INVALID_TOPIC_EXCEPTION with Kafka's message, also for a name
//   that differs from an existing topic's only in '.' vs '_' ("collides
//   with existing topic"); an existing name gets TOPIC_ALREADY_EXISTS.
// * NumPartitions and ReplicationFactor -1 take num.partitions and
//   default.replication.factor; a factor above the broker count (one) gets
//   INVALID_REPLICATION_FACTOR. Explicit assignments need both at -1 and
//   registered brokers, each once, the same count for every partition,
//   partitions 0..n-1 (INVALID_REPLICA_ASSIGNMENT otherwise).
// * Configs are topic keys with Kafka's names; an unknown key or bad value
//   gets INVALID_CONFIG, a null value too.
// * A name given twice gets INVALID_REQUEST ("Duplicate topic name."), as
//   does __cluster_metadata; both come after the other topics.
// * ValidateOnly checks everything and creates nothing (topic id zero).
// * The topics of one request are one change: all or none are written.
// * TimeoutMillis is not waited on: the change is done when it answers.
//
// Version notes:
// * v1: ValidateOnly, ErrorMessage
// * v2: ThrottleMillis
// * v4: -1 partitions / replication factor for the broker defaults
// * v5: flexible; NumPartitions, ReplicationFactor, Configs in the response
// * v7: TopicID

func init() { register(api{key: 19, min: 0, max: 7, handle: handleCreateTopics}) }

func handleCreateTopics(b *Broker, r *request) (kmsg.Response, error) {
	req := r.kreq.(*kmsg.CreateTopicsRequest)
	go func() { r.respond(b.createTopics(req)) }()
	return nil, nil
}

func (b *Broker) createTopics(req *kmsg.CreateTopicsRequest) *kmsg.CreateTopicsResponse {
	resp := req.ResponseKind().(*kmsg.CreateTopicsResponse)
	count := map[string]int{}
	for _, t := range req.Topics {
		count[t.Topic]++
	}
	var reqs []controller.TopicRequest
	for _, t := range req.Topics {
		if count[t.Topic] == 1 && t.Topic != controller.ClusterMetadataTopic {
			reqs = append(reqs, topicRequestOf(t))
		}
	}
	b.ctl.mu.Lock()
	defer b.ctl.mu.Unlock()
	newID := func() [16]byte { return [16]byte(NewUUID()) }
	plans, results := controller.PlanTopics(b.ctlImage(), b.brokerConfig(), reqs, newID)
	if !req.ValidateOnly && len(plans) > 0 {
		if err := b.createTopicsLocked(plans); err != nil {
			r := b.commitErr(err)
			for _, p := range plans {
				results[p.Name] = r
			}
			plans = nil
		}
	}
	byName := map[string]*controller.TopicPlan{}
	for _, p := range plans {
		byName[p.Name] = p
	}
	for _, t := range req.Topics {
		if count[t.Topic] > 1 || t.Topic == controller.ClusterMetadataTopic {
			continue
		}
		rt := kmsg.NewCreateTopicsResponseTopic()
		rt.Topic = t.Topic
		if e := results[t.Topic]; e != nil {
			rt.ErrorCode, rt.ErrorMessage = e.Code, e.Msg
		} else if p := byName[t.Topic]; p != nil {
			b.createdTopicResult(&rt, p, req.ValidateOnly)
		}
		resp.Topics = append(resp.Topics, rt)
	}
	for _, name := range slices.Sorted(maps.Keys(count)) {
		if n := count[name]; n > 1 || name == controller.ClusterMetadataTopic {
			rt := kmsg.NewCreateTopicsResponseTopic()
			rt.Topic, rt.ErrorCode = name, kerr.InvalidRequest.Code
			msg := "Duplicate topic name."
			if n == 1 {
				msg = "Creation of internal topic " + controller.ClusterMetadataTopic + " is prohibited."
			}
			rt.ErrorMessage = &msg
			resp.Topics = append(resp.Topics, rt)
		}
	}
	return resp
}

// topicRequestOf reads one topic of a CreateTopics request.
func topicRequestOf(t kmsg.CreateTopicsRequestTopic) controller.TopicRequest {
	tr := controller.TopicRequest{Name: t.Topic, Partitions: t.NumPartitions, Replication: t.ReplicationFactor,
		Assignments: map[int32][]int32{}, Configs: map[string]*string{}}
	for _, a := range t.ReplicaAssignment {
		tr.Order = append(tr.Order, a.Partition)
		tr.Assignments[a.Partition] = a.Replicas
	}
	for _, c := range t.Configs {
		tr.Configs[c.Name] = c.Value
	}
	return tr
}

// createdTopicResult fills a successful topic's answer: its id (none for a
// validation), and from v5 its partition count, replication factor and
// effective configs.
func (b *Broker) createdTopicResult(rt *kmsg.CreateTopicsResponseTopic, p *controller.TopicPlan, validateOnly bool) {
	if !validateOnly {
		rt.TopicID = p.ID
	}
	rt.NumPartitions = int32(len(p.Replicas))
	rt.ReplicationFactor = int16(len(p.Replicas[0]))
	im := b.image.Load()
	t := &metadata.Topic{Name: p.Name, Configs: p.Configs}
	for _, e := range b.topicConfigEntries(im, b.brokerConfigOf(im), t, nil, false) {
		c := kmsg.NewCreateTopicsResponseTopicConfig()
		c.Name, c.Value, c.ReadOnly, c.Source, c.IsSensitive = e.Name, e.Value, e.ReadOnly, int8(e.Source), e.IsSensitive
		rt.Configs = append(rt.Configs, c)
	}
}
