package main

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
)

// dataToolTimeout bounds one run of produce, consume or dump-log.
const dataToolTimeout = 20 * time.Second

// dataArgs: groupArgs, and 1 MiB segments so a live segment's
// preallocated .log stays small.
var dataArgs = append([]string{"--log.segment.bytes=1048576"}, groupArgs...)

// runDataTool runs weir with args and stdin and returns its exit code,
// stdout and stderr, bounded by dataToolTimeout.
func runDataTool(t *testing.T, stdin string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	return runBounded(t, dataToolTimeout, stdin, args...)
}

// mustRunData runs a tool that must exit 0 and returns its stdout.
func mustRunData(t *testing.T, stdin string, args ...string) string {
	t.Helper()
	code, stdout, stderr := runDataTool(t, stdin, args...)
	if code != 0 {
		t.Fatalf("weir %q: exit %d\nstdout: %s\nstderr: %s", args, code, stdout, stderr)
	}
	return stdout
}

// Lines go in with keys and headers and come back the same, in the
// console consumer's layout, as JSON and through a template.
func TestProduceConsumeRoundTrip(t *testing.T) {
	b := startBroker(t, brokerOpts{io: "std", args: dataArgs})
	bs := "--bootstrap-server=" + b.addr
	createTopic(t, b.addr, "orders", 1)
	in := "trace:t1\tk1\tfirst value\n" +
		"\tk2\tsecond, no headers of its own\n" +
		"trace:t3,flag\tk3\t\n" // empty value; flag has a null value
	if out := mustRunData(t, in, "produce", bs, "--topic", "orders", "--parse-key", "--parse-headers", "--headers", "src:cli"); out != "" {
		t.Errorf("produce printed %q without --verbose", out)
	}
	got := mustRunData(t, "", "consume", bs, "--topic", "orders", "--from-beginning", "--max-messages", "3",
		"--print-key", "--print-offset", "--print-headers")
	want := "Partition:0\tOffset:0\tsrc:cli,trace:t1\tk1\tfirst value\n" +
		"Partition:0\tOffset:1\tsrc:cli\tk2\tsecond, no headers of its own\n" +
		"Partition:0\tOffset:2\tsrc:cli,trace:t3,flag:null\tk3\t\n"
	if got != want {
		t.Errorf("consumed:\n%q\nwant:\n%q", got, want)
	}
	got = mustRunData(t, "", "consume", bs, "-t", "orders", "--offset", "1", "--partition", "0", "--max-messages", "1",
		"--format", "{{.Offset}} {{.Key}}={{.Value}} {{len .Headers}}")
	if want := "1 k2=second, no headers of its own 1\n"; got != want {
		t.Errorf("template: %q, want %q", got, want)
	}
	got = mustRunData(t, "", "consume", bs, "-t", "orders", "--offset", "2", "--max-messages", "1", "--format", "json")
	var rec struct {
		Offset  int64
		Key     string
		Value   string
		Headers []struct {
			Key   string
			Value *string
		}
	}
	if err := json.Unmarshal([]byte(got), &rec); err != nil || rec.Offset != 2 || rec.Key != "k3" || rec.Value != "" ||
		len(rec.Headers) != 3 || rec.Headers[2].Value != nil {
		t.Errorf("json: %s (%v)", got, err)
	}

	// A bad line fails alone, reported by number; a line over bufio's
	// default buffer goes through.
	big := strings.Repeat("b", 900_000)
	code, stdout, stderr := runDataTool(t, "k4\tv4\nno separator\nk6\t"+big+"\n", "produce", bs, "-t", "orders",
		"--parse-key", "--output", "json")
	if code != 1 || !strings.Contains(stderr, "line 2: no key separator") || !strings.Contains(stderr, "1 of 3 lines failed") {
		t.Errorf("bad line: exit %d, stderr %q", code, stderr)
	}
	var sum struct {
		Records    int64
		Partitions []struct{ FirstOffset, LastOffset int64 } `json:"partitions"`
	}
	json.Unmarshal([]byte(stdout), &sum)
	if sum.Records != 2 || len(sum.Partitions) != 1 {
		t.Errorf("summary %s", stdout)
	}
	got = mustRunData(t, "", "consume", bs, "-t", "orders", "--offset", "4", "--max-messages", "1")
	if got != big+"\n" {
		t.Errorf("big line came back as %d bytes", len(got))
	}

	// On a broker that auto-creates topics, produce creates a missing one
	// (as Kafka's console producer does); consume's check must not.
	mustRunData(t, "x\n", "produce", bs, "-t", "auto-created")
	if got := mustRunData(t, "", "consume", bs, "-t", "auto-created", "--from-beginning", "--max-messages", "1"); got != "x\n" {
		t.Errorf("auto-created topic gave %q", got)
	}
	code, _, stderr = runDataTool(t, "", "consume", bs, "-t", "never-created", "--from-beginning", "--max-messages", "1")
	if code != 1 || !strings.Contains(stderr, `topic "never-created" does not exist`) {
		t.Errorf("unknown topic: exit %d %q", code, stderr)
	}
	adm := newAdmin(t, b.addr)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if topics, err := adm.ListTopics(ctx); err != nil || topics.Has("never-created") {
		t.Errorf("the existence check created the topic (%v)", err)
	}
}

// committedSum sums a group's committed offsets over the topic's partitions.
func committedSum(t *testing.T, adm *kadm.Client, group string) int64 {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	offs, err := adm.FetchOffsets(ctx, group)
	if err != nil {
		t.Fatal(err)
	}
	var sum int64
	offs.Each(func(o kadm.OffsetResponse) { sum += o.At })
	return sum
}

// In a group, --max-messages commits exactly what was printed, the next
// member goes on from there, and Ctrl-C commits and exits 0.
func TestConsumeGroupCommits(t *testing.T) {
	b := startBroker(t, brokerOpts{io: "std", args: dataArgs})
	bs := "--bootstrap-server=" + b.addr
	createTopic(t, b.addr, "events", 3)
	var in strings.Builder
	for i := range 30 {
		fmt.Fprintf(&in, "key-%d\tevent-%d\n", i, i)
	}
	mustRunData(t, in.String(), "produce", bs, "-t", "events", "--parse-key")
	adm := newAdmin(t, b.addr)

	first := mustRunData(t, "", "consume", bs, "-t", "events", "-g", "g1", "--from-beginning", "--max-messages", "10")
	if n := committedSum(t, adm, "g1"); strings.Count(first, "\n") != 10 || n != 10 {
		t.Fatalf("first member printed %d records and committed %d, want 10 and 10", strings.Count(first, "\n"), n)
	}
	second := mustRunData(t, "", "consume", bs, "-t", "events", "-g", "g1", "--from-beginning", "--max-messages", "20")
	seen := map[string]bool{}
	for _, v := range strings.Fields(first + second) {
		if seen[v] {
			t.Errorf("%s consumed twice", v)
		}
		seen[v] = true
	}
	if len(seen) != 30 || committedSum(t, adm, "g1") != 30 {
		t.Errorf("two members consumed %d distinct records and committed %d, want 30 and 30", len(seen), committedSum(t, adm, "g1"))
	}

	// Ctrl-C on a member waiting for more.
	mustRunData(t, "late-1\nlate-2\n", "produce", bs, "-t", "events")
	cmd := exec.Command(weirBin, "consume", bs, "-t", "events", "-g", "g1")
	var out, errb syncBuffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	for deadline := time.Now().Add(dataToolTimeout); strings.Count(out.String(), "\n") < 2; {
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			<-done
			t.Fatalf("no late records consumed:\n%s\n%s", out.String(), errb.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	cmd.Process.Signal(syscall.SIGINT)
	select {
	case <-done:
	case <-time.After(dataToolTimeout):
		cmd.Process.Kill()
		<-done
		t.Fatalf("consume ignored SIGINT:\n%s", errb.String())
	}
	if code := cmd.ProcessState.ExitCode(); code != 0 || out.String() != "late-1\nlate-2\n" && out.String() != "late-2\nlate-1\n" {
		t.Errorf("after SIGINT: exit %d, printed %q\n%s", code, out.String(), errb.String())
	}
	if n := committedSum(t, adm, "g1"); n != 32 {
		t.Errorf("committed %d after SIGINT, want 32", n)
	}
}

// With auto-creation off, an unknown topic fails at once and clearly, as
// does a broker that is not there.
func TestDataToolsUnknownTopic(t *testing.T) {
	b := startBroker(t, brokerOpts{io: "std", args: []string{"--auto.create.topics.enable=false"}})
	bs := "--bootstrap-server=" + b.addr
	for _, args := range [][]string{
		{"produce", bs, "-t", "missing", "--request-timeout", "3s"},
		{"consume", bs, "-t", "missing", "--request-timeout", "3s"},
		{"consume", bs, "-t", "missing", "-g", "g", "--request-timeout", "3s"},
	} {
		start := time.Now()
		code, _, stderr := runDataTool(t, "x\n", args...)
		if code != 1 || !strings.Contains(stderr, `topic "missing" does not exist`) || time.Since(start) > 3*time.Second {
			t.Errorf("%q: exit %d after %v: %q", args, code, time.Since(start), stderr)
		}
	}
	code, _, stderr := runDataTool(t, "x\n", "produce", fmt.Sprintf("--bootstrap-server=127.0.0.1:%d", freePort(t)),
		"-t", "t", "--request-timeout", "1s")
	if code != 1 || !strings.Contains(stderr, "weir produce:") {
		t.Errorf("no broker: exit %d %q", code, stderr)
	}
}

// dumpedBatch is the part of dump-log's JSON the test checks.
type dumpedBatch struct {
	Position    int64  `json:"position"`
	BaseOffset  int64  `json:"base_offset"`
	LastOffset  int64  `json:"last_offset"`
	Compression string `json:"compression"`
	CRCValid    bool   `json:"crc_valid"`
	Records     []struct {
		Offset int64  `json:"offset"`
		Value  string `json:"value"`
	} `json:"records"`
	Problems []string `json:"problems"`
}

func dumpLogJSON(t *testing.T, wantCode int, args ...string) []dumpedBatch {
	t.Helper()
	code, stdout, stderr := runDataTool(t, "", append([]string{"dump-log", "--output", "json"}, args...)...)
	if code != wantCode {
		t.Fatalf("dump-log %q: exit %d, want %d\n%s%s", args, code, wantCode, stdout, stderr)
	}
	var batches []dumpedBatch
	for _, line := range strings.Split(strings.TrimSpace(stdout), "\n") {
		var b dumpedBatch
		if err := json.Unmarshal([]byte(line), &b); err != nil {
			t.Fatalf("%q: %v", line, err)
		}
		batches = append(batches, b)
	}
	return batches
}

// dump-log reads the live segment a broker is writing: every record
// produced, with every codec, in valid batches; then a copy with one byte
// changed and a bad index entry are flagged.
func TestDumpLogLiveSegment(t *testing.T) {
	b := startBroker(t, brokerOpts{io: "std", args: dataArgs})
	bs := "--bootstrap-server=" + b.addr
	createTopic(t, b.addr, "dl", 1)
	codecs := []string{"none", "gzip", "snappy", "lz4", "zstd"}
	var want []string
	for i, codec := range codecs {
		var in strings.Builder
		for j := range 5 {
			fmt.Fprintf(&in, "%s record %d of run %d\n", codec, j, i)
			want = append(want, fmt.Sprintf("%s record %d of run %d", codec, j, i))
		}
		mustRunData(t, in.String(), "produce", bs, "-t", "dl", "--compression", codec)
	}
	seg := filepath.Join(b.logDir, "dl-0", "00000000000000000000.log")
	batches := dumpLogJSON(t, 0, "--print-data-log", "--files", seg)
	var got []string
	next := int64(0)
	for _, bt := range batches {
		if !bt.CRCValid || bt.BaseOffset != next || len(bt.Problems) > 0 {
			t.Errorf("batch %+v after offset %d", bt, next-1)
		}
		for _, r := range bt.Records {
			got = append(got, r.Value)
			if codec, _, _ := strings.Cut(r.Value, " "); codec != bt.Compression {
				t.Errorf("record %q in a %s batch", r.Value, bt.Compression)
			}
		}
		next = bt.LastOffset + 1
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") || len(batches) < len(codecs) {
		t.Fatalf("dump-log found %d records in %d batches:\n%s\nwant:\n%s", len(got), len(batches),
			strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	// The live indexes hold no entries yet (they are written at roll and
	// close): none printed, no problems.
	for _, ext := range []string{".index", ".timeindex"} {
		code, stdout, _ := runDataTool(t, "", "dump-log", strings.TrimSuffix(seg, ".log")+ext)
		if code != 0 || strings.Contains(stdout, "offset:") || strings.Contains(stdout, "mismatch") {
			t.Errorf("live %s: exit %d\n%s", ext, code, stdout)
		}
	}

	// A copy with one byte flipped in the second batch's records.
	data, err := os.ReadFile(seg)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	bad := batches[1]
	data[bad.Position+61+2] ^= 0x01
	copyPath := filepath.Join(dir, "00000000000000000000.log")
	os.WriteFile(copyPath, data, 0o644)
	for i, bt := range dumpLogJSON(t, 1, copyPath) {
		if bt.CRCValid != (i != 1) {
			t.Errorf("batch %d at %d: crc_valid %v", i, bt.Position, bt.CRCValid)
		}
	}

	// An index with a good entry and one pointing inside a batch.
	b2, b3 := batches[2], batches[3]
	var idx []byte
	for _, e := range [][2]int64{{b2.LastOffset, b2.Position}, {b3.LastOffset, b3.Position + 3}} {
		idx = binary.BigEndian.AppendUint32(idx, uint32(e[0]))
		idx = binary.BigEndian.AppendUint32(idx, uint32(e[1]))
	}
	idx = append(idx, make([]byte, 64)...)
	idxPath := filepath.Join(dir, "00000000000000000000.index")
	os.WriteFile(idxPath, idx, 0o644)
	code, stdout, _ := runDataTool(t, "", "dump-log", "--verify-index-only", idxPath)
	lines := strings.Split(strings.TrimSpace(stdout), "\n")
	sort.Strings(lines)
	if code != 1 || strings.Count(stdout, "Index mismatch") != 1 ||
		!strings.Contains(stdout, fmt.Sprintf("no batch starts at position %d", b3.Position+3)) ||
		!strings.Contains(stdout, "2 entries, 1 mismatches") {
		t.Errorf("bad index: exit %d\n%s", code, stdout)
	}
}
