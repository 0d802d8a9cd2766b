package config

import (
	"fmt"
	"sort"
)

// Key is one configuration key as Kafka defines it.
type Key struct {
	Name string
	Type Type
	// Default is the value's text; ignored when NoDefault (Kafka's null).
	Default   string
	NoDefault bool
	Doc       string
	Validate  Validator
	// Synonyms are less precise keys for the same setting, most precise
	// first, used when this key is not set (Kafka's log.retention.minutes
	// and .hours for log.retention.ms).
	Synonyms []Synonym
}

// Synonym is another key whose value, times Scale, stands for this key's.
type Synonym struct {
	Name  string
	Scale int64 // 0 means 1; only for numeric keys
}

// Registry is a set of known keys. Build it with NewRegistry.
type Registry struct {
	keys     map[string]*Key
	names    []string // sorted
	defaults map[string]any
}

// NewRegistry checks keys and parses their defaults; a bad key is a
// programmer error and panics with its values.
func NewRegistry(keys []Key) *Registry {
	r := &Registry{keys: map[string]*Key{}, defaults: map[string]any{}}
	for i := range keys {
		k := &keys[i]
		if _, dup := r.keys[k.Name]; dup {
			panic(fmt.Sprintf("config: key %s registered twice", k.Name))
		}
		if k.Type == 0 || k.Doc == "" {
			panic(fmt.Sprintf("config: key %s lacks a type or doc: %+v", k.Name, *k))
		}
		r.keys[k.Name] = k
		r.names = append(r.names, k.Name)
		if k.NoDefault {
			continue
		}
		v, err := k.check(k.Default)
		if err != nil {
			panic(fmt.Sprintf("config: default %q of %s: %v", k.Default, k.Name, err))
		}
		r.defaults[k.Name] = v
	}
	sort.Strings(r.names)
	for _, k := range keys {
		for _, s := range k.Synonyms {
			sk, ok := r.keys[s.Name]
			if !ok {
				panic(fmt.Sprintf("config: %s has unknown synonym %s", k.Name, s.Name))
			}
			if s.Scale != 0 && (!k.Type.numeric() || !sk.Type.numeric()) {
				panic(fmt.Sprintf("config: scaled synonym %s of non-numeric %s", s.Name, k.Name))
			}
		}
	}
	return r
}

// Key returns the key named name.
func (r *Registry) Key(name string) (*Key, bool) {
	k, ok := r.keys[name]
	return k, ok
}

// Names lists every key, sorted.
func (r *Registry) Names() []string { return r.names }

// check parses and validates text as this key's value.
func (k *Key) check(text string) (any, error) {
	v, err := k.Type.parse(text)
	if err != nil {
		return nil, err
	}
	if k.Validate != nil {
		if err := k.Validate(v); err != nil {
			return nil, err
		}
	}
	return v, nil
}

func (t Type) numeric() bool { return t == Int || t == Short || t == Long }

// Default is name's default value as text; ok is false for an unknown key
// or one without a default (Kafka's null).
func (r *Registry) Default(name string) (text string, ok bool) {
	k, known := r.keys[name]
	if !known || k.NoDefault {
		return "", false
	}
	return format(r.defaults[name]), true
}

// Check parses and validates text as name's value without setting it: nil,
// or an *Error saying what is wrong (Unknown for an unknown key).
func (r *Registry) Check(name, text string, src Source) error {
	return New(r).Set(name, text, src)
}

// Sensitive says whether the key's values must not be shown (passwords).
func (k *Key) Sensitive() bool { return k.Type == Password }
