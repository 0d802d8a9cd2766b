package config

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

func TestParseListener(t *testing.T) {
	tests := []struct {
		uri  string
		want Listener
		err  string
	}{
		{uri: "PLAINTEXT://127.0.0.1:9092", want: Listener{Name: "PLAINTEXT", Host: "127.0.0.1", Port: 9092}},
		{uri: "plaintext://:9092", want: Listener{Name: "PLAINTEXT", Port: 9092}},
		{uri: "EXTERNAL://[::1]:19092", want: Listener{Name: "EXTERNAL", Host: "::1", Port: 19092}},
		{uri: "PLAINTEXT://host.example.com:0", want: Listener{Name: "PLAINTEXT", Host: "host.example.com"}},
		{uri: "127.0.0.1:9092", err: "NAME://host:port"},
		{uri: "PLAINTEXT://h", err: "NAME://host:port"},
		{uri: "PLAINTEXT://h:70000", err: "0..65535"},
		{uri: "PLAINTEXT://h:-1", err: "0..65535"},
		{uri: "://h:1", err: "no name"},
	}
	for _, tt := range tests {
		got, err := parseListener(tt.uri)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("%s: error %v, want %q", tt.uri, err, tt.err)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("%s: %+v, %v; want %+v", tt.uri, got, err, tt.want)
		}
	}
	l := Listener{Name: "PLAINTEXT", Host: "::1", Port: 1}
	if l.String() != "PLAINTEXT://[::1]:1" || l.Addr() != "[::1]:1" {
		t.Errorf("String %s Addr %s", l, l.Addr())
	}
}

func TestResolve(t *testing.T) {
	c := set(t, "node.id=1", "listeners=PLAINTEXT://127.0.0.1:9092,CONTROLLER://:9093",
		"controller.listener.names=controller", "advertised.listeners=PLAINTEXT://localhost:9092",
		"inter.broker.listener.name=PLAINTEXT", "log.dirs=/a,/b", "broker.rack=r1",
		"socket.request.max.bytes=1000")
	r, err := c.Resolve()
	if err != nil {
		t.Fatal(err)
	}
	rack := "r1"
	want := &Resolved{
		NodeID: 1,
		Roles:  []string{"broker", "controller"},
		Listeners: []Listener{
			{Name: "PLAINTEXT", Protocol: "PLAINTEXT", Host: "127.0.0.1", Port: 9092},
			{Name: "CONTROLLER", Protocol: "PLAINTEXT", Port: 9093},
		},
		Advertised:            []Listener{{Name: "PLAINTEXT", Protocol: "PLAINTEXT", Host: "localhost", Port: 9092}},
		ControllerListeners:   []string{"CONTROLLER"},
		InterBrokerListener:   "PLAINTEXT",
		LogDirs:               []string{"/a", "/b"},
		Rack:                  &rack,
		RequestMaxBytes:       1000,
		ConnectionsMaxIdleMs:  600000,
		QueuedMaxRequestBytes: 536870912,
		IOThreads:             8,
	}
	if !reflect.DeepEqual(r, want) {
		t.Fatalf("Resolve:\n got %+v\nwant %+v", r, want)
	}
	if r2, _ := c.Resolve(); r2 != r {
		t.Fatalf("Resolve not cached")
	}
}

func TestResolveErrors(t *testing.T) {
	tests := []struct {
		name string
		kv   []string
		key  string // the key the error names
		want string
	}{
		{"no node id", nil, "node.id", "required"},
		{"node.id and broker.id differ", []string{"node.id=1", "broker.id=2"}, "broker.id", "must equal node.id (1)"},
		{"no roles", []string{"node.id=1", "process.roles="}, "process.roles", "must name"},
		{"role twice", []string{"node.id=1", "process.roles=broker,broker"}, "process.roles", "twice"},
		{"ssl listener", []string{"node.id=1", "listeners=SSL://:9093"}, "listeners",
			"security protocol SSL is not supported yet"},
		{"sasl mapped listener", []string{"node.id=1", "listeners=EXT://:9093",
			"listener.security.protocol.map=EXT:SASL_PLAINTEXT"}, "listeners", "SASL_PLAINTEXT is not supported yet"},
		{"unmapped listener", []string{"node.id=1", "listeners=EXT://:9093"}, "listeners",
			"no security protocol for listener EXT"},
		{"bad protocol map", []string{"node.id=1", "listener.security.protocol.map=A:TLS"},
			"listener.security.protocol.map", "unknown security protocol TLS"},
		{"malformed protocol map", []string{"node.id=1", "listener.security.protocol.map=A"},
			"listener.security.protocol.map", "NAME:PROTOCOL"},
		{"no listeners", []string{"node.id=1", "listeners="}, "listeners", "at least one"},
		{"request memory below one request", []string{"node.id=1", "queued.max.request.bytes=1000"},
			"queued.max.request.bytes", "at least socket.request.max.bytes (104857600)"},
		{"bad listener", []string{"node.id=1", "listeners=localhost:9092"}, "listeners", "NAME://host:port"},
		{"duplicate listener", []string{"node.id=1", "listeners=PLAINTEXT://:1,PLAINTEXT://:2"},
			"listeners", "used twice"},
		{"same port", []string{"node.id=1", "listener.security.protocol.map=A:PLAINTEXT,B:PLAINTEXT",
			"listeners=A://:1,B://:1"}, "listeners", "same port"},
		{"advertised not listened", []string{"node.id=1", "advertised.listeners=OTHER://h:1",
			"listener.security.protocol.map=OTHER:PLAINTEXT,PLAINTEXT:PLAINTEXT"},
			"advertised.listeners", "not in listeners"},
		{"advertised meta-address", []string{"node.id=1", "advertised.listeners=PLAINTEXT://0.0.0.0:9092"},
			"advertised.listeners", "nonroutable"},
		{"listeners meta-address advertised", []string{"node.id=1", "listeners=PLAINTEXT://0.0.0.0:9092"},
			"listeners", "nonroutable"},
		{"controller listener missing", []string{"node.id=1", "controller.listener.names=CONTROLLER"},
			"controller.listener.names", "not in listeners"},
		{"inter broker listener missing", []string{"node.id=1", "inter.broker.listener.name=INTERNAL"},
			"inter.broker.listener.name", "not an advertised listener"},
		{"empty log dirs", []string{"node.id=1", "log.dirs="}, "log.dirs", "at least one"},
		{"empty log dir", []string{"node.id=1", "log.dir="}, "log.dir", "at least one"},
		{"log dir twice", []string{"node.id=1", "log.dirs=/a,/a"}, "log.dirs", "twice"},
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

// Weir's default request-memory bound follows a larger
// socket.request.max.bytes instead of refusing it; a set one is checked.
func TestQueuedBytesDefaultFollowsRequestMax(t *testing.T) {
	c := New(Kafka)
	for _, kv := range [][2]string{{"node.id", "1"}, {"socket.request.max.bytes", "1073741824"}} {
		if err := c.Set(kv[0], kv[1], SourceFlag); err != nil {
			t.Fatal(err)
		}
	}
	r, err := c.Resolve()
	if err != nil {
		t.Fatal(err)
	}
	if r.QueuedMaxRequestBytes != 1<<30 {
		t.Fatalf("queued.max.request.bytes resolved to %d, want 1 GiB", r.QueuedMaxRequestBytes)
	}
}
