package metadata

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
)

// batch is one frame's payload: the records of one change, atomically, and
// the change's sequence number (1, 2, ...; a snapshot carries the number
// of the last change it holds).
type batch struct {
	Seq     uint64 `json:"seq"`
	Records []wire `json:"records"`
}

// wire is a record as JSON: exactly one field is set. Ids are Kafka's
// 22-character base64url form.
type wire struct {
	Topic       *wireTopic     `json:"topic,omitempty"`
	Partition   *wirePartition `json:"partition,omitempty"`
	Config      *wireConfig    `json:"config,omitempty"`
	RemoveTopic *wireRemove    `json:"remove_topic,omitempty"`
}

type wireTopic struct {
	Name string `json:"name"`
	ID   string `json:"id"`
}

type wirePartition struct {
	TopicID        string  `json:"topic_id"`
	Partition      int32   `json:"partition"`
	Replicas       []int32 `json:"replicas"`
	ISR            []int32 `json:"isr"`
	Leader         int32   `json:"leader"`
	LeaderEpoch    int32   `json:"leader_epoch"`
	PartitionEpoch int32   `json:"partition_epoch"`
}

type wireConfig struct {
	ResourceType int8    `json:"resource_type"`
	ResourceName string  `json:"resource_name"`
	Name         string  `json:"name"`
	Value        *string `json:"value"` // null deletes
}

type wireRemove struct {
	ID string `json:"id"`
}

func idText(id [16]byte) string { return base64.RawURLEncoding.EncodeToString(id[:]) }

func parseID(s string) ([16]byte, error) {
	var id [16]byte
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil || len(b) != len(id) {
		return id, fmt.Errorf("bad id %q", s)
	}
	copy(id[:], b)
	return id, nil
}

func encodeBatch(seq uint64, recs []Record) []byte {
	b := batch{Seq: seq, Records: make([]wire, len(recs))}
	for i, r := range recs {
		switch r := r.(type) {
		case TopicRecord:
			b.Records[i].Topic = &wireTopic{Name: r.Name, ID: idText(r.ID)}
		case PartitionRecord:
			b.Records[i].Partition = &wirePartition{TopicID: idText(r.TopicID), Partition: r.Partition,
				Replicas: r.Replicas, ISR: r.ISR, Leader: r.Leader, LeaderEpoch: r.LeaderEpoch,
				PartitionEpoch: r.PartitionEpoch}
		case ConfigRecord:
			b.Records[i].Config = &wireConfig{ResourceType: r.ResourceType, ResourceName: r.ResourceName,
				Name: r.Name, Value: r.Value}
		case RemoveTopicRecord:
			b.Records[i].RemoveTopic = &wireRemove{ID: idText(r.ID)}
		default:
			panic(fmt.Sprintf("metadata: encoding unknown record %T", r))
		}
	}
	out, err := json.Marshal(b)
	if err != nil {
		panic(fmt.Sprintf("metadata: encoding records: %v", err)) // plain structs always encode
	}
	return out
}

func decodeBatch(data []byte) (uint64, []Record, error) {
	var b batch
	if err := json.Unmarshal(data, &b); err != nil {
		return 0, nil, err
	}
	recs := make([]Record, 0, len(b.Records))
	for _, w := range b.Records {
		r, err := w.record()
		if err != nil {
			return 0, nil, err
		}
		recs = append(recs, r)
	}
	return b.Seq, recs, nil
}

func (w wire) record() (Record, error) {
	switch {
	case w.Topic != nil:
		id, err := parseID(w.Topic.ID)
		return TopicRecord{Name: w.Topic.Name, ID: id}, err
	case w.Partition != nil:
		p := w.Partition
		id, err := parseID(p.TopicID)
		return PartitionRecord{TopicID: id, Partition: p.Partition, Replicas: p.Replicas, ISR: p.ISR,
			Leader: p.Leader, LeaderEpoch: p.LeaderEpoch, PartitionEpoch: p.PartitionEpoch}, err
	case w.Config != nil:
		c := w.Config
		return ConfigRecord{ResourceType: c.ResourceType, ResourceName: c.ResourceName, Name: c.Name,
			Value: c.Value}, nil
	case w.RemoveTopic != nil:
		id, err := parseID(w.RemoveTopic.ID)
		return RemoveTopicRecord{ID: id}, err
	}
	return nil, fmt.Errorf("record with no known type")
}
