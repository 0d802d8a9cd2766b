package tools

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// configPair is one key=value of --config or --add-config.
type configPair struct{ key, value string }

// parseConfigFlags reads repeated --config k=v flags. Each flag is one
// pair, so a value may hold commas (cleanup.policy=compact,delete).
func parseConfigFlags(vals []string) ([]configPair, error) {
	var pairs []configPair
	for _, v := range vals {
		p, err := parsePair(v)
		if err != nil {
			return nil, err
		}
		pairs = append(pairs, p)
	}
	return pairs, checkKeys(pairs, nil)
}

// parseAddConfig reads kafka-configs.sh's --add-config: pairs split at
// commas, where a value in [brackets] may hold commas and loses the
// brackets (cleanup.policy=[compact,delete]).
func parseAddConfig(vals []string) ([]configPair, error) {
	var pairs []configPair
	for _, v := range vals {
		parts, err := splitOutsideBrackets(v)
		if err != nil {
			return nil, err
		}
		for _, part := range parts {
			p, err := parsePair(part)
			if err != nil {
				return nil, err
			}
			if strings.HasPrefix(p.value, "[") && strings.HasSuffix(p.value, "]") {
				p.value = p.value[1 : len(p.value)-1]
			}
			pairs = append(pairs, p)
		}
	}
	return pairs, checkKeys(pairs, nil)
}

func parsePair(s string) (configPair, error) {
	k, v, ok := strings.Cut(s, "=")
	k = strings.TrimSpace(k)
	if !ok || k == "" {
		return configPair{}, fmt.Errorf("config %q is not key=value", s)
	}
	return configPair{key: k, value: v}, nil
}

func splitOutsideBrackets(s string) ([]string, error) {
	var parts []string
	depth, from := 0, 0
	for i, r := range s {
		switch r {
		case '[':
			depth++
		case ']':
			depth--
		case ',':
			if depth == 0 {
				parts = append(parts, s[from:i])
				from = i + 1
			}
		}
		if depth < 0 {
			break
		}
	}
	if depth != 0 {
		return nil, fmt.Errorf("unbalanced brackets in %q", s)
	}
	return append(parts, s[from:]), nil
}

// parseKeys reads repeatable, comma-separated key lists (--delete-config).
func parseKeys(vals []string) ([]string, error) {
	var keys []string
	for _, v := range vals {
		for _, k := range strings.Split(v, ",") {
			if k = strings.TrimSpace(k); k == "" {
				return nil, fmt.Errorf("empty config key in %q", v)
			}
			keys = append(keys, k)
		}
	}
	return keys, nil
}

// checkKeys refuses a key set twice, or both set and deleted: the broker
// would answer INVALID_REQUEST for the whole resource.
func checkKeys(set []configPair, deleted []string) error {
	seen := map[string]bool{}
	for _, p := range set {
		if seen[p.key] {
			return fmt.Errorf("config %s given twice", p.key)
		}
		seen[p.key] = true
	}
	for _, k := range deleted {
		if seen[k] {
			return fmt.Errorf("config %s both set and deleted", k)
		}
		seen[k] = true
	}
	return nil
}

// topicSelection is --topic T (every partition, partitions nil) or
// T:0,1,2 as kafka-consumer-groups.sh writes it.
type topicSelection struct {
	topic      string
	partitions []int32
}

func parseTopicSelection(s string) (topicSelection, error) {
	topic, list, hasList := strings.Cut(s, ":")
	if topic == "" {
		return topicSelection{}, fmt.Errorf("--topic %q has no topic name", s)
	}
	sel := topicSelection{topic: topic}
	if !hasList {
		return sel, nil
	}
	seen := map[int32]bool{}
	for _, f := range strings.Split(list, ",") {
		p, err := strconv.ParseInt(strings.TrimSpace(f), 10, 32)
		if err != nil || p < 0 {
			return topicSelection{}, fmt.Errorf("--topic %q: partition %q is not a number >= 0", s, f)
		}
		if !seen[int32(p)] {
			seen[int32(p)] = true
			sel.partitions = append(sel.partitions, int32(p))
		}
	}
	return sel, nil
}

// parseDatetime reads --to-datetime. It takes Kafka's form
// YYYY-MM-DDTHH:mm:SS.sss, where seconds and milliseconds may be left
// out, with an optional zone (Z, +hh, +hhmm, +hh:mm) that defaults to UTC
// as Kafka's does; and RFC 3339.
func parseDatetime(s string) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t, nil
	}
	bad := fmt.Errorf("%q is not YYYY-MM-DDTHH:mm:SS.sss with an optional zone (Z, +02:00), nor RFC 3339", s)
	date, clock, ok := strings.Cut(s, "T")
	if !ok {
		return time.Time{}, bad
	}
	loc := time.UTC
	if i := strings.IndexAny(clock, "Z+-"); i >= 0 {
		var err error
		if loc, err = parseZone(clock[i:]); err != nil {
			return time.Time{}, bad
		}
		clock = clock[:i]
	}
	// A fraction after the seconds parses without being in the layout.
	for _, layout := range []string{"2006-01-02T15:04:05", "2006-01-02T15:04"} {
		if t, err := time.ParseInLocation(layout, date+"T"+clock, loc); err == nil {
			return t, nil
		}
	}
	return time.Time{}, bad
}

func parseZone(z string) (*time.Location, error) {
	if z == "Z" {
		return time.UTC, nil
	}
	sign := 1
	if z[0] == '-' {
		sign = -1
	}
	digits := strings.Replace(z[1:], ":", "", 1)
	if len(digits) == 2 {
		digits += "00"
	}
	if len(digits) != 4 || strings.Trim(digits, "0123456789") != "" {
		return nil, fmt.Errorf("bad zone %q", z)
	}
	h, _ := strconv.Atoi(digits[:2])
	m, _ := strconv.Atoi(digits[2:])
	if h > 23 || m > 59 {
		return nil, fmt.Errorf("bad zone %q", z)
	}
	return time.FixedZone(z, sign*(h*3600+m*60)), nil
}
