package tools

import (
	"reflect"
	"testing"
	"time"
)

func TestParseConfigFlags(t *testing.T) {
	tests := []struct {
		in      []string
		want    []configPair
		wantErr bool
	}{
		{in: nil, want: nil},
		{in: []string{"retention.ms=1000"}, want: []configPair{{"retention.ms", "1000"}}},
		// One flag is one pair: commas and '=' stay in the value.
		{in: []string{"cleanup.policy=compact,delete", "x=a=b"},
			want: []configPair{{"cleanup.policy", "compact,delete"}, {"x", "a=b"}}},
		{in: []string{"empty="}, want: []configPair{{"empty", ""}}},
		{in: []string{"novalue"}, wantErr: true},
		{in: []string{"=1"}, wantErr: true},
		{in: []string{"a=1", "a=2"}, wantErr: true},
	}
	for _, tt := range tests {
		got, err := parseConfigFlags(tt.in)
		if (err != nil) != tt.wantErr || !reflect.DeepEqual(got, tt.want) && !tt.wantErr {
			t.Errorf("parseConfigFlags(%q) = %v, %v; want %v (error %v)", tt.in, got, err, tt.want, tt.wantErr)
		}
	}
}

func TestParseAddConfig(t *testing.T) {
	tests := []struct {
		in      []string
		want    []configPair
		wantErr bool
	}{
		{in: []string{"a=1,b=2"}, want: []configPair{{"a", "1"}, {"b", "2"}}},
		{in: []string{"a=1", "b=2"}, want: []configPair{{"a", "1"}, {"b", "2"}}},
		// Brackets keep a list value whole, as kafka-configs.sh does.
		{in: []string{"cleanup.policy=[compact,delete],a=1"},
			want: []configPair{{"cleanup.policy", "compact,delete"}, {"a", "1"}}},
		{in: []string{"a=[1,2"}, wantErr: true},
		{in: []string{"a=1]"}, wantErr: true},
		{in: []string{"a=1,"}, wantErr: true},
		{in: []string{"a=1,a=2"}, wantErr: true},
	}
	for _, tt := range tests {
		got, err := parseAddConfig(tt.in)
		if (err != nil) != tt.wantErr || !tt.wantErr && !reflect.DeepEqual(got, tt.want) {
			t.Errorf("parseAddConfig(%q) = %v, %v; want %v (error %v)", tt.in, got, err, tt.want, tt.wantErr)
		}
	}
}

func TestParseKeysAndCheck(t *testing.T) {
	keys, err := parseKeys([]string{"a,b", "c"})
	if err != nil || !reflect.DeepEqual(keys, []string{"a", "b", "c"}) {
		t.Errorf("parseKeys = %v, %v", keys, err)
	}
	if _, err := parseKeys([]string{"a,,b"}); err == nil {
		t.Error("parseKeys accepted an empty key")
	}
	if err := checkKeys([]configPair{{"a", "1"}}, []string{"a"}); err == nil {
		t.Error("checkKeys accepted a key both set and deleted")
	}
}

func TestParseTopicSelection(t *testing.T) {
	tests := []struct {
		in      string
		want    topicSelection
		wantErr bool
	}{
		{in: "orders", want: topicSelection{topic: "orders"}},
		{in: "orders:0,2,2,1", want: topicSelection{topic: "orders", partitions: []int32{0, 2, 1}}},
		{in: "orders:", wantErr: true},
		{in: "orders:x", wantErr: true},
		{in: "orders:-1", wantErr: true},
		{in: ":1", wantErr: true},
	}
	for _, tt := range tests {
		got, err := parseTopicSelection(tt.in)
		if (err != nil) != tt.wantErr || !tt.wantErr && !reflect.DeepEqual(got, tt.want) {
			t.Errorf("parseTopicSelection(%q) = %+v, %v; want %+v (error %v)", tt.in, got, err, tt.want, tt.wantErr)
		}
	}
}

func TestParseDatetime(t *testing.T) {
	utc := func(s string) time.Time {
		v, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	tests := []struct {
		in   string
		want time.Time // zero: an error
	}{
		// Kafka's form; no zone means UTC, as Kafka's Utils.getDateTime.
		{"2024-05-01T10:20:30.123", utc("2024-05-01T10:20:30.123Z")},
		{"2024-05-01T10:20:30", utc("2024-05-01T10:20:30Z")},
		{"2024-05-01T10:20", utc("2024-05-01T10:20:00Z")},
		{"2024-05-01T10:20:30.123Z", utc("2024-05-01T10:20:30.123Z")},
		{"2024-05-01T10:20:30.123+02:00", utc("2024-05-01T08:20:30.123Z")},
		{"2024-05-01T10:20:30.123+0200", utc("2024-05-01T08:20:30.123Z")},
		{"2024-05-01T10:20:30.123-05", utc("2024-05-01T15:20:30.123Z")},
		{"2024-05-01T10:20:30.5+01:30", utc("2024-05-01T08:50:30.5Z")},
		// RFC 3339.
		{"2024-05-01T10:20:30Z", utc("2024-05-01T10:20:30Z")},
		{"2024-05-01T10:20:30.123456789-07:00", utc("2024-05-01T17:20:30.123456789Z")},
		{"2024-05-01", time.Time{}},
		{"2024-05-01 10:20:30", time.Time{}},
		{"2024-13-01T10:20:30", time.Time{}},
		{"2024-05-01T10:20:30+2", time.Time{}},
		{"2024-05-01T10:20:30+25:00", time.Time{}},
		{"yesterday", time.Time{}},
	}
	for _, tt := range tests {
		got, err := parseDatetime(tt.in)
		switch {
		case tt.want.IsZero() && err == nil:
			t.Errorf("parseDatetime(%q) = %v, want an error", tt.in, got)
		case !tt.want.IsZero() && (err != nil || !got.Equal(tt.want)):
			t.Errorf("parseDatetime(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
		}
	}
}
