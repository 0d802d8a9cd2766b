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
}

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

// servedAPIs lists the registered APIs by key, built once, for ApiVersions.
var servedAPIs = sync.OnceValue(func() []kmsg.ApiVersionsResponseApiKey {
	var out []kmsg.ApiVersionsResponseApiKey
	for _, a := range apis {
		if a != nil {
			k := kmsg.NewApiVersionsResponseApiKey()
			k.ApiKey, k.MinVersion, k.MaxVersion = a.key, a.min, a.max
			out = append(out, k)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ApiKey < out[j].ApiKey })
	return out
})
