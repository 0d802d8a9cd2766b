package config

import (
	"github.com/spf13/pflag"
)

// Overrides collects the --key=value flags in the order given.
type Overrides struct {
	list []Property
}

// AddFlags registers every key of reg on fs as --key=value. Values are
// only recorded here; Apply checks them, so a bad flag value reads like a
// bad file value.
func (reg *Registry) AddFlags(fs *pflag.FlagSet) *Overrides {
	o := &Overrides{}
	for _, name := range reg.names {
		k := reg.keys[name]
		def := k.Default
		if k.NoDefault {
			def = ""
		}
		f := fs.VarPF(&flagValue{key: name, typ: k.Type, def: def, o: o}, name, "", k.Doc)
		if k.Type == Bool {
			f.NoOptDefVal = "true" // --delete.topic.enable alone means true
		}
	}
	return o
}

// Apply sets every recorded flag on c, later flags winning.
func (o *Overrides) Apply(c *Config) error {
	for _, p := range o.list {
		if err := c.Set(p.Key, p.Value, SourceFlag); err != nil {
			return err
		}
	}
	return nil
}

// flagValue is a pflag.Value that records the text for its key.
type flagValue struct {
	key, def string
	typ      Type
	o        *Overrides
}

func (f *flagValue) String() string { return f.def }
func (f *flagValue) Type() string   { return f.typ.String() }

func (f *flagValue) Set(s string) error {
	f.o.list = append(f.o.list, Property{Key: f.key, Value: s})
	return nil
}
