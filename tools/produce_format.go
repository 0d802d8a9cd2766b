package tools

import (
	"bytes"
	"fmt"
	"strings"

	"github.com/twmb/franz-go/pkg/kgo"
)

// lineFormat says how a line becomes a record, as Kafka's console producer
// reads it (parse.key, key.separator, parse.headers, headers.delimiter,
// headers.separator, headers.key.separator):
//
//	[headers <headersDelim>] [key <keySep>] value
//	headers: key:value,key:value   (a header without ":" has a null value)
//
// Without parseKey the whole rest is the value and the key is null.
type lineFormat struct {
	parseKey     bool
	keySep       string
	parseHeaders bool
	headersDelim string
	headerSep    string
	headerKeySep string
	fixed        []kgo.RecordHeader // --headers, on every record before the line's own
}

func (f *lineFormat) check() error {
	switch {
	case f.parseKey && f.keySep == "":
		return fmt.Errorf("--key-separator must not be empty")
	case f.parseHeaders && f.headersDelim == "":
		return fmt.Errorf("--headers-delimiter must not be empty")
	case f.headerSep == "" || f.headerKeySep == "":
		return fmt.Errorf("--headers-separator and --headers-key-separator must not be empty")
	}
	return nil
}

// record makes a record of line, copying the bytes: the line reader reuses
// its buffer, and the record is sent later.
func (f *lineFormat) record(line []byte) (*kgo.Record, error) {
	rest := bytes.Clone(line)
	if rest == nil {
		rest = []byte{} // an empty line is an empty value, not a null one
	}
	r := &kgo.Record{Headers: append([]kgo.RecordHeader(nil), f.fixed...)}
	if f.parseHeaders {
		head, tail, ok := bytes.Cut(rest, []byte(f.headersDelim))
		if !ok {
			return nil, fmt.Errorf("no headers delimiter %q in the line", f.headersDelim)
		}
		hs, err := parseHeaderList(string(head), f.headerSep, f.headerKeySep)
		if err != nil {
			return nil, err
		}
		r.Headers, rest = append(r.Headers, hs...), tail
	}
	if f.parseKey {
		key, value, ok := bytes.Cut(rest, []byte(f.keySep))
		if !ok {
			return nil, fmt.Errorf("no key separator %q in the line", f.keySep)
		}
		r.Key, rest = key, value
	}
	r.Value = rest
	return r, nil
}

// parseHeaderList parses "k1:v1,k2:v2". A header without keySep has a null
// value, as in Kafka's console producer; an empty key is an error.
func parseHeaderList(s, sep, keySep string) ([]kgo.RecordHeader, error) {
	if s == "" {
		return nil, nil
	}
	var hs []kgo.RecordHeader
	for _, h := range strings.Split(s, sep) {
		k, v, ok := strings.Cut(h, keySep)
		if k == "" {
			return nil, fmt.Errorf("header %q has no key", h)
		}
		hdr := kgo.RecordHeader{Key: k}
		if ok {
			hdr.Value = []byte(v)
		}
		hs = append(hs, hdr)
	}
	return hs, nil
}
