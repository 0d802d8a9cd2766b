package config

import (
	"reflect"
	"strings"
	"testing"
)

func TestParseProperties(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want []Property
	}{
		{"equals", "a=1\n", []Property{{"a", "1", 1}}},
		{"colon", "a: 1", []Property{{"a", "1", 1}}},
		{"space", "a   1", []Property{{"a", "1", 1}}},
		{"spaces around equals", "  a  =  1  ", []Property{{"a", "1  ", 1}}},
		{"equals in value", "a=b=c", []Property{{"a", "b=c", 1}}},
		{"empty value", "a=\nb", []Property{{"a", "", 1}, {"b", "", 2}}},
		{"comments", "# c\n! d\n  # e\na=1", []Property{{"a", "1", 4}}},
		{"hash in value", "a=x#y", []Property{{"a", "x#y", 1}}},
		{"blank lines", "\n\n  \na=1\n\n", []Property{{"a", "1", 4}}},
		{"crlf", "a=1\r\nb=2\rc=3", []Property{{"a", "1", 1}, {"b", "2", 2}, {"c", "3", 3}}},
		{"continuation", "a=1,\\\n   2,\\\n\t3\nb=4",
			[]Property{{"a", "1,2,3", 1}, {"b", "4", 4}}},
		{"continuation keeps #", "a=x\\\n#y", []Property{{"a", "x#y", 1}}},
		{"comment does not continue", "# c \\\na=1", []Property{{"a", "1", 2}}},
		{"even backslashes", "a=x\\\\\nb=y", []Property{{"a", `x\`, 1}, {"b", "y", 2}}},
		{"backslash at eof", "a=x\\", []Property{{"a", "x", 1}}},
		{"escaped separators in key", `a\=b\:c\ d=v`, []Property{{"a=b:c d", "v", 1}}},
		{"escapes", `a=\t\n\r\f\\\q\u0041\u00e9`, []Property{{"a", "\t\n\r\f\\qAé", 1}}},
		{"key only", "lonely", []Property{{"lonely", "", 1}}},
		{"duplicate keys kept in order", "a=1\na=2", []Property{{"a", "1", 1}, {"a", "2", 2}}},
		{"utf8", "a=héllo", []Property{{"a", "héllo", 1}}},
	}
	for _, tt := range tests {
		got, err := ParseProperties(strings.NewReader(tt.in))
		if err != nil {
			t.Errorf("%s: %v", tt.name, err)
			continue
		}
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%s: got %+v, want %+v", tt.name, got, tt.want)
		}
	}
}

func TestParsePropertiesErrors(t *testing.T) {
	for _, in := range []string{`a=\u12`, `a=\uzzzz`, "x=1\nb\\u0=1"} {
		if _, err := ParseProperties(strings.NewReader(in)); err == nil {
			t.Errorf("%q: no error", in)
		} else if !strings.Contains(err.Error(), "line") {
			t.Errorf("%q: error %q names no line", in, err)
		}
	}
}
