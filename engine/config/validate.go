package config

import (
	"fmt"
	"slices"
	"strings"
)

// Validator checks a parsed value; the error says why it is wrong.
type Validator func(v any) error

// AtLeast accepts numbers >= min.
func AtLeast(min int64) Validator {
	return func(v any) error {
		if n := toInt64(v); n < min {
			return fmt.Errorf("value must be at least %d", min)
		}
		return nil
	}
}

// Between accepts numbers in [min, max] (integers or doubles).
func Between(min, max int64) Validator {
	return func(v any) error {
		if f, ok := v.(float64); ok {
			if f < float64(min) || f > float64(max) {
				return fmt.Errorf("value must be between %d and %d", min, max)
			}
			return nil
		}
		if n := toInt64(v); n < min || n > max {
			return fmt.Errorf("value must be between %d and %d", min, max)
		}
		return nil
	}
}

// In accepts a string among allowed, or a list whose every item is.
func In(allowed ...string) Validator {
	return func(v any) error {
		items, isList := v.([]string)
		if !isList {
			items = []string{v.(string)}
		}
		for _, it := range items {
			if !slices.Contains(allowed, it) {
				return fmt.Errorf("%q is not one of [%s]", it, strings.Join(allowed, ", "))
			}
		}
		return nil
	}
}

func toInt64(v any) int64 {
	switch n := v.(type) {
	case int16:
		return int64(n)
	case int32:
		return int64(n)
	case int64:
		return n
	}
	panic(fmt.Sprintf("config: numeric validator on %T %v", v, v))
}

// Either accepts a value one of the validators accepts; the error is the
// last one's.
func Either(vs ...Validator) Validator {
	return func(v any) error {
		var err error
		for _, f := range vs {
			if err = f(v); err == nil {
				return nil
			}
		}
		return err
	}
}

// Equal accepts exactly n.
func Equal(n int64) Validator {
	return func(v any) error {
		if toInt64(v) != n {
			return fmt.Errorf("value must be %d", n)
		}
		return nil
	}
}
