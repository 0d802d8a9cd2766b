package logstore

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Suffixes of partition directories moved aside (Kafka's): a directory
// being deleted, a stray one (a log the metadata does not know), kept for
// the operator, and the future log of a move to another log dir (move.go).
// None parses as `<topic>-<partition>`, so OpenDir never opens them as
// logs. These names are part of the on-disk format shared with Kafka and
// must not change.
const (
	deleteDirSuffix = "-delete"
	strayDirSuffix  = "-stray"
	futureDirSuffix = "-future"
)

// asidePattern matches the names asideName gives (Kafka's DeleteDirPattern,
// StrayDirPattern and FutureDirPattern): a directory of another name is
// never removed.
var asidePattern = regexp.MustCompile(`^\S+-\S+\.\S+(` + deleteDirSuffix + `|` + strayDirSuffix + `|` +
	futureDirSuffix + `)$`)

// movedAside says whether name is a directory moved aside with suffix.
func movedAside(name, suffix string) bool {
	return strings.HasSuffix(name, suffix) && asidePattern.MatchString(name)
}

// parseAsideName is the partition of a directory moved aside with suffix:
// `<topic>-<partition>.<32 hex digits><suffix>`. A name whose topic
// asideName cut does not parse back to the partition; a move is refused
// for such a topic (see FutureDirFits), so a future's name always does.
func parseAsideName(name, suffix string) (TopicPartition, bool) {
	s, ok := strings.CutSuffix(name, suffix)
	i := strings.LastIndexByte(s, '.')
	if !ok || i < 0 || len(s)-i-1 != 32 {
		return TopicPartition{}, false
	}
	if _, err := hex.DecodeString(s[i+1:]); err != nil {
		return TopicPartition{}, false
	}
	return ParsePartitionDir(s[:i])
}

// FutureDirFits says whether tp's future log directory name
// (`<topic>-<partition>.<uuid>-future`) fits in a file name uncut, as
// Kafka requires before a move (InvalidTopicException otherwise).
func FutureDirFits(tp TopicPartition) bool {
	return len(tp.String())+1+32+len(futureDirSuffix) <= nameBytesMax
}

// nameBytesMax is the longest file name Linux file systems take.
const nameBytesMax = 255

// asideName is the name tp's directory takes when moved aside:
// `<topic>-<partition>.<32 hex digits of a random UUID><suffix>`, as Kafka's
// LocalLog.logDirNameWithSuffixCappedLength names it. The topic is cut so
// that the name stays within 255 bytes (a 249-byte topic would not fit).
func asideName(tp TopicPartition, suffix string) string {
	var id [16]byte
	_, _ = rand.Read(id[:])
	id[6] = id[6]&0x0f | 0x40 // version 4, as Java's UUID.randomUUID
	id[8] = id[8]&0x3f | 0x80
	tail := "-" + strconv.FormatInt(int64(tp.Partition), 10) + "." + hex.EncodeToString(id[:]) + suffix
	topic := tp.Topic
	if n := nameBytesMax - len(tail); len(topic) > n {
		topic = topic[:n]
	}
	return topic + tail
}

// errStopped ends a removal that Close interrupted.
var errStopped = errors.New("logstore: removal stopped")

// remover deletes, in the background, the directories a Dir renamed with
// the `-delete` suffix: each once its delay has passed (file.delete.delay.ms,
// as Kafka's LogManager waits), one at a time, file by file, so that Close
// never waits for a large one. What Close interrupts stays renamed, and the
// next OpenDir queues it again.
type remover struct {
	logger *slog.Logger

	mu      sync.Mutex
	pending []removal // in the order queued
	wake    chan struct{}
	stop    chan struct{}
	done    chan struct{}
}

// removal is one directory to remove, not before due.
type removal struct {
	path string
	due  time.Time
}

func startRemover(logger *slog.Logger) *remover {
	r := &remover{logger: logger, wake: make(chan struct{}, 1), stop: make(chan struct{}), done: make(chan struct{})}
	go r.run()
	return r
}

// add queues path for removal after delay.
func (r *remover) add(path string, delay time.Duration) {
	r.mu.Lock()
	r.pending = append(r.pending, removal{path: path, due: time.Now().Add(delay)})
	r.mu.Unlock()
	select {
	case r.wake <- struct{}{}:
	default:
	}
}

// close stops the remover and waits for it to exit.
func (r *remover) close() {
	close(r.stop)
	<-r.done
}

func (r *remover) run() {
	defer close(r.done)
	for {
		select {
		case <-r.stop:
			return
		default:
		}
		next, ok := r.next()
		var t *time.Timer
		var wait <-chan time.Time
		if ok {
			d := time.Until(next.due)
			if d <= 0 {
				r.remove(next)
				continue
			}
			t = time.NewTimer(d)
			wait = t.C
		}
		select {
		case <-r.stop:
			return
		case <-r.wake:
		case <-wait:
		}
		if t != nil {
			t.Stop()
		}
	}
}

// next is the removal due first.
func (r *remover) next() (removal, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.pending) == 0 {
		return removal{}, false
	}
	first := r.pending[0]
	for _, p := range r.pending[1:] {
		if p.due.Before(first.due) {
			first = p
		}
	}
	return first, true
}

// remove removes one directory and takes it off the queue, unless Close
// interrupted it (then it stays for the next open).
func (r *remover) remove(p removal) {
	err := removeDir(p.path, r.stop)
	if errors.Is(err, errStopped) {
		return
	}
	r.mu.Lock()
	for i := range r.pending {
		if r.pending[i] == p {
			r.pending = append(r.pending[:i], r.pending[i+1:]...)
			break
		}
	}
	r.mu.Unlock()
	if err != nil {
		r.logger.Error("logstore: cannot remove a deleted partition's directory; the next start tries again",
			"dir", p.path, "err", err)
		return
	}
	r.logger.Info("logstore: removed a deleted partition's directory", "dir", p.path)
}

// removeDir removes dir entry by entry (a partition directory holds files
// only), checking stop between them.
func removeDir(dir string, stop <-chan struct{}) error {
	ents, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	for _, e := range ents {
		select {
		case <-stop:
			return errStopped
		default:
		}
		if err := os.RemoveAll(filepath.Join(dir, e.Name())); err != nil {
			return err
		}
	}
	if err := os.Remove(dir); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	return nil
}
