package config

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// Topic is the registry of topic-level keys, with Kafka's names, types,
// defaults and validators (LogConfig). A topic's value of a key is its own
// (CreateTopics, AlterConfigs), else the broker's value of the key's
// synonym (TopicSynonyms), else the default here.
//
// Weir acts on the keys logstore takes (segment.*, index.interval.bytes,
// retention.*, flush.*, max.message.bytes, message.timestamp.type,
// file.delete.delay.ms, cleanup.policy, delete.retention.ms,
// min.cleanable.dirty.ratio, min.compaction.lag.ms and
// max.compaction.lag.ms); the others are kept and described, for the code
// that will honour them (min.insync.replicas with acks=all).
var Topic = NewRegistry(topicKeys)

const maxLong = "9223372036854775807"

var topicKeys = []Key{
	{Name: "cleanup.policy", Type: List, Default: "delete", Validate: In("compact", "delete"),
		Doc: "What happens to old segments: delete, compact, or both."},
	{Name: "compression.type", Type: String, Default: "producer", Validate: In(compressionTypes...),
		Doc: "The codec of stored batches; producer keeps what the producer sent."},
	{Name: "compression.gzip.level", Type: Int, Default: "-1", Validate: gzipLevel,
		Doc: "The gzip level when the broker compresses (-1: the codec's default)."},
	{Name: "compression.lz4.level", Type: Int, Default: "9", Validate: Between(1, 17),
		Doc: "The lz4 level when the broker compresses."},
	{Name: "compression.zstd.level", Type: Int, Default: "3", Validate: Between(-131072, 22),
		Doc: "The zstd level when the broker compresses."},
	{Name: "delete.retention.ms", Type: Long, Default: "86400000", Validate: AtLeast(0),
		Doc: "How long delete tombstones are kept in a compacted topic."},
	{Name: "file.delete.delay.ms", Type: Long, Default: "60000", Validate: AtLeast(0),
		Doc: "How long a deleted segment's files stay before they are unlinked."},
	{Name: "flush.messages", Type: Long, Default: maxLong, Validate: AtLeast(1),
		Doc: "Records appended to a partition before it is fsynced."},
	{Name: "flush.ms", Type: Long, Default: maxLong, Validate: AtLeast(0),
		Doc: "The longest an append waits for an fsync."},
	{Name: "follower.replication.throttled.replicas", Type: List, Default: "",
		Validate: throttledReplicas, Doc: "Replicas throttled on the follower side (partition:broker,...)."},
	{Name: "index.interval.bytes", Type: Int, Default: "4096", Validate: AtLeast(0),
		Doc: "Bytes of log between two offset index entries."},
	{Name: "leader.replication.throttled.replicas", Type: List, Default: "",
		Validate: throttledReplicas, Doc: "Replicas throttled on the leader side (partition:broker,...)."},
	{Name: "local.retention.bytes", Type: Long, Default: "-2", Validate: AtLeast(-2),
		Doc: "Tiered storage's local retention size (-2: retention.bytes); Weir has no tiers."},
	{Name: "local.retention.ms", Type: Long, Default: "-2", Validate: AtLeast(-2),
		Doc: "Tiered storage's local retention time (-2: retention.ms); Weir has no tiers."},
	{Name: "max.compaction.lag.ms", Type: Long, Default: maxLong, Validate: AtLeast(1),
		Doc: "The maximum time a message will remain ineligible for compaction in the log."},
	{Name: "max.message.bytes", Type: Int, Default: "1048588", Validate: AtLeast(0),
		Doc: "The largest record batch a producer may append."},
	{Name: "message.timestamp.after.max.ms", Type: Long, Default: maxLong, Validate: AtLeast(0),
		Doc: "How far in the future a CreateTime timestamp may be."},
	{Name: "message.timestamp.before.max.ms", Type: Long, Default: maxLong, Validate: AtLeast(0),
		Doc: "How far in the past a CreateTime timestamp may be."},
	{Name: "message.timestamp.type", Type: String, Default: "CreateTime",
		Validate: In("CreateTime", "LogAppendTime"),
		Doc:      "Whether record timestamps are the producer's (CreateTime) or the broker's."},
	{Name: "min.cleanable.dirty.ratio", Type: Double, Default: "0.5", Validate: Between(0, 1),
		Doc: "The dirty share of a log above which the log compactor cleans it."},
	{Name: "min.compaction.lag.ms", Type: Long, Default: "0", Validate: AtLeast(0),
		Doc: "The minimum time a message will remain uncompacted in the log."},
	{Name: "min.insync.replicas", Type: Int, Default: "1", Validate: AtLeast(1),
		Doc: "Replicas that must acknowledge an acks=all write."},
	{Name: "preallocate", Type: Bool, Default: "false",
		Doc: "Reserve a whole segment on disk at its first append; false: in steps (see below)."},
	{Name: "remote.log.copy.disable", Type: Bool, Default: "false",
		Doc: "Tiered storage: stop copying segments to remote storage."},
	{Name: "remote.log.delete.on.disable", Type: Bool, Default: "false",
		Doc: "Tiered storage: delete remote data when remote storage is disabled."},
	{Name: "remote.storage.enable", Type: Bool, Default: "false", Validate: noTieredStorage,
		Doc: "Tiered storage for the topic; Weir has none, so only false is accepted."},
	{Name: "retention.bytes", Type: Long, Default: "-1",
		Doc: "The size a partition may reach before old segments go; -1 is no limit."},
	{Name: "retention.ms", Type: Long, Default: "604800000", Validate: AtLeast(-1),
		Doc: "How long to keep a segment, in ms; -1 keeps it forever."},
	{Name: "segment.bytes", Type: Int, Default: "1073741824", Validate: AtLeast(14),
		Doc: "The size at which a segment is rolled."},
	{Name: "segment.index.bytes", Type: Int, Default: "10485760", Validate: AtLeast(4),
		Doc: "The largest offset index of a segment: a segment rolls when its index is full."},
	{Name: "segment.preallocate.step.bytes", Type: Long, Default: "67108864", Validate: AtLeast(0),
		Doc: "Weir: the largest step of disk reserved ahead of writes (from 64 KiB); 0 reserves none."},
	{Name: "segment.jitter.ms", Type: Long, Default: "0", Validate: AtLeast(0),
		Doc: "The most random jitter taken off segment.ms."},
	{Name: "segment.ms", Type: Long, Default: "604800000", Validate: AtLeast(1),
		Doc: "The age at which a non-empty segment is rolled."},
	{Name: "unclean.leader.election.enable", Type: Bool, Default: "false",
		Doc: "Allow a replica outside the ISR to become leader, at the risk of data loss."},
}

// TopicSynonyms maps a topic key to the broker keys that give its default,
// most precise first, with the scale from the broker key's unit (Kafka's
// ServerTopicConfigSynonyms). A topic key missing here has no broker
// synonym.
var TopicSynonyms = map[string][]Synonym{
	"segment.bytes": {{Name: "log.segment.bytes"}},
	"segment.ms": {{Name: "log.roll.ms"},
		{Name: "log.roll.hours", Scale: 3_600_000}},
	"segment.jitter.ms": {{Name: "log.roll.jitter.ms"},
		{Name: "log.roll.jitter.hours", Scale: 3_600_000}},
	"segment.index.bytes": {{Name: "log.index.size.max.bytes"}},
	"flush.messages":      {{Name: "log.flush.interval.messages"}},
	"flush.ms": {{Name: "log.flush.interval.ms"},
		{Name: "log.flush.scheduler.interval.ms"}},
	"retention.bytes": {{Name: "log.retention.bytes"}},
	"retention.ms": {{Name: "log.retention.ms"},
		{Name: "log.retention.minutes", Scale: 60_000},
		{Name: "log.retention.hours", Scale: 3_600_000}},
	"max.message.bytes":               {{Name: "message.max.bytes"}},
	"index.interval.bytes":            {{Name: "log.index.interval.bytes"}},
	"delete.retention.ms":             {{Name: "log.cleaner.delete.retention.ms"}},
	"min.compaction.lag.ms":           {{Name: "log.cleaner.min.compaction.lag.ms"}},
	"max.compaction.lag.ms":           {{Name: "log.cleaner.max.compaction.lag.ms"}},
	"file.delete.delay.ms":            {{Name: "log.segment.delete.delay.ms"}},
	"min.cleanable.dirty.ratio":       {{Name: "log.cleaner.min.cleanable.ratio"}},
	"cleanup.policy":                  {{Name: "log.cleanup.policy"}},
	"unclean.leader.election.enable":  {{Name: "unclean.leader.election.enable"}},
	"min.insync.replicas":             {{Name: "min.insync.replicas"}},
	"compression.type":                {{Name: "compression.type"}},
	"compression.gzip.level":          {{Name: "compression.gzip.level"}},
	"compression.lz4.level":           {{Name: "compression.lz4.level"}},
	"compression.zstd.level":          {{Name: "compression.zstd.level"}},
	"preallocate":                     {{Name: "log.preallocate"}},
	"segment.preallocate.step.bytes":  {{Name: "log.segment.preallocate.step.bytes"}},
	"message.timestamp.type":          {{Name: "log.message.timestamp.type"}},
	"message.timestamp.before.max.ms": {{Name: "log.message.timestamp.before.max.ms"}},
	"message.timestamp.after.max.ms":  {{Name: "log.message.timestamp.after.max.ms"}},
	"local.retention.ms":              {{Name: "log.local.retention.ms"}},
	"local.retention.bytes":           {{Name: "log.local.retention.bytes"}},
}

// dynamicBroker are the broker keys AlterConfigs may change at runtime:
// the first broker synonym of each topic key, as Kafka's
// DynamicLogConfig.ReconfigurableConfigs. Weir acts on them through the
// topic values they give (a changed log.retention.ms reaches every topic
// that does not set retention.ms). Kafka's other dynamic broker keys
// (thread pools, listeners, SSL) do nothing in Weir and are refused.
var dynamicBroker = func() map[string]bool {
	m := map[string]bool{}
	for _, syns := range TopicSynonyms {
		m[syns[0].Name] = true
	}
	return m
}()

// IsDynamicBroker says whether AlterConfigs may change broker key name.
func IsDynamicBroker(name string) bool { return dynamicBroker[name] }

// TopicConfig is a topic's effective configuration: every key of Topic,
// from overrides (the topic's own values, SourceTopic), else from the
// broker's effective configuration (with the broker value's source; the
// broker's defaults come as SourceDefault), else the topic default. An
// override that does not parse or validate is left out and reported.
func TopicConfig(broker *Config, overrides map[string]string) (*Config, error) {
	c, err := New(Topic).With(overrides, SourceTopic)
	for _, name := range Topic.names {
		if _, own := c.set[name]; own {
			continue
		}
		for _, syn := range TopicSynonyms[name] {
			v := broker.Get(syn.Name)
			if v == nil {
				continue
			}
			src := SourceDefault
			if _, s, ok := broker.Setting(syn.Name); ok {
				src = s
			}
			c.inherit(name, syn, v, src)
			break
		}
	}
	return c, err
}

// throttledReplicas is Kafka's ThrottledReplicaListValidator: "*" or
// partition:broker pairs.
func throttledReplicas(v any) error {
	items := v.([]string)
	if len(items) == 1 && items[0] == "*" {
		return nil
	}
	for _, it := range items {
		p, b, ok := strings.Cut(it, ":")
		if !ok || !isInt(p) || !isInt(b) {
			return fmt.Errorf("must be the literal '*' or a list of replicas in the format " +
				"[partitionId]:[brokerId],[partitionId]:[brokerId]")
		}
	}
	return nil
}

func isInt(s string) bool {
	n, err := strconv.ParseInt(strings.TrimSpace(s), 10, 32)
	return err == nil && n >= 0 && n <= math.MaxInt32
}

func noTieredStorage(v any) error {
	if v.(bool) {
		return fmt.Errorf("tiered storage functionality is disabled in the broker")
	}
	return nil
}
