package main

import (
	"os/exec"
	"strings"
	"testing"
)

// TestDependencyArrows keeps the layout's arrows pointing one way:
// ring <- netio <- engine and logstore <- replica <- engine (logstore's
// subpackages, such as metalog, are logstore's); tools and bench reach
// brokers only through client libraries (tools read files through logstore).
// Coordinators under engine (engine/groups) import nothing of Weir's: no
// sockets (netio, ring), no engine.
func TestDependencyArrows(t *testing.T) {
	const mod = "github.com/weirmq/weir/"
	allowed := map[string][]string{
		"ring":     nil,
		"logstore": nil,
		"netio":    {"ring"},
		"replica":  {"logstore"},
		"tools":    {"logstore"},
		"bench":    nil,
		// Coordinators.
		"engine/groups": nil,
	}
	for pkg, ok := range allowed {
		out, err := exec.Command("go", "list", "-deps", "-f", "{{.ImportPath}}", mod+pkg+"/...").CombinedOutput()
		if err != nil {
			t.Fatalf("go list %s: %v\n%s", pkg, err, out)
		}
		for _, dep := range strings.Fields(string(out)) {
			rel, ours := strings.CutPrefix(dep, mod)
			if !ours {
				continue
			}
			top, _, _ := strings.Cut(rel, "/")
			if rel == pkg || strings.HasPrefix(rel, pkg+"/") || contains(ok, top) {
				continue
			}
			t.Errorf("%s depends on %s: the layout allows only %v", pkg, dep, ok)
		}
	}
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}
