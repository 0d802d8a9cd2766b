package main

import (
	"context"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// smallSegments keeps the preallocated segments of test topics small.
var smallSegments = []string{"--log.segment.bytes=1048576", "--log.index.size.max.bytes=65536"}

// Topic administration through franz-go's admin client against the real
// binary: create, list with ids and leaders, describe and alter configs,
// add partitions, delete, and a restart that keeps it all.
func TestKadmTopicLifecycle(t *testing.T) {
	backends(t, func(t *testing.T, io string) {
		b := startBroker(t, brokerOpts{io: io, args: smallSegments})
		adm := newAdmin(t, b.addr)
		ctx := ctxTimeout(t)

		created, err := adm.CreateTopics(ctx, 8, 1, map[string]*string{"retention.ms": kadm.StringPtr("3600000")},
			"events", "doomed")
		if err != nil {
			t.Fatal(err)
		}
		ev := created["events"]
		if ev.Err != nil || ev.ID == (kadm.TopicID{}) || ev.NumPartitions != 8 || ev.ReplicationFactor != 1 {
			t.Fatalf("create: %+v", ev)
		}
		if r, _ := adm.CreateTopics(ctx, 1, 3, nil, "replicated"); r["replicated"].Err == nil ||
			!strings.Contains(r["replicated"].ErrMessage, "only 1 broker(s)") {
			t.Errorf("replication factor 3: %+v", r["replicated"])
		}
		checkTopics(t, b.addr, ev.ID, 8)

		cfgs, err := adm.DescribeTopicConfigs(ctx, "events")
		if err != nil || len(cfgs) != 1 || cfgs[0].Err != nil {
			t.Fatalf("describe configs: %v %+v", err, cfgs)
		}
		want := map[string]struct {
			value  string
			source kmsg.ConfigSource
		}{
			"retention.ms":   {"3600000", kmsg.ConfigSourceDynamicTopicConfig},
			"segment.bytes":  {"1048576", kmsg.ConfigSourceStaticBrokerConfig},
			"cleanup.policy": {"delete", kmsg.ConfigSourceDefaultConfig},
		}
		checkConfigs(t, cfgs[0], want)

		alters := []kadm.AlterConfig{
			{Op: kadm.SetConfig, Name: "retention.ms", Value: kadm.StringPtr("7200000")},
			{Op: kadm.AppendConfig, Name: "cleanup.policy", Value: kadm.StringPtr("compact")},
		}
		if r, err := adm.AlterTopicConfigs(ctx, alters, "events"); err != nil || r[0].Err != nil {
			t.Fatalf("alter: %v %+v", err, r)
		}
		if r, _ := adm.AlterTopicConfigs(ctx, []kadm.AlterConfig{{Name: "retention.dayz", Value: kadm.StringPtr("1")}},
			"events"); r[0].Err == nil || r[0].ErrMessage != "Unknown topic config name: retention.dayz" {
			t.Errorf("unknown key: %+v", r)
		}
		if r, err := adm.CreatePartitions(ctx, 2, "events"); err != nil || r["events"].Err != nil {
			t.Fatalf("create partitions: %v %+v", err, r)
		}
		if r, err := adm.DeleteTopics(ctx, "doomed"); err != nil || r["doomed"].Err != nil {
			t.Fatalf("delete: %v %+v", err, r)
		}
		checkTopics(t, b.addr, ev.ID, 10, "doomed")

		// A restart keeps the topics, their ids and configs.
		if code, _ := b.stop(); code != 0 {
			t.Fatalf("stop: exit %d\n%s", code, b.stderr)
		}
		b = startBroker(t, brokerOpts{io: io, logDir: b.logDir, args: smallSegments})
		adm = newAdmin(t, b.addr)
		checkTopics(t, b.addr, ev.ID, 10)
		cfgs, err = adm.DescribeTopicConfigs(ctxTimeout(t), "events")
		if err != nil || len(cfgs) != 1 {
			t.Fatalf("describe after restart: %v %+v", err, cfgs)
		}
		want["retention.ms"] = struct {
			value  string
			source kmsg.ConfigSource
		}{"7200000", kmsg.ConfigSourceDynamicTopicConfig}
		want["cleanup.policy"] = struct {
			value  string
			source kmsg.ConfigSource
		}{"delete,compact", kmsg.ConfigSourceDynamicTopicConfig}
		checkConfigs(t, cfgs[0], want)
	})
}

// checkTopics lists the topics: events with its id and n partitions led by
// node 1, and none of absent. It lists with a new client: kgo answers a
// listing from its metadata cache, which its admin calls prune only in part.
func checkTopics(t *testing.T, addr string, id kadm.TopicID, n int, absent ...string) {
	t.Helper()
	topics, err := newAdmin(t, addr).ListTopics(ctxTimeout(t))
	if err != nil {
		t.Fatal(err)
	}
	ev, ok := topics["events"]
	if !ok || ev.Err != nil || ev.ID != id || len(ev.Partitions) != n || ev.IsInternal {
		t.Fatalf("events: %+v (all: %+v)", ev, topics)
	}
	for p, d := range ev.Partitions {
		if d.Leader != 1 || len(d.Replicas) != 1 || d.Replicas[0] != 1 || len(d.ISR) != 1 || d.Err != nil {
			t.Errorf("partition %d: %+v", p, d)
		}
	}
	for _, name := range absent {
		if _, ok := topics[name]; ok {
			t.Errorf("%s listed", name)
		}
	}
}

func checkConfigs(t *testing.T, rc kadm.ResourceConfig, want map[string]struct {
	value  string
	source kmsg.ConfigSource
}) {
	t.Helper()
	got := map[string]kadm.Config{}
	for _, c := range rc.Configs {
		got[c.Key] = c
	}
	for k, w := range want {
		if c := got[k]; c.MaybeValue() != w.value || c.Source != w.source {
			t.Errorf("%s = %q from %s, want %q from %s", k, c.MaybeValue(), c.Source, w.value, w.source)
		}
	}
}

// kcat (librdkafka) lists a created topic with its partitions.
func TestKcatListsTopic(t *testing.T) {
	kcat, err := exec.LookPath("kcat")
	if err != nil {
		t.Skip("kcat not installed (make deps)")
	}
	backends(t, func(t *testing.T, io string) {
		b := startBroker(t, brokerOpts{io: io, args: smallSegments})
		if r, err := newAdmin(t, b.addr).CreateTopics(ctxTimeout(t), 3, 1, nil, "listed"); err != nil || r["listed"].Err != nil {
			t.Fatalf("create: %v %+v", err, r)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		defer cancel()
		out, err := exec.CommandContext(ctx, kcat, "-b", b.addr, "-L", "-t", "listed", "-m", "5").CombinedOutput()
		if err != nil {
			t.Fatalf("kcat: %v\n%s", err, out)
		}
		for _, want := range []string{`topic "listed" with 3 partitions:`,
			"partition 0, leader 1, replicas: 1, isrs: 1", "partition 2, leader 1, replicas: 1, isrs: 1"} {
			if !strings.Contains(string(out), want) {
				t.Errorf("kcat output lacks %q:\n%s", want, out)
			}
		}
	})
}
