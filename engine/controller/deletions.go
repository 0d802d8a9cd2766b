package controller

import (
	"github.com/twmb/franz-go/pkg/kerr"

	"github.com/weirmq/weir/engine/metadata"
)

// TopicRef names a topic to delete: by name or by id (exactly one of them
// in a well-formed request).
type TopicRef struct {
	Name *string
	ID   [16]byte
}

// Deletion is one entry of a DeleteTopics request, resolved: its topic, or
// why it is refused.
type Deletion struct {
	TopicRef
	Topic   *metadata.Topic
	Refusal *Refusal
}

// ResolveDeletions finds each entry's topic in im, with Kafka's checks for
// duplicates and malformed entries. A name or id given twice is answered
// once.
func ResolveDeletions(im *metadata.Image, refs []TopicRef) []Deletion {
	names, ids := map[string]int{}, map[[16]byte]int{}
	for _, e := range refs {
		switch {
		case e.Name != nil && e.ID == [16]byte{}:
			names[*e.Name]++
		case e.Name == nil && e.ID != [16]byte{}:
			ids[e.ID]++
		}
	}
	var out []Deletion
	seenName, seenID := map[string]bool{}, map[[16]byte]bool{}
	byName := map[[16]byte]bool{} // ids reached through a name
	for _, e := range refs {
		d := Deletion{TopicRef: e}
		switch {
		case e.Name == nil && e.ID == [16]byte{}:
			d.Refusal = Refuse(kerr.InvalidRequest, "Neither topic name nor id were specified.")
		case e.Name != nil && e.ID != [16]byte{}:
			d.Refusal = Refuse(kerr.InvalidRequest, "You may not specify both topic name and topic id.")
		case e.Name != nil:
			if names[*e.Name] > 1 {
				if seenName[*e.Name] {
					continue
				}
				seenName[*e.Name] = true
				d.Refusal = Refuse(kerr.InvalidRequest, "Duplicate topic name.")
			} else if t, ok := im.Topic(*e.Name); !ok {
				d.Refusal = RefuseDefault(kerr.UnknownTopicOrPartition)
			} else if ids[t.ID] > 0 {
				d.ID = t.ID
				d.Refusal = Refuse(kerr.InvalidRequest, "The provided topic name maps to an ID that was already supplied.")
				byName[t.ID] = true
			} else {
				d.Topic = t
			}
		default:
			if ids[e.ID] > 1 {
				if seenID[e.ID] {
					continue
				}
				seenID[e.ID] = true
				d.Refusal = Refuse(kerr.InvalidRequest, "Duplicate topic id.")
			} else if t, ok := im.TopicByID(e.ID); !ok {
				d.Refusal = RefuseDefault(kerr.UnknownTopicID)
			} else {
				d.Topic = t
			}
		}
		out = append(out, d)
	}
	// A topic asked for by name and by id is refused both ways.
	for i := range out {
		if out[i].Refusal == nil && out[i].Topic != nil && byName[out[i].Topic.ID] {
			out[i].Refusal = Refuse(kerr.InvalidRequest, "Duplicate topic id.")
			out[i].Topic = nil
		}
	}
	return out
}

// RemoveRecords are the records that delete topics, in the order given.
func RemoveRecords(topics []*metadata.Topic) []metadata.Record {
	recs := make([]metadata.Record, len(topics))
	for i, t := range topics {
		recs[i] = metadata.RemoveTopicRecord{ID: t.ID}
	}
	return recs
}
