package main

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// confluent-kafka (librdkafka 2.0.2) sends 100 records in one batch to a
// compacted topic, 10 of them keyless. The broker refuses the batch whole
// with INVALID_RECORD, as Kafka does. librdkafka 2.0.2 sends Produce v7,
// which has no record errors (KIP-467 came to librdkafka in 2.4.0, with
// Produce v8), so it fails every record of the batch with INVALID_RECORD
// (all 100 when they go in one batch, as they do here); 2.4.0+ would fail
// the 10 with INVALID_RECORD and the other 90 with
// _INVALID_DIFFERENT_RECORD. The engine's TestProduceRecordErrorsKeyless
// checks the record errors themselves.
func TestConfluentKafkaKeylessOnCompactedTopic(t *testing.T) {
	py := pythonFor(t, "confluent_kafka", "python3-confluent-kafka")
	b := startBroker(t, brokerOpts{io: "std", args: []string{"--log.segment.bytes=1048576"}})
	cl, err := kgo.NewClient(kgo.SeedBrokers(b.addr))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	topic := "compacted"
	resp, err := kadm.NewClient(cl).CreateTopic(ctx, 1, 1, map[string]*string{"cleanup.policy": kadm.StringPtr("compact")}, topic)
	if err == nil {
		err = resp.Err
	}
	if err != nil {
		t.Fatal(err)
	}
	recs := make([]irec, 100)
	for i := range recs {
		recs[i] = irec{O: -1, Key: fmt.Appendf(nil, "k%d", i%7), Val: fmt.Appendf(nil, "v%d", i)}
		if i%10 == 3 {
			recs[i].Key = nil
		}
	}
	out := runScript(t, py, "confluent_client.py", b.addr, topic, len(recs), "produce", recs,
		"linger=500", "report_errors=true")
	// librdkafka decides the batches: usually all 100 records go in one
	// (linger 500 ms) and all fail; a batch it happened to cut smaller
	// fails or succeeds whole. Either way: only INVALID_RECORD, every
	// keyless record failed, and the broker holds exactly what was
	// delivered.
	failed, _ := out.summary["failed"].(map[string]any)
	if len(failed) != 1 || failed["INVALID_RECORD"] == nil {
		t.Errorf("librdkafka %v failed %v, want INVALID_RECORD only", out.summary["librdkafka"], failed)
	}
	idx, _ := out.summary["failed_indexes"].([]any)
	isFailed := map[int]bool{}
	for _, i := range idx {
		isFailed[int(i.(float64))] = true
	}
	for i, r := range recs {
		if r.Key == nil && !isFailed[i] {
			t.Errorf("keyless record %d was not failed", i)
		}
		if _, ok := out.delivered[i]; ok == isFailed[i] {
			t.Errorf("record %d: delivered %v, failed %v", i, ok, isFailed[i])
		}
	}
	t.Logf("librdkafka %v: %d records failed with INVALID_RECORD, %d delivered",
		out.summary["librdkafka"], len(idx), len(out.delivered))
	// Nothing of a refused batch was written.
	offs, err := kadm.NewClient(cl).ListEndOffsets(ctx, topic)
	if err != nil {
		t.Fatal(err)
	}
	if o, _ := offs.Lookup(topic, 0); o.Offset != int64(len(out.delivered)) {
		t.Errorf("end offset %d, want %d (the records delivered)", o.Offset, len(out.delivered))
	}
}
