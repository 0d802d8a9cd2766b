package engine

import (
	"errors"
	"fmt"

	"github.com/twmb/franz-go/pkg/kerr"

	"github.com/weirmq/weir/engine/config"
	"github.com/weirmq/weir/engine/controller"
	"github.com/weirmq/weir/engine/metadata"
	"github.com/weirmq/weir/logstore"
)

// The controller's decisions (what a change may do, its records) are
// package controller's; what follows is the broker's part of a change:
// the partition logs, publication and the answer.

// errPartitionLogs: a new partition's log could not be made (a full disk,
// no file descriptors); the change was not committed.
var errPartitionLogs = errors.New("cannot create the partition logs")

// commitErr answers a change the controller could not write.
func (b *Broker) commitErr(err error) *controller.Refusal {
	var nc *controller.NotControllerError
	if errors.Is(err, controller.ErrClosed) || errors.As(err, &nc) || errors.Is(err, controller.ErrStaleImage) {
		// Another node is (or is becoming) the active controller: the
		// client finds it and tries again.
		return controller.RefuseDefault(kerr.NotController)
	}
	b.log.Error("metadata change failed", "err", err)
	if errors.Is(err, errPartitionLogs) {
		return controller.Refuse(kerr.KafkaStorageError, "%v", err)
	}
	return controller.Refuse(kerr.KafkaStorageError, "cannot write the metadata log: %v", err)
}

// createTopicsLocked creates the plans' logs in the emptiest log dirs,
// commits the plans as one change and publishes them. b.ctl.mu must be
// held. When a log cannot be made (a full disk, no file descriptors) the
// logs made so far are deleted, nothing is committed, and the error wraps
// errPartitionLogs (KAFKA_STORAGE_ERROR for every topic of the change).
func (b *Broker) createTopicsLocked(plans []*controller.TopicPlan) error {
	var recs []metadata.Record
	var logs []newLog
	broker := b.brokerConfigOf(b.image.Load())
	for _, p := range plans {
		recs = append(recs, p.Records()...)
		lc := b.topicConfigOf(broker, p.Configs).log
		for i := range p.Replicas {
			logs = append(logs, newLog{tp: logstore.TopicPartition{Topic: p.Name, Partition: int32(i)}, id: p.ID, cfg: lc})
		}
	}
	if b.cluster != nil {
		logs = nil // each replica's broker makes its log once the change is applied (hostLocked)
	}
	if err := b.createLogs(logs); err != nil {
		return fmt.Errorf("%w: %w", errPartitionLogs, err)
	}
	// The logs first: a topic is committed only once its partitions can
	// take writes (a topic whose logs could not be made had leader -1).
	im, err := b.commitLocked(recs)
	if err != nil {
		b.dropLogs(logs)
		return err
	}
	for _, p := range plans {
		b.log.Info("created topic", "topic", p.Name, "id", UUID(p.ID).String(), "partitions", len(p.Replicas),
			"configs", p.Configs)
	}
	b.publishLocked(im)
	return nil
}

// dropLogs deletes the logs made for a change that was not committed.
func (b *Broker) dropLogs(logs []newLog) {
	for _, nl := range logs {
		if err := b.deleteLog(nl.tp); err != nil {
			b.log.Warn("cannot delete the log of a partition that was not created", "partition", nl.tp.String(), "err", err)
		}
	}
}

// deleteTopicsLocked removes topics: noted as being deleted
// (pendingDeletesFile), the records written, the new image without them
// published, then their logs renamed to `-delete` (removed in the
// background after file.delete.delay.ms). A crash anywhere in between is
// finished by the next start (reconcileLogs). b.ctl.mu must be held.
func (b *Broker) deleteTopicsLocked(topics []*metadata.Topic) error {
	if b.cluster != nil {
		// Each replica's broker deletes its logs once the change is
		// applied (hostLocked).
		im, err := b.commitLocked(controller.RemoveRecords(topics))
		if err != nil {
			return err
		}
		b.publishLocked(im)
		for _, t := range topics {
			b.log.Info("deleted topic", "topic", t.Name, "id", UUID(t.ID).String())
		}
		return nil
	}
	carried := b.notePendingDeletes(topics)
	im, err := b.commitLocked(controller.RemoveRecords(topics))
	if err != nil {
		return err // the note stays: it matches no log of a topic the metadata has
	}
	b.publishLocked(im)
	b.haltPoint("delete-topics-committed")
	renamed := true
	for _, t := range topics {
		for i := range t.Partitions {
			tp := logstore.TopicPartition{Topic: t.Name, Partition: int32(i)}
			if err := b.deleteLog(tp); err != nil {
				renamed = false
				b.log.Error("cannot delete partition log", "partition", tp.String(), "err", err)
			}
		}
		b.log.Info("deleted topic", "topic", t.Name, "id", UUID(t.ID).String())
	}
	if renamed && !carried {
		b.clearPendingDeletes() // else the next start finishes what is left
	}
	return nil
}

// addPartitionsLocked creates the logs of new partitions of topic t
// (replicas and ISRs of partitions len(t.Partitions) on), commits them and
// publishes; nothing is committed when a log cannot be made.
func (b *Broker) addPartitionsLocked(t *metadata.Topic, replicas, isr [][]int32) error {
	first := int32(len(t.Partitions))
	lc := b.topicConfigOf(b.brokerConfigOf(b.image.Load()), t.Configs).log
	var logs []newLog
	for i := range replicas {
		logs = append(logs, newLog{tp: logstore.TopicPartition{Topic: t.Name, Partition: first + int32(i)}, id: t.ID, cfg: lc})
	}
	if b.cluster != nil {
		logs = nil // made by each replica's broker (hostLocked)
	}
	if err := b.createLogs(logs); err != nil {
		return fmt.Errorf("%w: %w", errPartitionLogs, err)
	}
	im, err := b.commitLocked(controller.PartitionRecords(t.ID, first, replicas, isr))
	if err != nil {
		b.dropLogs(logs)
		return err
	}
	b.log.Info("added partitions", "topic", t.Name, "from", len(t.Partitions), "to", int(first)+len(replicas))
	b.publishLocked(im)
	return nil
}

// autoTopicRequest is what auto-creation asks for a topic
// (controller.AutoTopicRequest), warning when an internal topic gets
// fewer replicas than configured.
func (b *Broker) autoTopicRequest(name string, broker *config.Config, brokers int) controller.TopicRequest {
	t, capped := controller.AutoTopicRequest(name, broker, brokers)
	if capped != nil {
		b.log.Warn(capped.String(), "topic", name, "key", capped.Key,
			"configured", capped.Configured, "replication_factor", capped.Factor)
	}
	return t
}
