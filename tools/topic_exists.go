package tools

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// existingPartitions is how many partitions topic has. produce and
// consume call it first because franz-go retries UNKNOWN_TOPIC_OR_PARTITION
// rather than failing. With autoCreate the Metadata request lets the broker
// create the topic when its auto.create.topics.enable is on, as Kafka's
// console producer does; consume asks without, as a check must not create.
// A broker answers the request that auto-creates a topic with
// UNKNOWN_TOPIC_OR_PARTITION (Kafka's KRaft brokers, and Weir, as the
// creation goes to the controller), so with autoCreate that answer is
// asked again for autoCreateGrace before it counts.
func existingPartitions(ctx context.Context, cl *kgo.Client, topic string, autoCreate bool) (int32, error) {
	req := kmsg.NewPtrMetadataRequest()
	rt := kmsg.NewMetadataRequestTopic()
	rt.Topic = kmsg.StringPtr(topic)
	req.Topics = append(req.Topics, rt)
	req.AllowAutoTopicCreation = autoCreate
	var graceEnd time.Time
	if autoCreate {
		graceEnd = time.Now().Add(autoCreateGrace)
	}
	for {
		resp, err := req.RequestWith(ctx, cl)
		if err != nil {
			return 0, fmt.Errorf("metadata of topic %q: %w", topic, err)
		}
		for _, t := range resp.Topics {
			if t.Topic == nil || *t.Topic != topic {
				continue
			}
			err := kerr.ErrorForCode(t.ErrorCode)
			if errors.Is(err, kerr.LeaderNotAvailable) && ctx.Err() == nil {
				break // just created: leaders are being elected
			}
			if errors.Is(err, kerr.UnknownTopicOrPartition) && time.Now().Before(graceEnd) && ctx.Err() == nil {
				break // perhaps being auto-created
			}
			if errors.Is(err, kerr.UnknownTopicOrPartition) {
				return 0, fmt.Errorf("topic %q does not exist", topic)
			}
			if err != nil {
				return 0, fmt.Errorf("topic %q: %w", topic, err)
			}
			return int32(len(t.Partitions)), nil
		}
		select {
		case <-ctx.Done():
			return 0, fmt.Errorf("topic %q does not exist", topic)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// autoCreateGrace is how long an auto-creating check waits for a topic
// that a broker answered UNKNOWN_TOPIC_OR_PARTITION for.
const autoCreateGrace = time.Second

// checkTopicPartition fails fast, within --request-timeout, when the topic
// or the partition (-1: any) does not exist or no broker answers.
func (c *conn) checkTopicPartition(cl *kgo.Client, topic string, partition int32, autoCreate bool) error {
	ctx, cancel := c.context()
	defer cancel()
	n, err := existingPartitions(ctx, cl, topic, autoCreate)
	if err != nil {
		return errors.New(c.explain(err))
	}
	if partition >= n {
		return fmt.Errorf("topic %q has %d partitions; there is no partition %d", topic, n, partition)
	}
	return nil
}
