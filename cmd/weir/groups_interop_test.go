package main

import (
	"bytes"
	"context"
	"os/exec"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	"strings"
	"testing"
	"time"

	"github.com/IBM/sarama"
	kafka "github.com/segmentio/kafka-go"
)

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

// Sarama's consumer group with manual commits, then kafka-go's Reader with
// a GroupID: each resumes where the group committed.
func TestConsumerGroupInteropSaramaKafkaGo(t *testing.T) {
	b := startBroker(t, brokerOpts{io: "std", args: groupArgs})
	const topic = "interop-groups"
	createTopic(t, b.addr, topic, 3)
	produceN(t, b.addr, topic, 0, 30)

	cfg := sarama.NewConfig()
	cfg.Version = sarama.V2_8_0_0
	cfg.Consumer.Offsets.Initial = sarama.OffsetOldest
	cfg.Consumer.Offsets.AutoCommit.Enable = false
	cfg.Consumer.MaxWaitTime = 100 * time.Millisecond
	cfg.Consumer.Group.Rebalance.GroupStrategies = []sarama.BalanceStrategy{sarama.NewBalanceStrategyRange()}
	saramaRead := func(want int) {
		t.Helper()
		g, err := sarama.NewConsumerGroup([]string{b.addr}, "interop", cfg)
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
	produceN(t, b.addr, topic, 30, 9)
	start = time.Now()
	saramaRead(9)
	t.Logf("sarama read 9 in %v", time.Since(start))
	start = time.Now()

	produceN(t, b.addr, topic, 39, 6)
	rd := kafka.NewReader(kafka.ReaderConfig{Brokers: []string{b.addr}, GroupID: "interop", Topic: topic,
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
	produceN(t, b.addr, topic, 45, 3)
	saramaRead(3)
}

// kcat -G: librdkafka's balanced consumer commits (auto commit) what it
// read; a second run in the group reads only what came after.
func TestConsumerGroupInteropKcat(t *testing.T) {
	kcat, err := exec.LookPath("kcat")
	if err != nil {
		t.Skip("kcat not installed (make deps)")
	}
	b := startBroker(t, brokerOpts{io: "std", args: groupArgs})
	const topic = "kcat-groups"
	createTopic(t, b.addr, topic, 3)
	run := func(want int) {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		cmd := exec.CommandContext(ctx, kcat, "-b", b.addr, "-G", "kcat-group", "-X", "auto.offset.reset=earliest", "-e",
			"-X", "auto.commit.interval.ms=100", "-X", "session.timeout.ms=6000", "-f", "%s\n", topic)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("kcat -G: %v\n%s", err, stderr.String())
		}
		if got := strings.Count(string(out), "\n"); got != want {
			t.Fatalf("kcat -G read %d records, want %d:\n%s\nstderr:\n%s", got, want, out, stderr.String())
		}
	}
	produceN(t, b.addr, topic, 0, 20)
	run(20)
	cl, err := kgo.NewClient(kgo.SeedBrokers(b.addr))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	offs, err := kadm.NewClient(cl).FetchOffsets(context.Background(), "kcat-group")
	var sum int64
	offs.Each(func(o kadm.OffsetResponse) { sum += o.At })
	if err != nil || sum != 20 {
		t.Fatalf("kcat's committed offsets sum to %d (%v), want 20", sum, err)
	}
	produceN(t, b.addr, topic, 20, 5)
	run(5)
}

// TestConsumerGroupInteropKafkaPython: kafka-python's KafkaConsumer in a
// group with manual synchronous commits; a second consumer in the group
// resumes exactly after what the first committed.
func TestConsumerGroupInteropKafkaPython(t *testing.T) {
	py := pythonFor(t, "kafka", "python3-kafka")
	testPythonGroupResumes(t, py, "kafka_python_client.py", "interop-groups-python")
}

// TestConsumerGroupInteropConfluent: confluent-kafka's (librdkafka's)
// Consumer subscribed in a group with synchronous commits, the same way.
func TestConsumerGroupInteropConfluent(t *testing.T) {
	py := pythonFor(t, "confluent_kafka", "python3-confluent-kafka")
	testPythonGroupResumes(t, py, "confluent_client.py", "interop-groups-confluent")
}

// testPythonGroupResumes: a Python client reads part of a topic in a group
// and commits; a second run in the group reads exactly the rest.
func testPythonGroupResumes(t *testing.T, py, script, topic string) {
	b := startBroker(t, brokerOpts{io: "uring", args: groupArgs})
	createTopic(t, b.addr, topic, 3)
	recs := genRecords(300, false)
	runPython(t, py, script, b.addr, topic, len(recs), "produce", recs)
	first := runPython(t, py, script, b.addr, topic, 150, "group", nil, "group=py")
	second := runPython(t, py, script, b.addr, topic, len(recs)-len(first.records), "group", nil, "group=py")
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
