package bench

import (
	"fmt"
	"hash/crc32"
	"sort"
	"strings"
	"sync"
)

// PartitionSum is what a run produced to or consumed from one partition:
// the record count, the key and value bytes, and an order-independent
// checksum (the sum of each record's key CRC << 32 | value CRC). A produce
// run's sums and a consume run's sums over the same records are equal
// exactly when every record arrived once, unchanged.
type PartitionSum struct {
	Partition int32  `json:"partition"`
	Records   int64  `json:"records"`
	Bytes     int64  `json:"bytes"`
	Checksum  uint64 `json:"checksum"`
}

func recordSum(keyCRC, valueCRC uint32) uint64 { return uint64(keyCRC)<<32 | uint64(valueCRC) }

// sums accumulates PartitionSums; safe for concurrent use.
type sums struct {
	mu sync.Mutex
	m  map[int32]*PartitionSum
}

func newSums() *sums { return &sums{m: map[int32]*PartitionSum{}} }

func (s *sums) add(partition int32, bytes int64, sum uint64) {
	s.mu.Lock()
	s.addLocked(partition, bytes, sum)
	s.mu.Unlock()
}

func (s *sums) addLocked(partition int32, bytes int64, sum uint64) {
	p := s.m[partition]
	if p == nil {
		p = &PartitionSum{Partition: partition}
		s.m[partition] = p
	}
	p.Records++
	p.Bytes += bytes
	p.Checksum += sum
}

// list returns the sums ordered by partition.
func (s *sums) list() []PartitionSum {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]PartitionSum, 0, len(s.m))
	for _, p := range s.m {
		out = append(out, *p)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Partition < out[j].Partition })
	return out
}

// recordChecksum is the checksum of one record as a consumer sees it.
func recordChecksum(key, value []byte) uint64 {
	var kc uint32
	if key != nil {
		kc = crc32.Checksum(key, castagnoli)
	}
	return recordSum(kc, crc32.Checksum(value, castagnoli))
}

// compareSums says how consumed differs from produced; nil when they match.
func compareSums(produced, consumed []PartitionSum) error {
	idx := map[int32]PartitionSum{}
	for _, p := range consumed {
		idx[p.Partition] = p
	}
	var bad []string
	for _, p := range produced {
		c := idx[p.Partition]
		delete(idx, p.Partition)
		if c.Records != p.Records || c.Checksum != p.Checksum || c.Bytes != p.Bytes {
			bad = append(bad, fmt.Sprintf("partition %d: produced %d records (%d bytes, sum %x), consumed %d (%d bytes, sum %x)",
				p.Partition, p.Records, p.Bytes, p.Checksum, c.Records, c.Bytes, c.Checksum))
		}
	}
	for _, c := range idx {
		if c.Records > 0 {
			bad = append(bad, fmt.Sprintf("partition %d: consumed %d records never produced", c.Partition, c.Records))
		}
	}
	if len(bad) > 0 {
		sort.Strings(bad)
		return fmt.Errorf("delivery check failed:\n  %s", strings.Join(bad, "\n  "))
	}
	return nil
}
