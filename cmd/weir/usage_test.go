package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Usage errors exit 2 with a message on stderr naming what is wrong.
func TestUsageErrors(t *testing.T) {
	dir := t.TempDir()
	unknownInFile := filepath.Join(dir, "unknown.properties")
	os.WriteFile(unknownInFile, []byte("node.id=1\nlog.retention.dayz=3\n"), 0o644)
	badInFile := filepath.Join(dir, "bad.properties")
	os.WriteFile(badInFile, []byte("node.id=1\nauto.create.topics.enable=sometimes\n"), 0o644)
	logs := "--log.dirs=" + t.TempDir()
	tests := []struct {
		name string
		args []string
		want []string
	}{
		{"no command", nil, []string{"Usage"}},
		{"unknown command", []string{"launch"}, []string{`unknown command "launch"`}},
		{"unknown flag", []string{"serve", logs, "--node.id=1", "--bogus.key=7"}, []string{"bogus.key", `"7"`}},
		{"bad value", []string{"serve", logs, "--node.id=1", "--num.partitions=zero"},
			[]string{"num.partitions", `"zero"`}},
		{"invalid value", []string{"serve", logs, "--node.id=1", "--num.partitions=0"},
			[]string{"num.partitions", `"0"`, "at least 1"}},
		{"unknown key in file", []string{"serve", logs, "--config", unknownInFile},
			[]string{"log.retention.dayz", `"3"`, unknownInFile + ":2"}},
		{"bad value in file", []string{"serve", logs, "--config", badInFile},
			[]string{"auto.create.topics.enable", `"sometimes"`}},
		{"bad io", []string{"serve", logs, "--node.id=1", "--io=kqueue"}, []string{"io", "kqueue"}},
		{"bad file send", []string{"serve", logs, "--node.id=1", "--file-send=sendmsg"}, []string{"file-send", "sendmsg", "splice or mmap"}},
		{"no node id", []string{"serve", logs}, []string{"node.id", "required"}},
		{"ssl listener", []string{"serve", logs, "--node.id=1", "--listeners=SSL://127.0.0.1:9093"},
			[]string{"SSL", "not supported yet"}},
		{"broker without a quorum", []string{"serve", logs, "--node.id=1", "--process.roles=broker"},
			[]string{"process.roles", "needs a quorum", "controller.quorum.voters"}},
		{"bad voter", []string{"serve", logs, "--node.id=1", "--controller.quorum.voters=1@h"},
			[]string{"controller.quorum.voters", `"1@h"`, "not host:port"}},
		{"voter id twice", []string{"serve", logs, "--node.id=1", "--controller.listener.names=CONTROLLER",
			"--listeners=PLAINTEXT://:9092,CONTROLLER://:9093", "--controller.quorum.voters=1@h:1,1@h:2"},
			[]string{"controller.quorum.voters", "listed twice"}},
		{"controller not a voter", []string{"serve", logs, "--node.id=5", "--controller.listener.names=CONTROLLER",
			"--listeners=PLAINTEXT://:9092,CONTROLLER://:9093", "--controller.quorum.voters=1@h:1"},
			[]string{"node.id 5 must be one of the voters"}},
		{"dynamic quorum", []string{"serve", logs, "--node.id=1", "--controller.quorum.bootstrap.servers=h:1,g:2"},
			[]string{"controller.quorum.bootstrap.servers", "KIP-853", "not supported yet"}},
	}
	for _, tt := range tests {
		code, stderr := runWeir(t, tt.args...)
		if code != 2 {
			t.Errorf("%s: exit %d, want 2\n%s", tt.name, code, stderr)
		}
		for _, w := range tt.want {
			if !strings.Contains(stderr, w) {
				t.Errorf("%s: stderr lacks %q:\n%s", tt.name, w, stderr)
			}
		}
	}
}

func TestHelpAndVersion(t *testing.T) {
	for _, args := range [][]string{{"help"}, {"version"}, {"serve", "--help"}, {"help", "serve"}} {
		if code, stderr := runWeir(t, args...); code != 0 {
			t.Errorf("weir %q: exit %d\n%s", args, code, stderr)
		}
	}
}
