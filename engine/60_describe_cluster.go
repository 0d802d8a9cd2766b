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
// * Brokers are the registered ones (KIP-631) with an endpoint on the
//   listener; fenced ones only when v2's IncludeFencedBrokers asks, with
//   IsFenced (KIP-1073), as Kafka 4 does.
// * Controllers are the voters of controller.quorum.voters, each at its
//   host:port; a node with no quorum keys lists itself at its advertised
//   endpoint of that listener.
// * ClusterID from meta.properties; ControllerID is this node (a single
//   node is its own controller), -1 if it is not among those listed.
// * Authorized operations are not computed (Kafka's "not requested"
//   value).
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
	if asked == endpointControllers {
		resp.Brokers = b.controllers(r.listener)
	} else {
		for _, br := range im.Brokers() {
			ep, ok := br.Endpoints[r.listener]
			if !ok || br.Fenced && !req.IncludeFencedBrokers {
				continue
			}
			rb := kmsg.NewDescribeClusterResponseBroker()
			rb.NodeID, rb.Host, rb.Port, rb.Rack, rb.IsFenced = br.NodeID, ep.Host, ep.Port, br.Rack, br.Fenced
			resp.Brokers = append(resp.Brokers, rb)
		}
	}
	for _, rb := range resp.Brokers {
		if rb.NodeID == im.ControllerID {
			resp.ControllerID = im.ControllerID
		}
	}
	return resp, nil
}

// controllers are the quorum's voters as DescribeCluster lists them on
// controller listener: each voter at its configured host:port (this
// node's rack on its own entry), or, with no quorum keys, this node at its
// advertised endpoint of the listener.
func (b *Broker) controllers(listener string) []kmsg.DescribeClusterResponseBroker {
	var out []kmsg.DescribeClusterResponseBroker
	add := func(id int32, host string, port int32) {
		rb := kmsg.NewDescribeClusterResponseBroker()
		rb.NodeID, rb.Host, rb.Port = id, host, port
		if id == b.nodeID {
			rb.Rack = b.cfg.Rack
		}
		out = append(out, rb)
	}
	for _, v := range b.cfg.Voters {
		add(v.ID, v.Host, int32(v.Port))
	}
	if len(b.cfg.Voters) == 0 {
		if ep, ok := (*b.endpoints.Load())[listener]; ok {
			add(b.nodeID, ep.Host, ep.Port)
		}
	}
	return out
}
