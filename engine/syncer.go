package engine

import (
	"os"
	"runtime"

	"github.com/weirmq/weir/logstore"
)

// ringSyncer is the logs' Syncer: it hands fdatasyncs to a shard of the
// data-plane server, whose ring submits the syncs that many partitions ask
// for in one loop turn together (group commit). Before the server runs,
// it syncs inline.
type ringSyncer struct{ b *Broker }

func (s ringSyncer) Sync(files []*os.File, dir *os.File, done func(error)) {
	srv := s.b.data
	if srv == nil {
		logstore.SyncNow{IO: logstore.PwriteIO{}}.Sync(files, dir, done)
		return
	}
	fds := make([]int, len(files))
	for i, f := range files {
		fds[i] = int(f.Fd())
	}
	dirFd := -1
	if dir != nil {
		dirFd = int(dir.Fd())
	}
	// Any shard's ring can sync any file; spreading by descriptor keeps one
	// file's syncs in order on one shard.
	shard := 0
	if len(fds) > 0 {
		shard = fds[0] % srv.Shards()
	}
	srv.Sync(shard, fds, dirFd, func(err error) {
		runtime.KeepAlive(files)
		runtime.KeepAlive(dir)
		done(err)
		s.b.durable.poll()
	})
}

// logOptions are the options every partition log opens with.
func (b *Broker) logOptions() logstore.Options {
	return logstore.Options{Syncer: ringSyncer{b}, Logger: b.log}
}
