package controller

import (
	"testing"

	"github.com/weirmq/weir/engine/config"
	"github.com/weirmq/weir/engine/metadata"
)

// cluster is an image with brokers 1..n and the topics given.
func cluster(t *testing.T, n int, recs ...metadata.Record) *metadata.Image {
	t.Helper()
	var brokers []metadata.Broker
	for i := 1; i <= n; i++ {
		brokers = append(brokers, metadata.Broker{NodeID: int32(i)})
	}
	im, err := metadata.New("cluster", 1, 1, brokers, nil).Apply(recs...)
	if err != nil {
		t.Fatal(err)
	}
	return im
}

// brokerConfig is a broker's configuration with values over Kafka's
// defaults.
func brokerConfig(t *testing.T, kv ...string) *config.Config {
	t.Helper()
	values := map[string]string{}
	for i := 0; i+1 < len(kv); i += 2 {
		values[kv[i]] = kv[i+1]
	}
	c, err := config.New(config.Kafka).With(values, config.SourceFile)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// ids hands out ids 1, 2, ... in their first byte.
func ids() func() [16]byte {
	var n byte
	return func() [16]byte { n++; return [16]byte{n} }
}

// topicRecs are the records of a topic named name with id {id} and
// replicas by partition.
func topicRecs(name string, id byte, replicas ...[]int32) []metadata.Record {
	p := &TopicPlan{Name: name, ID: [16]byte{id}, Replicas: replicas}
	return p.Records()
}

func str(s string) *string { return &s }

// refused words a refusal for comparisons: "" for none.
func refused(r *Refusal) string {
	if r == nil {
		return ""
	}
	return kerrName(r.Code) + ": " + r.Message()
}
