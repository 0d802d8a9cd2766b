package bench

import (
	"fmt"
	"hash/crc32"
	"math/rand/v2"
	"strconv"
	"strings"
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// payloads is a pool of record values made before the run, so that
// producing costs no generation and every run of a scenario sends the same
// bytes. Each value's CRC is kept for the delivery check.
type payloads struct {
	values [][]byte
	crcs   []uint32
}

// poolBytes bounds a pool's memory; small records get up to 1024 distinct
// values, large ones fewer.
const poolBytes = 64 << 20

// newPayloads makes values of exactly size bytes of the given kind:
// "random" (incompressible bytes) or "json" (JSON-like events, which
// compress the way application data does).
func newPayloads(kind string, size int, seed uint64) (*payloads, error) {
	n := min(max(poolBytes/max(size, 1), 16), 1024)
	r := rand.New(rand.NewPCG(seed, 0x5eed))
	p := &payloads{}
	for i := 0; i < n; i++ {
		var v []byte
		switch kind {
		case "random":
			v = make([]byte, size)
			for j := range v {
				v[j] = byte(r.Uint32())
			}
		case "json":
			v = jsonEvent(r, i, size)
		default:
			return nil, fmt.Errorf("unknown payload %q (random or json)", kind)
		}
		p.values = append(p.values, v)
		p.crcs = append(p.crcs, crc32.Checksum(v, castagnoli))
	}
	return p, nil
}

var (
	eventTypes = []string{"page_view", "add_to_cart", "checkout", "search", "login", "logout", "click"}
	countries  = []string{"DE", "US", "FR", "BR", "IN", "JP", "GB", "NG", "CA", "AU"}
	devices    = []string{"ios", "android", "web-chrome", "web-firefox", "web-safari"}
	words      = strings.Fields("alpha beta gamma delta order item user cart price shipping " +
		"express standard premium blue green red large small review rating stock warehouse")
)

// jsonEvent writes a JSON object of exactly size bytes: events with ids,
// enums, numbers and timestamps, padded with words. Below ~16 bytes it is
// cut short (still compressible text, no longer valid JSON).
func jsonEvent(r *rand.Rand, seq, size int) []byte {
	var b strings.Builder
	b.WriteString(`{"seq":` + strconv.Itoa(seq) + `,"events":[`)
	for n := 0; ; n++ {
		ev := fmt.Sprintf(`{"id":"%016x","type":"%s","user":"user-%d","country":"%s","device":"%s",`+
			`"amount":%d.%02d,"ts":%d}`,
			r.Uint64(), eventTypes[r.IntN(len(eventTypes))], r.IntN(100000), countries[r.IntN(len(countries))],
			devices[r.IntN(len(devices))], r.IntN(500), r.IntN(100), 1764000000000+r.Int64N(1e9))
		sep := ""
		if n > 0 {
			sep = ","
		}
		if b.Len()+len(sep)+len(ev)+len(`],"note":""}`) > size {
			break
		}
		b.WriteString(sep + ev)
	}
	b.WriteString(`],"note":"`)
	for b.Len() < size-2 {
		w := words[r.IntN(len(words))] + " "
		if b.Len()+len(w) > size-2 {
			w = w[:size-2-b.Len()]
		}
		b.WriteString(w)
	}
	b.WriteString(`"}`)
	out := []byte(b.String())
	if len(out) > size {
		out = out[:size]
	}
	return out
}

// keys picks record keys: "none" (no key: the client's sticky
// partitioner fills one partition's batch at a time), "uniform:N" (N
// distinct keys, equally likely) or "zipf:N" (N keys, a few hot ones).
type keys struct {
	kind  string
	pool  [][]byte
	crcs  []uint32
	zipf  *rand.Zipf
	rand  *rand.Rand
	count int
}

func parseKeys(spec string, seed uint64) (*keys, error) {
	if spec == "none" || spec == "" {
		return &keys{kind: "none"}, nil
	}
	kind, nStr, ok := strings.Cut(spec, ":")
	n, err := strconv.Atoi(nStr)
	if !ok || err != nil || n < 1 || (kind != "uniform" && kind != "zipf") {
		return nil, fmt.Errorf("bad --keys %q: none, uniform:N or zipf:N", spec)
	}
	k := &keys{kind: kind, rand: rand.New(rand.NewPCG(seed, 0x6b657973)), count: n}
	for i := 0; i < n; i++ {
		key := []byte(fmt.Sprintf("key-%08d", i))
		k.pool = append(k.pool, key)
		k.crcs = append(k.crcs, crc32.Checksum(key, castagnoli))
	}
	if kind == "zipf" {
		k.zipf = rand.NewZipf(k.rand, 1.1, 1, uint64(n-1))
	}
	return k, nil
}

// next returns a key and its CRC; nil for "none". Not safe for concurrent
// use: each producer has its own keys.
func (k *keys) next() ([]byte, uint32) {
	var i int
	switch k.kind {
	case "none":
		return nil, 0
	case "uniform":
		i = k.rand.IntN(k.count)
	case "zipf":
		i = int(k.zipf.Uint64())
	}
	return k.pool[i], k.crcs[i]
}

// clone gives another producer its own random source over the same keys.
func (k *keys) clone(seed uint64) *keys {
	c := *k
	if k.kind == "none" {
		return &c
	}
	c.rand = rand.New(rand.NewPCG(seed, 0x6b657973))
	if k.kind == "zipf" {
		c.zipf = rand.NewZipf(c.rand, 1.1, 1, uint64(k.count-1))
	}
	return &c
}
