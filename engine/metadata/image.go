package metadata

import (
	"fmt"
	"sort"
)

// Image is one consistent view of the cluster. It is never modified after
// New returns it: build a new one instead.
type Image struct {
	ClusterID    string
	NodeID       int32 // this node
	ControllerID int32
	brokers      []Broker // by NodeID
	topics       map[string]*Topic
	topicsByID   map[[16]byte]*Topic
}

// Broker is one broker and where clients reach it.
type Broker struct {
	NodeID int32
	Rack   *string
	// Endpoints by listener name: a client is told the endpoints of the
	// listener its request came in on, as Kafka does.
	Endpoints map[string]Endpoint
}

// Endpoint is an advertised host and port.
type Endpoint struct {
	Host string
	Port int32
}

// Topic is a topic (none exist yet: topic creation comes with the
// controller).
type Topic struct {
	Name     string
	ID       [16]byte
	Internal bool
}

// New builds the Image of node nodeID; brokers are sorted by node id and
// must be unique.
func New(clusterID string, nodeID, controllerID int32, brokers []Broker, topics []Topic) *Image {
	im := &Image{
		ClusterID:    clusterID,
		NodeID:       nodeID,
		ControllerID: controllerID,
		brokers:      append([]Broker(nil), brokers...),
		topics:       map[string]*Topic{},
		topicsByID:   map[[16]byte]*Topic{},
	}
	sort.Slice(im.brokers, func(i, j int) bool { return im.brokers[i].NodeID < im.brokers[j].NodeID })
	for i := 1; i < len(im.brokers); i++ {
		if im.brokers[i].NodeID == im.brokers[i-1].NodeID {
			panic(fmt.Sprintf("metadata: broker %d listed twice", im.brokers[i].NodeID))
		}
	}
	for i := range topics {
		t := &topics[i]
		if _, dup := im.topics[t.Name]; dup {
			panic(fmt.Sprintf("metadata: topic %q listed twice", t.Name))
		}
		im.topics[t.Name] = t
		im.topicsByID[t.ID] = t
	}
	return im
}

// Brokers lists the brokers by node id; the slice must not be modified.
func (im *Image) Brokers() []Broker { return im.brokers }

// Topic looks a topic up by name.
func (im *Image) Topic(name string) (*Topic, bool) {
	t, ok := im.topics[name]
	return t, ok
}

// TopicByID looks a topic up by id.
func (im *Image) TopicByID(id [16]byte) (*Topic, bool) {
	t, ok := im.topicsByID[id]
	return t, ok
}

// Topics lists every topic, sorted by name.
func (im *Image) Topics() []*Topic {
	out := make([]*Topic, 0, len(im.topics))
	for _, t := range im.topics {
		out = append(out, t)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}
