package config

import (
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/spf13/pflag"
)

func writeFile(t *testing.T, text string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "server.properties")
	if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestParseServe(t *testing.T) {
	file := writeFile(t, "node.id=1\nnum.partitions=3\nlog.dirs=/from/file\nlisteners=PLAINTEXT://127.0.0.1:9092\n")
	s, err := ParseServe([]string{"--config", file, "--num.partitions=7", "--io=std", "--shards", "3",
		"--delete.topic.enable=false", "--auto.create.topics.enable"}, Kafka, nil)
	if err != nil {
		t.Fatal(err)
	}
	c := s.Config
	if s.ConfigFile != file || s.IO != "std" || s.Shards != 3 {
		t.Errorf("serve flags: %+v", s)
	}
	if got := c.Int("num.partitions"); got != 7 {
		t.Errorf("flag did not override file: num.partitions = %d", got)
	}
	if got := c.List("log.dirs"); len(got) != 1 || got[0] != "/from/file" {
		t.Errorf("log.dirs = %q", got)
	}
	if c.Bool("delete.topic.enable") || !c.Bool("auto.create.topics.enable") {
		t.Errorf("bool flags not applied")
	}
	if s.Resolved.NodeID != 1 || s.Resolved.Listeners[0].Port != 9092 {
		t.Errorf("resolved %+v", s.Resolved)
	}
}

func TestParseServeDefaults(t *testing.T) {
	s, err := ParseServe([]string{"--node.id=1"}, Kafka, nil)
	if err != nil {
		t.Fatal(err)
	}
	if s.IO != "auto" || s.Shards != runtime.NumCPU() || s.ConfigFile != "" {
		t.Errorf("defaults %+v", s)
	}
	if l := s.Resolved.Listeners[0]; l.String() != "PLAINTEXT://:9092" {
		t.Errorf("default listener %s", l)
	}
}

// Every error is a usage error naming the key and the value.
func TestParseServeErrors(t *testing.T) {
	badFile := writeFile(t, "node.id=1\n\nnum.partitions = lots\n")
	unknownInFile := writeFile(t, "node.id=1\nlog.segments.bytes=5\n")
	tests := []struct {
		name string
		args []string
		want []string
	}{
		{"unknown flag", []string{"--node.id=1", "--num.partitionz=4"}, []string{"num.partitionz", `"4"`, "unknown"}},
		{"unknown flag spaced", []string{"--num.partitionz", "4"}, []string{"num.partitionz", `"4"`}},
		{"bad flag value", []string{"--node.id=1", "--num.partitions=x"}, []string{"num.partitions", `"x"`, "flag"}},
		{"bad io", []string{"--node.id=1", "--io=epoll"}, []string{"io", "epoll"}},
		{"bad shards", []string{"--node.id=1", "--shards=0"}, []string{"shards", `"0"`}},
		{"shards not a number", []string{"--shards=x"}, []string{"shards", "x"}},
		{"bad value in file", []string{"--config", badFile}, []string{badFile + ":3", "num.partitions", "lots"}},
		{"unknown key in file", []string{"--config", unknownInFile},
			[]string{unknownInFile + ":2", "log.segments.bytes", `"5"`, "unknown"}},
		{"missing file", []string{"--config", "/no/such/file"}, []string{"/no/such/file"}},
		{"positional", []string{"--node.id=1", "extra"}, []string{"extra"}},
		{"cross-key", []string{"--node.id=1", "--listeners=SSL://:1"}, []string{"listeners", "SSL"}},
	}
	for _, tt := range tests {
		_, err := ParseServe(tt.args, Kafka, func(*pflag.FlagSet) {})
		if err == nil {
			t.Errorf("%s: no error", tt.name)
			continue
		}
		for _, w := range tt.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: error %q lacks %q", tt.name, err, w)
			}
		}
	}
}

func TestParseServeHelp(t *testing.T) {
	var usage string
	_, err := ParseServe([]string{"--help"}, Kafka, func(fs *pflag.FlagSet) { usage = fs.FlagUsages() })
	if !errors.Is(err, ErrHelp) {
		t.Fatalf("err = %v", err)
	}
	for _, w := range []string{"--config", "--io", "--shards", "--log.retention.ms", "--num.partitions int",
		"(default 1)"} {
		if !strings.Contains(usage, w) {
			t.Errorf("usage lacks %q", w)
		}
	}
}

// Kafka's own KRaft server.properties loads as it is.
func TestKafkaServerProperties(t *testing.T) {
	file := writeFile(t, `# Licensed to the Apache Software Foundation (ASF)...
############################# Server Basics #############################
process.roles=broker,controller
node.id=1
controller.quorum.bootstrap.servers=localhost:9093

############################# Socket Server Settings #############################
listeners=PLAINTEXT://:9092,CONTROLLER://:9093
inter.broker.listener.name=PLAINTEXT
advertised.listeners=PLAINTEXT://localhost:9092,CONTROLLER://localhost:9093
controller.listener.names=CONTROLLER
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT,SSL:SSL,SASL_PLAINTEXT:SASL_PLAINTEXT,SASL_SSL:SASL_SSL
num.network.threads=3
num.io.threads=8
socket.send.buffer.bytes=102400
socket.receive.buffer.bytes=102400
socket.request.max.bytes=104857600

############################# Log Basics #############################
log.dirs=/tmp/kraft-combined-logs
num.partitions=1
num.recovery.threads.per.data.dir=1

############################# Internal Topic Settings  #############################
offsets.topic.replication.factor=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1

############################# Log Retention Policy #############################
log.retention.hours=168
#log.retention.bytes=1073741824
log.segment.bytes=1073741824
log.retention.check.interval.ms=300000
`)
	s, err := ParseServe([]string{"--config", file}, Kafka, nil)
	if err != nil {
		t.Fatal(err)
	}
	r := s.Resolved
	if len(r.Listeners) != 2 || r.Listeners[1].Name != "CONTROLLER" || r.Advertised[0].Host != "localhost" {
		t.Errorf("listeners %+v advertised %+v", r.Listeners, r.Advertised)
	}
	if s.Config.Long("log.retention.ms") != 168*3_600_000 {
		t.Errorf("log.retention.ms = %d", s.Config.Long("log.retention.ms"))
	}
}
