package logstore

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// Names of the log dir's checkpoint files (Kafka's).
const (
	RecoveryPointFile     = "recovery-point-offset-checkpoint"
	LogStartOffsetFile    = "log-start-offset-checkpoint"
	ReplicationOffsetFile = "replication-offset-checkpoint"
	leaderEpochFile       = "leader-epoch-checkpoint"
	tmpSuffix             = ".tmp"
	checkpointVersion     = 0
)

// TopicPartition names a partition.
type TopicPartition struct {
	Topic     string
	Partition int32
}

// String is the partition's directory name, `<topic>-<partition>`.
func (tp TopicPartition) String() string { return tp.Topic + "-" + strconv.Itoa(int(tp.Partition)) }

// WriteOffsetCheckpoint writes Kafka's offset checkpoint file: the version
// line, the count line, then one `topic partition offset` line each. It
// writes a temp file, syncs it, renames it over path and syncs the directory,
// so a crash leaves the old file or the new one, whole.
func WriteOffsetCheckpoint(path string, offsets map[TopicPartition]int64) error {
	tps := make([]TopicPartition, 0, len(offsets))
	for tp := range offsets {
		if strings.ContainsAny(tp.Topic, " \t\n") || tp.Topic == "" {
			return fmt.Errorf("checkpoint %s: topic %q cannot be written", path, tp.Topic)
		}
		tps = append(tps, tp)
	}
	slices.SortFunc(tps, func(a, b TopicPartition) int {
		if c := strings.Compare(a.Topic, b.Topic); c != 0 {
			return c
		}
		return int(a.Partition) - int(b.Partition)
	})
	lines := make([]string, len(tps))
	for i, tp := range tps {
		lines[i] = fmt.Sprintf("%s %d %d", tp.Topic, tp.Partition, offsets[tp])
	}
	return writeCheckpointFile(path, lines)
}

// ReadOffsetCheckpoint reads a file WriteOffsetCheckpoint (or Kafka) wrote. A
// missing file is an empty map.
func ReadOffsetCheckpoint(path string) (map[TopicPartition]int64, error) {
	lines, err := readCheckpointFile(path, 3)
	if err != nil {
		return nil, err
	}
	m := make(map[TopicPartition]int64, len(lines))
	for _, f := range lines {
		p, err1 := strconv.ParseInt(f[1], 10, 32)
		o, err2 := strconv.ParseInt(f[2], 10, 64)
		if err := errors.Join(err1, err2); err != nil {
			return nil, fmt.Errorf("checkpoint %s: line %q: %w", path, strings.Join(f, " "), err)
		}
		m[TopicPartition{f[0], int32(p)}] = o
	}
	return m, nil
}

func writeCheckpointFile(path string, lines []string) error {
	var b bytes.Buffer
	fmt.Fprintf(&b, "%d\n%d\n", checkpointVersion, len(lines))
	for _, l := range lines {
		b.WriteString(l)
		b.WriteByte('\n')
	}
	return WriteFileAtomic(path, b.Bytes())
}

// WriteFileAtomic replaces path with data durably: temp file, fsync, rename,
// fsync of the directory. A crash leaves the old file or the new one.
func WriteFileAtomic(path string, data []byte) error {
	return WriteFileVia(path+tmpSuffix, path, data)
}

// WriteFileVia is WriteFileAtomic through a temporary file named tmp, in
// path's directory (Kafka names a snapshot being written .checkpoint.part).
func WriteFileVia(tmp, path string, data []byte) error {
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return err
	}
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("write %s: %w", path, err)
	}
	d, err := os.Open(filepath.Dir(path))
	if err != nil {
		return err
	}
	defer d.Close()
	return syncDir(d)
}

// readCheckpointFile returns the entry lines of a checkpoint file, each split
// into exactly fields fields, after checking the version and count lines.
func readCheckpointFile(path string, fields int) ([][]string, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	sc := bufio.NewScanner(bytes.NewReader(data))
	next := func() (string, bool) {
		if !sc.Scan() {
			return "", false
		}
		return strings.TrimSpace(sc.Text()), true
	}
	v, ok1 := next()
	c, ok2 := next()
	if !ok1 || !ok2 {
		return nil, fmt.Errorf("checkpoint %s: missing version or count line", path)
	}
	if v != strconv.Itoa(checkpointVersion) {
		return nil, fmt.Errorf("checkpoint %s: version %q, want %d", path, v, checkpointVersion)
	}
	n, err := strconv.Atoi(c)
	if err != nil || n < 0 {
		return nil, fmt.Errorf("checkpoint %s: count line %q", path, c)
	}
	out := make([][]string, 0, n)
	for line, ok := next(); ok; line, ok = next() {
		if line == "" {
			continue
		}
		f := strings.Fields(line)
		if len(f) != fields {
			return nil, fmt.Errorf("checkpoint %s: line %q has %d fields, want %d", path, line, len(f), fields)
		}
		out = append(out, f)
	}
	if len(out) != n {
		return nil, fmt.Errorf("checkpoint %s: count line says %d entries, found %d", path, n, len(out))
	}
	return out, nil
}
