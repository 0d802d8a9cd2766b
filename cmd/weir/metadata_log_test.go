package main

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/weirmq/weir/logstore/metalog"
)

// The metadata log `weir serve` writes is a Kafka segment of KRaft records:
// dump-log --cluster-metadata-decoder prints the topic created through
// the admin API with its id, configs and partitions, and each start's
// LeaderChange in a new epoch; after a SIGKILL the topic is still there.
func TestMetadataLogOnDisk(t *testing.T) {
	b := startBroker(t, brokerOpts{io: "std", args: dataArgs})
	cl, err := kgo.NewClient(kgo.SeedBrokers(b.addr))
	if err != nil {
		t.Fatal(err)
	}
	adm := kadm.NewClient(cl)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	retention := "3600000"
	resp, err := adm.CreateTopic(ctx, 2, 1, map[string]*string{"retention.ms": &retention}, "orders")
	if err != nil || resp.Err != nil {
		t.Fatalf("create: %v %v", err, resp.Err)
	}
	id := metalog.UUID(resp.ID).String()
	cl.Close()

	// A SIGKILL: the next start replays the log without a clean close.
	if err := syscall.Kill(b.pid(), syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-b.done
	b = startBroker(t, brokerOpts{io: "std", logDir: b.logDir, port: b.port, args: dataArgs})
	cl, err = kgo.NewClient(kgo.SeedBrokers(b.addr))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	topics, err := kadm.NewClient(cl).ListTopics(ctx, "orders")
	if err != nil || topics["orders"].Err != nil || metalog.UUID(topics["orders"].ID).String() != id ||
		len(topics["orders"].Partitions) != 2 {
		t.Fatalf("after restart: %v %+v", err, topics["orders"])
	}
	if code, took := b.stop(); code != 0 {
		t.Fatalf("stop: exit %d after %v", code, took)
	}

	seg := filepath.Join(b.logDir, metalog.DirName, "00000000000000000000.log")
	out := mustRunData(t, "", "dump-log", "--cluster-metadata-decoder", "--files", seg)
	lc := `LeaderChange: {"version":0,"leaderId":1,"voters":[{"voterId":1}],"grantingVoters":[{"voterId":1}]}`
	for _, w := range []string{
		"| offset: 0 CreateTime: ",
		lc,
		`payload: {"type":"FEATURE_LEVEL_RECORD","version":0,"data":{"name":"metadata.version","featureLevel":7}}`,
		fmt.Sprintf(`payload: {"type":"TOPIC_RECORD","version":0,"data":{"name":"orders","topicId":%q}}`, id),
		`payload: {"type":"CONFIG_RECORD","version":0,"data":{"resourceType":2,"resourceName":"orders","name":"retention.ms","value":"3600000"}}`,
		fmt.Sprintf(`payload: {"type":"PARTITION_RECORD","version":0,"data":{"partitionId":1,"topicId":%q,"replicas":[1],"isr":[1],`, id),
		"partitionLeaderEpoch: 1 isTransactional: false isControl: true",
		"partitionLeaderEpoch: 2 isTransactional: false isControl: true",
	} {
		if !strings.Contains(out, w) {
			t.Errorf("no %q in:\n%s", w, out)
		}
	}
	if n := strings.Count(out, lc); n != 2 {
		t.Errorf("%d LeaderChange records, want one per start", n)
	}
	if strings.Contains(out, "! ") {
		t.Errorf("problems reported:\n%s", out)
	}
}
