package config

import (
	"reflect"
	"testing"
)

func TestTypeParse(t *testing.T) {
	tests := []struct {
		typ     Type
		text    string
		want    any
		wantErr bool
	}{
		{Bool, "true", true, false},
		{Bool, " FALSE ", false, false},
		{Bool, "yes", nil, true},
		{String, "  a b  ", "a b", false},
		{Int, "42", int32(42), false},
		{Int, " -1 ", int32(-1), false},
		{Int, "2147483648", nil, true},
		{Int, "1.5", nil, true},
		{Int, "", nil, true},
		{Short, "32767", int16(32767), false},
		{Short, "32768", nil, true},
		{Long, "9223372036854775807", int64(9223372036854775807), false},
		{Long, "9223372036854775808", nil, true},
		{Double, "0.5", 0.5, false},
		{Double, "x", nil, true},
		{List, "", []string{}, false},
		{List, "a", []string{"a"}, false},
		{List, " a , b,c ", []string{"a", "b", "c"}, false},
		{Password, " s3cret ", Secret{" s3cret "}, false},
	}
	for _, tt := range tests {
		got, err := tt.typ.parse(tt.text)
		if (err != nil) != tt.wantErr {
			t.Errorf("%s.parse(%q) error = %v, want error %v", tt.typ, tt.text, err, tt.wantErr)
			continue
		}
		if !tt.wantErr && !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%s.parse(%q) = %#v, want %#v", tt.typ, tt.text, got, tt.want)
		}
	}
}

func TestValidators(t *testing.T) {
	tests := []struct {
		name string
		v    Validator
		val  any
		ok   bool
	}{
		{"atleast ok", AtLeast(1), int32(1), true},
		{"atleast low", AtLeast(1), int32(0), false},
		{"atleast short", AtLeast(1), int16(0), false},
		{"atleast long", AtLeast(-1), int64(-1), true},
		{"between ok", Between(1, 3), int32(3), true},
		{"between high", Between(1, 3), int64(4), false},
		{"in ok", In("a", "b"), "b", true},
		{"in bad", In("a", "b"), "c", false},
		{"in list ok", In("a", "b"), []string{"b", "a"}, true},
		{"in list bad", In("a", "b"), []string{"a", "x"}, false},
	}
	for _, tt := range tests {
		if err := tt.v(tt.val); (err == nil) != tt.ok {
			t.Errorf("%s: err = %v, want ok %v", tt.name, err, tt.ok)
		}
	}
}

func TestSecretHidden(t *testing.T) {
	s := Secret{"pw"}
	if s.String() != "[hidden]" || format(s) != "[hidden]" || s.Value() != "pw" {
		t.Fatalf("secret shows %q / %q / %q", s.String(), format(s), s.Value())
	}
}
