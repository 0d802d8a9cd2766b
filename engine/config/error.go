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

// Sources, lowest precedence first.
const (
	SourceDefault Source = iota
	SourceFile
	SourceFlag
)

func (s Source) String() string {
	switch s {
	case SourceDefault:
		return "default"
	case SourceFile:
		return "server.properties"
	case SourceFlag:
		return "flag"
	}
	return fmt.Sprintf("Source(%d)", int(s))
}
