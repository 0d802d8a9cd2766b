package logstore

import (
	"os/exec"
	"strings"
	"testing"
)

// TestImportsNoWeirPackage keeps the arrow one way: logstore (not its
// tests, which may drive it through ring) imports nothing of Weir's.
func TestImportsNoWeirPackage(t *testing.T) {
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command")
	}
	out, err := exec.Command(goBin, "list", "-deps", ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	for _, p := range strings.Fields(string(out)) {
		if strings.HasPrefix(p, "github.com/weirmq/weir/") && p != "github.com/weirmq/weir/logstore" {
			t.Errorf("logstore imports %s", p)
		}
	}
}
