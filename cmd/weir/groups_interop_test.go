package main

import (
	"bytes"
	"context"
	"fmt"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/IBM/sarama"
	kafka "github.com/segmentio/kafka-go"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// Consumer groups of real clients. Each flow is a driver taking a
// bootstrap list (host:port[,host:port...]): the Test functions here run
// it on a single broker, TestInteropCluster3 on a 3-node cluster, where
// the group's coordinator is the leader of its __consumer_offsets
// partition and the topic's partitions are led by different brokers.

type saramaGroupHandler struct{ got chan *sarama.ConsumerMessage }

func (saramaGroupHandler) Setup(sarama.ConsumerGroupSession) error   { return nil }
func (saramaGroupHandler) Cleanup(sarama.ConsumerGroupSession) error { return nil }
func (h saramaGroupHandler) ConsumeClaim(s sarama.ConsumerGroupSession, c sarama.ConsumerGroupClaim) error {
	for m := range c.Messages() {
		s.MarkMessage(m, "")
		if m.Offset+1 >= c.HighWaterMarkOffset() {
			// Manual and synchronous, once caught up: sarama's commit
			// shares the connection with its long-polling fetches, so a
			// commit per message would wait out a fetch each time.
			s.Commit()
		}
		h.got <- m
	}
	return nil
}

func TestConsumerGroupInteropSaramaKafkaGo(t *testing.T) {
	b := startBroker(t, brokerOpts{io: "std", args: groupArgs})
	groupInteropSaramaKafkaGo(t, b.addr)
}

func TestConsumerGroupInteropKcat(t *testing.T) {
	kcat := kcatPath(t)
	b := startBroker(t, brokerOpts{io: "std", args: groupArgs})
	groupInteropKcat(t, kcat, b.addr)
}

// TestConsumerGroupInteropKafkaPython: kafka-python's KafkaConsumer in a
// group with manual synchronous commits; a second consumer in the group
// resumes exactly after what the first committed.
func TestConsumerGroupInteropKafkaPython(t *testing.T) {
	py := pythonFor(t, "kafka", "python3-kafka")
	b := startBroker(t, brokerOpts{io: "uring", args: groupArgs})
	pythonGroupResumes(t, py, "kafka_python_client.py", b.addr, "interop-groups-python")
}

// TestConsumerGroupInteropConfluent: confluent-kafka's (librdkafka's)
// Consumer subscribed in a group with synchronous commits, the same way.
func TestConsumerGroupInteropConfluent(t *testing.T) {
	py := pythonFor(t, "confluent_kafka", "python3-confluent-kafka")
	b := startBroker(t, brokerOpts{io: "uring", args: groupArgs})
	pythonGroupResumes(t, py, "confluent_client.py", b.addr, "interop-groups-confluent")
}

func TestConsumerGroupInteropFranzGoKcat(t *testing.T) {
	kcat := kcatPath(t)
	b := startBroker(t, brokerOpts{io: "std", args: groupArgs})
	groupInteropFranzGoKcat(t, kcat, b.addr)
}

// groupTopic creates topic with parts partitions of one replica through
// bootstrap and waits until every broker of it knows their leaders.
func groupTopic(t *testing.T, bootstrap, topic string, parts int) {
	t.Helper()
	createTopic(t, bootstrap, topic, int32(parts))
	waitLeaders(t, bootstrap, topic, parts)
}

// Sarama's consumer group with manual commits, then kafka-go's Reader with
// a GroupID: each resumes where the group committed.
func groupInteropSaramaKafkaGo(t *testing.T, bootstrap string) {
	const topic = "interop-groups"
	groupTopic(t, bootstrap, topic, 3)
	produceN(t, bootstrap, topic, 0, 30)
	cfg := sarama.NewConfig()
	cfg.Version = sarama.V2_8_0_0
	cfg.Consumer.Offsets.Initial = sarama.OffsetOldest
	cfg.Consumer.Offsets.AutoCommit.Enable = false
	cfg.Consumer.MaxWaitTime = 100 * time.Millisecond
	cfg.Consumer.Group.Rebalance.GroupStrategies = []sarama.BalanceStrategy{sarama.NewBalanceStrategyRange()}
	saramaRead := func(want int) {
		t.Helper()
		g, err := sarama.NewConsumerGroup(seedList(bootstrap), "interop", cfg)
		if err != nil {
			t.Fatal(err)
		}
		h := saramaGroupHandler{got: make(chan *sarama.ConsumerMessage, 1000)}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() {
			defer close(done)
			for ctx.Err() == nil {
				if err := g.Consume(ctx, []string{topic}, h); err != nil && ctx.Err() == nil {
					t.Logf("sarama consume: %v", err)
					time.Sleep(100 * time.Millisecond)
				}
			}
		}()
		n := 0
		timeout := time.After(15 * time.Second)
		for n < want {
			select {
			case <-h.got:
				n++
			case <-timeout:
				cancel()
				t.Fatalf("sarama group read %d of %d", n, want)
			}
		}
		select {
		case <-h.got:
			t.Errorf("sarama group read more than %d", want)
		case <-time.After(300 * time.Millisecond):
		}
		cancel()
		<-done
		g.Close()
	}
	start := time.Now()
	saramaRead(30)
	t.Logf("sarama read 30 in %v", time.Since(start))
	produceN(t, bootstrap, topic, 30, 9)
	start = time.Now()
	saramaRead(9)
	t.Logf("sarama read 9 in %v", time.Since(start))
	start = time.Now()

	produceN(t, bootstrap, topic, 39, 6)
	rd := kafka.NewReader(kafka.ReaderConfig{Brokers: seedList(bootstrap), GroupID: "interop", Topic: topic,
		MaxWait: 200 * time.Millisecond, StartOffset: kafka.FirstOffset, HeartbeatInterval: 300 * time.Millisecond})
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	for i := 0; i < 6; i++ {
		m, err := rd.FetchMessage(ctx)
		if err != nil {
			t.Fatalf("kafka-go read %d of 6: %v", i, err)
		}
		if err := rd.CommitMessages(ctx, m); err != nil {
			t.Fatal(err)
		}
	}
	short, cancel2 := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel2()
	if m, err := rd.FetchMessage(short); err == nil {
		t.Errorf("kafka-go read past the new records: %s", m.Value)
	}
	rd.Close()
	t.Logf("kafka-go read 6 in %v", time.Since(start))
	produceN(t, bootstrap, topic, 45, 3)
	saramaRead(3)
}

// kcat -G: librdkafka's balanced consumer commits (auto commit) what it
// read; a second run in the group reads only what came after.
func groupInteropKcat(t *testing.T, kcat, bootstrap string) {
	const topic = "kcat-groups"
	groupTopic(t, bootstrap, topic, 3)
	produceN(t, bootstrap, topic, 0, 20)
	kcatGroupRead(t, kcat, bootstrap, "kcat-group", topic, 20)
	wantCommittedSum(t, bootstrap, "kcat-group", 20)
	produceN(t, bootstrap, topic, 20, 5)
	kcatGroupRead(t, kcat, bootstrap, "kcat-group", topic, 5)
}

// kcatGroupRead runs kcat -G group until the end of topic and returns the
// values it read, which must be want many.
func kcatGroupRead(t *testing.T, kcat, bootstrap, group, topic string, want int) []string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, kcat, "-b", bootstrap, "-G", group, "-X", "auto.offset.reset=earliest", "-e",
		"-X", "auto.commit.interval.ms=100", "-X", "session.timeout.ms=6000", "-f", "%s\n", topic)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	cmd.WaitDelay = 2 * time.Second
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("kcat -G: %v\n%s", err, stderr.String())
	}
	vals := strings.Split(strings.TrimSuffix(string(out), "\n"), "\n")
	if len(out) == 0 {
		vals = nil
	}
	if len(vals) != want {
		t.Fatalf("kcat -G read %d records, want %d:\n%s\nstderr:\n%s", len(vals), want, out, stderr.String())
	}
	return vals
}

// wantCommittedSum checks that group's committed offsets add up to sum.
func wantCommittedSum(t *testing.T, bootstrap, group string, sum int64) {
	t.Helper()
	offs := fetchCommitted(t, bootstrap, group)
	var got int64
	offs.Each(func(o kadm.OffsetResponse) { got += o.At })
	if got != sum {
		t.Fatalf("group %s's committed offsets sum to %d, want %d: %v", group, got, sum, offs)
	}
}

// wantCommitted checks group's committed offsets of topic: want, by partition.
func wantCommitted(t *testing.T, bootstrap, group, topic string, want map[int32]int64) {
	t.Helper()
	got := map[int32]int64{}
	fetchCommitted(t, bootstrap, group).Each(func(o kadm.OffsetResponse) {
		if o.Topic == topic {
			got[o.Partition] = o.At
		}
	})
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("group %s committed %v of %s, want %v", group, got, topic, want)
	}
}

func fetchCommitted(t *testing.T, bootstrap, group string) kadm.OffsetResponses {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(seedList(bootstrap)...), kgo.RetryTimeout(5*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	offs, err := kadm.NewClient(cl).FetchOffsets(ctx, group)
	if err == nil {
		err = offs.Error()
	}
	if err != nil {
		t.Fatalf("fetch group %s's offsets: %v", group, err)
	}
	return offs
}

// franz-go's group consumer reads what is there and commits it
// (CommitUncommittedOffsets), then leaves the group; kcat -G in the same
// group resumes after it and reads only the records produced since.
func groupInteropFranzGoKcat(t *testing.T, kcat, bootstrap string) {
	const topic, group = "handoff", "handoff-group"
	groupTopic(t, bootstrap, topic, 3)
	produceN(t, bootstrap, topic, 0, 30)
	cl, err := kgo.NewClient(kgo.SeedBrokers(seedList(bootstrap)...), kgo.ConsumerGroup(group),
		kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.DisableAutoCommit(),
		kgo.FetchMaxWait(200*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	start := time.Now()
	for n := 0; n < 30; {
		fs := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			cl.Close()
			t.Fatalf("franz-go group read %d of 30", n)
		}
		fs.EachError(func(topic string, p int32, err error) { t.Logf("franz-go fetch %s/%d: %v", topic, p, err) })
		n += fs.NumRecords()
	}
	if err := cl.CommitUncommittedOffsets(ctx); err != nil {
		t.Fatalf("franz-go commit: %v", err)
	}
	cl.Close() // leaves the group
	t.Logf("franz-go group read and committed 30 in %v", time.Since(start))
	wantCommittedSum(t, bootstrap, group, 30)
	produceN(t, bootstrap, topic, 30, 10)
	vals := kcatGroupRead(t, kcat, bootstrap, group, topic, 10)
	for _, v := range vals {
		if n, err := strconv.Atoi(v); err != nil || n < 30 {
			t.Errorf("kcat -G read %q, which franz-go had committed", v)
		}
	}
	wantCommittedSum(t, bootstrap, group, 40)
}

// pythonGroupResumes: a Python client reads part of a topic in a group
// and commits; a second run in the group reads exactly the rest.
func pythonGroupResumes(t *testing.T, py, script, bootstrap, topic string) {
	groupTopic(t, bootstrap, topic, 3)
	recs := genRecords(300, false)
	runScript(t, py, script, bootstrap, topic, len(recs), "produce", recs)
	first := runScript(t, py, script, bootstrap, topic, 150, "group", nil, "group=py-"+topic)
	second := runScript(t, py, script, bootstrap, topic, len(recs)-len(first.records), "group", nil, "group=py-"+topic)
	seen := map[[2]int64]bool{}
	for _, r := range append(first.records, second.records...) {
		k := [2]int64{int64(r.P), r.O}
		if seen[k] {
			t.Fatalf("partition %d offset %d read by both consumers: the commit was not resumed from", r.P, r.O)
		}
		seen[k] = true
	}
	if len(seen) != len(recs) {
		t.Fatalf("the two consumers read %d distinct records of %d", len(seen), len(recs))
	}
	t.Logf("first consumer read %d and committed, the second resumed with %d", len(first.records), len(second.records))
}
