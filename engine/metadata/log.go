package metadata

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"log/slog"
	"os"
	"path/filepath"
)

// The metadata log's directory (inside the first log dir, as Kafka's
// metadata.log.dir defaults to it) and files. logstore skips the
// directory: it is not a partition log.
const (
	LogDirName   = "__cluster_metadata-0"
	logFile      = "metadata.records"
	snapshotFile = "metadata.snapshot"
	tmpSuffix    = ".tmp"
)

// frameMaxBytes bounds one frame; a longer length field is damage.
const frameMaxBytes = 64 << 20

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// Log is the local metadata log: the snapshot and the batches written
// since. One goroutine (the controller) uses it at a time.
type Log struct {
	dir    string
	f      *os.File
	size   int64
	seq    uint64 // of the last batch written or replayed
	logger *slog.Logger
}

// OpenLog opens the metadata log in dir, creating it when new, and
// returns it with the records to replay, oldest first: the snapshot's, then
// those of every later batch. A torn or corrupt tail of the log (an append
// cut short by a crash) is cut off and logged; a corrupt snapshot is an
// error, since snapshots are written whole and renamed into place.
func OpenLog(dir string, logger *slog.Logger) (*Log, []Record, error) {
	if logger == nil {
		logger = slog.Default()
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, nil, fmt.Errorf("metadata log: %w", err)
	}
	os.Remove(filepath.Join(dir, snapshotFile+tmpSuffix)) // a snapshot not yet renamed
	l := &Log{dir: dir, logger: logger}
	var recs []Record
	snapSeq, err := l.readSnapshot(&recs)
	if err != nil {
		return nil, nil, err
	}
	l.seq = snapSeq
	l.f, err = os.OpenFile(filepath.Join(dir, logFile), os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, nil, fmt.Errorf("metadata log: %w", err)
	}
	if err := l.replay(snapSeq, &recs); err != nil {
		l.f.Close()
		return nil, nil, err
	}
	if err := syncDir(dir); err != nil {
		l.f.Close()
		return nil, nil, err
	}
	return l, recs, nil
}

func (l *Log) readSnapshot(recs *[]Record) (uint64, error) {
	path := filepath.Join(l.dir, snapshotFile)
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("metadata snapshot: %w", err)
	}
	payload, n, ferr := readFrame(data)
	if ferr != nil || n != len(data) {
		return 0, fmt.Errorf("metadata snapshot %s is corrupt (%v, %d of %d bytes framed)", path, ferr, n, len(data))
	}
	seq, rs, err := decodeBatch(payload)
	if err != nil {
		return 0, fmt.Errorf("metadata snapshot %s: %w", path, err)
	}
	*recs = append(*recs, rs...)
	return seq, nil
}

// replay reads every whole batch of the log, keeps those newer than the
// snapshot, and cuts the file after the last good one.
func (l *Log) replay(snapSeq uint64, recs *[]Record) error {
	data, err := io.ReadAll(l.f)
	if err != nil {
		return fmt.Errorf("metadata log: %w", err)
	}
	pos := 0
	var why error
	for pos < len(data) {
		payload, n, err := readFrame(data[pos:])
		if err != nil {
			why = err
			break
		}
		seq, rs, err := decodeBatch(payload)
		if err != nil {
			why = err
			break
		}
		if seq > snapSeq {
			if seq != l.seq+1 {
				return fmt.Errorf("metadata log %s: batch %d follows %d", l.f.Name(), seq, l.seq)
			}
			*recs = append(*recs, rs...)
			l.seq = seq
		}
		pos += n
	}
	if pos < len(data) {
		l.logger.Warn("metadata log: cutting a torn or corrupt tail", "file", l.f.Name(),
			"position", pos, "cut_bytes", len(data)-pos, "reason", why)
		if err := l.f.Truncate(int64(pos)); err != nil {
			return fmt.Errorf("metadata log: cut: %w", err)
		}
		if err := l.f.Sync(); err != nil {
			return fmt.Errorf("metadata log: %w", err)
		}
	}
	l.size = int64(pos)
	return nil
}

// readFrame reads one frame from the front of data: its payload and the
// bytes it takes.
//
//	+-----------------+-----------------+--------------------------+
//	| length u32 (BE) | crc u32 (BE)    | payload (length bytes)   |
//	+-----------------+-----------------+--------------------------+
//
// crc is the CRC-32C (Castagnoli) of the payload.
func readFrame(data []byte) ([]byte, int, error) {
	if len(data) < 8 {
		return nil, 0, fmt.Errorf("%d bytes left, a frame header takes 8", len(data))
	}
	n := binary.BigEndian.Uint32(data)
	if n > frameMaxBytes || int(n) > len(data)-8 {
		return nil, 0, fmt.Errorf("frame of %d bytes, %d left", n, len(data)-8)
	}
	payload := data[8 : 8+n]
	if crc := crc32.Checksum(payload, castagnoli); crc != binary.BigEndian.Uint32(data[4:]) {
		return nil, 0, fmt.Errorf("crc %08x, frame says %08x", crc, binary.BigEndian.Uint32(data[4:]))
	}
	return payload, 8 + int(n), nil
}

func appendFrame(b, payload []byte) []byte {
	b = binary.BigEndian.AppendUint32(b, uint32(len(payload)))
	b = binary.BigEndian.AppendUint32(b, crc32.Checksum(payload, castagnoli))
	return append(b, payload...)
}

// Append writes recs as one batch and fsyncs it: when it returns nil the
// change survives a crash. On an error the log may hold a torn batch,
// which the next open cuts; the caller must not apply the change.
func (l *Log) Append(recs []Record) error {
	frame := appendFrame(nil, encodeBatch(l.seq+1, recs))
	if _, err := l.f.WriteAt(frame, l.size); err != nil {
		return fmt.Errorf("metadata log: write: %w", err)
	}
	if err := l.f.Sync(); err != nil {
		return fmt.Errorf("metadata log: fsync: %w", err)
	}
	l.size += int64(len(frame))
	l.seq++
	return nil
}

// Size is the log's bytes since the last snapshot.
func (l *Log) Size() int64 { return l.size }

// Snapshot replaces the snapshot with recs (the whole image, as
// Image.Records gives it, after the last Append) and empties the log. The
// snapshot is written to a temporary file, fsynced and renamed into place
// before the log is emptied; a crash in between replays the log's batches
// only past the snapshot's sequence number.
func (l *Log) Snapshot(recs []Record) error {
	path := filepath.Join(l.dir, snapshotFile)
	tmp := path + tmpSuffix
	if err := writeSynced(tmp, appendFrame(nil, encodeBatch(l.seq, recs))); err != nil {
		return fmt.Errorf("metadata snapshot: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("metadata snapshot: %w", err)
	}
	if err := syncDir(l.dir); err != nil {
		return err
	}
	if err := l.f.Truncate(0); err != nil {
		return fmt.Errorf("metadata log: empty: %w", err)
	}
	if err := l.f.Sync(); err != nil {
		return fmt.Errorf("metadata log: %w", err)
	}
	l.size = 0
	return nil
}

// Close closes the log file.
func (l *Log) Close() error { return l.f.Close() }

func writeSynced(path string, data []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("metadata log: %w", err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("metadata log: fsync %s: %w", dir, err)
	}
	return nil
}
