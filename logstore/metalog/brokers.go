package metalog

import "encoding/json"

// The broker records of KRaft (KIP-631): a broker's registration and its
// fencing. Kafka writes RegisterBrokerRecord v1 and
// BrokerRegistrationChangeRecord from metadata.version 3.3-IV2 on, which
// every log Weir writes is; FenceBrokerRecord and UnfenceBrokerRecord are
// what older logs hold, and are read and applied the same way.

// RegisterBrokerRecord registers a broker, or a new incarnation of it: its
// epoch (the offset the controller gave it), endpoints, features, rack and
// state. Versions: v1 adds InControlledShutdown, v2 IsMigratingZkBroker,
// v3 LogDirs (tagged field 0); AppendRecord writes v1 unless a later
// field is set, as Kafka does at metadata.version 3.3-IV3.
type RegisterBrokerRecord struct {
	BrokerID             int32            `json:"brokerId"`
	IsMigratingZkBroker  bool             `json:"isMigratingZkBroker,omitempty"`
	IncarnationID        UUID             `json:"incarnationId"`
	BrokerEpoch          int64            `json:"brokerEpoch"`
	EndPoints            []BrokerEndpoint `json:"endPoints"`
	Features             []BrokerFeature  `json:"features"`
	Rack                 *string          `json:"rack"`
	Fenced               bool             `json:"fenced"`
	InControlledShutdown bool             `json:"inControlledShutdown"`
	LogDirs              []UUID           `json:"logDirs,omitempty"`
}

// BrokerEndpoint is a broker's listener: its name, advertised host and
// port, and security protocol id (0 PLAINTEXT, 1 SSL, 2 SASL_PLAINTEXT,
// 3 SASL_SSL).
type BrokerEndpoint struct {
	Name             string `json:"name"`
	Host             string `json:"host"`
	Port             uint16 `json:"port"`
	SecurityProtocol int16  `json:"securityProtocol"`
}

// BrokerFeature is a feature's level range a broker supports.
type BrokerFeature struct {
	Name                string `json:"name"`
	MinSupportedVersion int16  `json:"minSupportedVersion"`
	MaxSupportedVersion int16  `json:"maxSupportedVersion"`
}

// MarshalJSON writes the arrays as [] when empty, as Kafka's JSON does.
func (r RegisterBrokerRecord) MarshalJSON() ([]byte, error) {
	type plain RegisterBrokerRecord
	q := plain(r)
	if q.EndPoints == nil {
		q.EndPoints = []BrokerEndpoint{}
	}
	if q.Features == nil {
		q.Features = []BrokerFeature{}
	}
	return json.Marshal(q)
}

// UnregisterBrokerRecord removes a broker's registration of that epoch.
type UnregisterBrokerRecord struct {
	BrokerID    int32 `json:"brokerId"`
	BrokerEpoch int64 `json:"brokerEpoch"`
}

// FenceBrokerRecord fences the broker of that epoch (metadata.version
// before 3.3-IV2).
type FenceBrokerRecord struct {
	ID    int32 `json:"id"`
	Epoch int64 `json:"epoch"`
}

// UnfenceBrokerRecord unfences the broker of that epoch (metadata.version
// before 3.3-IV2).
type UnfenceBrokerRecord struct {
	ID    int32 `json:"id"`
	Epoch int64 `json:"epoch"`
}

// BrokerRegistrationChangeRecord changes the registration of the broker of
// that epoch: Fenced is FenceChange, UnfenceChange or 0 (no change),
// InControlledShutdown 1 (entering it) or 0 (v1+), LogDirs the online
// directories (v2+); all three are tagged fields, written when not 0/nil.
type BrokerRegistrationChangeRecord struct {
	BrokerID             int32  `json:"brokerId"`
	BrokerEpoch          int64  `json:"brokerEpoch"`
	Fenced               int8   `json:"fenced"`
	InControlledShutdown int8   `json:"inControlledShutdown,omitempty"` // v1+
	LogDirs              []UUID `json:"logDirs,omitempty"`
}

// The values of BrokerRegistrationChangeRecord.Fenced and
// InControlledShutdown (Kafka's BrokerRegistrationFencingChange and
// BrokerRegistrationInControlledShutdownChange).
const (
	FenceChange          int8 = 1
	UnfenceChange        int8 = -1
	ControlledShutdownIn int8 = 1
)

func (RegisterBrokerRecord) Type() RecordType           { return TypeRegisterBroker }
func (UnregisterBrokerRecord) Type() RecordType         { return TypeUnregisterBroker }
func (FenceBrokerRecord) Type() RecordType              { return TypeFenceBroker }
func (UnfenceBrokerRecord) Type() RecordType            { return TypeUnfenceBroker }
func (BrokerRegistrationChangeRecord) Type() RecordType { return TypeBrokerRegistrationChange }

func (r RegisterBrokerRecord) version() int16 {
	switch {
	case r.LogDirs != nil:
		return 3
	case r.IsMigratingZkBroker:
		return 2
	}
	return 1
}

// appendTo writes the record from its version on, in RegisterBrokerRecord's
// field order; every struct ends with its (empty) tagged fields.
func (r RegisterBrokerRecord) appendTo(b []byte) []byte {
	v := r.version()
	b = appendUvarint(b, uint32(v))
	b = appendInt32(b, r.BrokerID)
	if v >= 2 {
		b = appendBool(b, r.IsMigratingZkBroker)
	}
	b = append(b, r.IncarnationID[:]...)
	b = appendInt64(b, r.BrokerEpoch)
	b = appendUvarint(b, uint32(len(r.EndPoints)+1))
	for _, e := range r.EndPoints {
		b = appendString(b, e.Name)
		b = appendString(b, e.Host)
		b = appendUint16(b, e.Port)
		b = appendInt16(b, e.SecurityProtocol)
		b = append(b, 0)
	}
	b = appendUvarint(b, uint32(len(r.Features)+1))
	for _, f := range r.Features {
		b = appendString(b, f.Name)
		b = appendInt16(b, f.MinSupportedVersion)
		b = appendInt16(b, f.MaxSupportedVersion)
		b = append(b, 0)
	}
	b = appendNullableString(b, r.Rack)
	b = appendBool(b, r.Fenced)
	if v >= 1 {
		b = appendBool(b, r.InControlledShutdown)
	}
	var t tagWriter
	if v >= 3 {
		t.add(0, appendUUIDs(nil, r.LogDirs, false))
	}
	return t.appendTo(b)
}

func readRegisterBrokerRecord(r *reader, ver int16) RegisterBrokerRecord {
	rec := RegisterBrokerRecord{BrokerID: r.int32()}
	if ver >= 2 {
		rec.IsMigratingZkBroker = r.bool()
	}
	rec.IncarnationID, rec.BrokerEpoch = r.uuid(), r.int64()
	n := r.compactLen()
	if n < 0 {
		r.fail(errNullArray)
	}
	for i := 0; i < n && r.err == nil; i++ {
		e := BrokerEndpoint{Name: r.string(), Host: r.string(), Port: r.uint16(), SecurityProtocol: r.int16()}
		r.tags(nil)
		rec.EndPoints = append(rec.EndPoints, e)
	}
	n = r.compactLen()
	if n < 0 {
		r.fail(errNullArray)
	}
	for i := 0; i < n && r.err == nil; i++ {
		f := BrokerFeature{Name: r.string(), MinSupportedVersion: r.int16(), MaxSupportedVersion: r.int16()}
		r.tags(nil)
		rec.Features = append(rec.Features, f)
	}
	rec.Rack, rec.Fenced = r.nullableString(), r.bool()
	if ver >= 1 {
		rec.InControlledShutdown = r.bool()
	}
	r.tags(func(tag uint32, f *reader) bool {
		if tag == 0 && ver >= 3 {
			rec.LogDirs = f.uuids(false)
			if rec.LogDirs == nil {
				rec.LogDirs = []UUID{}
			}
			return true
		}
		return false
	})
	return rec
}

func (c BrokerRegistrationChangeRecord) version() int16 {
	switch {
	case c.LogDirs != nil:
		return 2
	case c.InControlledShutdown != 0:
		return 1
	}
	return 0
}

func (c BrokerRegistrationChangeRecord) appendTo(b []byte) []byte {
	v := c.version()
	b = appendUvarint(b, uint32(v))
	b = appendInt32(b, c.BrokerID)
	b = appendInt64(b, c.BrokerEpoch)
	var t tagWriter
	if c.Fenced != 0 {
		t.add(0, []byte{byte(c.Fenced)})
	}
	if c.InControlledShutdown != 0 {
		t.add(1, []byte{byte(c.InControlledShutdown)})
	}
	if c.LogDirs != nil {
		t.add(2, appendUUIDs(nil, c.LogDirs, false))
	}
	return t.appendTo(b)
}

func readBrokerRegistrationChangeRecord(r *reader, ver int16) BrokerRegistrationChangeRecord {
	c := BrokerRegistrationChangeRecord{BrokerID: r.int32(), BrokerEpoch: r.int64()}
	r.tags(func(tag uint32, f *reader) bool {
		switch {
		case tag == 0:
			c.Fenced = f.int8()
		case tag == 1 && ver >= 1:
			c.InControlledShutdown = f.int8()
		case tag == 2 && ver >= 2:
			c.LogDirs = f.uuids(false)
			if c.LogDirs == nil {
				c.LogDirs = []UUID{}
			}
		default:
			return false
		}
		return true
	})
	return c
}
