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
	mu   sync.Mutex
	next int64 // next id to give
	end  int64 // first id past the reserved block
	// reserve reserves a new block [start, end) through the controller.
	reserve func() (start, end int64, err error)
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
	b.producerIDs = &producerIDs{next: end, end: end, reserve: b.reserveProducerIDBlock}
	return nil
}

// reserveProducerIDs commits that every id below end may be in use.
func (b *Broker) reserveProducerIDs(end int64) error {
	b.ctl.mu.Lock()
	defer b.ctl.mu.Unlock()
	_, err := b.commitProducerIDsLocked(b.nodeID, -1, end)
	return err
}

// commitProducerIDsLocked commits broker's reservation of every id below
// end. b.ctl.mu must be held.
func (b *Broker) commitProducerIDsLocked(broker int32, epoch, end int64) (*metadata.Image, error) {
	im, err := b.commitLocked([]metadata.Record{
		metadata.ProducerIdsRecord{BrokerID: broker, BrokerEpoch: epoch, NextProducerID: end}})
	if err != nil {
		return nil, err
	}
	if b.cluster != nil {
		b.publishLocked(im)
	} else {
		// Only the reservation changed: the partition table and configs stay.
		b.image.Store(im)
	}
	return im, nil
}

// reserveProducerIDBlock reserves the next block of producer ids: on a
// single node by committing it; in a cluster by asking the active
// controller (AllocateProducerIds, API 67), as Kafka's brokers do.
func (b *Broker) reserveProducerIDBlock() (start, end int64, err error) {
	if b.cluster != nil {
		return b.allocateProducerIDs()
	}
	b.ctl.mu.Lock()
	defer b.ctl.mu.Unlock()
	start = b.ctlImage().NextProducerID()
	if _, err := b.commitProducerIDsLocked(b.nodeID, -1, start+producerIDBlock); err != nil {
		return 0, 0, err
	}
	return start, start + producerIDBlock, nil
}

// allocateReserved returns a new producer id from the reserved block,
// false when the block is used up (allocate reserves the next).
func (p *producerIDs) allocateReserved() (int64, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.next == p.end {
		return 0, false
	}
	id := p.next
	p.next++
	return id, true
}

// allocate returns a new producer id, reserving a new block if needed.
func (p *producerIDs) allocate() (int64, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.next == p.end {
		start, end, err := p.reserve()
		if err != nil {
			return 0, fmt.Errorf("reserve producer ids: %w", err)
		}
		p.next, p.end = start, end
	}
	id := p.next
	p.next++
	return id, nil
}
