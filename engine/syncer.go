package engine

import (
	"os"

	"github.com/weirmq/weir/logstore"
)

// ringSyncer is the logs' Syncer: it hands fdatasyncs to the broker's
// shard runtime, whose rings submit the syncs that many partitions ask for
// in one loop turn together (group commit).
type ringSyncer struct{ b *Broker }

func (s ringSyncer) Sync(files []*os.File, dir *os.File, done func(error)) {
	s.b.shards.Sync(files, dir, done)
}

// logOptions are the options every partition log opens with.
func (b *Broker) logOptions() logstore.Options {
	return logstore.Options{Syncer: ringSyncer{b}, Logger: b.log, IO: b.opts.FileIO}
}
