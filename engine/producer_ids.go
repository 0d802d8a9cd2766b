package engine

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"

	"github.com/weirmq/weir/logstore"
)

// producerIDs hands out producer ids. Ids come in blocks: before giving out
// any id of a block, the end of the block is made durable, so a restart
// never hands an id out twice (Kafka's controller does the same with its
// ProducerIdsRecord; this file stands in until the metadata quorum exists).
type producerIDs struct {
	mu   sync.Mutex
	path string
	next int64 // next id to give
	end  int64 // first id past the durable block
}

const producerIDBlock = 1000

// producerIDFile is the name of the file, in the first log dir.
const producerIDFile = "weir-producer-id-block"

func openProducerIDs(dir string) (*producerIDs, error) {
	p := &producerIDs{path: filepath.Join(dir, producerIDFile)}
	b, err := os.ReadFile(p.path)
	switch {
	case os.IsNotExist(err):
	case err != nil:
		return nil, err
	default:
		end, perr := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
		if perr != nil || end < 0 {
			return nil, fmt.Errorf("%s: not a producer id block end: %q", p.path, b)
		}
		p.next, p.end = end, end
	}
	return p, nil
}

// allocate returns a new producer id.
func (p *producerIDs) allocate() (int64, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.next == p.end {
		end := p.end + producerIDBlock
		if err := logstore.WriteFileAtomic(p.path, []byte(strconv.FormatInt(end, 10)+"\n")); err != nil {
			return 0, fmt.Errorf("reserve producer ids: %w", err)
		}
		p.end = end
	}
	id := p.next
	p.next++
	return id, nil
}
