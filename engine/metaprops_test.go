package engine

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

func TestMetaFirstStartAndRestart(t *testing.T) {
	dirs := []string{t.TempDir(), t.TempDir()}
	cid, formatted, err := ensureMeta(dirs, 4, randomClusterID)
	if err != nil {
		t.Fatal(err)
	}
	if len(formatted) != 2 || !regexp.MustCompile(`^[A-Za-z0-9_-]{22}$`).MatchString(cid) {
		t.Fatalf("cluster id %q, formatted %v", cid, formatted)
	}
	var dirIDs []string
	for _, d := range dirs {
		text, _ := os.ReadFile(filepath.Join(d, metaFile))
		for _, want := range []string{"version=1\n", "node.id=4\n", "cluster.id=" + cid + "\n", "directory.id="} {
			if !strings.Contains(string(text), want) {
				t.Errorf("%s lacks %q:\n%s", d, want, text)
			}
		}
		m, ok, err := readMeta(d)
		if !ok || err != nil || m.ClusterID != cid || m.NodeID != 4 {
			t.Fatalf("readMeta: %+v %v %v", m, ok, err)
		}
		dirIDs = append(dirIDs, m.DirectoryID.String())
	}
	if dirIDs[0] == dirIDs[1] {
		t.Errorf("log dirs share directory.id %s", dirIDs[0])
	}
	again, formatted, err := ensureMeta(dirs, 4, randomClusterID)
	if err != nil || again != cid || len(formatted) != 0 {
		t.Fatalf("restart: %q %v %v, want %q and no formatting", again, formatted, err, cid)
	}
	// A new dir joins the cluster of the others.
	dirs = append(dirs, t.TempDir())
	again, formatted, err = ensureMeta(dirs, 4, randomClusterID)
	if err != nil || again != cid || len(formatted) != 1 || formatted[0] != dirs[2] {
		t.Fatalf("new dir: %q %v %v", again, formatted, err)
	}
}

func TestMetaErrors(t *testing.T) {
	write := func(t *testing.T, text string) string {
		d := t.TempDir()
		if err := os.WriteFile(filepath.Join(d, metaFile), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		return d
	}
	good := "version=1\ncluster.id=MkU3OEVBNTcwNTJENDM2Qk\nnode.id=1\ndirectory.id=AAAAAAAAAAAAAAAAAAAAAg\n"
	tests := []struct {
		name string
		dirs func(t *testing.T) []string
		want string
	}{
		{"node id mismatch", func(t *testing.T) []string {
			return []string{write(t, strings.Replace(good, "node.id=1", "node.id=2", 1))}
		}, "stored node.id 2 does not match the configured node.id 1"},
		{"zookeeper era", func(t *testing.T) []string {
			return []string{write(t, "version=0\nbroker.id=1\ncluster.id=x\n")}
		}, "version 0"},
		{"unknown version", func(t *testing.T) []string { return []string{write(t, "version=7\n")} }, "unknown version"},
		{"no cluster id", func(t *testing.T) []string { return []string{write(t, "version=1\nnode.id=1\n")} }, "no cluster.id"},
		{"bad node id", func(t *testing.T) []string {
			return []string{write(t, "version=1\ncluster.id=x\nnode.id=one\n")}
		}, "bad node.id"},
		{"bad directory id", func(t *testing.T) []string {
			return []string{write(t, good+"directory.id=nope\n")}
		}, "directory.id"},
		{"cluster ids differ", func(t *testing.T) []string {
			return []string{write(t, good), write(t, strings.Replace(strings.Replace(good,
				"MkU3OEVBNTcwNTJENDM2Qk", "other", 1), "AAg", "AAw", 1))}
		}, "differs"},
		{"directory ids repeat", func(t *testing.T) []string { return []string{write(t, good), write(t, good)} },
			"directory.id AAAAAAAAAAAAAAAAAAAAAg is also"},
	}
	for _, tt := range tests {
		_, _, err := ensureMeta(tt.dirs(t), 1, randomClusterID)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: err %v, want %q", tt.name, err, tt.want)
		}
	}
}

// A meta.properties written by Kafka before directory ids (3.6) is kept,
// with a directory.id added.
func TestMetaAddsDirectoryID(t *testing.T) {
	d := t.TempDir()
	kafka := "#\n#Tue Nov 25 10:00:00 UTC 2025\nnode.id=1\nversion=1\ncluster.id=MkU3OEVBNTcwNTJENDM2Qk\n"
	if err := os.WriteFile(filepath.Join(d, metaFile), []byte(kafka), 0o644); err != nil {
		t.Fatal(err)
	}
	cid, formatted, err := ensureMeta([]string{d}, 1, randomClusterID)
	if err != nil || cid != "MkU3OEVBNTcwNTJENDM2Qk" || len(formatted) != 1 {
		t.Fatalf("%q %v %v", cid, formatted, err)
	}
	m, _, _ := readMeta(d)
	if m.DirectoryID == (UUID{}) || m.ClusterID != cid {
		t.Fatalf("rewritten meta %+v", m)
	}
}

func randomClusterID() string { return NewUUID().String() }
