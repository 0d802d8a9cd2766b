package engine

import (
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/weirmq/weir/engine/controller"
)

// IncrementalAlterConfigs: v0-1
//
// Behavior:
// * Each key has an op: SET (value required), DELETE (back to the
//   inherited value), APPEND and SUBTRACT (list keys only, else
//   INVALID_CONFIG "Can't APPEND to key x because its type is not LIST.";
//   they start from the resource's own value, else the value in force).
// * Otherwise as AlterConfigs: the same resources, keys, validation,
//   errors and one change per request; keys not named keep their values.
//
// Version notes:
// * v1: flexible

func init() { register(api{key: 44, min: 0, max: 1, handle: handleIncrementalAlterConfigs}) }

func handleIncrementalAlterConfigs(b *Broker, r *request) (kmsg.Response, error) {
	req := r.kreq.(*kmsg.IncrementalAlterConfigsRequest)
	alts := make([]controller.Alteration, len(req.Resources))
	for i, rr := range req.Resources {
		alts[i] = controller.Alteration{Type: rr.ResourceType, Name: rr.ResourceName}
		for _, c := range rr.Configs {
			alts[i].Ops = append(alts[i].Ops, controller.ConfigOp{Key: c.Name, Op: c.Op, Value: c.Value})
		}
	}
	go func() {
		resp := req.ResponseKind().(*kmsg.IncrementalAlterConfigsResponse)
		for i, e := range b.alterConfigs(alts, req.ValidateOnly) {
			res := kmsg.NewIncrementalAlterConfigsResponseResource()
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
