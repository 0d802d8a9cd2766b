package engine

import (
	"maps"
	"slices"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/weirmq/weir/engine/config"
	"github.com/weirmq/weir/engine/metadata"
)

type describedConfig = kmsg.DescribeConfigsResponseResourceConfig
type configSynonym = kmsg.DescribeConfigsResponseResourceConfigConfigSynonym

// configLayer is one place a broker value can come from, in Kafka's order
// of precedence.
type configLayer struct {
	source kmsg.ConfigSource
	value  func(key string) (string, bool)
}

// brokerLayers are the broker's config layers under im: this broker's
// dynamic values, the cluster-wide dynamic defaults, server.properties and
// flags, and Kafka's defaults.
func (b *Broker) brokerLayers(im *metadata.Image) []configLayer {
	lookup := func(m map[string]string) func(string) (string, bool) {
		return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
	}
	static := func(k string) (string, bool) {
		text, src, ok := b.opts.Config.Setting(k)
		return text, ok && (src == config.SourceFile || src == config.SourceFlag)
	}
	return []configLayer{
		{kmsg.ConfigSourceDynamicBrokerConfig, lookup(im.BrokerConfigs(b.nodeName()))},
		{kmsg.ConfigSourceDynamicDefaultBrokerConfig, lookup(im.BrokerConfigs(""))},
		{kmsg.ConfigSourceStaticBrokerConfig, static},
		{kmsg.ConfigSourceDefaultConfig, config.Kafka.Default},
	}
}

// brokerSynonyms lists where broker keys names have values, layer by
// layer and, within a layer, in the order of names (Kafka's
// configSynonyms). The first is where the value in force comes from.
func brokerSynonyms(layers []configLayer, names []string, sensitive bool) []configSynonym {
	var out []configSynonym
	for _, l := range layers {
		for _, n := range names {
			v, ok := l.value(n)
			if !ok {
				continue
			}
			s := kmsg.NewDescribeConfigsResponseResourceConfigConfigSynonym()
			s.Name, s.Source = n, l.source
			if !sensitive {
				s.Value = &v
			}
			out = append(out, s)
		}
	}
	return out
}

// topicConfigEntries describes topic t's configuration (every topic key,
// or those in names): the value in force and where it comes from, the
// topic's own value first, then the broker synonyms'.
func (b *Broker) topicConfigEntries(im *metadata.Image, broker *config.Config, t *metadata.Topic,
	names []string, withSynonyms bool) []describedConfig {
	tc, _ := config.TopicConfig(broker, t.Configs)
	layers := b.brokerLayers(im)
	var out []describedConfig
	for _, name := range config.Topic.Names() {
		if len(names) > 0 && !slices.Contains(names, name) {
			continue
		}
		k, _ := config.Topic.Key(name)
		v := tc.Text(name)
		var syns []configSynonym
		if _, own := t.Configs[name]; own {
			s := kmsg.NewDescribeConfigsResponseResourceConfigConfigSynonym()
			s.Name, s.Value, s.Source = name, &v, kmsg.ConfigSourceDynamicTopicConfig
			syns = append(syns, s)
		}
		var brokerNames []string
		for _, s := range config.TopicSynonyms[name] {
			brokerNames = append(brokerNames, s.Name)
		}
		syns = append(syns, brokerSynonyms(layers, brokerNames, false)...)
		out = append(out, describedEntry(k, &v, false, syns, withSynonyms))
	}
	return out
}

// brokerConfigEntries describes the broker: with perBroker every key with
// the value in force; else (the cluster-wide resource "") only the dynamic
// defaults, as Kafka does.
func (b *Broker) brokerConfigEntries(im *metadata.Image, broker *config.Config, perBroker bool,
	names []string, withSynonyms bool) []describedConfig {
	layers := b.brokerLayers(im)
	keys := config.Kafka.Names()
	if !perBroker {
		layers = layers[1:2]
		keys = slices.Sorted(maps.Keys(im.BrokerConfigs("")))
	}
	var out []describedConfig
	for _, name := range keys {
		if len(names) > 0 && !slices.Contains(names, name) {
			continue
		}
		k, ok := config.Kafka.Key(name)
		if !ok {
			continue
		}
		var v *string
		if perBroker && broker.Get(name) != nil {
			t := broker.Text(name)
			v = &t
		} else if !perBroker {
			t := im.BrokerConfigs("")[name]
			v = &t
		}
		synNames := []string{name}
		for _, s := range k.Synonyms {
			synNames = append(synNames, s.Name)
		}
		syns := brokerSynonyms(layers, synNames, k.Sensitive())
		e := describedEntry(k, v, !config.IsDynamicBroker(name), syns, withSynonyms)
		out = append(out, e)
	}
	return out
}

// describedEntry is one described key; its source is its first synonym's,
// or DEFAULT_CONFIG without any.
func describedEntry(k *config.Key, v *string, readOnly bool, syns []configSynonym, withSynonyms bool) describedConfig {
	e := kmsg.NewDescribeConfigsResponseResourceConfig()
	e.Name, e.ReadOnly, e.IsSensitive = k.Name, readOnly, k.Sensitive()
	if !e.IsSensitive {
		e.Value = v
	}
	e.Source = kmsg.ConfigSourceDefaultConfig
	if len(syns) > 0 {
		e.Source = syns[0].Source
	}
	e.IsDefault = e.Source == kmsg.ConfigSourceDefaultConfig
	if withSynonyms {
		e.ConfigSynonyms = syns
	}
	e.ConfigType = configTypes[k.Type]
	doc := k.Doc
	e.Documentation = &doc
	return e
}

var configTypes = map[config.Type]kmsg.ConfigType{
	config.Bool: kmsg.ConfigTypeBoolean, config.String: kmsg.ConfigTypeString, config.Int: kmsg.ConfigTypeInt,
	config.Short: kmsg.ConfigTypeShort, config.Long: kmsg.ConfigTypeLong, config.Double: kmsg.ConfigTypeDouble,
	config.List: kmsg.ConfigTypeList, config.Password: kmsg.ConfigTypePassword,
}
