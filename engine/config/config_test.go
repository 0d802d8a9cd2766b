package config

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

// set builds a Config over Kafka from key=value pairs, failing the test on
// an error.
func set(t *testing.T, kv ...string) *Config {
	t.Helper()
	c := New(Kafka)
	for _, p := range kv {
		k, v, _ := strings.Cut(p, "=")
		if err := c.Set(k, v, SourceFile); err != nil {
			t.Fatalf("Set(%s): %v", p, err)
		}
	}
	return c
}

func TestSetErrorsNameKeyAndValue(t *testing.T) {
	tests := []struct{ key, value, reason string }{
		{"no.such.key", "5", "unknown configuration key no.such.key"},
		{"num.partitions", "many", "not a 32-bit integer"},
		{"num.partitions", "0", "at least 1"},
		{"auto.create.topics.enable", "maybe", "true or false"},
		{"process.roles", "broker,gateway", `"gateway" is not one of`},
		{"log.cleanup.policy", "shred", "not one of"},
		{"offsets.topic.replication.factor", "70000", "16-bit"},
	}
	for _, tt := range tests {
		err := New(Kafka).Set(tt.key, tt.value, SourceFlag)
		var ce *Error
		if !errors.As(err, &ce) {
			t.Errorf("Set(%s=%s) = %v, want *Error", tt.key, tt.value, err)
			continue
		}
		msg := err.Error()
		for _, want := range []string{tt.key, tt.value, tt.reason, "flag"} {
			if !strings.Contains(msg, want) {
				t.Errorf("Set(%s=%s) error %q lacks %q", tt.key, tt.value, msg, want)
			}
		}
	}
}

func TestDefaults(t *testing.T) {
	c := New(Kafka)
	if got := c.Int("num.partitions"); got != 1 {
		t.Errorf("num.partitions = %d", got)
	}
	if got := c.Short("offsets.topic.replication.factor"); got != 3 {
		t.Errorf("offsets.topic.replication.factor = %d", got)
	}
	if got := c.Long("log.flush.interval.messages"); got != 1<<63-1 {
		t.Errorf("log.flush.interval.messages = %d", got)
	}
	if got := c.List("process.roles"); !reflect.DeepEqual(got, []string{"broker", "controller"}) {
		t.Errorf("process.roles = %q", got)
	}
	if got := c.Get("broker.rack"); got != nil {
		t.Errorf("broker.rack = %#v, want nil", got)
	}
	if got := c.Text("log.flush.interval.ms"); got != "null" {
		t.Errorf("log.flush.interval.ms text = %q", got)
	}
	if c.IsSet("num.partitions") || c.Source("num.partitions") != SourceDefault {
		t.Errorf("default reads as set")
	}
}

func TestSynonyms(t *testing.T) {
	tests := []struct {
		name string
		kv   []string
		key  string
		want any
	}{
		{"retention default hours", nil, "log.retention.ms", int64(168 * 3_600_000)},
		{"retention hours", []string{"log.retention.hours=1"}, "log.retention.ms", int64(3_600_000)},
		{"retention minutes beat hours",
			[]string{"log.retention.hours=1", "log.retention.minutes=2"}, "log.retention.ms", int64(120_000)},
		{"retention ms beats all",
			[]string{"log.retention.minutes=2", "log.retention.ms=5"}, "log.retention.ms", int64(5)},
		{"retention forever in hours", []string{"log.retention.hours=-1"}, "log.retention.ms", int64(-1)},
		{"retention forever in minutes", []string{"log.retention.minutes=-5"}, "log.retention.ms", int64(-1)},
		{"roll default", nil, "log.roll.ms", int64(168 * 3_600_000)},
		{"roll hours", []string{"log.roll.hours=2"}, "log.roll.ms", int64(7_200_000)},
		{"log.dirs default", nil, "log.dirs", []string{"/tmp/weir-logs"}},
		{"log.dir", []string{"log.dir=/a"}, "log.dirs", []string{"/a"}},
		{"log.dirs beats log.dir", []string{"log.dir=/a", "log.dirs=/b,/c"}, "log.dirs", []string{"/b", "/c"}},
		{"broker.id as node.id", []string{"broker.id=7"}, "node.id", int32(7)},
		{"node.id", []string{"node.id=3"}, "node.id", int32(3)},
		{"advertised defaults to listeners",
			[]string{"listeners=PLAINTEXT://h:1"}, "advertised.listeners", []string{"PLAINTEXT://h:1"}},
	}
	for _, tt := range tests {
		c := set(t, tt.kv...)
		if got := c.Get(tt.key); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%s: %s = %#v, want %#v", tt.name, tt.key, got, tt.want)
		}
	}
}

func TestLaterSetWins(t *testing.T) {
	c := set(t, "num.partitions=2")
	if err := c.Set("num.partitions", "5", SourceFlag); err != nil {
		t.Fatal(err)
	}
	if c.Int("num.partitions") != 5 || c.Source("num.partitions") != SourceFlag {
		t.Fatalf("num.partitions = %d from %v", c.Int("num.partitions"), c.Source("num.partitions"))
	}
}

func TestProgrammerErrorsPanic(t *testing.T) {
	for name, f := range map[string]func(c *Config){
		"unknown key":  func(c *Config) { c.Int("no.such.key") },
		"wrong type":   func(c *Config) { c.String("num.partitions") },
		"wrong int":    func(c *Config) { c.Long("num.partitions") },
		"unknown text": func(c *Config) { c.Text("nope") },
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%s: no panic", name)
				}
			}()
			f(New(Kafka))
		}()
	}
}

func TestPasswordValueHiddenInErrors(t *testing.T) {
	reg := NewRegistry([]Key{{Name: "pw", Type: Password, NoDefault: true, Doc: "a password",
		Validate: func(v any) error {
			if len(v.(Secret).Value()) < 4 {
				return errors.New("too short")
			}
			return nil
		}}})
	c := New(reg)
	err := c.Set("pw", "abc", SourceFile)
	if err == nil || strings.Contains(err.Error(), "abc") || !strings.Contains(err.Error(), "[hidden]") {
		t.Fatalf("error %v shows the password", err)
	}
	if err := c.Set("pw", "secret", SourceFile); err != nil {
		t.Fatal(err)
	}
	if c.Password("pw").Value() != "secret" || c.Text("pw") != "[hidden]" {
		t.Fatalf("password = %q, text %q", c.Password("pw").Value(), c.Text("pw"))
	}
}

func TestBadRegistryPanics(t *testing.T) {
	bad := map[string][]Key{
		"duplicate":       {{Name: "a", Type: Int, Default: "1", Doc: "d"}, {Name: "a", Type: Int, Default: "1", Doc: "d"}},
		"bad default":     {{Name: "a", Type: Int, Default: "x", Doc: "d"}},
		"invalid default": {{Name: "a", Type: Int, Default: "0", Doc: "d", Validate: AtLeast(1)}},
		"no doc":          {{Name: "a", Type: Int, Default: "1"}},
		"unknown synonym": {{Name: "a", Type: Int, Default: "1", Doc: "d", Synonyms: []Synonym{{Name: "b"}}}},
		"scaled string": {{Name: "a", Type: String, Default: "", Doc: "d", Synonyms: []Synonym{{Name: "b", Scale: 2}}},
			{Name: "b", Type: String, Default: "", Doc: "d"}},
	}
	for name, keys := range bad {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%s: no panic", name)
				}
			}()
			NewRegistry(keys)
		}()
	}
}
