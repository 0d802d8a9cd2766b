package engine

import (
	"maps"
	"slices"
	"strings"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/weirmq/weir/engine/config"
	"github.com/weirmq/weir/engine/metadata"
)

// alteration is one resource's change from AlterConfigs (legacy: the
// whole new set of values) or IncrementalAlterConfigs (ops).
type alteration struct {
	typ    kmsg.ConfigResourceType
	name   string
	legacy bool
	ops    []configOp // legacy: all SET, and every other value goes
}

type configOp struct {
	key   string
	op    kmsg.IncrementalAlterConfigOp
	value *string
}

// alterConfigs validates every alteration, then commits the valid ones as
// one change (unless validateOnly) and publishes it: changed topic values
// reach the topics' logs, changed broker values every topic that inherits
// them. It answers per alteration, nil for success.
func (b *Broker) alterConfigs(alts []alteration, validateOnly bool) []*adminErr {
	results := make([]*adminErr, len(alts))
	seen := map[[2]string]int{}
	for i, a := range alts {
		key := [2]string{a.typ.String(), a.name}
		if j, dup := seen[key]; dup {
			results[i] = errMsg(kerr.InvalidRequest, "Each resource must appear at most once.")
			results[j] = results[i]
		}
		seen[key] = i
	}
	b.ctl.mu.Lock()
	defer b.ctl.mu.Unlock()
	im := b.image.Load()
	broker := b.brokerConfigOf(im)
	var recs []metadata.Record
	var planned []int
	for i, a := range alts {
		if results[i] != nil {
			continue
		}
		rs, e := b.planAlteration(im, broker, a)
		if e != nil {
			results[i] = e
			continue
		}
		recs = append(recs, rs...)
		planned = append(planned, i)
	}
	if validateOnly || len(recs) == 0 {
		return results
	}
	next, err := b.commitLocked(recs)
	if err != nil {
		e := b.commitErr(err)
		for _, i := range planned {
			results[i] = e
		}
		return results
	}
	b.publishLocked(next)
	return results
}

// planAlteration checks one alteration as Kafka does (request shape, then
// the resource name, then the new values, then that the topic exists) and
// returns the config records that make it.
func (b *Broker) planAlteration(im *metadata.Image, broker *config.Config, a alteration) ([]metadata.Record, *adminErr) {
	if e := checkOps(a); e != nil {
		return nil, e
	}
	switch a.typ {
	case kmsg.ConfigResourceTypeTopic:
		return b.planTopicAlteration(im, broker, a)
	case kmsg.ConfigResourceTypeBroker:
		return b.planBrokerAlteration(im, broker, a)
	}
	return nil, errMsg(kerr.InvalidRequest, "Unknown resource type %d", int8(a.typ))
}

// checkOps is Kafka's preprocessing: no key twice, no null value but for
// DELETE, known operations.
func checkOps(a alteration) *adminErr {
	seen := map[string]bool{}
	var nulls []string
	for _, o := range a.ops {
		if seen[o.key] {
			return errMsg(kerr.InvalidRequest, "Error due to duplicate config keys")
		}
		seen[o.key] = true
		if o.op > kmsg.IncrementalAlterConfigOpSubtract || o.op < 0 {
			return errMsg(kerr.InvalidRequest, "Unknown operations type %d", int8(o.op))
		}
		if o.value == nil && o.op != kmsg.IncrementalAlterConfigOpDelete {
			nulls = append(nulls, o.key)
		}
	}
	if len(nulls) > 0 {
		return errMsg(kerr.InvalidRequest, "Null value not supported for : %s", strings.Join(nulls, ", "))
	}
	return nil
}

func (b *Broker) planTopicAlteration(im *metadata.Image, broker *config.Config, a alteration) ([]metadata.Record, *adminErr) {
	if a.name == "" {
		return nil, errMsg(kerr.InvalidRequest, "Default topic resources are not allowed.")
	}
	if msg := topicNameError(a.name); msg != "" {
		return nil, errMsg(kerr.InvalidTopicException, "%s", msg)
	}
	t, exists := im.Topic(a.name)
	var current map[string]string
	if exists {
		current = t.Configs
	}
	inherited, _ := config.TopicConfig(broker, current)
	values, e := applyOps(a, current, config.Topic, inherited)
	if e != nil {
		return nil, e
	}
	if e := checkTopicConfigs(broker, values); e != nil {
		return nil, e
	}
	if !exists {
		return nil, errMsg(kerr.UnknownTopicOrPartition, "The topic '%s' does not exist.", a.name)
	}
	return configRecords(metadata.ResourceTopic, a.name, current, values), nil
}

func (b *Broker) planBrokerAlteration(im *metadata.Image, broker *config.Config, a alteration) ([]metadata.Record, *adminErr) {
	if a.name != "" {
		if e := b.checkBrokerName(a.name, false); e != nil {
			return nil, e
		}
	}
	current := im.BrokerConfigs(a.name)
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
		return nil, errMsg(kerr.InvalidRequest, "Cannot update these configs dynamically: Set(%s)",
			strings.Join(fixed, ", "))
	}
	for _, k := range slices.Sorted(maps.Keys(values)) {
		if err := config.Kafka.Check(k, values[k], config.SourceDynamicDefault); err != nil {
			return nil, errMsg(kerr.InvalidRequest, "%s", configErrorMessage(err))
		}
	}
	return configRecords(metadata.ResourceBroker, a.name, current, values), nil
}

// applyOps computes a resource's new own values from current. APPEND and
// SUBTRACT work on list keys, from the own value or else the one in force
// (effective); SUBTRACT of the last item leaves an empty list.
func applyOps(a alteration, current map[string]string, reg *config.Registry, effective *config.Config) (map[string]string, *adminErr) {
	values := maps.Clone(current)
	if values == nil || a.legacy {
		values = map[string]string{}
	}
	for _, o := range a.ops {
		switch o.op {
		case kmsg.IncrementalAlterConfigOpSet:
			values[o.key] = *o.value
		case kmsg.IncrementalAlterConfigOpDelete:
			delete(values, o.key)
		default:
			k, ok := reg.Key(o.key)
			if !ok || k.Type != config.List {
				return nil, errMsg(kerr.InvalidConfig, "Can't %s to key %s because its type is not LIST.", o.op, o.key)
			}
			base, own := values[o.key]
			if !own {
				base = effective.Text(o.key)
			}
			values[o.key] = strings.Join(editList(splitList(base), splitList(*o.value),
				o.op == kmsg.IncrementalAlterConfigOpAppend), ",")
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
