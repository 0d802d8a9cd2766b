package engine

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/weirmq/weir/engine/metadata"
	"github.com/weirmq/weir/logstore"
)

// pendingDeletesFile, in the first log dir (beside the metadata log), names
// the topics of a DeleteTopics from before its removal is written to the
// metadata log until their partition directories are renamed to `-delete`.
// A start that finds it finishes those deletes: a log of a topic it names,
// of a topic id the metadata no longer has, is deleted. Any other log of no
// known topic is set aside as stray and kept, as Kafka does (KIP-858): the
// metadata log may be what was lost, and deleting would lose the data with
// it.
//
//	pending-topic-deletions (text; Kafka ignores files in a log dir):
//	  0                                version
//	  2                                entries
//	  Fcdr5ic5TsK_-I4ppLk_7Q orders    topic id (Kafka's Uuid form), name
//	  xiB1bBPWQ4eqN91UaaBT2g payments
//
// It is written atomically (temporary file, fsync, rename, directory
// fsync). Entries outlive their delete harmlessly: topic ids are never
// reused, and only logs whose id the metadata lacks are matched.
const pendingDeletesFile = "pending-topic-deletions"

// pendingDeletes are the entries of pendingDeletesFile.
type pendingDeletes struct {
	ids     map[[16]byte]bool
	names   map[string]bool
	entries []string // the lines
}

// covers says whether l is a log of a pending delete: its topic id is
// named, or, for a log without one, its topic name.
func (p pendingDeletes) covers(l *logstore.Log) bool {
	if id, ok := l.TopicID(); ok {
		return p.ids[id]
	}
	return p.names[l.Topic()]
}

// notePendingDeletes writes pendingDeletesFile for topics, keeping the
// entries already there (of a delete whose renames failed); carried says
// there were some. When it cannot write (a full disk), the delete goes on
// without it: refusing it would keep a full disk full, and a crash before
// the renames then leaves stray logs.
func (b *Broker) notePendingDeletes(topics []*metadata.Topic) (carried bool) {
	old := b.readPendingDeletes()
	var buf bytes.Buffer
	fmt.Fprintf(&buf, "0\n%d\n", len(topics)+len(old.entries))
	for _, t := range topics {
		fmt.Fprintf(&buf, "%s %s\n", UUID(t.ID), t.Name)
	}
	for _, e := range old.entries {
		buf.WriteString(e + "\n")
	}
	path := filepath.Join(b.cfg.LogDirs[0], pendingDeletesFile)
	if err := logstore.WriteFileAtomic(path, buf.Bytes()); err != nil {
		b.log.Warn("cannot note the topics being deleted; a crash before their logs are renamed "+
			"leaves them as stray logs", "file", path, "err", err)
	}
	return len(old.entries) > 0
}

// clearPendingDeletes removes pendingDeletesFile.
func (b *Broker) clearPendingDeletes() {
	path := filepath.Join(b.cfg.LogDirs[0], pendingDeletesFile)
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		b.log.Warn("cannot remove the note of topics being deleted", "file", path, "err", err)
	}
}

// readPendingDeletes reads pendingDeletesFile; a missing or unreadable one
// names nothing (an unreadable one is logged: its logs become strays).
func (b *Broker) readPendingDeletes() pendingDeletes {
	p := pendingDeletes{ids: map[[16]byte]bool{}, names: map[string]bool{}}
	path := filepath.Join(b.cfg.LogDirs[0], pendingDeletesFile)
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return p
	}
	if err == nil {
		err = p.parse(data)
	}
	if err != nil {
		b.log.Warn("ignoring an unreadable note of topics being deleted", "file", path, "err", err)
	}
	return p
}

func (p *pendingDeletes) parse(data []byte) error {
	sc := bufio.NewScanner(bytes.NewReader(data))
	var lines []string
	for sc.Scan() {
		lines = append(lines, sc.Text())
	}
	if len(lines) < 2 || lines[0] != "0" {
		return fmt.Errorf("want a version 0 header, got %q", data)
	}
	n, err := strconv.Atoi(lines[1])
	if err != nil || n != len(lines)-2 {
		return fmt.Errorf("entry count %q, %d entries", lines[1], len(lines)-2)
	}
	for _, line := range lines[2:] {
		id, name, ok := strings.Cut(line, " ")
		u, err := ParseUUID(id)
		if !ok || err != nil || name == "" {
			return fmt.Errorf("bad entry %q", line)
		}
		p.ids[u], p.names[name] = true, true
		p.entries = append(p.entries, line)
	}
	return nil
}
