package engine

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"

	"github.com/weirmq/weir/engine/metadata"
)

// producerIDs hands out producer ids. Ids come in blocks: before giving out
// any id of a block, the controller commits a ProducerIdsRecord reserving
// it to the metadata log (fsynced), as Kafka's controller does, so a
// restart never hands an id out twice.
type producerIDs struct {
	mu      sync.Mutex
	next    int64                 // next id to give
	end     int64                 // first id past the reserved block
	reserve func(end int64) error // commits a reservation up to end
}

const producerIDBlock = 1000

// legacyProducerIDFile is where Weir kept the reservation before the
// metadata log did, in the first log dir; openProducerIDs migrates it.
const legacyProducerIDFile = "weir-producer-id-block"

// openProducerIDs starts after the ids the image (or an older Weir's file)
// reserved. b.ctl must be open and the image published.
func (b *Broker) openProducerIDs() error {
	end := b.image.Load().NextProducerID()
	path := filepath.Join(b.cfg.LogDirs[0], legacyProducerIDFile)
	data, err := os.ReadFile(path)
	switch {
	case errors.Is(err, os.ErrNotExist):
	case err != nil:
		return err
	default:
		old, perr := strconv.ParseInt(strings.TrimSpace(string(data)), 10, 64)
		if perr != nil || old < 0 {
			return fmt.Errorf("%s: not a producer id block end: %q", path, data)
		}
		if old > end {
			if err := b.reserveProducerIDs(old); err != nil {
				return fmt.Errorf("migrate %s: %w", path, err)
			}
			end = old
		}
		if err := os.Remove(path); err != nil {
			return err
		}
	}
	b.producerIDs = &producerIDs{next: end, end: end, reserve: b.reserveProducerIDs}
	return nil
}

// reserveProducerIDs commits that every id below end may be in use.
func (b *Broker) reserveProducerIDs(end int64) error {
	b.ctl.mu.Lock()
	defer b.ctl.mu.Unlock()
	im, err := b.commitLocked([]metadata.Record{
		metadata.ProducerIdsRecord{BrokerID: b.nodeID, BrokerEpoch: -1, NextProducerID: end}})
	if err != nil {
		return err
	}
	// Only the reservation changed: the partition table and configs stay.
	b.image.Store(im)
	return nil
}

// allocate returns a new producer id.
func (p *producerIDs) allocate() (int64, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.next == p.end {
		end := p.end + producerIDBlock
		if err := p.reserve(end); err != nil {
			return 0, fmt.Errorf("reserve producer ids: %w", err)
		}
		p.end = end
	}
	id := p.next
	p.next++
	return id, nil
}
