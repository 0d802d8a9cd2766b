package logstore

import (
	"encoding/binary"
	"errors"
	"testing"
)

func TestValidateBatch(t *testing.T) {
	good := func() []byte { return makeBatch(batchSpec{records: 3, valueSize: 10, ts: 1000}) }
	recrc := func(b []byte) []byte { Batch(b).setCRC(Batch(b).ComputeCRC()); return b }
	put32 := func(b []byte, off int, v uint32) []byte { binary.BigEndian.PutUint32(b[off:], v); return b }
	put64 := func(b []byte, off int, v uint64) []byte { binary.BigEndian.PutUint64(b[off:], v); return b }
	cases := []struct {
		name   string
		b      []byte
		max    int64
		origin Origin
		want   error
	}{
		{"valid", good(), 1 << 20, OriginClient, nil},
		{"valid follower", good(), 1 << 20, OriginReplication, nil},
		{"empty", nil, 1 << 20, OriginClient, ErrCorrupt},
		{"shorter than length fields", good()[:11], 1 << 20, OriginClient, ErrCorrupt},
		{"length below header", put32(good(), offLength, 48), 1 << 20, OriginClient, ErrCorrupt},
		{"negative length", put32(good(), offLength, 0xffffff00), 1 << 20, OriginClient, ErrCorrupt},
		{"truncated batch", good()[:80], 1 << 20, OriginClient, ErrCorrupt},
		{"length past buffer", put32(good(), offLength, 5000), 1 << 20, OriginClient, ErrCorrupt},
		{"magic 1", func() []byte { b := good(); b[offMagic] = 1; return b }(), 1 << 20, OriginClient, ErrInvalidRecord},
		{"magic 0 follower", func() []byte { b := good(); b[offMagic] = 0; return b }(), 1 << 20, OriginReplication, ErrInvalidRecord},
		{"magic 3", func() []byte { b := good(); b[offMagic] = 3; return b }(), 1 << 20, OriginClient, ErrCorrupt},
		{"crc field flipped", func() []byte { b := good(); b[offCRC] ^= 1; return b }(), 1 << 20, OriginClient, ErrCorrupt},
		{"record byte flipped", func() []byte { b := good(); b[len(b)-2] ^= 0x40; return b }(), 1 << 20, OriginClient, ErrCorrupt},
		{"attributes flipped", func() []byte { b := good(); b[offAttributes+1] ^= 0x10; return b }(), 1 << 20, OriginClient, ErrCorrupt},
		{"unknown codec", recrc(func() []byte { b := good(); b[offAttributes+1] |= 5; return b }()), 1 << 20, OriginClient, ErrInvalidRecord},
		{"count above delta", recrc(put32(good(), offRecordCount, 4)), 1 << 20, OriginClient, ErrInvalidRecord},
		{"count below delta", recrc(put32(good(), offRecordCount, 2)), 1 << 20, OriginClient, ErrInvalidRecord},
		{"count mismatch ok for follower", recrc(put32(good(), offRecordCount, 2)), 1 << 20, OriginReplication, nil},
		{"zero records", recrc(put32(put32(good(), offRecordCount, 0), offLastOffsetDelta, 0xffffffff)), 1 << 20, OriginClient, ErrInvalidRecord},
		{"negative delta", recrc(put32(good(), offLastOffsetDelta, 0xfffffffe)), 1 << 20, OriginReplication, ErrInvalidRecord},
		{"count too big for bytes", recrc(put32(put32(good(), offRecordCount, 30), offLastOffsetDelta, 29)), 1 << 20, OriginClient, ErrInvalidRecord},
		{"control batch from client", recrc(func() []byte { b := good(); b[offAttributes+1] |= attrControl; return b }()), 1 << 20, OriginClient, ErrInvalidRecord},
		{"control batch from leader", recrc(func() []byte { b := good(); b[offAttributes+1] |= attrControl; return b }()), 1 << 20, OriginReplication, nil},
		{"producer id without sequence", recrc(put64(good(), offProducerID, 7)), 1 << 20, OriginClient, ErrInvalidRecord},
		{"over max.message.bytes", good(), 100, OriginClient, ErrTooLarge},
		{"max.message.bytes not for followers", good(), 100, OriginReplication, nil},
		{"base offset overflow", put64(good(), offBaseOffset, 1<<63-2), 1 << 20, OriginReplication, ErrInvalidRecord},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			n, err := ValidateBatch(c.b, c.max, c.origin)
			if c.want == nil {
				if err != nil || n != int64(len(c.b)) {
					t.Fatalf("got (%d, %v), want (%d, nil)", n, err, len(c.b))
				}
				return
			}
			if !errors.Is(err, c.want) {
				t.Fatalf("got %v, want %v", err, c.want)
			}
			for _, other := range []error{ErrCorrupt, ErrInvalidRecord, ErrTooLarge} {
				if other != c.want && errors.Is(err, other) {
					t.Fatalf("%v also matches %v", err, other)
				}
			}
		})
	}
}

// An append with one bad batch among good ones writes nothing.
func TestAppendAllOrNothing(t *testing.T) {
	l := openTestLog(t, t.TempDir(), testConfig(1<<20), Options{}, OpenState{})
	defer l.Close()
	bad := makeBatch(batchSpec{records: 2, valueSize: 5})
	bad[len(bad)-1] ^= 1
	var p []byte
	p = append(p, makeBatch(batchSpec{records: 2, valueSize: 5})...)
	p = append(p, bad...)
	p = append(p, makeBatch(batchSpec{records: 2, valueSize: 5})...)
	if _, err := l.Append(p, 0); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("append: %v, want ErrCorrupt", err)
	}
	if l.LogEndOffset() != 0 || l.Size() != 0 {
		t.Fatalf("log end %d, size %d after a rejected append", l.LogEndOffset(), l.Size())
	}
	trailing := append(makeBatch(batchSpec{records: 1, valueSize: 5}), 1, 2, 3)
	if _, err := l.Append(trailing, 0); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("append with trailing bytes: %v, want ErrCorrupt", err)
	}
	big := make([]byte, 2<<20)
	if _, err := l.Append(big, 0); !errors.Is(err, ErrTooLarge) || !errors.Is(err, ErrAppendTooLarge) {
		t.Fatalf("append over segment.bytes: %v", err)
	}
}

func TestLogAppendTimeRewrite(t *testing.T) {
	clk := newFakeClock()
	cfg := testConfig(1 << 20)
	cfg.LogAppendTime = true
	l := openTestLog(t, t.TempDir(), cfg, Options{Now: clk.Now}, OpenState{})
	defer l.Close()
	b := makeBatch(batchSpec{records: 4, valueSize: 8, ts: 5})
	res, err := l.Append(b, 7)
	if err != nil {
		t.Fatal(err)
	}
	want := clk.Now().UnixMilli()
	if res.LogAppendTime != want {
		t.Fatalf("append time %d, want %d", res.LogAppendTime, want)
	}
	s, err := l.Read(0, 1<<20, l.LogEndOffset())
	if err != nil {
		t.Fatal(err)
	}
	got := Batch(readSlice(t, s))
	if got.MaxTimestamp() != want || !got.IsLogAppendTime() || got.LeaderEpoch() != 7 {
		t.Fatalf("stored max ts %d, append-time %v, epoch %d", got.MaxTimestamp(), got.IsLogAppendTime(), got.LeaderEpoch())
	}
	if _, err := ValidateBatch(got, 1<<20, OriginClient); err != nil {
		t.Fatalf("stored batch does not validate: %v", err)
	}
}

func TestCompletePrefix(t *testing.T) {
	a := makeBatch(batchSpec{records: 1, valueSize: 3})
	b := makeBatch(batchSpec{records: 2, valueSize: 3})
	p := append(append([]byte{}, a...), b...)
	for cut := 0; cut <= len(p); cut++ {
		want := 0
		switch {
		case cut == len(p):
			want = len(p)
		case cut >= len(a):
			want = len(a)
		}
		if got := completePrefix(p[:cut]); got != want {
			t.Fatalf("cut %d: %d, want %d", cut, got, want)
		}
	}
}
