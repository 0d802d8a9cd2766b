package bench

import (
	"sync"

	"github.com/twmb/franz-go/pkg/kgo"
)

// recordPool lets the benchmark's consumers reuse the memory franz-go
// decodes records and decompressed batches into (kgo.WithPools), so the
// client spends its CPU on the fetch rather than on the garbage
// collector. Every consumed record is Recycled once it has been counted.
type recordPool struct {
	records    sync.Pool
	decompress sync.Pool
}

func (p *recordPool) GetRecords(n int) []kgo.Record {
	if s, ok := p.records.Get().(*[]kgo.Record); ok && cap(*s) >= n {
		return (*s)[:n]
	}
	return make([]kgo.Record, n)
}

func (p *recordPool) PutRecords(s []kgo.Record) {
	clear(s)
	s = s[:0]
	p.records.Put(&s)
}

func (p *recordPool) GetDecompressBytes(compressed []byte, _ kgo.CompressionCodecType) []byte {
	if b, ok := p.decompress.Get().(*[]byte); ok && cap(*b) >= 4*len(compressed) {
		return (*b)[:0]
	}
	return make([]byte, 0, 4*len(compressed))
}

func (p *recordPool) PutDecompressBytes(b []byte) {
	b = b[:0]
	p.decompress.Put(&b)
}
