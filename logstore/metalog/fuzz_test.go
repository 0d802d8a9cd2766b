package metalog

import (
	"reflect"
	"testing"
)

// FuzzMetadataRecord feeds the record and control decoders arbitrary bytes:
// they must not panic, and what decodes must encode back to bytes that
// decode to the same value.
func FuzzMetadataRecord(f *testing.F) {
	for _, c := range everyRecord {
		f.Add(AppendRecord(nil, c.rec))
	}
	f.Add(appendControlValue(nil, LeaderChange{LeaderID: 1, Voters: []Voter{{1}}, GrantingVoters: []Voter{{1}}}))
	f.Add(EncodeBatch(0, 1, 2, []Record{TopicRecord{Name: "a", ID: idX}, NoOpRecord{}}))
	f.Fuzz(func(t *testing.T, data []byte) {
		if r, _, err := DecodeRecord(data); err == nil {
			again, _, err := DecodeRecord(AppendRecord(nil, r))
			if err != nil || !reflect.DeepEqual(again, r) {
				t.Fatalf("%+v re-encoded decodes as %+v, %v", r, again, err)
			}
		}
		for _, typ := range []ControlType{ControlLeaderChange, ControlSnapshotHeader, ControlSnapshotFooter} {
			if c, err := DecodeControl(appendControlKey(nil, typ), data); err == nil {
				again, err := DecodeControl(appendControlKey(nil, typ), appendControlValue(nil, c))
				if err != nil || !reflect.DeepEqual(again, c) {
					t.Fatalf("%+v re-encoded decodes as %+v, %v", c, again, err)
				}
			}
		}
		DecodeBatch(data)
		DecodeSnapshot(data)
	})
}
