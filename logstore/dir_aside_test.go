package logstore

import (
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"
)

// dirNames lists the entries of dir, sorted.
func dirNames(t *testing.T, dir string) []string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range ents {
		out = append(out, e.Name())
	}
	sort.Strings(out)
	return out
}

// matching are the names of dir that match re.
func matching(t *testing.T, dir string, re *regexp.Regexp) []string {
	t.Helper()
	var out []string
	for _, n := range dirNames(t, dir) {
		if re.MatchString(n) {
			out = append(out, n)
		}
	}
	return out
}

// waitGone waits up to 10 s until no name of dir matches re.
func waitGone(t *testing.T, dir string, re *regexp.Regexp) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for len(matching(t, dir, re)) > 0 {
		if time.Now().After(deadline) {
			t.Fatalf("still in %s after 10s: %v", dir, matching(t, dir, re))
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// A deleted log's directory is renamed `<topic>-<partition>.<uuid>-delete`
// before DeleteLog returns and removed in the background after
// file.delete.delay.ms. A rename that a stop overtook is finished by the
// next open, in the background, and never opened as a log.
func TestDeleteLogRenamesThenRemovesInBackground(t *testing.T) {
	path := t.TempDir()
	cfg := testConfig(4096)
	cfg.FileDeleteDelayMs = 1000
	cfgFor := func(TopicPartition) Config { return cfg }
	d, err := OpenDir(path, Options{Logger: quietLogger()}, cfgFor)
	if err != nil {
		t.Fatal(err)
	}
	for p := int32(0); p < 2; p++ {
		l, err := d.CreateLog(TopicPartition{"orders", p}, cfg)
		if err != nil {
			t.Fatal(err)
		}
		appendN(t, l, 40, 200, 1) // a few segments
	}
	renamed := regexp.MustCompile(`^orders-0\.[0-9a-f]{12}4[0-9a-f]{3}[89ab][0-9a-f]{15}-delete$`)
	start := time.Now()
	if err := d.DeleteLog(TopicPartition{"orders", 0}); err != nil {
		t.Fatal(err)
	}
	if d.Log(TopicPartition{"orders", 0}) != nil {
		t.Fatal("deleted log still open")
	}
	if _, err := os.Stat(filepath.Join(path, "orders-0")); !os.IsNotExist(err) {
		t.Fatalf("orders-0 still there: %v", err)
	}
	if got := matching(t, path, renamed); len(got) != 1 && time.Since(start) < 900*time.Millisecond {
		t.Fatalf("after DeleteLog: %v (want one renamed dir, kept for file.delete.delay.ms)", dirNames(t, path))
	}
	waitGone(t, path, renamed)
	if time.Since(start) < time.Second {
		t.Fatalf("removed after %v, before file.delete.delay.ms", time.Since(start))
	}

	// A delete whose removal is still due when the dir closes (as when a
	// SIGKILL comes first): the renamed dir stays, and the next open
	// removes it at once, without opening it.
	cfg.FileDeleteDelayMs = time.Hour.Milliseconds()
	if err := d.Log(TopicPartition{"orders", 1}).SetConfig(cfg); err != nil {
		t.Fatal(err)
	}
	if err := d.DeleteLog(TopicPartition{"orders", 1}); err != nil {
		t.Fatal(err)
	}
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	left := regexp.MustCompile(`^orders-1\..*-delete$`)
	if got := matching(t, path, left); len(got) != 1 {
		t.Fatalf("after close: %v", dirNames(t, path))
	}
	var logs logCapture
	d, err = OpenDir(path, Options{Logger: logs.logger()}, cfgFor)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if n := len(d.Logs()); n != 0 {
		t.Fatalf("%d logs opened from deleted dirs", n)
	}
	waitGone(t, path, left)
	if !strings.Contains(logs.String(), "removed a deleted partition's directory") {
		t.Fatalf("log:\n%s", logs.String())
	}
}

// The renamed directory's name stays within 255 bytes: a long topic is
// cut, as Kafka's LocalLog.logDeleteDirName does.
func TestDeleteLogOfLongTopic(t *testing.T) {
	if n := asideName(TopicPartition{"foo", 3}, deleteDirSuffix); !regexp.MustCompile(`^foo-3\.[0-9a-f]{32}-delete$`).MatchString(n) {
		t.Errorf("name %q", n)
	}
	long := "n" + strings.Repeat("o", 248)
	n := asideName(TopicPartition{long, 5}, deleteDirSuffix)
	if len(n) != 255 || !regexp.MustCompile(`^no{212}-5\.[0-9a-f]{32}-delete$`).MatchString(n) {
		t.Errorf("name %q (%d bytes)", n, len(n))
	}
	if _, ok := ParsePartitionDir(n); ok || !movedAside(n, deleteDirSuffix) || movedAside(n, strayDirSuffix) {
		t.Errorf("%q parses as a partition, or not as deleted", n)
	}
	for _, name := range []string{"backup-delete", "orders-delete-0", "orders-0-stray"} {
		if movedAside(name, deleteDirSuffix) || movedAside(name, strayDirSuffix) {
			t.Errorf("%q taken for a directory moved aside", name)
		}
	}

	path := t.TempDir()
	cfg := testConfig(4096)
	d, err := OpenDir(path, Options{Logger: quietLogger()}, func(TopicPartition) Config { return cfg })
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	tp := TopicPartition{long, 5} // `<topic>-5`: 251 bytes
	l, err := d.CreateLog(tp, cfg)
	if err != nil {
		t.Fatal(err)
	}
	appendN(t, l, 3, 10, 1)
	if err := d.DeleteLog(tp); err != nil {
		t.Fatal(err)
	}
	waitGone(t, path, regexp.MustCompile(`^n`))
}

// A stray log is renamed `<topic>-<partition>.<uuid>-stray`, closed
// cleanly, and kept: later opens log it and do not open it.
func TestStrayLogIsKept(t *testing.T) {
	path := t.TempDir()
	cfg := testConfig(4096)
	cfgFor := func(TopicPartition) Config { return cfg }
	d, err := OpenDir(path, Options{Logger: quietLogger()}, cfgFor)
	if err != nil {
		t.Fatal(err)
	}
	l, err := d.CreateLog(TopicPartition{"old", 0}, cfg)
	if err != nil {
		t.Fatal(err)
	}
	appendN(t, l, 3, 10, 1)
	if err := d.StrayLog(TopicPartition{"old", 0}); err != nil {
		t.Fatal(err)
	}
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	stray := regexp.MustCompile(`^old-0\.[0-9a-f]{32}-stray$`)
	got := matching(t, path, stray)
	if len(got) != 1 {
		t.Fatalf("after StrayLog: %v", dirNames(t, path))
	}
	var logs logCapture
	d, err = OpenDir(path, Options{Logger: logs.logger()}, cfgFor)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if len(d.Logs()) != 0 || !strings.Contains(logs.String(), "a stray partition directory") {
		t.Fatalf("logs %d, log:\n%s", len(d.Logs()), logs.String())
	}
	if _, err := os.Stat(filepath.Join(path, got[0], "00000000000000000000.log")); err != nil {
		t.Fatalf("stray data: %v", err)
	}
}
