package config

import (
	"fmt"
	"strconv"
	"strings"
)

// Type is a key's value type, named as Kafka's ConfigDef names them.
type Type int

// The value types. Values are stored as Go types: Bool bool, String string,
// Int int32, Short int16, Long int64, Double float64, List []string,
// Password Secret.
const (
	Bool Type = iota + 1
	String
	Int
	Short
	Long
	Double
	List
	Password
)

var typeNames = map[Type]string{
	Bool: "boolean", String: "string", Int: "int", Short: "short",
	Long: "long", Double: "double", List: "list", Password: "password",
}

func (t Type) String() string {
	if n, ok := typeNames[t]; ok {
		return n
	}
	return fmt.Sprintf("Type(%d)", int(t))
}

// Secret is a password value; it never prints its text.
type Secret struct{ text string }

// Value is the password's text.
func (s Secret) Value() string { return s.text }

func (Secret) String() string { return "[hidden]" }

// parse converts the text of a value to t's Go type. Like Kafka, every type
// but Password is trimmed of surrounding whitespace first.
func (t Type) parse(text string) (any, error) {
	trimmed := strings.TrimSpace(text)
	switch t {
	case Bool:
		switch strings.ToLower(trimmed) {
		case "true":
			return true, nil
		case "false":
			return false, nil
		}
		return nil, fmt.Errorf("expected true or false")
	case String:
		return trimmed, nil
	case Int:
		n, err := strconv.ParseInt(trimmed, 10, 32)
		if err != nil {
			return nil, fmt.Errorf("not a 32-bit integer")
		}
		return int32(n), nil
	case Short:
		n, err := strconv.ParseInt(trimmed, 10, 16)
		if err != nil {
			return nil, fmt.Errorf("not a 16-bit integer")
		}
		return int16(n), nil
	case Long:
		n, err := strconv.ParseInt(trimmed, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("not a 64-bit integer")
		}
		return n, nil
	case Double:
		f, err := strconv.ParseFloat(trimmed, 64)
		if err != nil {
			return nil, fmt.Errorf("not a number")
		}
		return f, nil
	case List:
		if trimmed == "" {
			return []string{}, nil
		}
		parts := strings.Split(trimmed, ",")
		for i := range parts {
			parts[i] = strings.TrimSpace(parts[i])
		}
		return parts, nil
	case Password:
		return Secret{text}, nil
	}
	panic(fmt.Sprintf("config: parse with unknown type %d", int(t)))
}

// format is the inverse of parse, for showing values (passwords hidden).
func format(v any) string {
	switch v := v.(type) {
	case nil:
		return "null"
	case []string:
		return strings.Join(v, ",")
	case float64:
		// As Java's Double.toString: 1.0, not 1.
		t := strconv.FormatFloat(v, 'f', -1, 64)
		if !strings.ContainsAny(t, ".eEIN") {
			t += ".0"
		}
		return t
	default:
		return fmt.Sprint(v)
	}
}
