package config

import (
	"fmt"
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
			return int32(n)
		case Short:
			return int16(n)
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
