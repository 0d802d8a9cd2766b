package bench

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"testing"
)

func gzipRatio(t *testing.T, p *payloads) float64 {
	var raw, buf bytes.Buffer
	w := gzip.NewWriter(&buf)
	for _, v := range p.values[:16] {
		raw.Write(v)
		w.Write(v)
	}
	w.Close()
	return float64(raw.Len()) / float64(buf.Len())
}

func TestPayloadSizesAndKinds(t *testing.T) {
	for _, size := range []int{8, 100, 1000, 1024, 64 << 10} {
		for _, kind := range []string{"json", "random"} {
			p, err := newPayloads(kind, size, 1)
			if err != nil {
				t.Fatal(err)
			}
			for i, v := range p.values {
				if len(v) != size {
					t.Fatalf("%s %d: value %d has %d bytes", kind, size, i, len(v))
				}
			}
			if kind == "json" && size >= 1000 && !json.Valid(p.values[0]) {
				t.Errorf("json %d is not valid JSON: %.200s", size, p.values[0])
			}
		}
	}
	js, _ := newPayloads("json", 1024, 1)
	rnd, _ := newPayloads("random", 1024, 1)
	if r := gzipRatio(t, js); r < 2 {
		t.Errorf("json payload compresses only %.2fx; want application-like (>= 2x)", r)
	}
	if r := gzipRatio(t, rnd); r > 1.05 {
		t.Errorf("random payload compresses %.2fx; want incompressible", r)
	}
	again, _ := newPayloads("json", 1024, 1)
	if !bytes.Equal(again.values[3], js.values[3]) {
		t.Error("payloads differ between runs with the same seed")
	}
	if _, err := newPayloads("xml", 10, 1); err == nil {
		t.Error("unknown payload kind accepted")
	}
}

func TestKeys(t *testing.T) {
	for _, bad := range []string{"uniform", "uniform:0", "zipf:x", "hash:10"} {
		if _, err := parseKeys(bad, 1); err == nil {
			t.Errorf("parseKeys(%q) accepted", bad)
		}
	}
	none, _ := parseKeys("none", 1)
	if k, _ := none.next(); k != nil {
		t.Errorf("none gave key %q", k)
	}
	for _, spec := range []string{"uniform:50", "zipf:50"} {
		k, err := parseKeys(spec, 1)
		if err != nil {
			t.Fatal(err)
		}
		seen := map[string]int{}
		c := k.clone(7)
		for i := 0; i < 20000; i++ {
			key, _ := c.next()
			seen[string(key)]++
		}
		if len(seen) < 10 || len(seen) > 50 {
			t.Errorf("%s: %d distinct keys", spec, len(seen))
		}
		if spec == "zipf:50" && seen["key-00000000"] < 20000/10 {
			t.Errorf("zipf: the hottest key came %d times of 20000", seen["key-00000000"])
		}
	}
}
