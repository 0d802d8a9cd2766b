package engine

import (
	"reflect"
	"testing"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// wantAPIs is what ApiVersions must list: the handler table, checked
// against kmsg by TestApiVersionsMatchesTable. A function, not a package
// variable: variables are initialized before the handlers' init functions
// register them, and servedAPIs caches what it first sees.
func wantAPIs() []kmsg.ApiVersionsResponseApiKey { return servedAPIs(brokerListener) }

// TestServedAPIsIncludeTheDataPath: the APIs clients cannot work without.
func TestServedAPIsIncludeTheDataPath(t *testing.T) {
	for _, key := range []int16{0, 1, 3, 18, 22} {
		if lookupAPI(key) == nil {
			t.Errorf("%s (key %d) is not served", kmsg.NameForKey(key), key)
		}
	}
}

func TestApiVersionsEveryVersion(t *testing.T) {
	b := newTestBroker(t)
	for v := int16(0); v <= kmsg.NewPtrApiVersionsRequest().MaxVersion(); v++ {
		req := kmsg.NewPtrApiVersionsRequest()
		req.Version = v
		req.ClientSoftwareName, req.ClientSoftwareVersion = "weir-test", "1.0.0"
		resp := roundTrip(t, b, req).(*kmsg.ApiVersionsResponse)
		if resp.ErrorCode != 0 {
			t.Errorf("v%d: error %d", v, resp.ErrorCode)
		}
		if len(resp.ApiKeys) < 20 || !reflect.DeepEqual(resp.ApiKeys, wantAPIs()) {
			t.Errorf("v%d: api keys %+v, want %+v", v, resp.ApiKeys, wantAPIs())
		}
		if resp.FinalizedFeaturesEpoch != -1 || len(resp.SupportedFeatures) != 0 {
			t.Errorf("v%d: features %+v epoch %d", v, resp.SupportedFeatures, resp.FinalizedFeaturesEpoch)
		}
	}
}

// The advertised ranges are the handler table's, and every served max is
// one kmsg can encode.
func TestApiVersionsMatchesTable(t *testing.T) {
	if len(wantAPIs()) < 20 {
		t.Fatalf("%d APIs served", len(wantAPIs()))
	}
	for _, k := range append(wantAPIs(), servedAPIs(controllerListener)...) {
		a := lookupAPI(k.ApiKey)
		if a == nil || a.min != k.MinVersion || a.max != k.MaxVersion {
			t.Errorf("advertised %+v, table %+v", k, a)
		}
		if max := kmsg.RequestForKey(k.ApiKey).MaxVersion(); k.MaxVersion > max {
			t.Errorf("%s: serves up to v%d, kmsg knows only up to v%d", kmsg.NameForKey(k.ApiKey), k.MaxVersion, max)
		}
	}
}

// A version Weir does not know gets a v0 response (header v0 too) with
// UNSUPPORTED_VERSION and the API list, whatever the request's header.
func TestApiVersionsUnsupportedVersion(t *testing.T) {
	b := newTestBroker(t)
	for _, v := range []int16{6, 9, 127, -1} {
		req := &unknownVersionRequest{kmsg.NewPtrApiVersionsRequest()}
		req.Version = v
		c := newFakeConn()
		frame := kmsg.NewRequestFormatter().AppendRequest(nil, req, 77)
		if err := (&listenerHandler{b: b, name: "PLAINTEXT"}).ServeFrame(c, 0, frame[4:]); err != nil {
			t.Fatalf("v%d: %v", v, err)
		}
		resp := kmsg.NewPtrApiVersionsResponse() // v0
		if err := decodeResponse(c.responses[0], 77, req, resp); err != nil {
			t.Fatalf("v%d: %v", v, err)
		}
		if resp.ErrorCode != kerr.UnsupportedVersion.Code || !reflect.DeepEqual(resp.ApiKeys, wantAPIs()) {
			t.Errorf("v%d: %+v", v, resp)
		}
	}
}

// unknownVersionRequest writes an ApiVersions request of any version: the
// header of its version (v2 from v3 on) and a body kmsg can't encode, so
// garbage the broker must not decode.
type unknownVersionRequest struct{ *kmsg.ApiVersionsRequest }

func (r *unknownVersionRequest) AppendTo(dst []byte) []byte { return append(dst, 0xde, 0xad) }

func TestApiVersionsInvalidSoftware(t *testing.T) {
	b := newTestBroker(t)
	for _, name := range []string{"", "bad name", "-lead", "trail.", "ok"} {
		req := kmsg.NewPtrApiVersionsRequest()
		req.Version = 3
		req.ClientSoftwareName, req.ClientSoftwareVersion = name, "1.0"
		resp := roundTrip(t, b, req).(*kmsg.ApiVersionsResponse)
		want := kerr.InvalidRequest.Code
		if name == "ok" {
			want = 0
		}
		if resp.ErrorCode != want {
			t.Errorf("name %q: error %d, want %d", name, resp.ErrorCode, want)
		}
	}
}

func TestApiVersionsV5Identity(t *testing.T) {
	b := newTestBroker(t)
	cid := b.ClusterID()
	other := "AAAAAAAAAAAAAAAAAAAAAA"
	tests := []struct {
		name    string
		cluster *string
		node    int32
		want    int16
	}{
		{"bootstrapping", nil, -1, 0},
		{"this broker", &cid, 1, 0},
		{"other node", &cid, 2, kerr.RebootstrapRequired.Code},
		{"other cluster", &other, 1, kerr.RebootstrapRequired.Code},
		{"cluster only", &cid, -1, kerr.InvalidRequest.Code},
		{"node only", nil, 1, kerr.InvalidRequest.Code},
	}
	for _, tt := range tests {
		req := kmsg.NewPtrApiVersionsRequest()
		req.Version = 5
		req.ClientSoftwareName, req.ClientSoftwareVersion = "t", "1"
		req.ClusterID, req.NodeID = tt.cluster, tt.node
		resp := roundTrip(t, b, req).(*kmsg.ApiVersionsResponse)
		if resp.ErrorCode != tt.want {
			t.Errorf("%s: error %d, want %d", tt.name, resp.ErrorCode, tt.want)
		}
	}
}
