package metalog

import (
	"fmt"
)

// frameVersion opens every metadata record value. Kafka's serde writes 1
// and refuses 0 (the 2.8 preview's).
const frameVersion = 1

// AppendRecord appends r as a record value of the metadata log:
//
//	frame version  uvarint  1
//	type           uvarint  RecordType (the spec's apiKey)
//	version        uvarint  the record's version
//	body           the record in Kafka's schema of that version (flexible:
//	               compact strings and arrays, then tagged fields)
//
// The version is the lowest that holds every field set (0 for all Weir
// writes but RegisterBrokerRecord, v1 as Kafka's metadata.version 7).
func AppendRecord(b []byte, r Record) []byte {
	b = appendUvarint(b, frameVersion)
	b = appendUvarint(b, uint32(r.Type()))
	switch r := r.(type) {
	case TopicRecord:
		b = append(b, 0)
		b = appendString(b, r.Name)
		b = append(b, r.ID[:]...)
		b = append(b, 0) // no tagged fields
	case PartitionRecord:
		b = r.appendTo(b)
	case PartitionChangeRecord:
		b = r.appendTo(b)
	case ConfigRecord:
		b = append(b, 0)
		b = append(b, byte(r.ResourceType))
		b = appendString(b, r.ResourceName)
		b = appendString(b, r.Name)
		b = appendNullableString(b, r.Value)
		b = append(b, 0)
	case RemoveTopicRecord:
		b = append(b, 0)
		b = append(b, r.ID[:]...)
		b = append(b, 0)
	case FeatureLevelRecord:
		b = append(b, 0)
		b = appendString(b, r.Name)
		b = appendInt16(b, r.FeatureLevel)
		b = append(b, 0)
	case ProducerIdsRecord:
		b = append(b, 0)
		b = appendInt32(b, r.BrokerID)
		b = appendInt64(b, r.BrokerEpoch)
		b = appendInt64(b, r.NextProducerID)
		b = append(b, 0)
	case NoOpRecord:
		b = append(b, 0, 0)
	case RegisterBrokerRecord:
		b = r.appendTo(b)
	case UnregisterBrokerRecord:
		b = append(b, 0)
		b = appendInt32(b, r.BrokerID)
		b = appendInt64(b, r.BrokerEpoch)
		b = append(b, 0)
	case FenceBrokerRecord:
		b = append(b, 0)
		b = appendInt32(b, r.ID)
		b = appendInt64(b, r.Epoch)
		b = append(b, 0)
	case UnfenceBrokerRecord:
		b = append(b, 0)
		b = appendInt32(b, r.ID)
		b = appendInt64(b, r.Epoch)
		b = append(b, 0)
	case BrokerRegistrationChangeRecord:
		b = r.appendTo(b)
	default:
		panic(fmt.Sprintf("metalog: encoding unknown record %T", r))
	}
	return b
}

// DecodeRecord reads a record value written by AppendRecord (or by Kafka)
// and returns the record with its version. Unknown tagged fields are
// skipped; an unknown type or version is an error.
func DecodeRecord(value []byte) (Record, int16, error) {
	r := reader{b: value}
	if fv := r.uvarint(); r.err == nil && fv != frameVersion {
		return nil, 0, fmt.Errorf("metadata record frame version %d, only %d is known", fv, frameVersion)
	}
	typ, ver := RecordType(r.uvarint()), r.uvarint()
	if r.err != nil {
		return nil, 0, fmt.Errorf("metadata record header: %w", r.err)
	}
	if ver > maxVersion(typ) {
		return nil, 0, fmt.Errorf("%s version %d: only up to %d is known", typ, ver, maxVersion(typ))
	}
	rec := decodeBody(&r, typ, int16(ver))
	if err := r.done(); err != nil {
		return nil, 0, fmt.Errorf("%s v%d: %w", typ, ver, err)
	}
	return rec, int16(ver), nil
}

// maxVersion is the highest version of typ this package reads; 0 for
// types it does not know, which decodeBody refuses.
func maxVersion(typ RecordType) uint32 {
	switch typ {
	case TypePartition, TypePartitionChange, TypeBrokerRegistrationChange:
		return 2
	case TypeRegisterBroker:
		return 3
	}
	return 0
}

func decodeBody(r *reader, typ RecordType, ver int16) Record {
	switch typ {
	case TypeTopic:
		rec := TopicRecord{Name: r.string(), ID: r.uuid()}
		r.tags(nil)
		return rec
	case TypePartition:
		return readPartitionRecord(r, ver)
	case TypePartitionChange:
		return readPartitionChangeRecord(r, ver)
	case TypeConfig:
		rec := ConfigRecord{ResourceType: r.int8(), ResourceName: r.string(), Name: r.string(),
			Value: r.nullableString()}
		r.tags(nil)
		return rec
	case TypeRemoveTopic:
		rec := RemoveTopicRecord{ID: r.uuid()}
		r.tags(nil)
		return rec
	case TypeFeatureLevel:
		rec := FeatureLevelRecord{Name: r.string(), FeatureLevel: r.int16()}
		r.tags(nil)
		return rec
	case TypeProducerIDs:
		rec := ProducerIdsRecord{BrokerID: r.int32(), BrokerEpoch: r.int64(), NextProducerID: r.int64()}
		r.tags(nil)
		return rec
	case TypeNoOp:
		r.tags(nil)
		return NoOpRecord{}
	case TypeRegisterBroker:
		return readRegisterBrokerRecord(r, ver)
	case TypeUnregisterBroker:
		rec := UnregisterBrokerRecord{BrokerID: r.int32(), BrokerEpoch: r.int64()}
		r.tags(nil)
		return rec
	case TypeFenceBroker:
		rec := FenceBrokerRecord{ID: r.int32(), Epoch: r.int64()}
		r.tags(nil)
		return rec
	case TypeUnfenceBroker:
		rec := UnfenceBrokerRecord{ID: r.int32(), Epoch: r.int64()}
		r.tags(nil)
		return rec
	case TypeBrokerRegistrationChange:
		return readBrokerRegistrationChangeRecord(r, ver)
	}
	r.fail(fmt.Errorf("unknown metadata record type %d", uint16(typ)))
	return nil
}

// PartitionRecord: v0 fields, Directories in v1+, and the eligible leader
// replicas as tagged fields 1 and 2 in v2+ (LeaderRecoveryState is tag 0,
// written when not 0).
func (p PartitionRecord) version() int16 {
	switch {
	case p.EligibleLeaderReplicas != nil || p.LastKnownELR != nil:
		return 2
	case p.Directories != nil:
		return 1
	}
	return 0
}

func (p PartitionRecord) appendTo(b []byte) []byte {
	v := p.version()
	b = appendUvarint(b, uint32(v))
	b = appendInt32(b, p.Partition)
	b = append(b, p.TopicID[:]...)
	b = appendInt32s(b, p.Replicas, false)
	b = appendInt32s(b, p.ISR, false)
	b = appendInt32s(b, p.RemovingReplicas, false)
	b = appendInt32s(b, p.AddingReplicas, false)
	b = appendInt32(b, p.Leader)
	b = appendInt32(b, p.LeaderEpoch)
	b = appendInt32(b, p.PartitionEpoch)
	if v >= 1 {
		b = appendUUIDs(b, p.Directories, false)
	}
	var t tagWriter
	if p.LeaderRecoveryState != 0 {
		t.add(0, []byte{byte(p.LeaderRecoveryState)})
	}
	if v >= 2 && p.EligibleLeaderReplicas != nil {
		t.add(1, appendInt32s(nil, p.EligibleLeaderReplicas, true))
	}
	if v >= 2 && p.LastKnownELR != nil {
		t.add(2, appendInt32s(nil, p.LastKnownELR, true))
	}
	return t.appendTo(b)
}

func readPartitionRecord(r *reader, ver int16) PartitionRecord {
	p := PartitionRecord{Partition: r.int32(), TopicID: r.uuid(), Replicas: r.int32s(false),
		ISR: r.int32s(false), RemovingReplicas: r.int32s(false), AddingReplicas: r.int32s(false),
		Leader: r.int32(), LeaderEpoch: r.int32(), PartitionEpoch: r.int32()}
	if ver >= 1 {
		p.Directories = r.uuids(false)
	}
	r.tags(func(tag uint32, f *reader) bool {
		switch {
		case tag == 0:
			p.LeaderRecoveryState = f.int8()
		case tag == 1 && ver >= 2:
			p.EligibleLeaderReplicas = f.int32s(true)
		case tag == 2 && ver >= 2:
			p.LastKnownELR = f.int32s(true)
		default:
			return false
		}
		return true
	})
	return p
}

// PartitionChangeRecord: PartitionId and TopicId, every other field tagged
// and written only when it changes: ISR 0, Leader 1, Replicas 2,
// RemovingReplicas 3, AddingReplicas 4, LeaderRecoveryState 5, ELR 6 and
// LastKnownElr 7 (v2+), Directories 8 (v1+).
func (c PartitionChangeRecord) version() int16 {
	switch {
	case c.EligibleLeaderReplicas != nil || c.LastKnownELR != nil:
		return 2
	case c.Directories != nil:
		return 1
	}
	return 0
}

func (c PartitionChangeRecord) appendTo(b []byte) []byte {
	v := c.version()
	b = appendUvarint(b, uint32(v))
	b = appendInt32(b, c.Partition)
	b = append(b, c.TopicID[:]...)
	var t tagWriter
	addInt32s := func(tag uint32, s []int32) {
		if s != nil {
			t.add(tag, appendInt32s(nil, s, true))
		}
	}
	addInt32s(0, c.ISR)
	if c.Leader != LeaderUnchanged {
		t.add(1, appendInt32(nil, c.Leader))
	}
	addInt32s(2, c.Replicas)
	addInt32s(3, c.RemovingReplicas)
	addInt32s(4, c.AddingReplicas)
	if c.LeaderRecoveryState != RecoveryStateUnchanged {
		t.add(5, []byte{byte(c.LeaderRecoveryState)})
	}
	if v >= 2 {
		addInt32s(6, c.EligibleLeaderReplicas)
		addInt32s(7, c.LastKnownELR)
	}
	if v >= 1 && c.Directories != nil {
		t.add(8, appendUUIDs(nil, c.Directories, true))
	}
	return t.appendTo(b)
}

func readPartitionChangeRecord(r *reader, ver int16) PartitionChangeRecord {
	c := PartitionChangeRecord{Partition: r.int32(), TopicID: r.uuid(), Leader: LeaderUnchanged,
		LeaderRecoveryState: RecoveryStateUnchanged}
	r.tags(func(tag uint32, f *reader) bool {
		switch {
		case tag == 0:
			c.ISR = f.int32s(true)
		case tag == 1:
			c.Leader = f.int32()
		case tag == 2:
			c.Replicas = f.int32s(true)
		case tag == 3:
			c.RemovingReplicas = f.int32s(true)
		case tag == 4:
			c.AddingReplicas = f.int32s(true)
		case tag == 5:
			c.LeaderRecoveryState = f.int8()
		case tag == 6 && ver >= 2:
			c.EligibleLeaderReplicas = f.int32s(true)
		case tag == 7 && ver >= 2:
			c.LastKnownELR = f.int32s(true)
		case tag == 8 && ver >= 1:
			c.Directories = f.uuids(true)
		default:
			return false
		}
		return true
	})
	return c
}
