package engine

import (
	"regexp"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// ApiVersions: v0-5
//
// Behavior:
// * Lists exactly the APIs Weir serves on the listener the request came in
//   on, each with the versions it serves (BrokerRegistration and
//   BrokerHeartbeat only on controller listeners, DescribeTopicPartitions
//   only on broker listeners, as Kafka's specs say).
// * A version newer than v5 gets a v0 response with UNSUPPORTED_VERSION and
//   the API list, so the client retries with a version both know (KIP-511).
//   The response header is v0 for every version, so any client can read it.
// * v3+: ClientSoftwareName and ClientSoftwareVersion must match Kafka's
//   pattern, else INVALID_REQUEST.
// * v5: ClusterID and NodeID come together or not at all, else
//   INVALID_REQUEST; naming another cluster or node gets
//   REBOOTSTRAP_REQUIRED (KIP-1242).
// * No features are advertised (none finalized: epoch -1).
//
// Version notes:
// * v1: ThrottleMillis
// * v3: flexible; client software name and version; features (tagged)
// * v5: ClusterID, NodeID

const apiVersionsKey = 18

func init() {
	register(api{key: apiVersionsKey, min: 0, max: 5,
		handle: handleApiVersions, unsupported: apiVersionsUnsupported})
}

// Kafka's pattern for client software names and versions.
var softwareRE = regexp.MustCompile(`^[a-zA-Z0-9](?:[a-zA-Z0-9\-.]*[a-zA-Z0-9])?$`)

func handleApiVersions(_ *Broker, r *request) (kmsg.Response, error) {
	req := r.kreq.(*kmsg.ApiVersionsRequest)
	resp := req.ResponseKind().(*kmsg.ApiVersionsResponse)
	if req.Version >= 3 && (!softwareRE.MatchString(req.ClientSoftwareName) ||
		!softwareRE.MatchString(req.ClientSoftwareVersion)) {
		resp.ErrorCode = kerr.InvalidRequest.Code
		return resp, nil
	}
	if req.Version >= 5 && (req.ClusterID != nil || req.NodeID != -1) {
		if req.ClusterID == nil || req.NodeID == -1 {
			resp.ErrorCode = kerr.InvalidRequest.Code
			return resp, nil
		}
		if *req.ClusterID != r.image.ClusterID || req.NodeID != r.image.NodeID {
			resp.ErrorCode = kerr.RebootstrapRequired.Code
			return resp, nil
		}
	}
	resp.ApiKeys = servedAPIs(r.kind)
	return resp, nil
}

// apiVersionsUnsupported answers a version Weir does not serve in v0.
func apiVersionsUnsupported(_ *Broker, r *request) kmsg.Response {
	resp := kmsg.NewPtrApiVersionsResponse()
	resp.Version = 0
	resp.ErrorCode = kerr.UnsupportedVersion.Code
	resp.ApiKeys = servedAPIs(r.kind)
	return resp
}
