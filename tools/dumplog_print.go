package tools

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/weirmq/weir/logstore"
)

// printBatch writes a batch for people, in the key: value style of Kafka's
// DumpLogSegments, then its problems and records.
func (d *dumper) printBatch(pos int64, b logstore.Batch, recs []record, metas []metaRecord, problems []string) {
	fmt.Fprintf(d.w, "baseOffset: %d lastOffset: %d count: %d position: %d %s: %d size: %d magic: %d "+
		"compression: %s crc: %#08x crcValid: %t producerId: %d producerEpoch: %d baseSequence: %d "+
		"partitionLeaderEpoch: %d isTransactional: %t isControl: %t\n",
		b.BaseOffset(), b.LastOffset(), b.RecordCount(), pos, timestampType(b), b.MaxTimestamp(), b.Size(), b.Magic(),
		logstore.CodecName(b.Codec()), b.CRC(), b.ComputeCRC() == b.CRC(), b.ProducerID(), b.ProducerEpoch(), b.BaseSequence(),
		b.LeaderEpoch(), b.IsTransactional(), b.IsControl())
	for _, p := range problems {
		fmt.Fprintf(d.w, "! position %d: %s\n", pos, p)
	}
	for i, r := range recs {
		if i < len(metas) {
			d.printMetadataRecord(b, r, metas[i])
			continue
		}
		d.printRecord(b, r)
	}
}

// printMetadataRecord prints a record of the cluster metadata log with its
// decoded payload, in the layout of Kafka's --cluster-metadata-decoder.
func (d *dumper) printMetadataRecord(b logstore.Batch, r record, m metaRecord) {
	fmt.Fprintf(d.w, "| offset: %d %s: %d keySize: %d valueSize: %d headerKeys: [] %s: %s\n",
		r.Offset, timestampType(b), r.Timestamp, nullableLen(r.Key), nullableLen(r.Value), m.Label, m.Value)
}

func (d *dumper) printRecord(b logstore.Batch, r record) {
	if b.IsControl() {
		fmt.Fprintf(d.w, "| offset: %d %s: %d endTxnMarker: %s coordinatorEpoch: %d\n",
			r.Offset, timestampType(b), r.Timestamp, controlType(r.Key), coordinatorEpoch(r.Value))
		return
	}
	keys := make([]string, len(r.Headers))
	for i, h := range r.Headers {
		keys[i] = h.Key
	}
	fmt.Fprintf(d.w, "| offset: %d %s: %d keySize: %d valueSize: %d headerKeys: [%s]",
		r.Offset, timestampType(b), r.Timestamp, nullableLen(r.Key), nullableLen(r.Value), strings.Join(keys, ","))
	if d.data {
		fmt.Fprintf(d.w, " key: %s", printable(r.Key))
		for i, h := range r.Headers {
			sep := ","
			if i == 0 {
				sep = " headers: "
			}
			fmt.Fprintf(d.w, "%s%s:%s", sep, printable([]byte(h.Key)), printable(h.Value))
		}
		fmt.Fprintf(d.w, " payload: %s", printable(r.Value))
	}
	d.w.WriteByte('\n')
}

// nullableLen is a length as the record stores it: -1 for null.
func nullableLen(b []byte) int {
	if b == nil {
		return -1
	}
	return len(b)
}

// printable shows bytes as they are when they are printable text on one
// line, else Go-quoted (so are empty ones and those starting with a
// quote); null is null.
func printable(b []byte) string {
	s := string(b)
	switch {
	case b == nil:
		return "null"
	case s == "" || s[0] == '"' || !utf8.ValidString(s) || strings.ContainsFunc(s, notPrintable):
		return strconv.Quote(s)
	}
	return s
}

func notPrintable(r rune) bool { return !unicode.IsPrint(r) }

// batchJSON is one batch in --output json.
type batchJSON struct {
	File                 string       `json:"file"`
	Position             int64        `json:"position"`
	BaseOffset           int64        `json:"base_offset"`
	LastOffset           int64        `json:"last_offset"`
	Count                int32        `json:"count"`
	Size                 int64        `json:"size"`
	Magic                int8         `json:"magic"`
	Compression          string       `json:"compression"`
	CRC                  uint32       `json:"crc"`
	CRCValid             bool         `json:"crc_valid"`
	TimestampType        string       `json:"timestamp_type"`
	BaseTimestamp        int64        `json:"base_timestamp"`
	MaxTimestamp         int64        `json:"max_timestamp"`
	ProducerID           int64        `json:"producer_id"`
	ProducerEpoch        int16        `json:"producer_epoch"`
	BaseSequence         int32        `json:"base_sequence"`
	PartitionLeaderEpoch int32        `json:"partition_leader_epoch"`
	Transactional        bool         `json:"transactional"`
	Control              bool         `json:"control"`
	Records              []recordJSON `json:"records,omitempty"`
	Problems             []string     `json:"problems,omitempty"`
}

// recordJSON is one record of a batch in --output json. Key, value and
// headers are there with --print-data-log only; sizes are -1 for null.
type recordJSON struct {
	Offset     int64           `json:"offset"`
	Timestamp  int64           `json:"timestamp"`
	KeySize    int             `json:"key_size"`
	ValueSize  int             `json:"value_size"`
	HeaderKeys []string        `json:"header_keys"`
	Key        json.RawMessage `json:"key,omitempty"`
	Value      json.RawMessage `json:"value,omitempty"`
	Headers    *[]jsonHeader   `json:"headers,omitempty"`
	Control    *controlJSON    `json:"control,omitempty"`
	Metadata   *metaRecord     `json:"metadata,omitempty"` // --cluster-metadata-decoder
}

type controlJSON struct {
	Type             string `json:"type"`
	CoordinatorEpoch int32  `json:"coordinator_epoch"`
}

func (d *dumper) batchJSON(file string, pos int64, b logstore.Batch, recs []record, metas []metaRecord,
	problems []string) batchJSON {
	j := batchJSON{File: file, Position: pos, BaseOffset: b.BaseOffset(), LastOffset: b.LastOffset(),
		Count: b.RecordCount(), Size: b.Size(), Magic: b.Magic(), Compression: logstore.CodecName(b.Codec()),
		CRC: b.CRC(), CRCValid: b.ComputeCRC() == b.CRC(), TimestampType: timestampType(b),
		BaseTimestamp: b.BaseTimestamp(), MaxTimestamp: b.MaxTimestamp(), ProducerID: b.ProducerID(),
		ProducerEpoch: b.ProducerEpoch(), BaseSequence: b.BaseSequence(), PartitionLeaderEpoch: b.LeaderEpoch(),
		Transactional: b.IsTransactional(), Control: b.IsControl(), Problems: problems}
	if d.deep {
		j.Records = []recordJSON{}
	}
	for i, r := range recs {
		rj := recordJSON{Offset: r.Offset, Timestamp: r.Timestamp, KeySize: nullableLen(r.Key),
			ValueSize: nullableLen(r.Value), HeaderKeys: []string{}}
		for _, h := range r.Headers {
			rj.HeaderKeys = append(rj.HeaderKeys, h.Key)
		}
		if i < len(metas) {
			rj.Metadata = &metas[i]
		} else if b.IsControl() {
			rj.Control = &controlJSON{controlType(r.Key), coordinatorEpoch(r.Value)}
		}
		if d.data {
			rj.Key, _ = jsonBytes(r.Key).MarshalJSON()
			rj.Value, _ = jsonBytes(r.Value).MarshalJSON()
			hs := []jsonHeader{}
			for _, h := range r.Headers {
				hs = append(hs, jsonHeader{h.Key, jsonBytes(h.Value)})
			}
			rj.Headers = &hs
		}
		j.Records = append(j.Records, rj)
	}
	return j
}
