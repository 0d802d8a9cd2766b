package engine

import (
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/weirmq/weir/engine/controller"
)

// AlterConfigs: v0-2
//
// Behavior:
// * Replaces a resource's whole set of dynamic values (keys left out are
//   deleted), as Kafka's legacy AlterConfigs does; runs on a control-plane
//   goroutine and answers once the change is in the metadata log.
// * Topics: unknown keys and bad values get INVALID_CONFIG with Kafka's
//   messages ("Unknown topic config name: x"), an unknown topic
//   UNKNOWN_TOPIC_OR_PARTITION, an invalid name INVALID_TOPIC_EXCEPTION.
//   A changed value applies to the topic's live logs at once.
// * Broker "" (cluster-wide default) or "<this node id>": only the broker
//   synonyms of topic keys may change (log.retention.ms, log.segment.bytes,
//   message.max.bytes, ...): they become the defaults of every topic that
//   does not set its own. Any other key gets INVALID_REQUEST ("Cannot
//   update these configs dynamically"), a bad value INVALID_REQUEST, as
//   Kafka answers broker changes. Kafka accepts unknown broker keys; Weir
//   refuses them the same way, since it cannot act on them.
// * A null value, a key twice, a resource twice get INVALID_REQUEST.
// * All valid resources of a request are written as one change;
//   ValidateOnly writes nothing.
//
// Version notes:
// * v1: ThrottleMillis semantics only
// * v2: flexible

func init() { register(api{key: 33, min: 0, max: 2, handle: handleAlterConfigs}) }

func handleAlterConfigs(b *Broker, r *request) (kmsg.Response, error) {
	req := r.kreq.(*kmsg.AlterConfigsRequest)
	alts := make([]controller.Alteration, len(req.Resources))
	for i, rr := range req.Resources {
		alts[i] = controller.Alteration{Type: rr.ResourceType, Name: rr.ResourceName, Legacy: true}
		for _, c := range rr.Configs {
			alts[i].Ops = append(alts[i].Ops, controller.ConfigOp{Key: c.Name, Op: kmsg.IncrementalAlterConfigOpSet, Value: c.Value})
		}
	}
	go func() {
		resp := req.ResponseKind().(*kmsg.AlterConfigsResponse)
		for i, e := range b.alterConfigs(alts, req.ValidateOnly) {
			res := kmsg.NewAlterConfigsResponseResource()
			res.ResourceType, res.ResourceName = alts[i].Type, alts[i].Name
			if e != nil {
				res.ErrorCode, res.ErrorMessage = e.Code, e.Msg
			}
			resp.Resources = append(resp.Resources, res)
		}
		r.respond(resp)
	}()
	return nil, nil
}
