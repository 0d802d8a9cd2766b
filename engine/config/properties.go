package config

import (
	"fmt"
	"io"
	"strconv"
	"strings"
)

// Property is one key=value of a properties file.
type Property struct {
	Key, Value string
	Line       int // where the logical line starts, from 1
}

// ParseProperties reads the Java-properties format (java.util.Properties.load)
// from r:
//
//   - key=value, key: value and key value; whitespace around the separator
//     is dropped, the value keeps trailing whitespace
//   - lines whose first non-blank is # or ! are comments
//   - a line ending in an odd number of backslashes continues on the next,
//     whose leading whitespace is dropped
//   - escapes \t \n \r \f \uXXXX, and a backslash before any other
//     character stands for that character (\=, \:, \ , \\, \#)
//
// The text is UTF-8 (Kafka reads the file in the platform charset). The
// order is the file's; a repeated key appears twice and the later wins.
func ParseProperties(r io.Reader) ([]Property, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, err
	}
	var out []Property
	lines := splitLines(string(data))
	for i := 0; i < len(lines); i++ {
		start := i + 1
		line := strings.TrimLeft(lines[i], " \t\f")
		if line == "" || line[0] == '#' || line[0] == '!' {
			continue
		}
		// Join continuation lines.
		for endsInBackslash(line) && i+1 < len(lines) {
			i++
			line = line[:len(line)-1] + strings.TrimLeft(lines[i], " \t\f")
		}
		if endsInBackslash(line) { // at EOF the lone backslash is dropped
			line = line[:len(line)-1]
		}
		rawKey, rawValue := splitKeyValue(line)
		key, err := unescape(rawKey)
		if err != nil {
			return nil, fmt.Errorf("line %d: %w", start, err)
		}
		value, err := unescape(rawValue)
		if err != nil {
			return nil, fmt.Errorf("line %d: %w", start, err)
		}
		out = append(out, Property{Key: key, Value: value, Line: start})
	}
	return out, nil
}

// splitLines splits on \n, \r\n and \r, as Java's LineReader does.
func splitLines(s string) []string {
	s = strings.ReplaceAll(s, "\r\n", "\n")
	s = strings.ReplaceAll(s, "\r", "\n")
	return strings.Split(s, "\n")
}

func endsInBackslash(s string) bool {
	n := 0
	for i := len(s) - 1; i >= 0 && s[i] == '\\'; i-- {
		n++
	}
	return n%2 == 1
}

// splitKeyValue cuts a logical line at the first unescaped '=', ':' or
// blank; blanks and then one '=' or ':' after the key belong to the
// separator.
func splitKeyValue(line string) (key, value string) {
	end := len(line)
	for i := 0; i < len(line); i++ {
		c := line[i]
		if c == '\\' {
			i++ // the escaped character is part of the key
			continue
		}
		if c == '=' || c == ':' || c == ' ' || c == '\t' || c == '\f' {
			end = i
			break
		}
	}
	key, rest := line[:end], line[end:]
	rest = strings.TrimLeft(rest, " \t\f")
	if rest != "" && (rest[0] == '=' || rest[0] == ':') {
		rest = strings.TrimLeft(rest[1:], " \t\f")
	}
	return key, rest
}

// unescape resolves the backslash escapes of the properties format.
func unescape(s string) (string, error) {
	if !strings.Contains(s, `\`) {
		return s, nil
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '\\' || i+1 == len(s) {
			b.WriteByte(c)
			continue
		}
		i++
		switch s[i] {
		case 't':
			b.WriteByte('\t')
		case 'n':
			b.WriteByte('\n')
		case 'r':
			b.WriteByte('\r')
		case 'f':
			b.WriteByte('\f')
		case 'u':
			if i+5 > len(s) {
				return "", fmt.Errorf(`malformed \uxxxx escape in %q`, s)
			}
			n, err := strconv.ParseUint(s[i+1:i+5], 16, 16)
			if err != nil {
				return "", fmt.Errorf(`malformed \uxxxx escape in %q`, s)
			}
			b.WriteRune(rune(n))
			i += 4
		default:
			b.WriteByte(s[i])
		}
	}
	return b.String(), nil
}
