package tools

import (
	"fmt"
	"strconv"

	"github.com/spf13/pflag"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// Config runs `weir config <subcommand>`.
func Config(args []string, io IO) int {
	return dispatch("config", "Show or change topic and broker configs.", []subcommand{
		{configDescribeCmd, configDescribe},
		{configAlterCmd, configAlter},
	}, args, io)
}

// entity is the resource whose configs a command reads or changes.
type entity struct {
	typ  kmsg.ConfigResourceType
	name string // topic name, broker id, or "" for the cluster-wide broker default
}

// String names the entity in messages.
func (e entity) String() string {
	switch {
	case e.typ == kmsg.ConfigResourceTypeTopic:
		return "topic " + e.name
	case e.name == "":
		return "the cluster-wide broker defaults"
	}
	return "broker " + e.name
}

// typeName is the entity type as kafka-configs.sh spells it.
func (e entity) typeName() string {
	if e.typ == kmsg.ConfigResourceTypeTopic {
		return "topics"
	}
	return "brokers"
}

// ownSource is the source of values set on e itself: what
// kafka-configs.sh --describe shows without --all.
func (e entity) ownSource() kmsg.ConfigSource {
	switch {
	case e.typ == kmsg.ConfigResourceTypeTopic:
		return kmsg.ConfigSourceDynamicTopicConfig
	case e.name == "":
		return kmsg.ConfigSourceDynamicDefaultBrokerConfig
	}
	return kmsg.ConfigSourceDynamicBrokerConfig
}

// entityFlags are kafka-configs.sh's --entity-type/--entity-name/
// --entity-default and the shortcuts --topic and --broker.
type entityFlags struct {
	typ, name, topic, broker string
	isDefault                bool
}

func (f *entityFlags) register(fs *pflag.FlagSet) {
	fs.StringVar(&f.typ, "entity-type", "", "topics or brokers")
	fs.StringVar(&f.name, "entity-name", "", "topic name or broker id")
	fs.BoolVar(&f.isDefault, "entity-default", false, "with --entity-type brokers: the cluster-wide default")
	fs.StringVarP(&f.topic, "topic", "t", "", "shortcut for --entity-type topics --entity-name T")
	fs.StringVar(&f.broker, "broker", "", "shortcut for --entity-type brokers --entity-name N")
}

// resolve checks the flags name exactly one entity.
func (f *entityFlags) resolve() (entity, error) {
	typ, name := f.typ, f.name
	for _, short := range []struct{ typ, name string }{{"topics", f.topic}, {"brokers", f.broker}} {
		if short.name == "" {
			continue
		}
		if typ != "" || name != "" {
			return entity{}, fmt.Errorf("give one entity: --topic, --broker or --entity-type with --entity-name")
		}
		typ, name = short.typ, short.name
	}
	var e entity
	switch typ {
	case "topics", "topic":
		e.typ = kmsg.ConfigResourceTypeTopic
	case "brokers", "broker":
		e.typ = kmsg.ConfigResourceTypeBroker
	case "":
		return entity{}, fmt.Errorf("missing entity: give --topic T, --broker N " +
			"or --entity-type with --entity-name")
	default:
		return entity{}, fmt.Errorf("--entity-type must be topics or brokers, not %q", typ)
	}
	switch {
	case f.isDefault && e.typ == kmsg.ConfigResourceTypeTopic:
		return entity{}, fmt.Errorf("--entity-default applies to brokers only")
	case f.isDefault && name != "":
		return entity{}, fmt.Errorf("give --entity-name or --entity-default, not both")
	case f.isDefault:
		return e, nil
	case name == "":
		return entity{}, fmt.Errorf("missing --entity-name")
	}
	if e.typ == kmsg.ConfigResourceTypeBroker {
		if id, err := strconv.ParseInt(name, 10, 32); err != nil || id < 0 {
			return entity{}, fmt.Errorf("broker %q is not a broker id (a number >= 0)", name)
		}
	}
	e.name = name
	return e, nil
}
