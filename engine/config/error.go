package config

import "fmt"

// Error is a configuration that can't be used: an unknown key, or a value
// that does not parse or validate. Value is the text as given (hidden for
// passwords).
type Error struct {
	Key     string
	Value   string
	Source  Source
	Unknown bool // no such key; else Reason says what is wrong with Value
	Reason  string
}

func (e *Error) Error() string {
	if e.Unknown {
		return fmt.Sprintf("unknown configuration key %s (value %q, from %s)", e.Key, e.Value, e.Source)
	}
	where := ""
	if e.Source != SourceDefault {
		where = " (" + e.Source.String() + ")"
	}
	return fmt.Sprintf("invalid value %q for configuration %s%s: %s", e.Value, e.Key, where, e.Reason)
}

// Source says where a value came from.
type Source int

// Sources, lowest precedence first. The dynamic ones come from the
// metadata log (AlterConfigs), not from the command line.
const (
	SourceDefault Source = iota
	SourceFile
	SourceFlag
	SourceDynamicDefault // the cluster-wide broker default (resource name "")
	SourceDynamicBroker  // this broker's own dynamic value (resource name "<node id>")
	SourceTopic          // a topic's own value (CreateTopics, AlterConfigs)
)

func (s Source) String() string {
	switch s {
	case SourceDefault:
		return "default"
	case SourceFile:
		return "server.properties"
	case SourceFlag:
		return "flag"
	case SourceDynamicDefault:
		return "dynamic cluster default"
	case SourceDynamicBroker:
		return "dynamic broker config"
	case SourceTopic:
		return "topic config"
	}
	return fmt.Sprintf("Source(%d)", int(s))
}
