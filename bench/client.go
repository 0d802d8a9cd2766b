package bench

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
)

// Target is a broker (or cluster) the benchmark drives.
type Target struct {
	Name      string
	Bootstrap []string
	PID       int // the broker process, for its CPU; 0 when unknown
	// NodePIDs are a cluster's broker processes, by node, when the
	// benchmark started them: their CPU is the broker CPU, summed, and each
	// node's is reported apart (Result.NodeCPU). PID is then 0.
	NodePIDs []int
}

// pids lists the target's broker processes whose CPU is metered.
func (t Target) pids() []int {
	if len(t.NodePIDs) > 0 {
		return t.NodePIDs
	}
	return []int{t.PID}
}

// codec parses --compression and its level (0 = the codec's default).
func codec(name string, level int) (kgo.CompressionCodec, error) {
	var c kgo.CompressionCodec
	switch name {
	case "none":
		return kgo.NoCompression(), nil
	case "gzip":
		c = kgo.GzipCompression()
	case "snappy":
		c = kgo.SnappyCompression()
	case "lz4":
		c = kgo.Lz4Compression()
	case "zstd":
		c = kgo.ZstdCompression()
	default:
		return c, fmt.Errorf("unknown compression %q (none, gzip, snappy, lz4, zstd)", name)
	}
	if level != 0 {
		c = c.WithLevel(level)
	}
	return c, nil
}

// acks parses --acks: 0, 1 or all (-1).
func acks(s string) (kgo.Acks, error) {
	switch s {
	case "0":
		return kgo.NoAck(), nil
	case "1":
		return kgo.LeaderAck(), nil
	case "all", "-1":
		return kgo.AllISRAcks(), nil
	}
	return kgo.Acks{}, fmt.Errorf("bad --acks %q: 0, 1 or all", s)
}

// admin opens an admin client on a target.
func admin(t Target) (*kadm.Client, error) {
	cl, err := kgo.NewClient(kgo.SeedBrokers(t.Bootstrap...), kgo.ClientID("weir-bench"),
		kgo.DialTimeout(5*time.Second), kgo.RetryTimeout(15*time.Second))
	if err != nil {
		return nil, err
	}
	return kadm.NewClient(cl), nil
}

// createTopic makes the run's topic. With recreate, an existing topic of
// that name is deleted first so the run starts from an empty log; without,
// an existing topic is used as it is (records are appended).
func createTopic(ctx context.Context, t Target, topic string, partitions int, rf int16, recreate bool) error {
	adm, err := admin(t)
	if err != nil {
		return err
	}
	defer adm.Close()
	if recreate {
		if err := deleteTopicWith(ctx, adm, topic); err != nil {
			return err
		}
	}
	// A deleted topic's name can take a moment to become free again.
	deadline := time.Now().Add(15 * time.Second)
	for {
		resp, err := adm.CreateTopic(ctx, int32(partitions), rf, nil, topic)
		if err == nil {
			err = resp.Err
		}
		if err == nil || (!recreate && errors.Is(err, kerr.TopicAlreadyExists)) {
			break
		}
		if !errors.Is(err, kerr.TopicAlreadyExists) || time.Now().After(deadline) {
			return fmt.Errorf("create topic %s on %s: %w", topic, t.Name, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	// Wait until every partition has a leader, so the first records do not
	// pay for metadata retries.
	for {
		md, err := adm.Metadata(ctx, topic)
		if err == nil {
			td, ok := md.Topics[topic]
			if ok && td.Err == nil && len(td.Partitions) > 0 && allLed(td) {
				return nil
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("topic %s on %s: partitions without a leader after 15s", topic, t.Name)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func allLed(td kadm.TopicDetail) bool {
	for _, p := range td.Partitions {
		if p.Err != nil || p.Leader < 0 {
			return false
		}
	}
	return true
}

// deleteTopic removes a run's topic so the broker's disk (or kfake's
// memory) does not fill up over a long suite.
func deleteTopic(ctx context.Context, t Target, topic string) error {
	adm, err := admin(t)
	if err != nil {
		return err
	}
	defer adm.Close()
	return deleteTopicWith(ctx, adm, topic)
}

func deleteTopicWith(ctx context.Context, adm *kadm.Client, topic string) error {
	resp, err := adm.DeleteTopics(ctx, topic)
	if err != nil {
		return fmt.Errorf("delete topic %s: %w", topic, err)
	}
	for _, r := range resp {
		if r.Err != nil && !errors.Is(r.Err, kerr.UnknownTopicOrPartition) {
			return fmt.Errorf("delete topic %s: %w", topic, r.Err)
		}
	}
	return nil
}

// endOffsets lists a topic's start and end offsets per partition.
func endOffsets(ctx context.Context, t Target, topic string) (start, end map[int32]int64, err error) {
	adm, err := admin(t)
	if err != nil {
		return nil, nil, err
	}
	defer adm.Close()
	so, err := adm.ListStartOffsets(ctx, topic)
	if err != nil {
		return nil, nil, err
	}
	eo, err := adm.ListEndOffsets(ctx, topic)
	if err != nil {
		return nil, nil, err
	}
	start, end = map[int32]int64{}, map[int32]int64{}
	var errs []string
	so.Each(func(o kadm.ListedOffset) {
		if o.Err != nil {
			errs = append(errs, fmt.Sprintf("partition %d: %v", o.Partition, o.Err))
		}
		start[o.Partition] = o.Offset
	})
	eo.Each(func(o kadm.ListedOffset) {
		if o.Err != nil {
			errs = append(errs, fmt.Sprintf("partition %d: %v", o.Partition, o.Err))
		}
		end[o.Partition] = o.Offset
	})
	if len(errs) > 0 {
		return nil, nil, fmt.Errorf("list offsets of %s: %s", topic, strings.Join(errs, "; "))
	}
	if len(end) == 0 {
		return nil, nil, fmt.Errorf("topic %s has no partitions on %s", topic, t.Name)
	}
	return start, end, nil
}
