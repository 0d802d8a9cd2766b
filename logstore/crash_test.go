package logstore

import (
	"bufio"
	"bytes"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

const crashChildEnv = "LOGSTORE_CRASH_CHILD_DIR"

var crashTP = TopicPartition{"crash", 0}

func crashConfig() Config {
	c := testConfig(64 << 10)
	c.IndexIntervalBytes = 512
	return c
}

// crashBatch is the batch the child appends at offset off: its content is a
// function of the offset, so the parent can check every byte.
func crashBatch(off int64) []byte {
	b := makeBatch(batchSpec{records: 1 + int(off%7), valueSize: int(off*37) % 1500, ts: off, fill: byte(off)})
	Batch(b).setBaseOffset(off)
	Batch(b).setLeaderEpoch(3)
	return b
}

// TestCrashChild is the child side of TestCrashRecovery: it appends until
// killed, printing each acknowledged append. It is skipped unless the parent
// runs it.
func TestCrashChild(t *testing.T) {
	dir := os.Getenv(crashChildEnv)
	if dir == "" {
		t.Skip("run by TestCrashRecovery")
	}
	d, err := OpenDir(dir, Options{Logger: quietLogger()}, func(TopicPartition) Config { return crashConfig() })
	if err != nil {
		fmt.Printf("error %v\n", err)
		os.Exit(1)
	}
	l, err := d.CreateLog(crashTP, crashConfig())
	if err != nil {
		fmt.Printf("error %v\n", err)
		os.Exit(1)
	}
	deadline := time.Now().Add(10 * time.Second) // never outlive a lost parent
	for i := 0; time.Now().Before(deadline); i++ {
		off := l.LogEndOffset()
		res, err := l.Append(crashBatch(off), 3)
		if err != nil {
			fmt.Printf("error %v\n", err)
			os.Exit(1)
		}
		fmt.Printf("ack %d %d\n", res.FirstOffset, res.LastOffset)
		if i%40 == 0 {
			if err := d.Checkpoint(); err != nil {
				fmt.Printf("error %v\n", err)
				os.Exit(1)
			}
		}
	}
	os.Exit(0)
}

// runCrashChild starts the child, kills it with SIGKILL after a random time
// once it has acknowledged something, and returns the acknowledged appends.
func runCrashChild(t *testing.T, dir string, rng *rand.Rand) [][2]int64 {
	cmd := exec.Command(os.Args[0], "-test.run=^TestCrashChild$", "-test.count=1")
	cmd.Env = append(os.Environ(), crashChildEnv+"="+dir)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	acks := make(chan [2]int64, 1<<16)
	errs := make(chan string, 1)
	go func() {
		defer close(acks)
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			f := strings.Fields(sc.Text())
			if len(f) == 3 && f[0] == "ack" {
				a, _ := strconv.ParseInt(f[1], 10, 64)
				b, _ := strconv.ParseInt(f[2], 10, 64)
				acks <- [2]int64{a, b}
			} else if len(f) > 0 && f[0] == "error" {
				errs <- sc.Text()
			}
		}
	}()
	var got [][2]int64
	select {
	case a, ok := <-acks:
		if ok {
			got = append(got, a)
		}
	case e := <-errs:
		cmd.Process.Kill()
		cmd.Wait()
		t.Fatalf("child: %s", e)
	case <-time.After(20 * time.Second):
		cmd.Process.Kill()
		t.Fatal("child acknowledged nothing")
	}
	time.Sleep(time.Duration(rng.IntN(60_000)) * time.Microsecond)
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	for a := range acks {
		got = append(got, a)
	}
	cmd.Wait()
	select {
	case e := <-errs:
		t.Fatalf("child: %s", e)
	default:
	}
	return got
}

// TestCrashRecovery kills an appending child process at random moments,
// reopens its log dir, and checks: every acknowledged append is there with
// its bytes, offsets are contiguous, and every batch served is one the child
// wrote, whole (nothing torn past the cut). The default flush policy is
// used: SIGKILL keeps the page cache, so acknowledged means survived.
func TestCrashRecovery(t *testing.T) {
	if testing.Short() {
		t.Skip("spawns processes")
	}
	dir := t.TempDir()
	rng := rand.New(rand.NewPCG(7, uint64(time.Now().UnixNano())))
	iterations, budget := 30, 25*time.Second
	start := time.Now()
	var total int
	for it := 0; it < iterations && time.Since(start) < budget; it++ {
		acks := runCrashChild(t, dir, rng)
		total += len(acks)
		var logs logCapture
		d, err := OpenDir(dir, Options{Logger: logs.logger()}, func(TopicPartition) Config { return crashConfig() })
		if err != nil {
			t.Fatalf("iteration %d: reopen: %v", it, err)
		}
		l := d.Log(crashTP)
		if l == nil {
			t.Fatalf("iteration %d: log missing after reopen", it)
		}
		verifyCrashLog(t, it, l, acks)
		if rng.IntN(2) == 0 {
			if err := d.Close(); err != nil {
				t.Fatalf("iteration %d: close: %v", it, err)
			}
		} else {
			for _, l := range d.Logs() {
				l.abandon() // crash the parent too: the next child recovers
			}
		}
	}
	t.Logf("%d acknowledged appends over the runs", total)
}

func verifyCrashLog(t *testing.T, it int, l *Log, acks [][2]int64) {
	leo := l.LogEndOffset()
	for _, a := range acks {
		if a[1] >= leo {
			t.Fatalf("iteration %d: acknowledged [%d, %d] but log end is %d", it, a[0], a[1], leo)
		}
		s, err := l.Read(a[0], 1, leo)
		if err != nil {
			t.Fatalf("iteration %d: read acknowledged %d: %v", it, a[0], err)
		}
		if s.FirstOffset != a[0] {
			t.Fatalf("iteration %d: read %d starts at %d", it, a[0], s.FirstOffset)
		}
		if got := readSlice(t, s); !bytes.Equal(got, crashBatch(a[0])) {
			t.Fatalf("iteration %d: acknowledged batch %d differs (%d bytes)", it, a[0], len(got))
		}
	}
	next := l.LogStartOffset()
	for next < leo {
		s, err := l.Read(next, 1<<20, leo)
		if err != nil {
			t.Fatalf("iteration %d: scan at %d: %v", it, next, err)
		}
		if s.Seg == nil {
			t.Fatalf("iteration %d: nothing at %d below log end %d", it, next, leo)
		}
		for _, b := range splitBatches(t, readSlice(t, s)) {
			if b.BaseOffset() != next {
				t.Fatalf("iteration %d: batch at %d, expected %d: offsets not contiguous", it, b.BaseOffset(), next)
			}
			if !bytes.Equal(b, crashBatch(next)) {
				t.Fatalf("iteration %d: batch %d is not what was written", it, next)
			}
			next = b.LastOffset() + 1
		}
	}
	if next != leo {
		t.Fatalf("iteration %d: batches end at %d, log end %d", it, next, leo)
	}
}
