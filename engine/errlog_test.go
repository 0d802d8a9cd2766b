package engine

import (
	"bytes"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"
)

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// 1,000 failures in a burst make two lines: the first, then one with the
// count of the rest; another message is logged on its own.
func TestErrorLogRateLimits(t *testing.T) {
	var out lockedBuffer
	e := newErrorLog(slog.New(slog.NewTextHandler(&out, nil)), 100*time.Millisecond)
	for i := 0; i < 1000; i++ {
		e.Error("append failed", "partition", i)
	}
	e.Error("fetch read failed", "partition", 7)
	deadline := time.Now().Add(5 * time.Second)
	for strings.Count(out.String(), "\n") < 3 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	time.Sleep(250 * time.Millisecond) // nothing more may come
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 3 {
		t.Fatalf("%d lines, want 3:\n%s", len(lines), out.String())
	}
	if !strings.Contains(lines[0], "partition=0") || strings.Contains(lines[0], "repeated") {
		t.Errorf("first line: %s", lines[0])
	}
	if !strings.Contains(lines[1], "fetch read failed") {
		t.Errorf("second line: %s", lines[1])
	}
	if !strings.Contains(lines[2], "repeated=999") || !strings.Contains(lines[2], "partition=999") {
		t.Errorf("count line: %s", lines[2])
	}
	// After a quiet interval the next failure is logged at once again.
	time.Sleep(150 * time.Millisecond)
	e.Error("append failed", "partition", 1000)
	if !strings.Contains(out.String(), "partition=1000") {
		t.Errorf("a failure after a quiet interval was not logged at once:\n%s", out.String())
	}
}
