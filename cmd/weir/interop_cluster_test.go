package main

import (
	"bytes"
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// Every client of the interop tests against one 3-node cluster of combined
// nodes, seeded with the three brokers: the same drivers as the
// single-node tests, the same record comparisons. Each client's topic has
// interopParts partitions of one replica (partition data is not replicated
// between brokers yet) and interopTopic checks they are led by three
// different brokers, so every client produces to and fetches from each of
// them. Then the consumer-group flows, whose coordinators are the leaders
// of the groups' __consumer_offsets partitions (three replicas, one led
// by each broker with groupArgs' five partitions). WEIR_INTEROP_IO picks
// the nodes' I/O backend (std).
//
// Leader moves are not tested here (no flaky failover assertions). Seen
// by hand (2026-12, these client versions): six producers, each sending
// one record every 10 ms (acks=all, the clients' default retries) to a
// partition of three replicas whose leader gets SIGTERM (a controlled
// shutdown: leadership moves first, then the old leader answers
// NOT_LEADER_OR_FOLLOWER until it stops) and is started again 1 s later:
//
//	franz-go         takes the new leader from the NOT_LEADER_OR_FOLLOWER
//	                 answer (KIP-951, Produce v13) and moves at once; no record fails
//	sarama           retries: marks the partition retrying, refreshes metadata
//	                 after Producer.Retry.Backoff (100 ms), resends; no record fails
//	librdkafka       "actions Refresh,MsgNotPersisted": a fast leader query, the
//	(confluent-kafka, records stay queued and go to the new leader; no record fails
//	kcat)
//	kafkajs          logs the error, refreshes metadata, retries; no record fails
//	kafka-python     retries=0 by default: the record in flight fails with
//	                 NotLeaderForPartitionError (one a run), then it refreshes
//	kafka-go         retries (MaxAttempts 10, backoff up to 1 s) against its cached
//	                 metadata, refreshed only every MetadataTTL (6 s): it sends
//	                 to the old leader, then to the restarted old node (a
//	                 follower, NOT_LEADER_OR_FOLLOWER), and a record can run out
//	                 of attempts before the refresh
func TestInteropCluster3(t *testing.T) {
	if os.Getenv("WEIR_INTEROP_TARGET") == "kfake" {
		t.Skip("a cluster of weir nodes only")
	}
	io := os.Getenv("WEIR_INTEROP_IO")
	if io == "" {
		io = "std"
	}
	c := startCluster(t, 3, io, groupArgs...)
	bootstrap := strings.Join(c.seeds(), ",")
	requireAPIs(t, bootstrap)

	t.Run("kcat", func(t *testing.T) { interopKcat(t, kcatPath(t), bootstrap) })
	t.Run("kafka-python", func(t *testing.T) {
		interopKafkaPython(t, pythonFor(t, "kafka", "python3-kafka"), bootstrap)
	})
	for _, cc := range confluentCodecs {
		t.Run("confluent-kafka-"+cc.codec, func(t *testing.T) {
			py := pythonFor(t, "confluent_kafka", "python3-confluent-kafka")
			interopConfluentKafka(t, py, bootstrap, cc.codec, cc.idempotence)
		})
	}
	t.Run("sarama", func(t *testing.T) { interopSarama(t, bootstrap) })
	t.Run("kafka-go", func(t *testing.T) { interopKafkaGo(t, bootstrap) })
	t.Run("franz-go", func(t *testing.T) { interopFranzGo(t, bootstrap) })
	t.Run("kafkajs", func(t *testing.T) { interopKafkajs(t, nodeForKafkajs(t), bootstrap) })

	t.Run("group-sarama-kafka-go", func(t *testing.T) { groupInteropSaramaKafkaGo(t, bootstrap) })
	t.Run("group-kcat", func(t *testing.T) { groupInteropKcat(t, kcatPath(t), bootstrap) })
	t.Run("group-franz-go-kcat", func(t *testing.T) { groupInteropFranzGoKcat(t, kcatPath(t), bootstrap) })
	t.Run("group-kafka-python", func(t *testing.T) {
		py := pythonFor(t, "kafka", "python3-kafka")
		pythonGroupResumes(t, py, "kafka_python_client.py", bootstrap, "interop-groups-python")
	})
	t.Run("group-confluent-kafka", func(t *testing.T) {
		py := pythonFor(t, "confluent_kafka", "python3-confluent-kafka")
		pythonGroupResumes(t, py, "confluent_client.py", bootstrap, "interop-groups-confluent")
	})
	logCoordinators(t, bootstrap)
	c.replicasAgree(30 * time.Second)
}

// replicasAgree waits until the replicas of every partition (the offsets
// topic's too) hold the same bytes, and fails the test if they do not
// within timeout.
func (c *testCluster) replicasAgree(timeout time.Duration) {
	c.t.Helper()
	topics, err := topicsOn(c.nodes[0])
	if err != nil {
		c.t.Fatal(err)
	}
	var all []int32
	for _, nd := range c.nodes {
		all = append(all, nd.id)
	}
	offsets := make([][]int32, 5) // groupArgs' partitions, a replica on each node
	for i := range offsets {
		offsets[i] = all
	}
	topics["__consumer_offsets"] = offsets
	deadline := time.Now().Add(timeout)
	for topic, parts := range topics {
		for p, replicas := range parts {
			for {
				first := partitionLogBytes(c.t, c.node(replicas[0]), topic, p)
				same := true
				for _, id := range replicas[1:] {
					same = same && bytes.Equal(partitionLogBytes(c.t, c.node(id), topic, p), first)
				}
				if same {
					break
				}
				if time.Now().After(deadline) {
					c.t.Fatalf("%s-%d: replicas %v hold different bytes after %v", topic, p, replicas, timeout)
				}
				time.Sleep(50 * time.Millisecond)
			}
		}
	}
	c.t.Logf("the replicas of %d topics (the offsets topic's included) hold the same bytes", len(topics))
}

// logCoordinators logs which broker coordinates each group.
func logCoordinators(t *testing.T, bootstrap string) {
	cl, err := kgo.NewClient(kgo.SeedBrokers(seedList(bootstrap)...), kgo.RetryTimeout(5*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	adm := kadm.NewClient(cl)
	groups, err := adm.ListGroups(ctx)
	if err != nil {
		t.Logf("list groups: %v", err)
		return
	}
	described, err := adm.DescribeGroups(ctx, groups.Groups()...)
	if err != nil {
		t.Logf("describe groups: %v", err)
		return
	}
	by := map[int32][]string{}
	for _, g := range described.Sorted() {
		by[g.Coordinator.NodeID] = append(by[g.Coordinator.NodeID], g.Group)
	}
	t.Logf("group coordinators, broker -> groups: %v", by)
}
