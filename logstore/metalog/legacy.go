package metalog

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"os"
	"path/filepath"
)

// The format Weir wrote before this package, read once to migrate a log
// dir and never written:
//
//	metadata.snapshot   one frame: the records of a whole image
//	metadata.records    one frame per change since the snapshot
//	frame: length u32 (BE) | CRC-32C u32 (BE) of the payload | payload
//	payload: JSON {"seq": N, "records": [{"topic": {...}}, {"partition":
//	         {...}}, {"config": {...}}, {"remove_topic": {...}}]}
//
// seq counts changes from 1; the snapshot carries the seq of the last
// change it holds, and log frames at or below it are stale.
const (
	legacyLogFile      = "metadata.records"
	legacySnapshotFile = "metadata.snapshot"
	legacyFrameMax     = 64 << 20
)

// legacyFiles are the old format's files, and the temporary snapshot it
// renamed into place.
var legacyFiles = []string{legacyLogFile, legacySnapshotFile, legacySnapshotFile + ".tmp"}

// readLegacy reads the old format in dir: the snapshot's records as the
// first group, then each later change's. found is false when neither file
// is there. A torn or corrupt tail of the log is dropped, as the old code
// cut it on open; a corrupt snapshot is an error.
func readLegacy(dir string) (changes [][]Record, found bool, err error) {
	snap, err := os.ReadFile(filepath.Join(dir, legacySnapshotFile))
	switch {
	case err == nil:
		found = true
	case !errors.Is(err, os.ErrNotExist):
		return nil, false, err
	}
	snapSeq := uint64(0)
	if found {
		payload, n, ferr := legacyFrame(snap)
		if ferr != nil || n != len(snap) {
			return nil, true, fmt.Errorf("old metadata snapshot is corrupt (%v, %d of %d bytes framed)", ferr, n, len(snap))
		}
		seq, recs, err := legacyDecode(payload)
		if err != nil {
			return nil, true, fmt.Errorf("old metadata snapshot: %w", err)
		}
		snapSeq = seq
		changes = append(changes, recs)
	}
	data, err := os.ReadFile(filepath.Join(dir, legacyLogFile))
	switch {
	case errors.Is(err, os.ErrNotExist):
		return changes, found, nil
	case err != nil:
		return nil, true, err
	}
	found = true
	for pos := 0; pos < len(data); {
		payload, n, err := legacyFrame(data[pos:])
		if err != nil {
			break // a torn tail: the change was never acknowledged
		}
		seq, recs, err := legacyDecode(payload)
		if err != nil {
			break
		}
		if seq > snapSeq && len(recs) > 0 {
			changes = append(changes, recs)
		}
		pos += n
	}
	return changes, found, nil
}

// removeLegacy deletes the old files once their records are durable in the
// new format.
func removeLegacy(dir string) error {
	for _, name := range legacyFiles {
		if err := os.Remove(filepath.Join(dir, name)); err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
	}
	return syncDir(dir)
}

func legacyFrame(data []byte) ([]byte, int, error) {
	if len(data) < 8 {
		return nil, 0, fmt.Errorf("%d bytes left, a frame header takes 8", len(data))
	}
	n := binary.BigEndian.Uint32(data)
	if n > legacyFrameMax || int(n) > len(data)-8 {
		return nil, 0, fmt.Errorf("frame of %d bytes, %d left", n, len(data)-8)
	}
	payload := data[8 : 8+n]
	if crc32.Checksum(payload, castagnoli) != binary.BigEndian.Uint32(data[4:]) {
		return nil, 0, fmt.Errorf("frame crc mismatch")
	}
	return payload, 8 + int(n), nil
}

// legacyBatch is a frame's payload; each wire record sets one field.
type legacyBatch struct {
	Seq     uint64 `json:"seq"`
	Records []struct {
		Topic *struct {
			Name string `json:"name"`
			ID   string `json:"id"`
		} `json:"topic"`
		Partition *struct {
			TopicID        string  `json:"topic_id"`
			Partition      int32   `json:"partition"`
			Replicas       []int32 `json:"replicas"`
			ISR            []int32 `json:"isr"`
			Leader         int32   `json:"leader"`
			LeaderEpoch    int32   `json:"leader_epoch"`
			PartitionEpoch int32   `json:"partition_epoch"`
		} `json:"partition"`
		Config *struct {
			ResourceType int8    `json:"resource_type"`
			ResourceName string  `json:"resource_name"`
			Name         string  `json:"name"`
			Value        *string `json:"value"`
		} `json:"config"`
		RemoveTopic *struct {
			ID string `json:"id"`
		} `json:"remove_topic"`
	} `json:"records"`
}

func legacyDecode(payload []byte) (uint64, []Record, error) {
	var b legacyBatch
	if err := json.Unmarshal(payload, &b); err != nil {
		return 0, nil, err
	}
	recs := make([]Record, 0, len(b.Records))
	for _, w := range b.Records {
		var (
			r   Record
			err error
		)
		switch {
		case w.Topic != nil:
			var id UUID
			id, err = ParseUUID(w.Topic.ID)
			r = TopicRecord{Name: w.Topic.Name, ID: id}
		case w.Partition != nil:
			p := w.Partition
			var id UUID
			id, err = ParseUUID(p.TopicID)
			r = PartitionRecord{TopicID: id, Partition: p.Partition, Replicas: p.Replicas, ISR: p.ISR,
				Leader: p.Leader, LeaderEpoch: p.LeaderEpoch, PartitionEpoch: p.PartitionEpoch}
		case w.Config != nil:
			c := w.Config
			r = ConfigRecord{ResourceType: c.ResourceType, ResourceName: c.ResourceName, Name: c.Name, Value: c.Value}
		case w.RemoveTopic != nil:
			var id UUID
			id, err = ParseUUID(w.RemoveTopic.ID)
			r = RemoveTopicRecord{ID: id}
		default:
			err = fmt.Errorf("record with no known type")
		}
		if err != nil {
			return 0, nil, err
		}
		recs = append(recs, r)
	}
	return b.Seq, recs, nil
}
