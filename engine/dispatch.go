package engine

import (
	"fmt"
	"sort"
	"sync"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// api is one Kafka API Weir serves. Each handler file registers its own in
// init, so adding an API is adding a file.
type api struct {
	key      int16
	min, max int16 // versions served
	// handle answers a request whose version is in [min, max]. It returns
	// the response, or nil and calls r.respond later itself; an error
	// closes the connection.
	handle func(b *Broker, r *request) (kmsg.Response, error)
	// unsupported, if set, answers a version outside [min, max] without
	// decoding the body (ApiVersions); otherwise such a request closes the
	// connection, as Kafka does.
	unsupported func(b *Broker, r *request) kmsg.Response
	// only, if set, is the one kind of listener the API is served on, as
	// the "listeners" of Kafka's message spec say: elsewhere it is not
	// listed by ApiVersions and a request closes the connection, as
	// Kafka's SocketServer does. The APIs Weir served before the cluster
	// work stay on every listener.
	only listenerKind
}

// listenerKind is a listener's kind: a broker listener or a controller
// listener (controller.listener.names).
type listenerKind int8

const (
	anyListener listenerKind = iota
	brokerListener
	controllerListener
)

// servedOn says whether a is served on a listener of kind k.
func (a *api) servedOn(k listenerKind) bool { return a.only == anyListener || a.only == k }

// apiKeysMax bounds the api keys; Kafka's stay far below it.
const apiKeysMax = 256

var apis [apiKeysMax]*api

// register adds a to the table; a bad registration panics with its values.
func register(a api) {
	if a.key < 0 || a.key >= apiKeysMax || apis[a.key] != nil {
		panic(fmt.Sprintf("engine: api key %d registered twice or out of range", a.key))
	}
	kreq := kmsg.RequestForKey(a.key)
	if kreq == nil || a.min < 0 || a.min > a.max || a.max > kreq.MaxVersion() || a.handle == nil {
		panic(fmt.Sprintf("engine: bad registration of api %d v%d-v%d (kmsg knows up to v%d)",
			a.key, a.min, a.max, kreq.MaxVersion()))
	}
	apis[a.key] = &a
}

func lookupAPI(key int16) *api {
	if key < 0 || key >= apiKeysMax {
		return nil
	}
	return apis[key]
}

// servedAPIs lists the APIs served on a kind of listener by key, built
// once per kind, for ApiVersions.
func servedAPIs(k listenerKind) []kmsg.ApiVersionsResponseApiKey { return servedByKind[k]() }

var servedByKind = map[listenerKind]func() []kmsg.ApiVersionsResponseApiKey{
	brokerListener:     sync.OnceValue(func() []kmsg.ApiVersionsResponseApiKey { return listAPIs(brokerListener) }),
	controllerListener: sync.OnceValue(func() []kmsg.ApiVersionsResponseApiKey { return listAPIs(controllerListener) }),
}

func listAPIs(kind listenerKind) []kmsg.ApiVersionsResponseApiKey {
	var out []kmsg.ApiVersionsResponseApiKey
	for _, a := range apis {
		if a != nil && a.servedOn(kind) {
			k := kmsg.NewApiVersionsResponseApiKey()
			k.ApiKey, k.MinVersion, k.MaxVersion = a.key, a.min, a.max
			out = append(out, k)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ApiKey < out[j].ApiKey })
	return out
}
