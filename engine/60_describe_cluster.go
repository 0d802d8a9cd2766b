package engine

import (
	"slices"
	"strconv"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// DescribeCluster: v0-2
//
// Behavior:
// * On a broker listener it describes brokers (EndpointType 1): every
//   broker with an endpoint on that listener, as Metadata does; on a
//   controller listener (controller.listener.names) it describes the
//   controllers (EndpointType 2). Asking a listener for the other kind gets
//   MISMATCHED_ENDPOINT_TYPE, an unknown kind UNSUPPORTED_ENDPOINT_TYPE
//   (INVALID_REQUEST in v0), with Kafka's messages.
// * ClusterID from meta.properties; ControllerID is this node (a single
//   node is its own controller), -1 if it is not among those listed.
// * No broker is fenced. Authorized operations are not computed (Kafka's
//   "not requested" value).
//
// Version notes:
// * v1: EndpointType
// * v2: IncludeFencedBrokers, IsFenced

func init() { register(api{key: 60, min: 0, max: 2, handle: handleDescribeCluster}) }

const (
	endpointBrokers     = 1
	endpointControllers = 2
)

var endpointNames = map[int8]string{endpointBrokers: "BROKER", endpointControllers: "CONTROLLER"}

func handleDescribeCluster(b *Broker, r *request) (kmsg.Response, error) {
	req := r.kreq.(*kmsg.DescribeClusterRequest)
	resp := req.ResponseKind().(*kmsg.DescribeClusterResponse)
	serves := int8(endpointBrokers)
	if slices.Contains(b.cfg.ControllerListeners, r.listener) {
		serves = endpointControllers
	}
	asked := req.EndpointType
	if req.Version == 0 {
		asked = endpointBrokers
	}
	fail := func(e *kerr.Error, msg string) (kmsg.Response, error) {
		if req.Version == 0 {
			e = kerr.InvalidRequest
		}
		resp.ErrorCode, resp.ErrorMessage = e.Code, &msg
		return resp, nil
	}
	if _, ok := endpointNames[asked]; !ok {
		return fail(kerr.UnsupportedEndpointType, "Unsupported endpoint type "+strconv.Itoa(int(asked)))
	}
	if asked != serves {
		return fail(kerr.MismatchedEndpointType, "The request was sent to an endpoint of type "+
			endpointNames[serves]+", but we wanted an endpoint of type "+endpointNames[asked])
	}
	im := r.image
	resp.EndpointType, resp.ClusterID, resp.ControllerID = asked, im.ClusterID, -1
	for _, br := range im.Brokers() {
		ep, ok := br.Endpoints[r.listener]
		if !ok {
			continue
		}
		rb := kmsg.NewDescribeClusterResponseBroker()
		rb.NodeID, rb.Host, rb.Port, rb.Rack = br.NodeID, ep.Host, ep.Port, br.Rack
		resp.Brokers = append(resp.Brokers, rb)
		if br.NodeID == im.ControllerID {
			resp.ControllerID = im.ControllerID
		}
	}
	return resp, nil
}
