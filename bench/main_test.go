package bench

import (
	"bytes"
	"encoding/binary"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestMainUsage(t *testing.T) {
	for _, c := range []struct {
		args []string
		code int
		want string
	}{
		{nil, 2, "weir bench"},
		{[]string{"--help"}, 0, "weir bench compare"},
		{[]string{"fly"}, 2, `unknown scenario "fly"`},
		{[]string{"produce", "--help"}, 0, "--batch-max-bytes"},
		{[]string{"produce", "--acks", "2"}, 2, "bad --acks"},
		{[]string{"produce", "--idempotent", "--acks", "1"}, 2, "needs --acks all"},
		{[]string{"produce", "--compression", "brotli"}, 2, "unknown compression"},
		{[]string{"produce", "--record-size", "big"}, 2, "--record-size"},
		{[]string{"produce", "--keys", "zipf"}, 2, "bad --keys"},
		{[]string{"produce", "--payload", "xml"}, 2, "--payload"},
		{[]string{"produce", "--no-such-flag"}, 2, "unknown flag"},
		{[]string{"produce", "extra"}, 2, "unexpected argument"},
		{[]string{"consume", "--consumers", "0"}, 2, "--consumers"},
		{[]string{"matrix", "--codecs", "none,brotli"}, 2, "unknown compression"},
		{[]string{"matrix", "--payloads", "json,xml"}, 2, "--payloads"},
		{[]string{"compare", "--peer", "kafka"}, 2, "name=host:port"},
		{[]string{"compare", "--io", "epoll"}, 2, "uring or std"},
		{[]string{"compare", "--peer-pid", "klite=42"}, 2, "name a --peer's"},
		{[]string{"compare", "--peer", "klite=127.0.0.1:1", "--peer-pid", "klite=me"}, 2, "want name=pid"},
		{[]string{"compare", "--peer", "klite=127.0.0.1:1", "--peer-pid", "kafka=42"}, 2, "--peer-pid \"kafka=42\""},
		{[]string{"compare", "--weir-bin", "/no/such/weir"}, 2, "--weir-bin"},
		{[]string{"replication", "--help"}, 0, "--partitions"},
		{[]string{"replication", "--io", "epoll"}, 2, "uring or std"},
		{[]string{"replication", "--rounds", "0"}, 2, "--rounds"},
		{[]string{"replication", "--duration", "0s"}, 2, "--duration"},
		{[]string{"replication", "--warmup", "-1s"}, 2, "--warmup"},
		{[]string{"replication", "--partitions", "0"}, 2, "--partitions"},
		{[]string{"replication", "--producers", "0"}, 2, "--producers"},
		{[]string{"replication", "--weir-bin", "/no/such/weir"}, 2, "--weir-bin"},
		{[]string{"replication", "-o", "xml"}, 2, "--output"},
		{[]string{"replication", "--no-such-flag"}, 2, "unknown flag"},
		{[]string{"replication", "extra"}, 2, "unexpected argument"},
		{[]string{"e2e", "--rate", "0"}, 1, "fixed --rate"},
		{[]string{"e2e", "--record-size", "4", "--rate", "10"}, 1, "at least 8"},
	} {
		var out, errb bytes.Buffer
		code := Main(c.args, nil, &out, &errb)
		both := out.String() + errb.String()
		if code != c.code || !strings.Contains(both, c.want) {
			t.Errorf("weir bench %q = %d, want %d with %q; output:\n%s", c.args, code, c.code, c.want, both)
		}
	}
}

// Every scenario prints its usage once on --help and -h, to stdout.
func TestHelpPrintsUsageOnce(t *testing.T) {
	for _, sc := range []string{"produce", "consume", "e2e", "matrix", "compare", "report", "replication"} {
		for _, h := range []string{"--help", "-h"} {
			var out, errb bytes.Buffer
			code := Main([]string{sc, h}, nil, &out, &errb)
			if n := strings.Count(out.String(), "Usage:"); code != 0 || n != 1 || errb.Len() > 0 {
				t.Errorf("weir bench %s %s = %d, usage %d times on stdout, stderr %q", sc, h, code, n, errb.String())
			}
		}
	}
}

func TestUnreachableBrokerFails(t *testing.T) {
	port, err := freePort()
	if err != nil {
		t.Fatal(err)
	}
	var out, errb bytes.Buffer
	start := time.Now()
	code := Main([]string{"consume", "--bootstrap-server", "127.0.0.1:" + strconv.Itoa(port), "--duration", "2s"}, nil, &out, &errb)
	if code != 1 || errb.Len() == 0 {
		t.Errorf("consume from a closed port = %d, stderr %q", code, errb.String())
	}
	if d := time.Since(start); d > 30*time.Second {
		t.Errorf("took %v to give up", d)
	}
}

func TestProcessCPU(t *testing.T) {
	before, err := processCPU(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(150 * time.Millisecond)
	x := 0
	for time.Now().Before(deadline) {
		x++
	}
	after, err := processCPU(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if after-before < 50*time.Millisecond {
		t.Errorf("150 ms of spinning counted as %v of CPU", after-before)
	}
	if _, err := processCPU(1 << 30); err == nil {
		t.Error("a pid that does not exist gave a CPU time")
	}
	m := startCPU(os.Getpid())
	if b, c := m.stop(); b < 0 || c < 0 {
		t.Errorf("cpuMeter = %v, %v", b, c)
	}
	// Several processes: each apart, and their sum; one unknown makes
	// the sum unknown.
	m = startCPU(os.Getpid(), os.Getpid())
	for c0 := selfCPU(); selfCPU()-c0 < 50*time.Millisecond; {
		x++
	}
	if b, _ := m.stop(); len(m.broker) != 2 || m.broker[0] <= 0 || b != m.broker[0]+m.broker[1] {
		t.Errorf("two pids: sum %v of %v", b, m.broker)
	}
	m = startCPU(os.Getpid(), 1<<30)
	if b, _ := m.stop(); b != -1 || len(m.broker) != 2 || m.broker[0] < 0 || m.broker[1] != -1 {
		t.Errorf("a pid that does not exist: sum %v of %v", b, m.broker)
	}
	if b, _ := startCPU(0).stop(); b != -1 {
		t.Errorf("no pid gave %v broker CPU seconds", b)
	}
}

func TestMeasureHost(t *testing.T) {
	h, err := measureHost(50*time.Millisecond, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if h.LoopbackTCP <= 0 || h.FileWrite <= 0 || h.Memcpy <= 0 || h.CRC32C <= 0 {
		t.Errorf("host limits %+v", h)
	}
}

func TestSkipResponseTags(t *testing.T) {
	// One tagged field (tag 5, 2 bytes), then the body.
	b, err := skipResponseTags([]byte{1, 5, 2, 0xaa, 0xbb, 9}, true)
	if err != nil || len(b) != 1 || b[0] != 9 {
		t.Errorf("flexible header: %v, %v", b, err)
	}
	if b, err := skipResponseTags([]byte{1, 5, 2, 0xaa, 0xbb, 9}, false); err != nil || len(b) != 6 {
		t.Errorf("not flexible: %v, %v", b, err)
	}
	for _, bad := range [][]byte{{}, {1}, {1, 5}, {1, 5, 3, 0xaa, 0xbb}} {
		if _, err := skipResponseTags(bad, true); err == nil {
			t.Errorf("%v: no error", bad)
		}
	}
}

func TestPingRequest(t *testing.T) {
	for _, v := range []int16{1, 8, 9, 12} {
		if _, req := pingRequest(v); len(req) != pingPongRequestBytes || int(binary.BigEndian.Uint32(req)) != len(req)-4 {
			t.Errorf("v%d: %d bytes, length prefix %d", v, len(req), binary.BigEndian.Uint32(req))
		}
	}
}
