package tools

import (
	"bytes"
	"errors"
	"strings"

	"github.com/weirmq/weir/logstore"
)

// maxDecompressedBytes bounds what one batch may decompress to, so a
// damaged or hostile file cannot exhaust memory. A var: the fuzz test
// lowers it.
var maxDecompressedBytes = 256 << 20

// record is one record of a magic-2 batch, decoded (logstore's decoder
// reads the format), copied out of the decoder's buffers. Key, Value and
// header values are nil when null.
type record struct {
	Offset    int64
	Timestamp int64
	Key       []byte
	Value     []byte
	Headers   []recordHeader
}

type recordHeader struct {
	Key   string
	Value []byte
}

// decodeRecords decompresses and decodes the records of b. It returns the
// records it could decode and, when the batch is damaged, why it stopped.
func decodeRecords(b logstore.Batch) ([]record, error) {
	var recs []record
	err := logstore.ForEachRecord(b, int64(maxDecompressedBytes), func(r logstore.Record) error {
		rec := record{Offset: r.Offset, Timestamp: r.Timestamp, Key: bytes.Clone(r.Key), Value: bytes.Clone(r.Value)}
		for _, h := range r.Headers {
			rec.Headers = append(rec.Headers, recordHeader{string(h.Key), bytes.Clone(h.Value)})
		}
		recs = append(recs, rec)
		return nil
	})
	if err != nil {
		// Every decoder error is corruption; the dump says what, not that.
		return recs, errors.New(strings.TrimPrefix(err.Error(), logstore.ErrCorrupt.Error()+": "))
	}
	return recs, nil
}
