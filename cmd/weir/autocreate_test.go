package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os/exec"
	"sort"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/segmentio/kafka-go"
	"github.com/twmb/franz-go/pkg/kgo"
)

// Every client produces to a topic nobody created: the broker answers the
// Metadata request that auto-creates it with UNKNOWN_TOPIC_OR_PARTITION and
// no partitions (Kafka's KRaft answer), and the client must ask again and
// deliver. kcat runs the README's example.
func TestInteropAutoCreate(t *testing.T) {
	b := startBroker(t, brokerOpts{io: "std", args: []string{"--log.segment.bytes=1048576"}})
	values := func(client string) []string {
		var vs []string
		for i := range 5 {
			vs = append(vs, fmt.Sprintf("%s-%d", client, i))
		}
		return vs
	}
	t.Run("kcat", func(t *testing.T) {
		kcat, err := exec.LookPath("kcat")
		if err != nil {
			t.Skip("kcat not installed (make deps)")
		}
		topic, want := "greetings", values("kcat")
		ctx, cancel := context.WithTimeout(context.Background(), interopRunTimeout)
		defer cancel()
		cmd := exec.CommandContext(ctx, kcat, "-b", b.addr, "-P", "-t", topic)
		cmd.Stdin = bytes.NewBufferString(want[0] + "\n" + want[1] + "\n" + want[2] + "\n" + want[3] + "\n" + want[4] + "\n")
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		if err := cmd.Run(); err != nil {
			t.Fatalf("kcat -P: %v\n%s", err, stderr.String())
		}
		wantValues(t, b.addr, topic, want)
	})
	t.Run("confluent-kafka", func(t *testing.T) {
		py := pythonFor(t, "confluent_kafka", "python3-confluent-kafka")
		topic, want := "auto-confluent", values("confluent")
		runScript(t, py, "confluent_client.py", b.addr, topic, len(want), "produce", valueRecords(want))
		wantValues(t, b.addr, topic, want)
	})
	t.Run("kafka-python", func(t *testing.T) {
		py := pythonFor(t, "kafka", "python3-kafka")
		topic, want := "auto-kafka-python", values("kafka-python")
		runScript(t, py, "kafka_python_client.py", b.addr, topic, len(want), "produce", valueRecords(want))
		wantValues(t, b.addr, topic, want)
	})
	t.Run("sarama", func(t *testing.T) {
		topic, want := "auto-sarama", values("sarama")
		cfg := sarama.NewConfig()
		cfg.Version = sarama.V2_8_0_0
		cfg.Producer.Return.Successes = true
		cfg.Metadata.Retry.Backoff = 50 * time.Millisecond
		p, err := sarama.NewSyncProducer([]string{b.addr}, cfg)
		if err != nil {
			t.Fatal(err)
		}
		defer p.Close()
		for _, v := range want {
			if _, _, err := p.SendMessage(&sarama.ProducerMessage{Topic: topic, Value: sarama.StringEncoder(v)}); err != nil {
				t.Fatalf("sarama: %v", err)
			}
		}
		wantValues(t, b.addr, topic, want)
	})
	t.Run("kafka-go", func(t *testing.T) {
		topic, want := "auto-kafka-go", values("kafka-go")
		w := &kafka.Writer{Addr: kafka.TCP(b.addr), Topic: topic, AllowAutoTopicCreation: true,
			BatchTimeout: 10 * time.Millisecond, ReadTimeout: 10 * time.Second, WriteTimeout: 10 * time.Second}
		ctx, cancel := context.WithTimeout(context.Background(), interopRunTimeout)
		defer cancel()
		var msgs []kafka.Message
		for _, v := range want {
			msgs = append(msgs, kafka.Message{Value: []byte(v)})
		}
		// kafka-go's Writer fails a write when the Metadata answer for its
		// topic carries an error, as the first answer for an auto-created
		// topic does on Kafka too; the application writes again.
		err := w.WriteMessages(ctx, msgs...)
		if !errors.Is(err, kafka.UnknownTopicOrPartition) {
			t.Errorf("kafka-go's first write: %v, want UNKNOWN_TOPIC_OR_PARTITION (the topic being created)", err)
		}
		err = w.WriteMessages(ctx, msgs...)
		w.Close()
		if err != nil {
			t.Fatalf("kafka-go: %v", err)
		}
		wantValues(t, b.addr, topic, want)
	})
}

// valueRecords are records of partition 0 holding values, for the scripts.
func valueRecords(values []string) []irec {
	var recs []irec
	for _, v := range values {
		recs = append(recs, irec{O: -1, Val: []byte(v)})
	}
	return recs
}

// wantValues reads topic from the start with franz-go until it has as many
// records as want, and compares their values (in any order).
func wantValues(t *testing.T, addr, topic string, want []string) {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr), kgo.ConsumeTopics(topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.FetchMaxWait(200*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	var got []string
	for len(got) < len(want) && ctx.Err() == nil {
		cl.PollFetches(ctx).EachRecord(func(r *kgo.Record) { got = append(got, string(r.Value)) })
	}
	sort.Strings(got)
	sorted := append([]string(nil), want...)
	sort.Strings(sorted)
	if fmt.Sprint(got) != fmt.Sprint(sorted) {
		t.Fatalf("%s holds %q, want %q", topic, got, sorted)
	}
}
