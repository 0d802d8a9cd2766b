package logstore

import (
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// PartitionMetadataFile is Kafka's per-partition file naming its topic id.
const PartitionMetadataFile = "partition.metadata"

// WritePartitionMetadata writes `version: 0` and `topic_id: <id>` with the id
// in Kafka's Uuid form (URL-safe base64, no padding), atomically.
func WritePartitionMetadata(dir string, topicID [16]byte) error {
	data := fmt.Sprintf("version: 0\ntopic_id: %s\n", base64.RawURLEncoding.EncodeToString(topicID[:]))
	return WriteFileAtomic(filepath.Join(dir, PartitionMetadataFile), []byte(data))
}

// ReadPartitionMetadata reads the topic id; ok is false when the file is
// missing.
func ReadPartitionMetadata(dir string) (id [16]byte, ok bool, err error) {
	data, err := os.ReadFile(filepath.Join(dir, PartitionMetadataFile))
	if errors.Is(err, os.ErrNotExist) {
		return id, false, nil
	}
	if err != nil {
		return id, false, err
	}
	lines := strings.Split(strings.TrimSpace(string(data)), "\n")
	if len(lines) != 2 || strings.TrimSpace(lines[0]) != "version: 0" {
		return id, false, fmt.Errorf("%s: want `version: 0` and `topic_id:` lines, got %q", PartitionMetadataFile, data)
	}
	v, found := strings.CutPrefix(strings.TrimSpace(lines[1]), "topic_id: ")
	if !found {
		return id, false, fmt.Errorf("%s: no topic_id line in %q", PartitionMetadataFile, data)
	}
	raw, err := base64.RawURLEncoding.DecodeString(v)
	if err != nil || len(raw) != 16 {
		return id, false, fmt.Errorf("%s: topic id %q is not a base64 uuid", PartitionMetadataFile, v)
	}
	copy(id[:], raw)
	return id, true, nil
}

// TopicID is the id from partition.metadata, if known.
func (l *Log) TopicID() ([16]byte, bool) {
	if p := l.topicID.Load(); p != nil {
		return *p, true
	}
	return [16]byte{}, false
}

// SetTopicID writes partition.metadata (once; Kafka refuses a different id).
func (l *Log) SetTopicID(id [16]byte) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if old, ok := l.TopicID(); ok {
		if old != id {
			return fmt.Errorf("%s: topic id is already %x, not %x", l.dir, old, id)
		}
		return nil
	}
	if err := WritePartitionMetadata(l.dir, id); err != nil {
		return err
	}
	l.topicID.Store(&id)
	return nil
}
