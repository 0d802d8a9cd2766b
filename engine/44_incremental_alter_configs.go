package engine

import (
	"github.com/twmb/franz-go/pkg/kmsg"
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
	alts := make([]alteration, len(req.Resources))
	for i, rr := range req.Resources {
		alts[i] = alteration{typ: rr.ResourceType, name: rr.ResourceName}
		for _, c := range rr.Configs {
			alts[i].ops = append(alts[i].ops, configOp{key: c.Name, op: c.Op, value: c.Value})
		}
	}
	go func() {
		resp := req.ResponseKind().(*kmsg.IncrementalAlterConfigsResponse)
		for i, e := range b.alterConfigs(alts, req.ValidateOnly) {
			res := kmsg.NewIncrementalAlterConfigsResponseResource()
			res.ResourceType, res.ResourceName = alts[i].typ, alts[i].name
			if e != nil {
				res.ErrorCode, res.ErrorMessage = e.code, e.msg
			}
			resp.Resources = append(resp.Resources, res)
		}
		r.respond(resp)
	}()
	return nil, nil
}
