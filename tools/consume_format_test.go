package tools

import (
	"bufio"
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

func formatRecord(t *testing.T, w recordWriter, r *kgo.Record) string {
	t.Helper()
	var buf bytes.Buffer
	bw := bufio.NewWriter(&buf)
	if err := w.write(bw, r); err != nil {
		t.Fatal(err)
	}
	bw.Flush()
	return buf.String()
}

var sampleConsumed = &kgo.Record{Topic: "orders", Partition: 2, Offset: 41, Key: []byte("k1"), Value: []byte("v<1>"),
	Timestamp: time.UnixMilli(1_700_000_000_123),
	Headers:   []kgo.RecordHeader{{Key: "a", Value: []byte("1")}, {Key: "b"}}}

// The default lines match Kafka's console consumer field for field.
func TestPrintFields(t *testing.T) {
	nullKey := *sampleConsumed
	nullKey.Key, nullKey.Headers = nil, nil
	tests := []struct {
		p    printFields
		r    *kgo.Record
		want string
	}{
		{printFields{sep: "\t"}, sampleConsumed, "v<1>\n"},
		{printFields{key: true, sep: "\t"}, sampleConsumed, "k1\tv<1>\n"},
		{printFields{key: true, offset: true, timestamp: true, headers: true, sep: "\t"}, sampleConsumed,
			"CreateTime:1700000000123\tPartition:2\tOffset:41\ta:1,b:null\tk1\tv<1>\n"},
		{printFields{key: true, headers: true, sep: " | "}, &nullKey, "NO_HEADERS | null | v<1>\n"},
	}
	for _, tt := range tests {
		if got := formatRecord(t, tt.p, tt.r); got != tt.want {
			t.Errorf("%+v: %q, want %q", tt.p, got, tt.want)
		}
	}
}

func TestTemplateFormat(t *testing.T) {
	w, err := newRecordWriter(`{{.Topic}}/{{.Partition}}@{{.Offset}} {{.Key}}={{.Value}}`+
		` {{range .Headers}}{{.Key}}:{{.Value}};{{end}} {{.Timestamp.UnixMilli}} {{.Timestamp.Format "2006"}}`, printFields{})
	if err != nil {
		t.Fatal(err)
	}
	want := "orders/2@41 k1=v<1> a:1;b:; 1700000000123 2023\n"
	if got := formatRecord(t, w, sampleConsumed); got != want {
		t.Errorf("%q, want %q", got, want)
	}
	for _, bad := range []string{"{{.Offset", "{{.Nope}}", "{{.Key.Nope}}"} {
		if _, err := newRecordWriter(bad, printFields{}); err == nil || !strings.Contains(err.Error(), "--format") {
			t.Errorf("%q: error %v, want one about --format", bad, err)
		}
	}
}

// JSON lines: text stays text (no HTML escaping), other bytes are base64,
// null is null.
func TestJSONFormat(t *testing.T) {
	r := *sampleConsumed
	r.Value = []byte{0xff, 0xfe}
	r.Attrs = kgo.RecordAttrs{}
	line := formatRecord(t, jsonRecordWriter{}, &r)
	if !strings.Contains(line, `"key":"k1"`) || !strings.Contains(line, `"value":{"base64":"//4="}`) ||
		!strings.Contains(line, `{"key":"b","value":null}`) || strings.Count(line, "\n") != 1 {
		t.Errorf("line %s", line)
	}
	var back map[string]any
	if err := json.Unmarshal([]byte(line), &back); err != nil {
		t.Fatal(err)
	}
	if back["offset"].(float64) != 41 || back["timestamp"].(float64) != 1_700_000_000_123 || back["timestamp_type"] != "CreateTime" {
		t.Errorf("decoded %v", back)
	}
	if line := formatRecord(t, jsonRecordWriter{}, sampleConsumed); !strings.Contains(line, `"value":"v<1>"`) {
		t.Errorf("text value: %s", line)
	}
}

func TestConsumeUsage(t *testing.T) {
	for _, args := range [][]string{
		{},
		{"--topic", "t", "--group", "g", "--partition", "1"},
		{"--topic", "t", "--group", "g", "--offset", "5"},
		{"--topic", "t", "--from-beginning", "--offset", "5"},
		{"--topic", "t", "--offset", "-3"},
		{"--topic", "t", "--timestamp", "yesterday"},
		{"--topic", "t", "--format", "{{.Bad"},
		{"--topic", "t", "--format", "json", "--print-key"},
	} {
		var out, errb bytes.Buffer
		if code := Consume(args, IO{In: strings.NewReader(""), Out: &out, Err: &errb}); code != 2 {
			t.Errorf("%q: exit %d, want 2\n%s", args, code, errb.String())
		}
	}
	if ms, err := parseTimestamp("2024-05-01T00:00:00Z"); err != nil || ms != 1714521600000 {
		t.Errorf("RFC 3339: %d %v", ms, err)
	}
	if ms, err := parseTimestamp("1714521600000"); err != nil || ms != 1714521600000 {
		t.Errorf("ms: %d %v", ms, err)
	}
}
