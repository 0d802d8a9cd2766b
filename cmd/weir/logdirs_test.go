package main

import (
	"encoding/json"
	"os"
	"regexp"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// moveTo asks the broker at addr to move topic's partition 0 to dir.
func moveTo(t *testing.T, addr, topic, dir string) {
	t.Helper()
	req := kmsg.NewPtrAlterReplicaLogDirsRequest()
	rd := kmsg.NewAlterReplicaLogDirsRequestDir()
	rd.Dir = dir
	rt := kmsg.NewAlterReplicaLogDirsRequestDirTopic()
	rt.Topic, rt.Partitions = topic, []int32{0}
	rd.Topics = append(rd.Topics, rt)
	req.Dirs = append(req.Dirs, rd)
	resp := rawDo(t, addr, req).(*kmsg.AlterReplicaLogDirsResponse)
	if len(resp.Topics) != 1 || len(resp.Topics[0].Partitions) != 1 || resp.Topics[0].Partitions[0].ErrorCode != 0 {
		t.Fatalf("move %s-0 to %s: %+v", topic, dir, resp.Topics)
	}
}

// backgroundProducer produces rounds of records to topic until stopped
// (the broker may be killed meanwhile: errors are expected then) and
// hands back what was acknowledged.
func backgroundProducer(t *testing.T, addr, topic string) (stop func() map[int32]map[int64]string) {
	cl := diskFullProducer(t, addr, topic)
	acked := map[int32]map[int64]string{}
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for round := 1000; ; round++ {
			select {
			case <-done:
				return
			default:
			}
			if produceRound(cl, round, 20, 1024, acked) != nil {
				time.Sleep(20 * time.Millisecond)
			}
		}
	}()
	return func() map[int32]map[int64]string {
		close(done)
		wg.Wait()
		return acked
	}
}

// merge adds the records of from to into.
func merge(into, from map[int32]map[int64]string) {
	for p, m := range from {
		if into[p] == nil {
			into[p] = map[int64]string{}
		}
		for o, v := range m {
			into[p][o] = v
		}
	}
}

// movingDirs are the entries of dir that are the partition directories
// of moving-0, moved aside or not, sorted.
func movingDirs(t *testing.T, dir string) []string {
	t.Helper()
	re := regexp.MustCompile(`^moving-0(\.[0-9a-f]{32}-(delete|future))?$`)
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range ents {
		if re.MatchString(e.Name()) {
			out = append(out, e.Name())
		}
	}
	return out
}

// waitMovingDirs waits until dir holds exactly the partition directories
// of moving-0 that match want (in order).
func waitMovingDirs(t *testing.T, dir string, want ...string) {
	t.Helper()
	deadline := time.Now().Add(deleteGoneWithin)
	for {
		got := movingDirs(t, dir)
		ok := len(got) == len(want)
		for i := 0; ok && i < len(got); i++ {
			ok = regexp.MustCompile(want[i]).MatchString(got[i])
		}
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s holds %v, want %v", dir, got, want)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// A broker with two log dirs SIGKILLed in a partition's move under a
// producer: during the copy (held there by WEIR_TEST_HALT_AT), the
// restarted broker deletes the future log and keeps the partition where
// it was; between the switch's renames (the log's directory renamed
// `-delete`, the future not yet in place), it puts the future in place.
// Every acknowledged record reads back either way. Then `weir topic
// move-log-dir --wait` moves the partition back.
func TestLogMoveKilled(t *testing.T) {
	backends(t, func(t *testing.T, io string) {
		src, dst := t.TempDir(), t.TempDir()
		args := []string{"--log.dirs=" + src + "," + dst, "--log.segment.bytes=262144"}
		halted := func(point string) *broker {
			return startBroker(t, brokerOpts{io: io, logDir: src, args: args, env: []string{"WEIR_TEST_HALT_AT=" + point}})
		}
		b := halted("log-move-copying")
		port := b.port
		createTopic(t, b.addr, "moving", 1)
		if got := movingDirs(t, src); !slices.Equal(got, []string{"moving-0"}) {
			t.Fatalf("the partition is not in the first log dir: %v", got)
		}
		acked := map[int32]map[int64]string{}
		if err := produceRound(diskFullProducer(t, b.addr, "moving"), 0, 1500, 1024, acked); err != nil {
			t.Fatal(err)
		}

		// Killed during the copy.
		stop := backgroundProducer(t, b.addr, "moving")
		moveTo(t, b.addr, "moving", dst)
		waitStderr(t, b, "halted for a crash test")
		time.Sleep(100 * time.Millisecond) // appends go on meanwhile
		kill(t, b)
		merge(acked, stop())
		waitMovingDirs(t, src, `^moving-0$`)
		waitMovingDirs(t, dst, `-future$`)
		b = startBroker(t, brokerOpts{io: io, logDir: src, port: port, args: args})
		waitMovingDirs(t, src, `^moving-0$`)
		waitMovingDirs(t, dst)
		checkAcked(t, b.addr, "moving", acked)
		b.stop()

		// Killed between the switch's renames.
		b = halted("log-move-switching")
		stop = backgroundProducer(t, b.addr, "moving")
		time.Sleep(100 * time.Millisecond)
		moveTo(t, b.addr, "moving", dst)
		waitStderr(t, b, "halted for a crash test")
		kill(t, b)
		merge(acked, stop())
		waitMovingDirs(t, src, `-delete$`)
		waitMovingDirs(t, dst, `-future$`)
		b = startBroker(t, brokerOpts{io: io, logDir: src, port: port, args: args})
		waitMovingDirs(t, src)
		waitMovingDirs(t, dst, `^moving-0$`)
		checkAcked(t, b.addr, "moving", acked)

		// And back, with the tool.
		var moved []struct {
			LogDir string `json:"log_dir"`
			Moved  bool   `json:"moved"`
		}
		adminJSON(t, &moved, "topic", "move-log-dir", "--topic", "moving", "--partition", "0", "--log-dir", src,
			"--wait", "--bootstrap-server="+b.addr)
		if len(moved) != 1 || !moved[0].Moved || moved[0].LogDir != src {
			t.Fatalf("move-log-dir --wait: %+v", moved)
		}
		waitMovingDirs(t, src, `^moving-0$`)
		checkAcked(t, b.addr, "moving", acked)
		if n := countAcked(acked); n < 1500 {
			t.Errorf("%d records acknowledged", n)
		}
	})
}

// `weir topic move-log-dir`'s answers: where the replica is (the move
// under way or done), a log dir the broker does not have (exit 1, the
// broker's error), bad usage (exit 2).
func TestMoveLogDirTool(t *testing.T) {
	src, dst := t.TempDir(), t.TempDir()
	b := startBroker(t, brokerOpts{io: "std", logDir: src, args: []string{"--log.dirs=" + src + "," + dst}})
	bs := "--bootstrap-server=" + b.addr
	createTopic(t, b.addr, "orders", 2)
	produceN(t, b.addr, "orders", 0, 50)
	code, stdout, stderr := runAdminTool(t, "topic", "move-log-dir", "--topic", "orders", "--partition", "0,1",
		"--log-dir", dst, "--wait", bs)
	want := regexp.MustCompile(`^The replica of orders-0 on broker 1 is in ` + regexp.QuoteMeta(dst) + ` now\.\n` +
		`The replica of orders-1 on broker 1 is in ` + regexp.QuoteMeta(dst) + ` now\.\n$`)
	if code != 0 || !want.MatchString(stdout) {
		t.Errorf("move --wait: exit %d\n%s%s", code, stdout, stderr)
	}
	var got []json.RawMessage
	adminJSON(t, &got, "topic", "move-log-dir", "--topic", "orders", "--partition", "1", "--log-dir", dst, bs)
	if len(got) != 1 {
		t.Errorf("move again: %s", got)
	}
	wantExit(t, 1, "partition orders-0: LOG_DIR_NOT_FOUND", "topic", "move-log-dir", "--topic", "orders",
		"--partition", "0", "--log-dir", dst+"-not", bs)
	wantExit(t, 1, "partition orders-7: no such partition", "topic", "move-log-dir", "--topic", "orders",
		"--partition", "7", "--log-dir", dst, bs)
	wantExit(t, 1, "does not exist", "topic", "move-log-dir", "--topic", "nope", "--partition", "0",
		"--log-dir", dst, bs)
	wantExit(t, 2, "missing --log-dir", "topic", "move-log-dir", "--topic", "orders", "--partition", "0", bs)
	wantExit(t, 2, "absolute path", "topic", "move-log-dir", "--topic", "orders", "--partition", "0",
		"--log-dir", "data", bs)
	wantExit(t, 2, "missing --partition", "topic", "move-log-dir", "--topic", "orders", "--log-dir", dst, bs)
	if n := len(consumeAll(t, b.addr, "orders", 50)); n == 0 {
		t.Error("nothing to read after the moves")
	}
}
