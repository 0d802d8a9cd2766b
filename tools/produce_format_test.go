package tools

import (
	"bytes"
	"errors"
	"io"
	"reflect"
	"strings"
	"testing"

	"github.com/twmb/franz-go/pkg/kgo"
)

func TestParseHeaderList(t *testing.T) {
	tests := []struct {
		in   string
		want []kgo.RecordHeader
		err  string
	}{
		{"", nil, ""},
		{"a:1,b:2", []kgo.RecordHeader{{Key: "a", Value: []byte("1")}, {Key: "b", Value: []byte("2")}}, ""},
		{"a", []kgo.RecordHeader{{Key: "a"}}, ""},                                         // null value
		{"a:", []kgo.RecordHeader{{Key: "a", Value: []byte{}}}, ""},                       // empty value
		{"url:http://x", []kgo.RecordHeader{{Key: "url", Value: []byte("http://x")}}, ""}, // first ":" splits
		{":x", nil, "has no key"},
		{"a:1,,b:2", nil, "has no key"},
	}
	for _, tt := range tests {
		got, err := parseHeaderList(tt.in, ",", ":")
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("%q: error %v, want %q", tt.in, err, tt.err)
			}
			continue
		}
		if err != nil || !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%q: %#v %v, want %#v", tt.in, got, err, tt.want)
		}
	}
}

func TestLineFormat(t *testing.T) {
	fixed := []kgo.RecordHeader{{Key: "src", Value: []byte("cli")}}
	tests := []struct {
		name    string
		f       lineFormat
		line    string
		key     []byte // nil: null
		value   string
		headers []kgo.RecordHeader
		err     string
	}{
		{"value only", lineFormat{}, "a\tb", nil, "a\tb", nil, ""},
		{"empty line", lineFormat{}, "", nil, "", nil, ""},
		{"key", lineFormat{parseKey: true, keySep: "\t"}, "k\tv\tw", []byte("k"), "v\tw", nil, ""},
		{"empty key", lineFormat{parseKey: true, keySep: "="}, "=v", []byte{}, "v", nil, ""},
		{"no separator", lineFormat{parseKey: true, keySep: "\t"}, "kv", nil, "", nil, `no key separator "\t"`},
		{"fixed headers", lineFormat{fixed: fixed}, "v", nil, "v", fixed, ""},
		{"line headers and key",
			lineFormat{parseHeaders: true, headersDelim: "|", headerSep: ",", headerKeySep: ":", parseKey: true, keySep: "\t", fixed: fixed},
			"a:1,b|k\tv", []byte("k"), "v",
			[]kgo.RecordHeader{fixed[0], {Key: "a", Value: []byte("1")}, {Key: "b"}}, ""},
		{"no headers on the line", lineFormat{parseHeaders: true, headersDelim: "\t", headerSep: ",", headerKeySep: ":"},
			"\tv", nil, "v", nil, ""},
		{"no headers delimiter", lineFormat{parseHeaders: true, headersDelim: "\t", headerSep: ",", headerKeySep: ":"},
			"v", nil, "", nil, "no headers delimiter"},
	}
	for _, tt := range tests {
		r, err := tt.f.record([]byte(tt.line))
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("%s: error %v, want %q", tt.name, err, tt.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", tt.name, err)
			continue
		}
		sameHeaders := len(r.Headers) == 0 && len(tt.headers) == 0 || reflect.DeepEqual(r.Headers, tt.headers)
		if !bytes.Equal(r.Key, tt.key) || (r.Key == nil) != (tt.key == nil) || string(r.Value) != tt.value ||
			r.Value == nil || !sameHeaders {
			t.Errorf("%s: key %q value %q headers %v, want %q %q %v", tt.name, r.Key, r.Value, r.Headers,
				tt.key, tt.value, tt.headers)
		}
	}
}

// Lines come back without their ends, any length up to the maximum; a
// longer line fails alone and reading goes on.
func TestLineReader(t *testing.T) {
	long := strings.Repeat("x", 3<<20) // over bufio's buffer many times
	in := "one\r\n" + long + "\n\n" + strings.Repeat("y", 5<<20) + "\nlast"
	lr := newLineReader(strings.NewReader(in), 4<<20)
	type result struct {
		n    int64
		line string
		long bool
	}
	var got []result
	for {
		line, err := lr.next()
		if err == io.EOF {
			break
		}
		var tooLong *lineTooLongError
		if err != nil && !errors.As(err, &tooLong) {
			t.Fatal(err)
		}
		got = append(got, result{lr.n, string(line), err != nil})
	}
	want := []result{{1, "one", false}, {2, long, false}, {3, "", false}, {4, "", true}, {5, "last", false}}
	if len(got) != len(want) {
		t.Fatalf("%d lines, want %d", len(got), len(want))
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("line %d: %d %d bytes long=%t, want %d %d bytes long=%t", i,
				got[i].n, len(got[i].line), got[i].long, want[i].n, len(want[i].line), want[i].long)
		}
	}
}

func TestProduceUsage(t *testing.T) {
	for _, args := range [][]string{
		{},
		{"--topic", "t", "--acks", "2"},
		{"--topic", "t", "--compression", "brotli"},
		{"--topic", "t", "--parse-key", "--key-separator", ""},
		{"--topic", "t", "--headers", ":v"},
		{"--topic", "t", "extra"},
		{"--topic", "t", "--bogus"},
	} {
		var out, errb bytes.Buffer
		if code := Produce(args, IO{In: strings.NewReader(""), Out: &out, Err: &errb}); code != 2 {
			t.Errorf("%q: exit %d, want 2\n%s", args, code, errb.String())
		}
	}
}
