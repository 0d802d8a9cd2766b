package engine

import (
	"strconv"
	"strings"

	"github.com/weirmq/weir/engine/config"
	"github.com/weirmq/weir/engine/metadata"
	"github.com/weirmq/weir/logstore"
)

// topicConfig is a topic's effective configuration, rebuilt whenever the
// image changes: values holds every topic key (config.Topic), from the
// topic's own values, else the broker's, else Kafka's defaults; log is
// what its partition logs run with.
type topicConfig struct {
	values *config.Config
	log    logstore.Config
}

// brokerConfigOf is the broker's effective configuration under im: the
// static one (server.properties, flags), then the dynamic cluster-wide
// defaults, then this broker's dynamic values, each over the one before.
func (b *Broker) brokerConfigOf(im *metadata.Image) *config.Config {
	c, err := b.opts.Config.With(im.BrokerConfigs(""), config.SourceDynamicDefault)
	if err != nil {
		b.log.Warn("ignoring dynamic broker configs", "err", err)
	}
	c, err = c.With(im.BrokerConfigs(b.nodeName()), config.SourceDynamicBroker)
	if err != nil {
		b.log.Warn("ignoring dynamic broker configs", "err", err)
	}
	return c
}

// nodeName is this node's broker config resource name: its id.
func (b *Broker) nodeName() string { return strconv.Itoa(int(b.nodeID)) }

// topicConfigOf is the effective configuration of a topic whose own
// values are overrides, under broker.
func (b *Broker) topicConfigOf(broker *config.Config, overrides map[string]string) *topicConfig {
	values, err := config.TopicConfig(broker, overrides)
	if err != nil {
		b.log.Warn("ignoring topic configs", "err", err)
	}
	return &topicConfig{values: values, log: logConfigOf(values)}
}

// topicConfigsOf is every topic's effective configuration under im.
func (b *Broker) topicConfigsOf(im *metadata.Image, broker *config.Config) map[string]*topicConfig {
	out := map[string]*topicConfig{}
	for _, t := range im.Topics() {
		out[t.Name] = b.topicConfigOf(broker, t.Configs)
	}
	return out
}

// logConfigOf turns topic values into the log settings logstore takes.
func logConfigOf(c *config.Config) logstore.Config {
	lc := logstore.DefaultConfig()
	lc.SegmentBytes = int64(c.Int("segment.bytes"))
	lc.SegmentMs = c.Long("segment.ms")
	lc.Preallocate = c.Bool("preallocate")
	lc.PreallocateStepBytes = c.Long("segment.preallocate.step.bytes")
	// logstore's index files need room for one time index entry (12 bytes);
	// Kafka accepts 4.
	lc.SegmentIndexBytes = max(int64(c.Int("segment.index.bytes")), 12)
	lc.IndexIntervalBytes = int64(c.Int("index.interval.bytes"))
	lc.MaxMessageBytes = int64(c.Int("max.message.bytes"))
	lc.LogAppendTime = c.String("message.timestamp.type") == "LogAppendTime"
	lc.TimestampBeforeMaxMs = c.Long("message.timestamp.before.max.ms")
	lc.TimestampAfterMaxMs = c.Long("message.timestamp.after.max.ms")
	lc.RetentionMs = max(c.Long("retention.ms"), -1) // a broker's -5 hours is forever too
	lc.RetentionBytes = c.Long("retention.bytes")
	lc.FlushMessages = c.Long("flush.messages")
	lc.FlushMs = c.Long("flush.ms")
	lc.FileDeleteDelayMs = c.Long("file.delete.delay.ms")
	// The broker's log cleaner compacts (log.cleaner.*, see startCleaner).
	lc.CleanupPolicy = strings.Join(c.List("cleanup.policy"), ",")
	lc.DeleteRetentionMs = c.Long("delete.retention.ms")
	lc.MinCleanableDirtyRatio = c.Double("min.cleanable.dirty.ratio")
	lc.MinCompactionLagMs = c.Long("min.compaction.lag.ms")
	lc.MaxCompactionLagMs = c.Long("max.compaction.lag.ms")
	return lc
}

// topicConfig is the effective configuration of a topic, or nil when it
// does not exist. The data path reads values (min.insync.replicas,
// compression.type, ...) here; the log settings are in the logs already.
func (b *Broker) topicConfig(topic string) *topicConfig {
	return (*b.topicConfigs.Load())[topic]
}

// brokerConfig is the broker's effective configuration now (static, then
// dynamic values from AlterConfigs).
func (b *Broker) brokerConfig() *config.Config { return b.effective.Load() }
