package config

import (
	"errors"
	"fmt"
	"math"
	"slices"
)

// Config holds the values set for a Registry's keys; unset keys read as
// their synonyms or defaults. Set, then Resolve once; after that a Config
// is read-only and safe to share.
type Config struct {
	reg *Registry
	set map[string]setting

	resolved *Resolved
}

type setting struct {
	value  any
	text   string
	source Source
}

// New returns an empty Config over reg.
func New(reg *Registry) *Config {
	return &Config{reg: reg, set: map[string]setting{}}
}

// Set sets key to the value in text; a later Set of the same key wins.
func (c *Config) Set(key, text string, src Source) error {
	k, ok := c.reg.keys[key]
	if !ok {
		return &Error{Key: key, Value: text, Source: src, Unknown: true}
	}
	v, err := k.check(text)
	if err != nil {
		shown := text
		if k.Type == Password {
			shown = Secret{}.String()
		}
		return &Error{Key: key, Value: shown, Source: src, Reason: err.Error()}
	}
	c.set[key] = setting{value: v, text: text, source: src}
	c.resolved = nil
	return nil
}

// IsSet says whether key was given explicitly (file or flag).
func (c *Config) IsSet(key string) bool {
	c.mustKey(key)
	_, ok := c.set[key]
	return ok
}

// Source says where key's own value comes from.
func (c *Config) Source(key string) Source {
	c.mustKey(key)
	return c.set[key].source
}

// Get is key's effective value: set explicitly, else from the first set
// synonym (scaled), else the default, else the first synonym's default;
// nil when none of these exist (Kafka's null).
func (c *Config) Get(key string) any {
	k := c.mustKey(key)
	if s, ok := c.set[key]; ok {
		return s.value
	}
	for _, syn := range k.Synonyms {
		if s, ok := c.set[syn.Name]; ok {
			return convert(k, syn, s.value)
		}
	}
	if v, ok := c.reg.defaults[key]; ok {
		return v
	}
	for _, syn := range k.Synonyms {
		if v := c.Get(syn.Name); v != nil {
			return convert(k, syn, v)
		}
	}
	return nil
}

// convert turns a synonym's value into k's type and unit. As in Kafka, a
// negative time (forever) stays -1 whatever the unit.
func convert(k *Key, syn Synonym, v any) any {
	if k.Type.numeric() {
		n := toInt64(v)
		if syn.Scale > 1 {
			if n < 0 {
				n = -1
			} else {
				n *= syn.Scale
			}
		}
		switch k.Type {
		case Int:
			return int32(min(max(n, math.MinInt32), math.MaxInt32))
		case Short:
			return int16(min(max(n, math.MinInt16), math.MaxInt16))
		}
		return n
	}
	if k.Type == List {
		if s, ok := v.(string); ok {
			l, _ := List.parse(s)
			return l
		}
	}
	return v
}

// Typed getters: the key must exist and have that type, else it is a
// programmer error and panics.

func (c *Config) Bool(key string) bool      { return get[bool](c, key, Bool) }
func (c *Config) String(key string) string  { return get[string](c, key, String) }
func (c *Config) Int(key string) int32      { return get[int32](c, key, Int) }
func (c *Config) Short(key string) int16    { return get[int16](c, key, Short) }
func (c *Config) Long(key string) int64     { return get[int64](c, key, Long) }
func (c *Config) Double(key string) float64 { return get[float64](c, key, Double) }
func (c *Config) List(key string) []string  { return slices.Clone(get[[]string](c, key, List)) }
func (c *Config) Password(key string) Secret {
	return get[Secret](c, key, Password)
}

// get returns key's value, or T's zero value when it is null.
func get[T any](c *Config, key string, t Type) T {
	k := c.mustKey(key)
	if k.Type != t {
		panic(fmt.Sprintf("config: %s is a %s, read as %s", key, k.Type, t))
	}
	v, _ := c.Get(key).(T)
	return v
}

func (c *Config) mustKey(key string) *Key {
	k, ok := c.reg.keys[key]
	if !ok {
		panic(fmt.Sprintf("config: unknown key %q read", key))
	}
	return k
}

// Text is key's effective value as text, for logs and describe-configs.
func (c *Config) Text(key string) string {
	c.mustKey(key)
	return format(c.Get(key))
}

// Registry is the set of keys c holds values for.
func (c *Config) Registry() *Registry { return c.reg }

// Setting is the text key was set to and where it came from; ok is false
// when it was not set (its value is a synonym's or the default).
func (c *Config) Setting(key string) (text string, src Source, ok bool) {
	c.mustKey(key)
	s, ok := c.set[key]
	return s.text, s.source, ok
}

// Clone copies c (values are immutable, so the copy shares them).
func (c *Config) Clone() *Config {
	n := New(c.reg)
	for k, s := range c.set {
		n.set[k] = s
	}
	return n
}

// With returns a copy of c with values set over it from src, in key order.
// A value that does not parse or validate is left out and reported in the
// error (joined); the others are set.
func (c *Config) With(values map[string]string, src Source) (*Config, error) {
	n := c.Clone()
	keys := make([]string, 0, len(values))
	for k := range values {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var errs []error
	for _, k := range keys {
		if err := n.Set(k, values[k], src); err != nil {
			errs = append(errs, err)
		}
	}
	return n, errors.Join(errs...)
}

// inherit sets key to v, a value of another registry's key (a broker
// synonym of a topic key), converted to key's type and unit.
func (c *Config) inherit(key string, syn Synonym, v any, src Source) {
	k := c.mustKey(key)
	v = convert(k, syn, v)
	c.set[key] = setting{value: v, text: format(v), source: src}
}
