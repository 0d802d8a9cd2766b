package tools

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"text/template"
	"time"
	"unicode/utf8"

	"github.com/twmb/franz-go/pkg/kgo"
)

// recordWriter prints one consumed record.
type recordWriter interface {
	write(w *bufio.Writer, r *kgo.Record) error
}

// newRecordWriter picks the printer for --format: "" for Kafka's console
// consumer lines, "json" for JSON lines, anything else a text/template.
func newRecordWriter(format string, p printFields) (recordWriter, error) {
	switch format {
	case "":
		return p, nil
	case "json":
		return jsonRecordWriter{}, nil
	}
	t, err := template.New("format").Parse(format)
	if err != nil {
		return nil, fmt.Errorf("--format: %w", err)
	}
	// Execute once on a made-up record so a bad field fails as usage, now.
	sample := &kgo.Record{Topic: "t", Key: []byte("k"), Value: []byte("v"), Timestamp: time.UnixMilli(0),
		Headers: []kgo.RecordHeader{{Key: "h", Value: []byte("v")}}}
	if err := t.Execute(io.Discard, newTemplateRecord(sample)); err != nil {
		return nil, fmt.Errorf("--format: %w", err)
	}
	return templateWriter{t}, nil
}

// printFields is the default output, laid out as Kafka's
// DefaultMessageFormatter does: the fields asked for, in this order, each
// followed by sep, then the value and a newline. A null key or value
// prints as "null", no headers as "NO_HEADERS".
//
//	CreateTime:1700000000000  Partition:0  Offset:42  h1:v1,h2:v2  key  value
type printFields struct {
	key, offset, timestamp, headers bool
	sep                             string
}

func (p printFields) write(w *bufio.Writer, r *kgo.Record) error {
	if p.timestamp {
		kind := "CreateTime"
		if r.Attrs.TimestampType() == 1 {
			kind = "LogAppendTime"
		}
		fmt.Fprintf(w, "%s:%d%s", kind, r.Timestamp.UnixMilli(), p.sep)
	}
	if p.offset {
		fmt.Fprintf(w, "Partition:%d%sOffset:%d%s", r.Partition, p.sep, r.Offset, p.sep)
	}
	if p.headers {
		if len(r.Headers) == 0 {
			w.WriteString("NO_HEADERS")
		}
		for i, h := range r.Headers {
			if i > 0 {
				w.WriteByte(',')
			}
			w.WriteString(h.Key)
			w.WriteByte(':')
			writeNullable(w, h.Value)
		}
		w.WriteString(p.sep)
	}
	if p.key {
		writeNullable(w, r.Key)
		w.WriteString(p.sep)
	}
	writeNullable(w, r.Value)
	return w.WriteByte('\n')
}

func writeNullable(w *bufio.Writer, b []byte) {
	if b == nil {
		w.WriteString("null")
		return
	}
	w.Write(b)
}

// templateRecord is what a --format template sees. Key and Value are
// strings so that {{.Value}} prints the bytes; Timestamp is in UTC.
type templateRecord struct {
	Topic     string
	Partition int32
	Offset    int64
	Key       string
	Value     string
	Headers   []templateHeader
	Timestamp time.Time
}

type templateHeader struct{ Key, Value string }

func newTemplateRecord(r *kgo.Record) templateRecord {
	tr := templateRecord{Topic: r.Topic, Partition: r.Partition, Offset: r.Offset,
		Key: string(r.Key), Value: string(r.Value), Timestamp: r.Timestamp.UTC()}
	for _, h := range r.Headers {
		tr.Headers = append(tr.Headers, templateHeader{h.Key, string(h.Value)})
	}
	return tr
}

// templateWriter runs the template per record and ends each with a newline.
type templateWriter struct{ t *template.Template }

func (tw templateWriter) write(w *bufio.Writer, r *kgo.Record) error {
	if err := tw.t.Execute(w, newTemplateRecord(r)); err != nil {
		return err
	}
	return w.WriteByte('\n')
}

// jsonRecord is one line of --format json; keys and values are jsonBytes.
type jsonRecord struct {
	Topic         string       `json:"topic"`
	Partition     int32        `json:"partition"`
	Offset        int64        `json:"offset"`
	Timestamp     int64        `json:"timestamp"`
	TimestampType string       `json:"timestamp_type"`
	Key           jsonBytes    `json:"key"`
	Value         jsonBytes    `json:"value"`
	Headers       []jsonHeader `json:"headers"`
}

type jsonHeader struct {
	Key   string    `json:"key"`
	Value jsonBytes `json:"value"`
}

type jsonRecordWriter struct{}

func (jsonRecordWriter) write(w *bufio.Writer, r *kgo.Record) error {
	jr := jsonRecord{Topic: r.Topic, Partition: r.Partition, Offset: r.Offset,
		Timestamp: r.Timestamp.UnixMilli(), TimestampType: "CreateTime",
		Key: jsonBytes(r.Key), Value: jsonBytes(r.Value), Headers: []jsonHeader{}}
	if r.Attrs.TimestampType() == 1 {
		jr.TimestampType = "LogAppendTime"
	}
	for _, h := range r.Headers {
		jr.Headers = append(jr.Headers, jsonHeader{h.Key, jsonBytes(h.Value)})
	}
	return writeJSONLine(w, jr)
}

// writeJSONLine writes v as one line of JSON, without escaping <, > and &.
func writeJSONLine(w *bufio.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}

// jsonBytes is a key, value or payload in JSON output: a string when the
// bytes are valid UTF-8, {"base64": "..."} when not, and null for null.
type jsonBytes []byte

func (b jsonBytes) MarshalJSON() ([]byte, error) {
	if b == nil {
		return []byte("null"), nil
	}
	if utf8.Valid(b) {
		return marshalUnescaped(string(b))
	}
	return marshalUnescaped(struct {
		Base64 []byte `json:"base64"`
	}{b})
}

// marshalUnescaped is json.Marshal without escaping <, > and &: payloads
// are read by people too.
func marshalUnescaped(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}
