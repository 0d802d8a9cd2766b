package config

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

// Every broker synonym of a topic key is a broker key, and the topic
// default equals what the broker's defaults give (so a topic described on
// a default broker shows Kafka's defaults).
func TestTopicSynonymsAreBrokerKeys(t *testing.T) {
	broker := New(Kafka)
	for name, syns := range TopicSynonyms {
		if _, ok := Topic.Key(name); !ok {
			t.Errorf("%s: not a topic key", name)
		}
		for _, s := range syns {
			if _, ok := Kafka.Key(s.Name); !ok {
				t.Errorf("%s: synonym %s is not a broker key", name, s.Name)
			}
		}
	}
	tc, err := TopicConfig(broker, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range Topic.Names() {
		def, _ := Topic.Default(name)
		if got := tc.Text(name); got != def {
			t.Errorf("%s: %s from the broker's defaults, topic default %s", name, got, def)
		}
		if _, src, _ := tc.Setting(name); src != SourceDefault {
			t.Errorf("%s: source %v", name, src)
		}
	}
}

func TestTopicConfigLayers(t *testing.T) {
	broker := set(t, "log.retention.hours=2", "log.segment.bytes=4096", "log.flush.interval.ms=7")
	broker, err := broker.With(map[string]string{"message.max.bytes": "5000"}, SourceDynamicDefault)
	if err != nil {
		t.Fatal(err)
	}
	tc, err := TopicConfig(broker, map[string]string{"segment.bytes": "2048", "cleanup.policy": "compact,delete"})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]struct {
		v   any
		src Source
	}{
		"retention.ms":      {int64(7_200_000), SourceDefault}, // via log.retention.hours, itself from the file
		"segment.bytes":     {int32(2048), SourceTopic},
		"flush.ms":          {int64(7), SourceFile},
		"max.message.bytes": {int32(5000), SourceDynamicDefault},
		"cleanup.policy":    {[]string{"compact", "delete"}, SourceTopic},
		"segment.ms":        {int64(604_800_000), SourceDefault},
	}
	for k, w := range want {
		_, src, _ := tc.Setting(k)
		if got := tc.Get(k); !reflect.DeepEqual(got, w.v) || src != w.src {
			t.Errorf("%s = %#v from %v, want %#v from %v", k, got, src, w.v, w.src)
		}
	}
	_, err = TopicConfig(broker, map[string]string{"retention.ms": "-7", "no.such": "1"})
	var ce *Error
	if !errors.As(err, &ce) || !strings.Contains(err.Error(), "retention.ms") || !strings.Contains(err.Error(), "no.such") {
		t.Errorf("bad overrides: %v", err)
	}
}

func TestDynamicBrokerKeys(t *testing.T) {
	for _, k := range []string{"log.retention.ms", "log.segment.bytes", "message.max.bytes", "log.roll.ms",
		"min.insync.replicas", "log.cleanup.policy", "compression.type"} {
		if !IsDynamicBroker(k) {
			t.Errorf("%s is not dynamic", k)
		}
	}
	for _, k := range []string{"log.retention.hours", "node.id", "listeners", "log.dirs", "num.io.threads"} {
		if IsDynamicBroker(k) {
			t.Errorf("%s is dynamic", k)
		}
	}
}

func TestTopicValidators(t *testing.T) {
	bad := map[string]string{
		"retention.ms": "-2", "segment.bytes": "13", "cleanup.policy": "shred", "min.cleanable.dirty.ratio": "1.5",
		"compression.type": "brotli", "message.timestamp.type": "Now", "compression.gzip.level": "0",
		"leader.replication.throttled.replicas": "1-2", "remote.storage.enable": "true", "flush.messages": "0",
	}
	for k, v := range bad {
		if err := Topic.Check(k, v, SourceTopic); err == nil {
			t.Errorf("%s=%s accepted", k, v)
		}
	}
	good := map[string]string{
		"retention.ms": "-1", "cleanup.policy": "compact,delete", "min.cleanable.dirty.ratio": "0.1",
		"compression.gzip.level": "-1", "leader.replication.throttled.replicas": "0:1,1:1",
		"follower.replication.throttled.replicas": "*", "retention.bytes": "-5",
	}
	for k, v := range good {
		if err := Topic.Check(k, v, SourceTopic); err != nil {
			t.Errorf("%s=%s: %v", k, v, err)
		}
	}
	if got := New(Topic).Text("min.cleanable.dirty.ratio"); got != "0.5" {
		t.Errorf("double text %q", got)
	}
	c := New(Topic)
	c.Set("min.cleanable.dirty.ratio", "1", SourceTopic)
	if got := c.Text("min.cleanable.dirty.ratio"); got != "1.0" {
		t.Errorf("double text %q, want Java's 1.0", got)
	}
}
