package config

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

// combined is issue 14's node 1: both roles, a controller listener, three
// voters.
var combined = []string{"node.id=1", "process.roles=broker,controller",
	"listeners=PLAINTEXT://127.0.0.1:9092,CONTROLLER://127.0.0.1:9192",
	"advertised.listeners=PLAINTEXT://127.0.0.1:9092", "controller.listener.names=CONTROLLER",
	"listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
	"controller.quorum.voters=1@127.0.0.1:9192,2@127.0.0.1:9193,3@127.0.0.1:9194"}

// brokerOnly joins that quorum without being a voter.
var brokerOnly = []string{"node.id=4", "process.roles=broker", "listeners=PLAINTEXT://127.0.0.1:9095",
	"controller.listener.names=CONTROLLER",
	"controller.quorum.voters=1@127.0.0.1:9192,2@127.0.0.1:9193,3@127.0.0.1:9194"}

func with(base []string, kv ...string) []string { return append(append([]string{}, base...), kv...) }

func TestQuorumResolves(t *testing.T) {
	tests := []struct {
		name   string
		kv     []string
		voters []Voter
	}{
		{"no quorum keys: a single node", []string{"node.id=1"}, nil},
		{"combined voter", combined, []Voter{{1, "127.0.0.1", 9192}, {2, "127.0.0.1", 9193}, {3, "127.0.0.1", 9194}}},
		{"broker only", brokerOnly, []Voter{{1, "127.0.0.1", 9192}, {2, "127.0.0.1", 9193}, {3, "127.0.0.1", 9194}}},
		{"controller only", []string{"node.id=2", "process.roles=controller", "listeners=CONTROLLER://:9193",
			"controller.listener.names=CONTROLLER", "controller.quorum.voters=2@h2:9193"},
			[]Voter{{2, "h2", 9193}}},
		{"ipv6 voter", with(combined[:6], "controller.quorum.voters=1@[::1]:9192"), []Voter{{1, "::1", 9192}}},
		{"standalone bootstrap", []string{"node.id=1", "listeners=PLAINTEXT://:9092,CONTROLLER://:9093",
			"controller.listener.names=CONTROLLER", "controller.quorum.bootstrap.servers=localhost:9093"}, nil},
		{"standalone bootstrap by advertised host", []string{"node.id=1",
			"listeners=PLAINTEXT://10.0.0.1:9092,CONTROLLER://10.0.0.1:9093",
			"advertised.listeners=PLAINTEXT://kafka1:9092,CONTROLLER://kafka1:9093",
			"controller.listener.names=CONTROLLER", "controller.quorum.bootstrap.servers=kafka1:9093"}, nil},
	}
	for _, tt := range tests {
		r, err := set(t, tt.kv...).Resolve()
		if err != nil {
			t.Errorf("%s: %v", tt.name, err)
			continue
		}
		if !reflect.DeepEqual(r.Voters, tt.voters) {
			t.Errorf("%s: voters %+v, want %+v", tt.name, r.Voters, tt.voters)
		}
	}
	if v := (Voter{ID: 3, Host: "::1", Port: 9}); v.String() != "3@[::1]:9" {
		t.Errorf("voter text %s", v)
	}
}

// Bad combinations name the key and say what is wrong, as Kafka's
// KafkaConfig.validateValues does.
func TestQuorumErrors(t *testing.T) {
	tests := []struct {
		name string
		kv   []string
		key  string
		want string
	}{
		{"voter without id", with(combined, "controller.quorum.voters=127.0.0.1:9192"),
			"controller.quorum.voters", "{id}@{host}:{port}"},
		{"voter id not a number", with(combined, "controller.quorum.voters=one@h:1"),
			"controller.quorum.voters", `id "one"`},
		{"negative voter id", with(combined, "controller.quorum.voters=-1@h:1"),
			"controller.quorum.voters", "node id >= 0"},
		{"voter without port", with(combined, "controller.quorum.voters=1@h"),
			"controller.quorum.voters", "not host:port"},
		{"voter port out of range", with(combined, "controller.quorum.voters=1@h:70000"),
			"controller.quorum.voters", "1..65535"},
		{"voter port 0", with(combined, "controller.quorum.voters=1@h:0"), "controller.quorum.voters", "1..65535"},
		{"voter bad host", with(combined, "controller.quorum.voters=1@h!st:1"),
			"controller.quorum.voters", "host name"},
		{"voter meta-address", with(combined, "controller.quorum.voters=1@0.0.0.0:9192"),
			"controller.quorum.voters", "not routable"},
		{"voter twice", with(combined, "controller.quorum.voters=1@h:1,2@h:2,1@h:3"),
			"controller.quorum.voters", "node id 1 is listed twice"},
		{"controller not a voter", with(combined, "node.id=9"), "controller.quorum.voters",
			"node.id 9 must be one of the voters"},
		{"controller without controller listener", with(combined, "controller.listener.names="),
			"controller.listener.names", "required with a controller quorum"},
		{"controller listener not listened", with(combined, "listeners=PLAINTEXT://127.0.0.1:9092",
			"advertised.listeners="), "controller.listener.names", "CONTROLLER is not in listeners"},
		{"broker without quorum", []string{"node.id=1", "process.roles=broker"}, "process.roles",
			"process.roles=broker needs a quorum"},
		{"controller without quorum", []string{"node.id=1", "process.roles=controller"}, "process.roles",
			"process.roles=controller needs a quorum"},
		{"broker is a voter", with(brokerOnly, "node.id=2"), "controller.quorum.voters",
			"must not be one of the voters"},
		{"broker without controller listener name", with(brokerOnly, "controller.listener.names="),
			"controller.listener.names", "required"},
		{"broker listening as a controller", with(brokerOnly,
			"listeners=PLAINTEXT://127.0.0.1:9095,CONTROLLER://127.0.0.1:9196"), "listeners",
			"must not include the controller listener CONTROLLER"},
		{"controller with a broker listener", []string{"node.id=2", "process.roles=controller",
			"listeners=CONTROLLER://:9193,PLAINTEXT://:9092", "controller.listener.names=CONTROLLER",
			"controller.quorum.voters=2@h2:9193"}, "listeners", "only be controller listeners"},
		{"dynamic quorum", with(brokerOnly[:4], "controller.quorum.bootstrap.servers=h1:9192,h2:9193"),
			"controller.quorum.bootstrap.servers", "not supported yet"},
		{"bootstrap to another node", []string{"node.id=1", "listeners=PLAINTEXT://:9092,CONTROLLER://:9093",
			"controller.listener.names=CONTROLLER", "controller.quorum.bootstrap.servers=other:9999"},
			"controller.quorum.bootstrap.servers", "KIP-853"},
		{"bootstrap and voters", with(combined, "controller.quorum.bootstrap.servers=127.0.0.1:9192"),
			"controller.quorum.bootstrap.servers", "unset it when controller.quorum.voters is set"},
		{"bootstrap malformed", []string{"node.id=1", "controller.quorum.bootstrap.servers=nohost"},
			"controller.quorum.bootstrap.servers", "{host}:{port}"},
	}
	for _, tt := range tests {
		_, err := set(t, tt.kv...).Resolve()
		var ce *Error
		if !errors.As(err, &ce) {
			t.Errorf("%s: error %v, want *Error", tt.name, err)
			continue
		}
		if ce.Key != tt.key || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: error %q (key %s), want key %s and %q", tt.name, err, ce.Key, tt.key, tt.want)
		}
	}
}

// The quorum's timing keys have Kafka's defaults.
func TestQuorumDefaults(t *testing.T) {
	c := New(Kafka)
	ints := map[string]int32{"controller.quorum.election.timeout.ms": 1000,
		"controller.quorum.fetch.timeout.ms": 2000, "broker.session.timeout.ms": 9000,
		"broker.heartbeat.interval.ms": 2000, "max.request.partition.size.limit": 2000,
		"leader.imbalance.per.broker.percentage": 10}
	for k, want := range ints {
		if got := c.Int(k); got != want {
			t.Errorf("%s = %d, want %d", k, got, want)
		}
	}
	longs := map[string]int64{"metadata.log.max.snapshot.interval.ms": 3_600_000,
		"metadata.log.max.record.bytes.between.snapshots": 20 << 20,
		"metadata.max.retention.bytes":                    100 << 20, "leader.imbalance.check.interval.seconds": 300}
	for k, want := range longs {
		if got := c.Long(k); got != want {
			t.Errorf("%s = %d, want %d", k, got, want)
		}
	}
	if !c.Bool("auto.leader.rebalance.enable") || c.Bool("unclean.leader.election.enable") {
		t.Errorf("auto.leader.rebalance.enable %v, unclean.leader.election.enable %v",
			c.Bool("auto.leader.rebalance.enable"), c.Bool("unclean.leader.election.enable"))
	}
}
