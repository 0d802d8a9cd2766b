package metadata

import (
	"cmp"
	"fmt"
	"maps"
	"slices"
	"sort"

	"github.com/weirmq/weir/logstore/metalog"
)

// Broker is one registered broker (KRaft's BrokerRegistration): where
// clients reach it, its epoch and incarnation, and its state.
type Broker struct {
	NodeID int32
	Rack   *string
	// Endpoints by listener name: a client is told the endpoints of the
	// listener its request came in on, as Kafka does.
	Endpoints map[string]Endpoint
	// Epoch is the broker epoch the controller gave this incarnation (the
	// metadata log offset of its registration); IncarnationID is the id
	// the broker process chose at start.
	Epoch         int64
	IncarnationID [16]byte
	// Fenced brokers lead nothing and are not told to clients (Metadata);
	// InControlledShutdown ones are leaving and get no new leadership.
	Fenced               bool
	InControlledShutdown bool
	Features             []metalog.BrokerFeature // as registered
	LogDirs              []metalog.UUID          // as registered (nil before v3)
	IsMigratingZkBroker  bool
}

// Endpoint is an advertised host and port, with the listener's security
// protocol id (0 PLAINTEXT).
type Endpoint struct {
	Host             string
	Port             int32
	SecurityProtocol int16
}

// Active says whether the broker may lead partitions: registered, not
// fenced and not in controlled shutdown (Kafka's isActive).
func (b *Broker) Active() bool { return !b.Fenced && !b.InControlledShutdown }

// Broker looks a broker up by node id.
func (im *Image) Broker(id int32) (*Broker, bool) {
	i, ok := slices.BinarySearchFunc(im.brokers, id, func(b Broker, id int32) int { return cmp.Compare(b.NodeID, id) })
	if !ok {
		return nil, false
	}
	return &im.brokers[i], true
}

// applyBroker applies the broker records. A change to a broker that is not
// registered with that epoch does not fit the image, as in Kafka's
// ClusterControlManager.
func (a *applier) applyBroker(r Record) error {
	switch r := r.(type) {
	case metalog.RegisterBrokerRecord:
		b := Broker{NodeID: r.BrokerID, Rack: r.Rack, Endpoints: map[string]Endpoint{}, Epoch: r.BrokerEpoch,
			IncarnationID: r.IncarnationID, Fenced: r.Fenced, InControlledShutdown: r.InControlledShutdown,
			Features: slices.Clone(r.Features), LogDirs: slices.Clone(r.LogDirs),
			IsMigratingZkBroker: r.IsMigratingZkBroker}
		for _, e := range r.EndPoints {
			b.Endpoints[e.Name] = Endpoint{Host: e.Host, Port: int32(e.Port), SecurityProtocol: e.SecurityProtocol}
		}
		a.putBroker(b)
	case metalog.UnregisterBrokerRecord:
		if _, err := a.registered(r.BrokerID, r.BrokerEpoch); err != nil {
			return err
		}
		a.im.brokers = slices.DeleteFunc(slices.Clone(a.im.brokers), func(b Broker) bool { return b.NodeID == r.BrokerID })
	case metalog.FenceBrokerRecord:
		return a.changeBroker(r.ID, r.Epoch, func(b *Broker) { b.Fenced = true })
	case metalog.UnfenceBrokerRecord:
		return a.changeBroker(r.ID, r.Epoch, func(b *Broker) { b.Fenced = false })
	case metalog.BrokerRegistrationChangeRecord:
		if r.Fenced < -1 || r.Fenced > 1 || r.InControlledShutdown < 0 || r.InControlledShutdown > 1 {
			return fmt.Errorf("broker %d: fenced %d, in controlled shutdown %d are not changes",
				r.BrokerID, r.Fenced, r.InControlledShutdown)
		}
		return a.changeBroker(r.BrokerID, r.BrokerEpoch, func(b *Broker) {
			switch r.Fenced {
			case metalog.FenceChange:
				b.Fenced = true
			case metalog.UnfenceChange:
				b.Fenced = false
			}
			if r.InControlledShutdown == metalog.ControlledShutdownIn {
				b.InControlledShutdown = true
			}
			if len(r.LogDirs) > 0 {
				b.LogDirs = slices.Clone(r.LogDirs)
			}
		})
	}
	return nil
}

// registered is the broker id registered with epoch, or an error.
func (a *applier) registered(id int32, epoch int64) (Broker, error) {
	b, ok := a.im.Broker(id)
	if !ok {
		return Broker{}, fmt.Errorf("broker %d is not registered", id)
	}
	if b.Epoch != epoch {
		return Broker{}, fmt.Errorf("broker %d is registered with epoch %d, not %d", id, b.Epoch, epoch)
	}
	return *b, nil
}

func (a *applier) changeBroker(id int32, epoch int64, change func(*Broker)) error {
	b, err := a.registered(id, epoch)
	if err != nil {
		return err
	}
	change(&b)
	a.putBroker(b)
	return nil
}

// putBroker puts b in place of its node id's registration, in a copy of
// the broker list (the old image shares the old list).
func (a *applier) putBroker(b Broker) {
	brokers := slices.Clone(a.im.brokers)
	i, found := slices.BinarySearchFunc(brokers, b.NodeID, func(x Broker, id int32) int { return cmp.Compare(x.NodeID, id) })
	if found {
		brokers[i] = b
	} else {
		brokers = slices.Insert(brokers, i, b)
	}
	a.im.brokers = brokers
}

// brokerRecords are the RegisterBrokerRecords that rebuild the brokers as
// they are (state included), by node id, endpoints by name: what Kafka's
// ClusterImage writes to a snapshot.
func (im *Image) brokerRecords() []Record {
	var out []Record
	for _, b := range im.brokers {
		r := metalog.RegisterBrokerRecord{BrokerID: b.NodeID, IsMigratingZkBroker: b.IsMigratingZkBroker,
			IncarnationID: b.IncarnationID, BrokerEpoch: b.Epoch, Features: b.Features, Rack: b.Rack,
			Fenced: b.Fenced, InControlledShutdown: b.InControlledShutdown, LogDirs: b.LogDirs}
		for _, name := range slices.Sorted(maps.Keys(b.Endpoints)) {
			e := b.Endpoints[name]
			r.EndPoints = append(r.EndPoints, metalog.BrokerEndpoint{Name: name, Host: e.Host,
				Port: uint16(e.Port), SecurityProtocol: e.SecurityProtocol})
		}
		out = append(out, r)
	}
	return out
}

// sortBrokers sorts brokers by node id and panics on a duplicate.
func sortBrokers(brokers []Broker) {
	sort.Slice(brokers, func(i, j int) bool { return brokers[i].NodeID < brokers[j].NodeID })
	for i := 1; i < len(brokers); i++ {
		if brokers[i].NodeID == brokers[i-1].NodeID {
			panic(fmt.Sprintf("metadata: broker %d listed twice", brokers[i].NodeID))
		}
	}
}
