package netio

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math/rand"
	"testing"
)

func frame(body []byte) []byte {
	out := binary.BigEndian.AppendUint32(nil, uint32(len(body)))
	return append(out, body...)
}

// feedSplit feeds stream to a fresh framer cut at the given points and
// returns the frames it emitted.
func feedSplit(t testing.TB, stream []byte, max int, cuts []int) ([][]byte, error) {
	f := framer{max: max}
	var got [][]byte
	prev := 0
	emit := func(fr []byte) error {
		got = append(got, bytes.Clone(fr))
		return nil
	}
	for _, c := range append(cuts, len(stream)) {
		if err := f.feed(stream[prev:c], emit); err != nil {
			return got, err
		}
		prev = c
	}
	return got, nil
}

func TestFramerSplitsEverywhere(t *testing.T) {
	bodies := [][]byte{[]byte("a"), {}, bytes.Repeat([]byte("xyz"), 100), []byte("last")}
	var stream []byte
	for _, b := range bodies {
		stream = append(stream, frame(b)...)
	}
	// Every single cut point, and every pair of cut points.
	for i := 0; i <= len(stream); i++ {
		for j := i; j <= len(stream); j += 7 {
			got, err := feedSplit(t, stream, 1000, []int{i, j})
			if err != nil {
				t.Fatalf("cuts %d,%d: %v", i, j, err)
			}
			if len(got) != len(bodies) {
				t.Fatalf("cuts %d,%d: %d frames, want %d", i, j, len(got), len(bodies))
			}
			for k := range bodies {
				if !bytes.Equal(got[k], bodies[k]) {
					t.Fatalf("cuts %d,%d: frame %d = %q, want %q", i, j, k, got[k], bodies[k])
				}
			}
		}
	}
}

func TestFramerRejectsBadSizes(t *testing.T) {
	tests := []struct {
		name   string
		prefix uint32
		want   error
	}{
		{"negative", 0xffffffff, ErrBadFrameSize},
		{"too large", 1001, ErrFrameTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			stream := append(frame([]byte("ok")), binary.BigEndian.AppendUint32(nil, tt.prefix)...)
			for cut := 0; cut <= len(stream); cut++ {
				got, err := feedSplit(t, stream, 1000, []int{cut})
				if !errors.Is(err, tt.want) {
					t.Fatalf("cut %d: err %v, want %v", cut, err, tt.want)
				}
				if len(got) != 1 || string(got[0]) != "ok" {
					t.Fatalf("cut %d: frames before the bad one = %q", cut, got)
				}
			}
		})
	}
}

func TestFramerStopsOnHandlerError(t *testing.T) {
	stop := errors.New("stop")
	f := framer{max: 100}
	n := 0
	err := f.feed(append(frame([]byte("1")), frame([]byte("2"))...), func([]byte) error {
		n++
		return stop
	})
	if !errors.Is(err, stop) || n != 1 {
		t.Fatalf("err %v after %d frames, want stop after 1", err, n)
	}
}

func TestFramerDropsLargeGatherBuffer(t *testing.T) {
	f := framer{max: 4 << 20}
	big := frame(make([]byte, 2<<20))
	if err := f.feed(big[:10], func([]byte) error { return nil }); err != nil {
		t.Fatal(err)
	}
	if err := f.feed(big[10:], func([]byte) error { return nil }); err != nil {
		t.Fatal(err)
	}
	if f.body != nil {
		t.Fatalf("kept a %d-byte gather buffer", cap(f.body))
	}
}

// FuzzFramer feeds arbitrary streams cut at random points and checks the
// framer emits exactly what a one-piece feed emits, and never panics.
func FuzzFramer(f *testing.F) {
	f.Add(frame([]byte("hello")), int64(1))
	f.Add(append(frame(nil), frame([]byte("abc"))...), int64(2))
	f.Add([]byte{0xff, 0xff, 0xff, 0xff}, int64(3))
	f.Add([]byte{0, 0, 0}, int64(4))
	f.Fuzz(func(t *testing.T, stream []byte, seed int64) {
		want, wantErr := feedSplit(t, stream, 64, nil)
		rng := rand.New(rand.NewSource(seed))
		var cuts []int
		for c := 0; c < len(stream); {
			c += 1 + rng.Intn(8)
			if c < len(stream) {
				cuts = append(cuts, c)
			}
		}
		checkSame(t, "direct", want, wantErr, stream, seed)
		checkPressured(t, want, wantErr, stream, seed)
		got, err := feedSplit(t, stream, 64, cuts)
		if (err == nil) != (wantErr == nil) {
			t.Fatalf("split err %v, whole err %v", err, wantErr)
		}
		if len(got) != len(want) {
			t.Fatalf("split gave %d frames, whole gave %d", len(got), len(want))
		}
		for i := range want {
			if !bytes.Equal(got[i], want[i]) {
				t.Fatalf("frame %d differs", i)
			}
		}
	})
}

// feedDirect reads stream the way the std backend does: into the frame
// itself (direct/filled) whenever the framer offers at least minDirect
// bytes of room, else chunk by chunk through feed; chunk sizes come from
// rng, as a socket would return them.
func feedDirect(stream []byte, max, minDirect int, rng *rand.Rand) ([][]byte, error) {
	f := framer{max: max}
	var got [][]byte
	emit := func(fr []byte) error {
		got = append(got, bytes.Clone(fr))
		return nil
	}
	for len(stream) > 0 {
		n := min(1+rng.Intn(16), len(stream))
		if dst := f.direct(minDirect); dst != nil {
			n = copy(dst[:min(n, len(dst))], stream)
			if err := f.filled(n, emit); err != nil {
				return got, err
			}
		} else if err := f.feed(stream[:n], emit); err != nil {
			return got, err
		}
		stream = stream[n:]
	}
	return got, nil
}

// checkSame fails unless reading stream through feedDirect gives the
// frames (and the error) that feeding it whole gave.
func checkSame(t *testing.T, name string, want [][]byte, wantErr error, stream []byte, seed int64) {
	t.Helper()
	got, err := feedDirect(stream, 64, 2, rand.New(rand.NewSource(seed)))
	if (err == nil) != (wantErr == nil) {
		t.Fatalf("%s: err %v, whole err %v", name, err, wantErr)
	}
	if len(got) != len(want) {
		t.Fatalf("%s gave %d frames, whole gave %d", name, len(got), len(want))
	}
	for i := range want {
		if !bytes.Equal(got[i], want[i]) {
			t.Fatalf("%s: frame %d differs", name, i)
		}
	}
}

func TestFramerDirectReads(t *testing.T) {
	var stream []byte
	for i, size := range []int{0, 1, 5, 63, 64, 17, 40} {
		stream = append(stream, frame(bytes.Repeat([]byte{byte('a' + i)}, size))...)
	}
	want, err := feedSplit(t, stream, 64, nil)
	if err != nil || len(want) != 7 {
		t.Fatalf("whole: %d frames, %v", len(want), err)
	}
	for seed := int64(0); seed < 200; seed++ {
		checkSame(t, "direct", want, nil, stream, seed)
	}
	// A frame over the limit is refused the same way.
	bad := append(append([]byte{}, stream...), frame(make([]byte, 65))...)
	_, wantErr := feedSplit(t, bad, 64, nil)
	checkSame(t, "direct, too large", append(want[:0:0], want...), wantErr, bad, 1)
}

// TestFramerKeep: a handler may keep a gathered frame; its bytes stay put
// while later frames arrive, and a frame lying in the caller's chunk
// cannot be kept.
func TestFramerKeep(t *testing.T) {
	f := framer{max: 1 << 20}
	var kept [][]byte
	var wantKept [][]byte
	var releases []func()
	inPlace := 0
	emit := func(fr []byte) error {
		release, ok := f.keep()
		if !ok {
			inPlace++
			return nil
		}
		if _, again := f.keep(); again {
			t.Fatal("a frame was kept twice")
		}
		kept = append(kept, fr)
		wantKept = append(wantKept, bytes.Clone(fr))
		releases = append(releases, release)
		return nil
	}
	rng := rand.New(rand.NewSource(1))
	var stream []byte
	for i := 0; i < 40; i++ {
		body := make([]byte, 1+rng.Intn(3000))
		rng.Read(body)
		stream = append(stream, frame(body)...)
	}
	for len(stream) > 0 {
		n := min(1+rng.Intn(700), len(stream))
		if err := f.feed(stream[:n], emit); err != nil {
			t.Fatal(err)
		}
		stream = stream[n:]
		if len(releases) > 3 { // release some late, in any order
			releases[1]()
			releases = append(releases[:1], releases[2:]...)
		}
	}
	if len(kept) == 0 || inPlace == 0 {
		t.Fatalf("kept %d frames, %d in place: the test should see both", len(kept), inPlace)
	}
	// The first kept frame was never released: it must be intact.
	if !bytes.Equal(kept[0], wantKept[0]) {
		t.Fatal("a kept, unreleased frame changed")
	}
	// The frames still held (not released) must be intact.
	f2 := framer{max: 1 << 20}
	var held [][]byte
	var heldWant [][]byte
	emit2 := func(fr []byte) error {
		if _, ok := f2.keep(); ok {
			held = append(held, fr)
			heldWant = append(heldWant, bytes.Clone(fr))
		}
		return nil
	}
	for i := 0; i < 20; i++ {
		body := bytes.Repeat([]byte{byte(i)}, 500+i)
		data := frame(body)
		if err := f2.feed(data[:10], emit2); err != nil { // split in the body: gathered
			t.Fatal(err)
		}
		if err := f2.feed(data[10:], emit2); err != nil {
			t.Fatal(err)
		}
	}
	if len(held) != 20 {
		t.Fatalf("kept %d of 20 gathered frames", len(held))
	}
	for i := range held {
		if !bytes.Equal(held[i], heldWant[i]) {
			t.Fatalf("kept frame %d changed under the handler", i)
		}
	}
}

// checkPressured feeds stream in random chunks to a framer whose memory
// budget someone else holds: every gathered frame waits (errNoMemory),
// more bytes may arrive while it waits, and the budget is given back
// before it resumes. The frames must be those of a whole feed, and the
// budget must be whole again once the framer closes.
func checkPressured(t *testing.T, want [][]byte, wantErr error, stream []byte, seed int64) {
	t.Helper()
	rng := rand.New(rand.NewSource(seed))
	mem := newFrameMemory(1)
	woken := false
	f := framer{max: 64, mem: mem, wake: func() { woken = true }}
	held := mem.reserve(1, nil)
	var got [][]byte
	emit := func(fr []byte) error {
		got = append(got, bytes.Clone(fr))
		return nil
	}
	var err error
	for len(stream) > 0 && (err == nil || err == errNoMemory) {
		n := min(1+rng.Intn(16), len(stream))
		err = f.feed(stream[:n], emit)
		stream = stream[n:]
		for err == errNoMemory && (len(stream) == 0 || rng.Intn(3) > 0) {
			if held {
				woken = false
				mem.release(1)
				held = false
				if !woken {
					t.Fatal("memory given back without waking the waiting frame")
				}
			}
			err = f.resume(emit)
		}
		if !held {
			held = mem.reserve(1, nil)
		}
	}
	if (err == nil) != (wantErr == nil) {
		t.Fatalf("pressured err %v, whole err %v", err, wantErr)
	}
	if len(got) != len(want) {
		t.Fatalf("pressured gave %d frames, whole gave %d", len(got), len(want))
	}
	for i := range want {
		if !bytes.Equal(got[i], want[i]) {
			t.Fatalf("pressured frame %d differs", i)
		}
	}
	f.close()
	wantUsed := int64(0)
	if held {
		wantUsed = 1
	}
	if mem.used != wantUsed {
		t.Fatalf("budget used %d after close, want %d", mem.used, wantUsed)
	}
}

// TestFramerRecyclesKeptBuffers: the gather buffer of a small frame a
// handler kept goes back to a pool when released, and the connection's
// next frame gathers in it instead of a new allocation.
func TestFramerRecyclesKeptBuffers(t *testing.T) {
	if raceEnabled {
		t.Skip("sync.Pool drops items at random under the race detector")
	}
	f := framer{max: 1 << 20}
	var bodies [][]byte
	var release func()
	emit := func(fr []byte) error {
		bodies = append(bodies, fr)
		if release == nil {
			release, _ = f.keep()
		}
		return nil
	}
	for i := 0; i < 2; i++ {
		data := frame(bytes.Repeat([]byte{byte(i)}, 9000))
		if err := f.feed(data[:10], emit); err != nil { // split in the body: gathered
			t.Fatal(err)
		}
		if err := f.feed(data[10:], emit); err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			if release == nil {
				t.Fatal("the gathered frame could not be kept")
			}
			release()
		}
	}
	if len(bodies) != 2 || &bodies[0][0] != &bodies[1][0] {
		t.Fatal("the next frame did not gather in the released buffer")
	}
}
