package metalog

import (
	"bytes"
	"encoding/hex"
	"reflect"
	"strings"
	"testing"
)

var idX = UUID{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15}

func sp(s string) *string { return &s }

// everyRecord holds each record type at each version this package reads,
// with the version AppendRecord must pick.
var everyRecord = []struct {
	rec     Record
	version int16
}{
	{TopicRecord{Name: "orders", ID: idX}, 0},
	{PartitionRecord{Partition: 2, TopicID: idX, Replicas: []int32{1, 2}, ISR: []int32{1}, Leader: 1,
		LeaderEpoch: 3, PartitionEpoch: 4}, 0},
	{PartitionRecord{Partition: 0, TopicID: idX, Replicas: []int32{1}, ISR: []int32{1},
		RemovingReplicas: []int32{3}, AddingReplicas: []int32{4}, Leader: -1, LeaderRecoveryState: 1}, 0},
	{PartitionRecord{Partition: 0, TopicID: idX, Replicas: []int32{1}, ISR: []int32{1}, Leader: 1,
		Directories: []UUID{idX}}, 1},
	{PartitionRecord{Partition: 0, TopicID: idX, Replicas: []int32{1}, ISR: []int32{1}, Leader: 1,
		Directories: []UUID{idX}, EligibleLeaderReplicas: []int32{2}, LastKnownELR: []int32{}}, 2},
	{PartitionChangeRecord{Partition: 1, TopicID: idX, Leader: LeaderUnchanged,
		LeaderRecoveryState: RecoveryStateUnchanged}, 0},
	{PartitionChangeRecord{Partition: 1, TopicID: idX, ISR: []int32{1, 2}, Leader: 2, Replicas: []int32{2, 1},
		RemovingReplicas: []int32{}, AddingReplicas: []int32{2}, LeaderRecoveryState: 0}, 0},
	{PartitionChangeRecord{Partition: 1, TopicID: idX, Leader: NoLeader,
		LeaderRecoveryState: RecoveryStateUnchanged, Directories: []UUID{idX, {}}}, 1},
	{PartitionChangeRecord{Partition: 1, TopicID: idX, Leader: LeaderUnchanged,
		LeaderRecoveryState: RecoveryStateUnchanged, EligibleLeaderReplicas: []int32{3}, LastKnownELR: []int32{4}}, 2},
	{ConfigRecord{ResourceType: ResourceTopic, ResourceName: "orders", Name: "retention.ms", Value: sp("100")}, 0},
	{ConfigRecord{ResourceType: ResourceBroker, ResourceName: "", Name: "log.retention.ms"}, 0},
	{RemoveTopicRecord{ID: idX}, 0},
	{FeatureLevelRecord{Name: MetadataVersionFeature, FeatureLevel: MetadataVersion}, 0},
	{ProducerIdsRecord{BrokerID: 1, BrokerEpoch: -1, NextProducerID: 5000}, 0},
	{NoOpRecord{}, 0},
	{RegisterBrokerRecord{BrokerID: 1, IncarnationID: idX, BrokerEpoch: 42,
		EndPoints: []BrokerEndpoint{{Name: "PLAINTEXT", Host: "h1", Port: 9092}, {Name: "EXT", Host: "e", Port: 1, SecurityProtocol: 1}},
		Features:  []BrokerFeature{{Name: MetadataVersionFeature, MinSupportedVersion: 7, MaxSupportedVersion: 21}},
		Rack:      sp("r1"), Fenced: true}, 1},
	{RegisterBrokerRecord{BrokerID: 2, IncarnationID: idX, BrokerEpoch: 7, InControlledShutdown: true}, 1},
	{RegisterBrokerRecord{BrokerID: 2, IsMigratingZkBroker: true, IncarnationID: idX, BrokerEpoch: 7}, 2},
	{RegisterBrokerRecord{BrokerID: 2, IncarnationID: idX, BrokerEpoch: 7, Fenced: true, LogDirs: []UUID{idX}}, 3},
	{UnregisterBrokerRecord{BrokerID: 3, BrokerEpoch: 99}, 0},
	{FenceBrokerRecord{ID: 3, Epoch: 99}, 0},
	{UnfenceBrokerRecord{ID: 3, Epoch: 99}, 0},
	{BrokerRegistrationChangeRecord{BrokerID: 3, BrokerEpoch: 99, Fenced: FenceChange}, 0},
	{BrokerRegistrationChangeRecord{BrokerID: 3, BrokerEpoch: 99, Fenced: UnfenceChange}, 0},
	{BrokerRegistrationChangeRecord{BrokerID: 3, BrokerEpoch: 99}, 0},
	{BrokerRegistrationChangeRecord{BrokerID: 3, BrokerEpoch: 99, InControlledShutdown: ControlledShutdownIn}, 1},
	{BrokerRegistrationChangeRecord{BrokerID: 3, BrokerEpoch: 99, LogDirs: []UUID{idX}}, 2},
}

func TestRecordRoundTrip(t *testing.T) {
	for _, c := range everyRecord {
		b := AppendRecord([]byte("prefix"), c.rec)
		if !bytes.HasPrefix(b, []byte("prefix")) {
			t.Fatalf("%T: prefix lost", c.rec)
		}
		b = b[len("prefix"):]
		got, ver, err := DecodeRecord(b)
		if err != nil || ver != c.version || !reflect.DeepEqual(got, c.rec) {
			t.Errorf("%T: decoded %+v v%d, %v\nwant %+v v%d\nbytes %x", c.rec, got, ver, err, c.rec, c.version, b)
		}
		if b[0] != frameVersion || RecordType(b[1]) != c.rec.Type() || int16(b[2]) != c.version {
			t.Errorf("%T: header %x", c.rec, b[:3])
		}
		// Every proper prefix is an error, never a panic or a record.
		for i := 0; i < len(b); i++ {
			if r, _, err := DecodeRecord(b[:i]); err == nil {
				t.Errorf("%T: %d of %d bytes decoded as %+v", c.rec, i, len(b), r)
			}
		}
		if _, _, err := DecodeRecord(append(b, 0)); err == nil {
			t.Errorf("%T: a trailing byte was accepted", c.rec)
		}
	}
}

// The bytes below are worked out by hand from Kafka's JSON specs
// (TopicRecord.json, PartitionRecord.json, flexibleVersions 0+).
func TestRecordBytes(t *testing.T) {
	uuid := "000102030405060708090a0b0c0d0e0f"
	cases := []struct {
		rec  Record
		want string
	}{
		// frame 1, type 2, version 0 | Name: compact string (len+1 = 7)
		// | TopicId | no tagged fields
		{TopicRecord{Name: "orders", ID: idX}, "010200" + "07" + hex.EncodeToString([]byte("orders")) + uuid + "00"},
		// frame 1, type 3, version 0 | PartitionId i32 | TopicId |
		// Replicas [1,2] | Isr [1] | RemovingReplicas [] | AddingReplicas []
		// | Leader i32 | LeaderEpoch i32 | PartitionEpoch i32 | tags: none
		{PartitionRecord{Partition: 1, TopicID: idX, Replicas: []int32{1, 2}, ISR: []int32{1}, Leader: 1,
			LeaderEpoch: 3, PartitionEpoch: 4},
			"010300" + "00000001" + uuid + "03" + "00000001" + "00000002" + "02" + "00000001" + "01" + "01" +
				"00000001" + "00000003" + "00000004" + "00"},
		// LeaderRecoveryState 1 is tagged field 0: count 1, tag 0, size 1, 01.
		{PartitionRecord{Partition: 0, TopicID: idX, Replicas: []int32{7}, ISR: []int32{}, Leader: -1,
			LeaderRecoveryState: 1, LeaderEpoch: -1, PartitionEpoch: -1},
			"010300" + "00000000" + uuid + "02" + "00000007" + "01" + "01" + "01" +
				"ffffffff" + "ffffffff" + "ffffffff" + "01" + "00" + "01" + "01"},
		// ConfigRecord: ResourceType i8 | ResourceName | Name | Value
		// (nullable: 00 is null) | tags
		{ConfigRecord{ResourceType: 4, ResourceName: "", Name: "k"}, "010400" + "04" + "01" + "026b" + "00" + "00"},
		// PartitionChangeRecord: only the leader changes: tag 1, size 4.
		{PartitionChangeRecord{Partition: 5, TopicID: idX, Leader: 2, LeaderRecoveryState: RecoveryStateUnchanged},
			"010500" + "00000005" + uuid + "01" + "01" + "04" + "00000002"},
		{FeatureLevelRecord{Name: "metadata.version", FeatureLevel: 7},
			"010c00" + "11" + hex.EncodeToString([]byte("metadata.version")) + "0007" + "00"},
		{NoOpRecord{}, "011400" + "00"},
		// RegisterBrokerRecord v1 (RegisterBrokerRecord.json): BrokerId |
		// IncarnationId | BrokerEpoch i64 | EndPoints [Name, Host, Port
		// u16, SecurityProtocol i16, tags] | Features [Name, Min, Max,
		// tags] | Rack (null) | Fenced | InControlledShutdown | tags
		{RegisterBrokerRecord{BrokerID: 1, IncarnationID: idX, BrokerEpoch: 5,
			EndPoints: []BrokerEndpoint{{Name: "PLAINTEXT", Host: "h", Port: 9092}},
			Features:  []BrokerFeature{{Name: "metadata.version", MinSupportedVersion: 7, MaxSupportedVersion: 7}},
			Fenced:    true},
			"010001" + "00000001" + uuid + "0000000000000005" +
				"02" + "0a" + hex.EncodeToString([]byte("PLAINTEXT")) + "0268" + "2384" + "0000" + "00" +
				"02" + "11" + hex.EncodeToString([]byte("metadata.version")) + "0007" + "0007" + "00" +
				"00" + "01" + "00" + "00"},
		// UnregisterBrokerRecord, FenceBrokerRecord: an id i32, an epoch i64.
		{UnregisterBrokerRecord{BrokerID: 2, BrokerEpoch: 9}, "010100" + "00000002" + "0000000000000009" + "00"},
		{FenceBrokerRecord{ID: 2, Epoch: 9}, "010700" + "00000002" + "0000000000000009" + "00"},
		{UnfenceBrokerRecord{ID: 2, Epoch: 9}, "010800" + "00000002" + "0000000000000009" + "00"},
		// BrokerRegistrationChangeRecord (type 17): Fenced is tag 0 (v0),
		// InControlledShutdown tag 1 (v1).
		{BrokerRegistrationChangeRecord{BrokerID: 2, BrokerEpoch: 9, Fenced: FenceChange},
			"011100" + "00000002" + "0000000000000009" + "01" + "00" + "01" + "01"},
		{BrokerRegistrationChangeRecord{BrokerID: 2, BrokerEpoch: 9, Fenced: UnfenceChange},
			"011100" + "00000002" + "0000000000000009" + "01" + "00" + "01" + "ff"},
		{BrokerRegistrationChangeRecord{BrokerID: 2, BrokerEpoch: 9, InControlledShutdown: ControlledShutdownIn},
			"011101" + "00000002" + "0000000000000009" + "01" + "01" + "01" + "01"},
	}
	for _, c := range cases {
		if got := hex.EncodeToString(AppendRecord(nil, c.rec)); got != c.want {
			t.Errorf("%T %+v:\n got %s\nwant %s", c.rec, c.rec, got, c.want)
		}
	}
}

func TestDecodeRecordRefuses(t *testing.T) {
	topic := AppendRecord(nil, TopicRecord{Name: "a", ID: idX})
	cases := map[string][]byte{
		"frame version 0":   append([]byte{0}, topic[1:]...),
		"unknown type":      {1, 99, 0, 0},
		"unknown version":   {1, 2, 1, 2, 'a'},
		"null name":         append([]byte{1, 2, 0, 0}, topic[5:]...),
		"tags out of order": {1, 20, 0, 2, 5, 0, 3, 0},
		"varint overflow":   {1, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01},
		"empty":             {},
		"null endpoints": append(append([]byte{1, 0, 1, 0, 0, 0, 1}, idX[:]...),
			0, 0, 0, 0, 0, 0, 0, 1, 0, 1, 0, 1, 0, 0),
	}
	for name, b := range cases {
		if r, _, err := DecodeRecord(b); err == nil {
			t.Errorf("%s: decoded %+v", name, r)
		}
	}
	// Unknown tagged fields are skipped, as Kafka skips them.
	withTag := append(append([]byte{}, topic[:len(topic)-1]...), 1, 9, 2, 0xaa, 0xbb)
	if r, _, err := DecodeRecord(withTag); err != nil || r != (TopicRecord{Name: "a", ID: idX}) {
		t.Errorf("unknown tag: %+v %v", r, err)
	}
	// A tag of a later version is unknown in an earlier one: skipped.
	v0 := AppendRecord(nil, BrokerRegistrationChangeRecord{BrokerID: 1, BrokerEpoch: 2, Fenced: FenceChange})
	v0 = append(v0[:len(v0)-4], 2, 0, 1, 1, 1, 1, 1)
	want := BrokerRegistrationChangeRecord{BrokerID: 1, BrokerEpoch: 2, Fenced: FenceChange}
	if r, _, err := DecodeRecord(v0); err != nil || !reflect.DeepEqual(r, want) {
		t.Errorf("v1 tag in v0: %+v %v", r, err)
	}
}

func TestRecordTypeNames(t *testing.T) {
	for _, c := range everyRecord {
		if name := c.rec.Type().String(); !strings.HasSuffix(name, "_RECORD") {
			t.Errorf("%T is named %q", c.rec, name)
		}
	}
	if TypePartitionChange.String() != "PARTITION_CHANGE_RECORD" || RecordType(99).String() != "UNKNOWN_99" {
		t.Errorf("names: %s %s", TypePartitionChange, RecordType(99))
	}
}

func TestUUIDText(t *testing.T) {
	s := idX.String()
	if len(s) != 22 {
		t.Fatalf("%q", s)
	}
	if id, err := ParseUUID(s); err != nil || id != idX {
		t.Errorf("parse %q: %v %v", s, id, err)
	}
	if _, err := ParseUUID("short"); err == nil {
		t.Errorf("parsed a bad id")
	}
}
