package controller

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/weirmq/weir/engine/config"
	"github.com/weirmq/weir/engine/metadata"
)

// Alteration is one resource's change from AlterConfigs (Legacy: the
// whole new set of values) or IncrementalAlterConfigs (Ops).
type Alteration struct {
	Type   kmsg.ConfigResourceType
	Name   string
	Legacy bool
	Ops    []ConfigOp // Legacy: all SET, and every other value goes
}

// ConfigOp is one key's operation.
type ConfigOp struct {
	Key   string
	Op    kmsg.IncrementalAlterConfigOp
	Value *string
}

// PlanAlterations validates the alterations of one request against im
// (broker is the effective broker config under im, nodeID this broker's)
// and returns the records of the valid ones, the refusals by alteration
// (nil for one planned) and the indexes of those planned. A resource
// named twice is refused both times.
func PlanAlterations(im *metadata.Image, broker *config.Config, nodeID int32,
	alts []Alteration) (recs []metadata.Record, refused []*Refusal, planned []int) {
	refused = make([]*Refusal, len(alts))
	seen := map[[2]string]int{}
	for i, a := range alts {
		key := [2]string{a.Type.String(), a.Name}
		if j, dup := seen[key]; dup {
			refused[i] = Refuse(kerr.InvalidRequest, "Each resource must appear at most once.")
			refused[j] = refused[i]
		}
		seen[key] = i
	}
	for i, a := range alts {
		if refused[i] != nil {
			continue
		}
		rs, r := planAlteration(im, broker, nodeID, a)
		if r != nil {
			refused[i] = r
			continue
		}
		recs = append(recs, rs...)
		planned = append(planned, i)
	}
	return recs, refused, planned
}

// planAlteration checks one alteration as Kafka does (request shape, then
// the resource name, then the new values, then that the topic exists) and
// returns the config records that make it.
func planAlteration(im *metadata.Image, broker *config.Config, nodeID int32, a Alteration) ([]metadata.Record, *Refusal) {
	if r := checkOps(a); r != nil {
		return nil, r
	}
	switch a.Type {
	case kmsg.ConfigResourceTypeTopic:
		return planTopicAlteration(im, broker, a)
	case kmsg.ConfigResourceTypeBroker:
		return planBrokerAlteration(im, broker, nodeID, a)
	}
	return nil, Refuse(kerr.InvalidRequest, "Unknown resource type %d", int8(a.Type))
}

// checkOps is Kafka's preprocessing: no key twice, no null value but for
// DELETE, known operations.
func checkOps(a Alteration) *Refusal {
	seen := map[string]bool{}
	var nulls []string
	for _, o := range a.Ops {
		if seen[o.Key] {
			return Refuse(kerr.InvalidRequest, "Error due to duplicate config keys")
		}
		seen[o.Key] = true
		if o.Op > kmsg.IncrementalAlterConfigOpSubtract || o.Op < 0 {
			return Refuse(kerr.InvalidRequest, "Unknown operations type %d", int8(o.Op))
		}
		if o.Value == nil && o.Op != kmsg.IncrementalAlterConfigOpDelete {
			nulls = append(nulls, o.Key)
		}
	}
	if len(nulls) > 0 {
		return Refuse(kerr.InvalidRequest, "Null value not supported for : %s", strings.Join(nulls, ", "))
	}
	return nil
}

func planTopicAlteration(im *metadata.Image, broker *config.Config, a Alteration) ([]metadata.Record, *Refusal) {
	if a.Name == "" {
		return nil, Refuse(kerr.InvalidRequest, "Default topic resources are not allowed.")
	}
	if msg := TopicNameError(a.Name); msg != "" {
		return nil, Refuse(kerr.InvalidTopicException, "%s", msg)
	}
	t, exists := im.Topic(a.Name)
	var current map[string]string
	if exists {
		current = t.Configs
	}
	inherited, _ := config.TopicConfig(broker, current)
	values, e := applyOps(a, current, config.Topic, inherited)
	if e != nil {
		return nil, e
	}
	if e := CheckTopicConfigs(broker, values); e != nil {
		return nil, e
	}
	if !exists {
		return nil, Refuse(kerr.UnknownTopicOrPartition, "The topic '%s' does not exist.", a.Name)
	}
	return configRecords(metadata.ResourceTopic, a.Name, current, values), nil
}

func planBrokerAlteration(im *metadata.Image, broker *config.Config, nodeID int32, a Alteration) ([]metadata.Record, *Refusal) {
	if a.Name != "" {
		if r := CheckBrokerName(nodeID, a.Name, false); r != nil {
			return nil, r
		}
	}
	current := im.BrokerConfigs(a.Name)
	values, e := applyOps(a, current, config.Kafka, broker)
	if e != nil {
		return nil, e
	}
	var fixed []string
	for _, k := range slices.Sorted(maps.Keys(values)) {
		if !config.IsDynamicBroker(k) {
			fixed = append(fixed, k)
		}
	}
	if len(fixed) > 0 {
		return nil, Refuse(kerr.InvalidRequest, "Cannot update these configs dynamically: Set(%s)",
			strings.Join(fixed, ", "))
	}
	for _, k := range slices.Sorted(maps.Keys(values)) {
		if err := config.Kafka.Check(k, values[k], config.SourceDynamicDefault); err != nil {
			return nil, Refuse(kerr.InvalidRequest, "%s", configErrorMessage(err))
		}
	}
	return configRecords(metadata.ResourceBroker, a.Name, current, values), nil
}

// applyOps computes a resource's new own values from current. APPEND and
// SUBTRACT work on list keys, from the own value or else the one in force
// (effective); SUBTRACT of the last item leaves an empty list.
func applyOps(a Alteration, current map[string]string, reg *config.Registry, effective *config.Config) (map[string]string, *Refusal) {
	values := maps.Clone(current)
	if values == nil || a.Legacy {
		values = map[string]string{}
	}
	for _, o := range a.Ops {
		switch o.Op {
		case kmsg.IncrementalAlterConfigOpSet:
			values[o.Key] = *o.Value
		case kmsg.IncrementalAlterConfigOpDelete:
			delete(values, o.Key)
		default:
			k, ok := reg.Key(o.Key)
			if !ok || k.Type != config.List {
				return nil, Refuse(kerr.InvalidConfig, "Can't %s to key %s because its type is not LIST.", o.Op, o.Key)
			}
			base, own := values[o.Key]
			if !own {
				base = effective.Text(o.Key)
			}
			values[o.Key] = strings.Join(editList(splitList(base), splitList(*o.Value),
				o.Op == kmsg.IncrementalAlterConfigOpAppend), ",")
		}
	}
	return values, nil
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// editList appends the items not there yet, or removes the items given.
func editList(list, items []string, add bool) []string {
	for _, it := range items {
		if add && !slices.Contains(list, it) {
			list = append(list, it)
		} else if !add {
			list = slices.DeleteFunc(list, func(s string) bool { return s == it })
		}
	}
	return list
}

// configRecords are the records that turn a resource's values from old
// into new: a set for each new or changed value, a delete for each gone.
func configRecords(typ int8, name string, old, new map[string]string) []metadata.Record {
	var recs []metadata.Record
	for _, k := range slices.Sorted(maps.Keys(new)) {
		if v, ok := old[k]; !ok || v != new[k] {
			v := new[k]
			recs = append(recs, metadata.ConfigRecord{ResourceType: typ, ResourceName: name, Name: k, Value: &v})
		}
	}
	for _, k := range slices.Sorted(maps.Keys(old)) {
		if _, ok := new[k]; !ok {
			recs = append(recs, metadata.ConfigRecord{ResourceType: typ, ResourceName: name, Name: k})
		}
	}
	return recs
}

// CheckBrokerName checks a broker resource name is nodeID, with Kafka's
// messages (describe's mention the empty string, alter's do not); with
// nodeID -1 (a cluster's active controller, to which each broker
// forwards the alterations of its own configs) any broker id.
func CheckBrokerName(nodeID int32, name string, describe bool) *Refusal {
	id, err := strconv.ParseInt(name, 10, 32)
	if err != nil {
		if describe {
			return Refuse(kerr.InvalidRequest, "Broker id must be an integer, but it is: %s", name)
		}
		return Refuse(kerr.InvalidRequest, "Node id must be an integer, but it is: %s", name)
	}
	if nodeID >= 0 && int32(id) != nodeID {
		if describe {
			return Refuse(kerr.InvalidRequest, "Unexpected broker id, expected %d or empty string, but received %s",
				nodeID, name)
		}
		return Refuse(kerr.InvalidRequest, "Unexpected broker id, expected %d, but received %s", nodeID, name)
	}
	return nil
}

// CheckTopicConfigs validates a topic's own values, as Kafka's
// LogConfig.validate: unknown names, then each value, then the values
// together.
func CheckTopicConfigs(broker *config.Config, values map[string]string) *Refusal {
	keys := slices.Sorted(maps.Keys(values))
	for _, k := range keys {
		if _, ok := config.Topic.Key(k); !ok {
			return Refuse(kerr.InvalidConfig, "Unknown topic config name: %s", k)
		}
	}
	for _, k := range keys {
		if err := config.Topic.Check(k, values[k], config.SourceTopic); err != nil {
			return Refuse(kerr.InvalidConfig, "%s", configErrorMessage(err))
		}
	}
	tc, _ := config.TopicConfig(broker, values)
	if lo, hi := tc.Long("min.compaction.lag.ms"), tc.Long("max.compaction.lag.ms"); lo > hi {
		return Refuse(kerr.InvalidConfig, "conflict topic config setting min.compaction.lag.ms (%d) > "+
			"max.compaction.lag.ms (%d)", lo, hi)
	}
	return nil
}

// configErrorMessage words a config error as Kafka's ConfigException:
// "Invalid value V for configuration K: Reason".
func configErrorMessage(err error) string {
	var ce *config.Error
	if !errors.As(err, &ce) {
		return err.Error()
	}
	reason := ce.Reason
	if reason != "" {
		reason = strings.ToUpper(reason[:1]) + reason[1:]
	}
	return fmt.Sprintf("Invalid value %s for configuration %s: %s", ce.Value, ce.Key, reason)
}
