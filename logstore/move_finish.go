package logstore

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// leftMoves is what OpenDir found of moves a stop interrupted: the names
// of `-future` directories, and what it needs to open one as a log.
type leftMoves struct {
	futures       []string
	rps, lss, hws map[TopicPartition]int64
}

// FinishMoves settles the future logs that a stop left in dirs (the log
// dirs of one broker, all open), as move.go says: a future whose
// partition has a log in some log dir was a move not switched yet, and
// is deleted; a future whose partition has none was switched between its
// two renames, complete and synced, and is renamed into place and opened
// (its offsets from its log dir's checkpoints, rescanned from its
// recovery point). Call it once, after OpenDir of every log dir and before
// the logs are used.
func FinishMoves(dirs []*Dir) error {
	var errs []error
	for _, d := range dirs {
		left := d.left
		d.left = nil
		if left == nil {
			continue
		}
		for _, name := range left.futures {
			path := filepath.Join(d.path, name)
			tp, ok := parseAsideName(name, futureDirSuffix)
			if !ok {
				d.opts.Logger.Warn("logstore: a future log directory of no partition; left alone", "dir", path)
				continue
			}
			if hasLog(dirs, tp) {
				d.opts.Logger.Info("logstore: deleting the future log of a move a stop interrupted; "+
					"the partition keeps its log", "dir", path)
				gone := filepath.Join(d.path, asideName(tp, deleteDirSuffix))
				if err := renameSynced(path, gone, d.path); err != nil {
					errs = append(errs, err)
					continue
				}
				d.removals.add(gone, 0)
				continue
			}
			if err := d.finishMove(path, tp, left); err != nil {
				errs = append(errs, err)
			}
		}
	}
	return errors.Join(errs...)
}

// finishMove renames the future log at path, of a switched move, into
// place and opens it.
func (d *Dir) finishMove(path string, tp TopicPartition, left *leftMoves) error {
	d.opts.Logger.Warn("logstore: finishing a log move a stop interrupted between its renames",
		"partition", tp.String(), "dir", path)
	final := filepath.Join(d.path, tp.String())
	if err := renameSynced(path, final, d.path); err != nil {
		return err
	}
	st := OpenState{RecoveryPoint: left.rps[tp], LogStartOffset: -1, HighWatermark: left.hws[tp]}
	if ls, ok := left.lss[tp]; ok {
		st.LogStartOffset = ls
	}
	l, err := Open(final, tp.Topic, tp.Partition, d.configFor(tp), d.opts, st)
	if err != nil {
		return fmt.Errorf("finish the move of %s: %w", tp, err)
	}
	d.mu.Lock()
	d.logs[tp] = l
	d.mu.Unlock()
	return nil
}

// hasLog says whether any of dirs holds a log of tp.
func hasLog(dirs []*Dir, tp TopicPartition) bool {
	for _, d := range dirs {
		if d.Log(tp) != nil {
			return true
		}
	}
	return false
}

// renameSynced renames from to to and syncs dir, which holds both.
func renameSynced(from, to, dir string) error {
	if err := os.Rename(from, to); err != nil {
		return err
	}
	return syncPath(dir)
}
