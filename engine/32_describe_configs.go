package engine

import (
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/weirmq/weir/engine/controller"
)

// DescribeConfigs: v0-4
//
// Behavior:
// * Topics: every topic key (Kafka's names, types and defaults), or those
//   named, with the value in force and its source: DYNAMIC_TOPIC_CONFIG
//   when the topic sets it, else the source of the broker synonym that
//   gives it (DYNAMIC_BROKER_CONFIG, DYNAMIC_DEFAULT_BROKER_CONFIG,
//   STATIC_BROKER_CONFIG for server.properties and flags, DEFAULT_CONFIG).
//   Synonyms list the topic value then the broker keys' values, layer by
//   layer, as Kafka does (retention.ms <- log.retention.ms,
//   log.retention.minutes, log.retention.hours).
// * An invalid topic name gets INVALID_TOPIC_EXCEPTION, an unknown topic
//   UNKNOWN_TOPIC_OR_PARTITION.
// * Broker "<this node id>": every broker key with the value Weir runs with
//   (synonyms resolved: Kafka shows null for an unset key whose synonym is
//   set), read-only unless AlterConfigs may change it, passwords hidden.
//   Broker "": only the dynamic cluster-wide defaults. Another id gets
//   INVALID_REQUEST.
// * Other resource types (broker loggers, groups, client metrics) get
//   INVALID_REQUEST.
// * Documentation (v3+) is the key's one-line doc, when asked for.
//
// Version notes:
// * v1: IncludeSynonyms, Source, synonyms
// * v3: IncludeDocumentation, ConfigType, Documentation
// * v4: flexible

func init() { register(api{key: 32, min: 0, max: 4, handle: handleDescribeConfigs}) }

func handleDescribeConfigs(b *Broker, r *request) (kmsg.Response, error) {
	req := r.kreq.(*kmsg.DescribeConfigsRequest)
	resp := req.ResponseKind().(*kmsg.DescribeConfigsResponse)
	im, broker := r.image, b.brokerConfig()
	synonyms := req.Version >= 1 && req.IncludeSynonyms
	for _, rr := range req.Resources {
		res := kmsg.NewDescribeConfigsResponseResource()
		res.ResourceType, res.ResourceName = rr.ResourceType, rr.ResourceName
		var e *controller.Refusal
		switch rr.ResourceType {
		case kmsg.ConfigResourceTypeTopic:
			if msg := controller.TopicNameError(rr.ResourceName); msg != "" {
				e = controller.Refuse(kerr.InvalidTopicException, "%s", msg)
			} else if t, ok := im.Topic(rr.ResourceName); !ok {
				e = controller.RefuseCode(kerr.UnknownTopicOrPartition)
			} else {
				res.Configs = b.topicConfigEntries(im, broker, t, rr.ConfigNames, synonyms)
			}
		case kmsg.ConfigResourceTypeBroker:
			if rr.ResourceName == "" {
				res.Configs = b.brokerConfigEntries(im, broker, false, rr.ConfigNames, synonyms)
			} else if e = b.checkBrokerName(rr.ResourceName, true); e == nil {
				res.Configs = b.brokerConfigEntries(im, broker, true, rr.ConfigNames, synonyms)
			}
		default:
			e = controller.Refuse(kerr.InvalidRequest, "Unsupported resource type: %s", rr.ResourceType)
		}
		if e != nil {
			res.ErrorCode, res.ErrorMessage = e.Code, e.Msg
		}
		if !req.IncludeDocumentation {
			for i := range res.Configs {
				res.Configs[i].Documentation = nil
			}
		}
		resp.Resources = append(resp.Resources, res)
	}
	return resp, nil
}

// checkBrokerName checks a broker resource name is this node's id.
func (b *Broker) checkBrokerName(name string, describe bool) *controller.Refusal {
	return controller.CheckBrokerName(b.nodeID, name, describe)
}
