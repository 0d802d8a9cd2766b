package engine

import (
	"os"
	"path/filepath"
	"regexp"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/weirmq/weir/logstore"
)

// haltedAt is the panic testHalt stops a change with.
type haltedAt string

// namesMatching are the entries of dir that match re.
func namesMatching(t *testing.T, dir string, re *regexp.Regexp) []string {
	t.Helper()
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

// A DeleteTopics stopped after its removal was committed and before any
// log was renamed (the window a SIGKILL can hit) is finished by the next
// start: the topic's partition directories are renamed `-delete` and
// removed in the background. A log of no known topic that no delete names
// is renamed `-stray` and kept. The deleted name can be created again,
// empty.
func TestInterruptedDeleteFinishesAtStart(t *testing.T) {
	dir := t.TempDir()
	b := openBrokerAt(t, dir)
	createTopic(t, b, "gone", 2)
	createTopic(t, b, "keep", 1)
	for _, name := range []string{"gone", "keep"} {
		if _, err := b.lookupPartition(name, 0).log.Append(makeBatch(-1, -1, -1, "a", "b"), 0); err != nil {
			t.Fatal(err)
		}
	}
	testHalt = func(point string) {
		if point == "delete-topics-committed" {
			panic(haltedAt(point))
		}
	}
	defer func() { testHalt = nil }()
	func() {
		defer func() {
			if r := recover(); r != haltedAt("delete-topics-committed") {
				t.Fatalf("DeleteTopics did not stop at its halt point: %v", r)
			}
		}()
		b.deleteTopics(deleteReq(6, "gone"))
	}()
	testHalt = nil
	if _, ok := b.image.Load().Topic("gone"); ok {
		t.Fatal("the removal is not committed")
	}
	for _, p := range []string{"gone-0", "gone-1"} {
		if _, err := os.Stat(filepath.Join(dir, p)); err != nil {
			t.Fatalf("%s renamed before the halt point: %v", p, err)
		}
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	// And a log of a topic no delete names (left by another cluster, or
	// beside a lost metadata log).
	other, err := logstore.Open(filepath.Join(dir, "other-0"), "other", 0, logstore.DefaultConfig(),
		logstore.Options{Logger: discardLogger()}, logstore.OpenState{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := other.Append(makeBatch(-1, -1, -1, "theirs"), 0); err != nil {
		t.Fatal(err)
	}
	other.Close()

	b = openBrokerAt(t, dir)
	defer b.Close()
	gone := regexp.MustCompile(`^gone-`)
	deadline := time.Now().Add(10 * time.Second)
	for len(namesMatching(t, dir, gone)) > 0 {
		if time.Now().After(deadline) {
			t.Fatalf("deleted topic's dirs still there 10s after the start: %v", namesMatching(t, dir, gone))
		}
		time.Sleep(5 * time.Millisecond)
	}
	if got := namesMatching(t, dir, regexp.MustCompile(`^other-0(\.[0-9a-f]{32}-stray)?$`)); len(got) != 1 || got[0] == "other-0" {
		t.Errorf("stray log: %v", got)
	}
	if b.lookupPartition("other", 0) != nil {
		t.Error("stray log hosted")
	}
	if _, err := os.Stat(filepath.Join(dir, pendingDeletesFile)); !os.IsNotExist(err) {
		t.Errorf("%s left after the start: %v", pendingDeletesFile, err)
	}
	if leo := b.lookupPartition("keep", 0).log.LogEndOffset(); leo != 2 {
		t.Errorf("keep: log end %d, want 2", leo)
	}
	createTopic(t, b, "gone", 2)
	for i := int32(0); i < 2; i++ {
		if leo := b.lookupPartition("gone", i).log.LogEndOffset(); leo != 0 {
			t.Errorf("recreated gone-%d: log end %d, want 0", i, leo)
		}
	}
}

// A completed DeleteTopics renames the partition directories before it
// answers and leaves no note behind; the directories go once
// file.delete.delay.ms has passed.
func TestDeleteTopicsRenamesThenRemoves(t *testing.T) {
	dir := t.TempDir()
	b := openBrokerAt(t, dir, "log.segment.delete.delay.ms=500")
	defer b.Close()
	createTopic(t, b, "gone", 2)
	start := time.Now()
	if r := roundTrip(t, b, deleteReq(6, "gone")).(*kmsg.DeleteTopicsResponse); r.Topics[0].ErrorCode != 0 {
		t.Fatalf("delete: %+v", r.Topics)
	}
	if got := namesMatching(t, dir, regexp.MustCompile(`^gone-[01]$`)); len(got) != 0 {
		t.Fatalf("not renamed: %v", got)
	}
	renamed := regexp.MustCompile(`^gone-[01]\.[0-9a-f]{32}-delete$`)
	if got := namesMatching(t, dir, renamed); len(got) != 2 && time.Since(start) < 400*time.Millisecond {
		t.Fatalf("renamed: %v", got)
	}
	if _, err := os.Stat(filepath.Join(dir, pendingDeletesFile)); !os.IsNotExist(err) {
		t.Errorf("%s left after the delete: %v", pendingDeletesFile, err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for len(namesMatching(t, dir, renamed)) > 0 {
		if time.Now().After(deadline) {
			t.Fatalf("still there: %v", namesMatching(t, dir, renamed))
		}
		time.Sleep(5 * time.Millisecond)
	}
	if took := time.Since(start); took < 500*time.Millisecond {
		t.Errorf("removed after %v, before log.segment.delete.delay.ms", took)
	}
}
