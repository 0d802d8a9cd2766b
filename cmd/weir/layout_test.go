package main

import (
	"os/exec"
	"slices"
	"strings"
	"testing"
)

// TestDependencyArrows keeps the layout's arrows pointing one way:
// ring <- netio <- engine and logstore <- replica <- engine (logstore's
// subpackages, such as metalog, are logstore's); tools and bench reach
// brokers only through client libraries (tools read files through logstore).
// engine/controller decides metadata changes over the image, the config
// and the metadata log: no sockets (netio, ring), no partition replicas,
// nothing of the broker (engine itself). Coordinators under engine
// (engine/groups) import nothing of Weir's.
func TestDependencyArrows(t *testing.T) {
	const mod = "github.com/weirmq/weir/"
	allowed := map[string][]string{
		"ring":              nil,
		"logstore":          nil,
		"netio":             {"ring"},
		"replica":           {"logstore"},
		"tools":             {"logstore"},
		"bench":             nil,
		"engine/controller": {"engine/config", "engine/metadata", "engine/quorum", "logstore"},
		"engine/groups":     nil,
		"engine/quorum":     {"logstore"},
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
			if under(rel, pkg) || slices.ContainsFunc(ok, func(p string) bool { return under(rel, p) }) {
				continue
			}
			t.Errorf("%s depends on %s: the layout allows only %v", pkg, dep, ok)
		}
	}
}

// under says whether rel is package p or one of its subpackages.
func under(rel, p string) bool { return rel == p || strings.HasPrefix(rel, p+"/") }
