package tools

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	"github.com/weirmq/weir/logstore"
	"github.com/weirmq/weir/logstore/metalog"
)

// metaRecord is a record of the cluster metadata log decoded for
// --cluster-metadata-decoder: a metadata record prints as
// `payload: {"type":"TOPIC_RECORD","version":0,"data":{...}}`, a control
// record as `LeaderChange: {...}`, as Kafka's DumpLogSegments prints them.
type metaRecord struct {
	Label string          `json:"label"` // "payload" or the control record's type
	Value json.RawMessage `json:"value"`
}

// metadataPayload is a metadata record's JSON in Kafka's form.
type metadataPayload struct {
	Type    string         `json:"type"`
	Version int16          `json:"version"`
	Data    metalog.Record `json:"data"`
}

// decodeMetadata decodes each record of b as a metadata or control record
// and returns them with a problem for each that does not decode.
func decodeMetadata(b logstore.Batch, recs []record) ([]metaRecord, []string) {
	var out []metaRecord
	var problems []string
	for _, r := range recs {
		var (
			m   metaRecord
			v   any
			err error
		)
		if b.IsControl() {
			var c metalog.Control
			if c, err = metalog.DecodeControl(r.Key, r.Value); err == nil {
				m.Label, v = c.ControlType().String(), c
			}
		} else {
			var rec metalog.Record
			var ver int16
			if rec, ver, err = metalog.DecodeRecord(r.Value); err == nil {
				m.Label, v = "payload", metadataPayload{rec.Type().String(), ver, rec}
			}
		}
		if err == nil {
			m.Value, err = json.Marshal(v)
		}
		if err != nil {
			problems = append(problems, fmt.Sprintf("record at offset %d is not a metadata record: %v", r.Offset, err))
			m = metaRecord{Label: "undecodable", Value: json.RawMessage("null")}
		}
		out = append(out, m)
	}
	return out, problems
}

// dumpSnapshot prints a metadata snapshot (.checkpoint): batches numbered
// from 0, header and footer control batches around the image's records.
func (d *dumper) dumpSnapshot(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	d.say("Dumping %s", path)
	if id, ok := metalog.ParseSnapshotName(filepath.Base(path)); ok {
		d.say("Snapshot end offset: %d, epoch: %d", id.EndOffset, id.Epoch)
	}
	return d.dumpBatches(path, f, fi.Size(), 0)
}
