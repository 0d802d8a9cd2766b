package main

import (
	"context"
	"encoding/binary"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func newAdmin(t *testing.T, addr string) *kadm.Client {
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr), kgo.RetryTimeout(5*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	return kadm.NewClient(cl)
}

func ctxTimeout(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// franz-go's admin client sees node 1 at the listener's address, as the
// controller, in the cluster meta.properties names.
func TestKadmBrokerMetadata(t *testing.T) {
	backends(t, func(t *testing.T, io string) {
		b := startBroker(t, brokerOpts{io: io})
		adm := newAdmin(t, b.addr)
		md, err := adm.BrokerMetadata(ctxTimeout(t))
		if err != nil {
			t.Fatal(err)
		}
		want := kadm.BrokerDetail{NodeID: 1, Host: "127.0.0.1", Port: int32(b.port)}
		if len(md.Brokers) != 1 || md.Brokers[0] != want {
			t.Errorf("brokers %+v, want [%+v]", md.Brokers, want)
		}
		if cid := clusterIDOnDisk(t, b.logDir); md.Cluster != cid || len(cid) != 22 {
			t.Errorf("cluster %q, meta.properties says %q", md.Cluster, cid)
		}
		if md.Controller != 1 || len(md.Topics) != 0 {
			t.Errorf("controller %d topics %v", md.Controller, md.Topics)
		}
		list, err := adm.ListBrokers(ctxTimeout(t))
		if err != nil || len(list) != 1 || list[0] != want {
			t.Errorf("ListBrokers %+v, %v", list, err)
		}
	})
}

// kcat (librdkafka) lists the broker.
func TestKcatList(t *testing.T) {
	kcat, err := exec.LookPath("kcat")
	if err != nil {
		t.Skip("kcat not installed (make deps)")
	}
	backends(t, func(t *testing.T, io string) {
		b := startBroker(t, brokerOpts{io: io})
		ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		defer cancel()
		out, err := exec.CommandContext(ctx, kcat, "-b", b.addr, "-L", "-m", "5").CombinedOutput()
		if err != nil {
			t.Fatalf("kcat: %v\n%s", err, out)
		}
		if want := "broker 1 at " + b.addr; !strings.Contains(string(out), want) {
			t.Errorf("kcat output lacks %q:\n%s", want, out)
		}
	})
}

// A malformed or oversized frame closes only its own connection: a client
// connected before and one connecting after keep working.
func TestBadFramesCloseOnlyTheirConnection(t *testing.T) {
	backends(t, func(t *testing.T, io string) {
		b := startBroker(t, brokerOpts{io: io, args: []string{"--socket.request.max.bytes=1024"}})
		good, err := dialRaw(b.addr)
		if err != nil {
			t.Fatal(err)
		}
		defer good.conn.Close()
		if _, err := good.do(apiVersions()); err != nil {
			t.Fatal(err)
		}
		adm := newAdmin(t, b.addr)
		bad := map[string][]byte{
			"garbage header":   frame([]byte{0x41, 0x42, 0x43, 0x44, 0, 0, 0, 1, 0xff, 0xff}),
			"truncated header": frame([]byte{0, 18, 0}),
			"truncated body":   frame(truncated(kmsg.NewRequestFormatter().AppendRequest(nil, metadataTopic("a-topic"), 1)[4:])),
			"unserved api":     kmsg.NewRequestFormatter().AppendRequest(nil, kmsg.NewPtrSASLHandshakeRequest(), 1),
			"oversized frame":  binary.BigEndian.AppendUint32(nil, 1025),
			"negative size":    []byte{0xff, 0xff, 0xff, 0xfe},
			"size 2^31":        []byte{0x80, 0, 0, 0},
			"size 2^31-1":      []byte{0x7f, 0xff, 0xff, 0xff},
			"http":             []byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n"),
		}
		for name, bytes := range bad {
			c, err := net.Dial("tcp", b.addr)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := c.Write(bytes); err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			if err := waitClosed(c, 5*time.Second); err != nil {
				t.Errorf("%s: %v", name, err)
			}
			c.Close()
			if _, err := good.do(metadataAll()); err != nil {
				t.Fatalf("after %s, the other connection failed: %v", name, err)
			}
		}
		if md, err := adm.BrokerMetadata(ctxTimeout(t)); err != nil || len(md.Brokers) != 1 {
			t.Fatalf("kadm after bad frames: %+v %v", md, err)
		}
		// A frame just under the limit is still served.
		if _, err := good.do(metadataTopic(strings.Repeat("t", 900))); err != nil {
			t.Fatalf("frame under socket.request.max.bytes: %v", err)
		}
	})
}

func truncated(b []byte) []byte { return b[:len(b)-4] }

func metadataTopic(name string) kmsg.Request {
	req := kmsg.NewPtrMetadataRequest()
	req.Version = 12
	req.Topics = []kmsg.MetadataRequestTopic{{Topic: kmsg.StringPtr(name)}}
	return req
}

func frame(b []byte) []byte { return append(binary.BigEndian.AppendUint32(nil, uint32(len(b))), b...) }

// SIGTERM stops the broker promptly, with clients still connected, exit 0.
func TestSIGTERMExitsPromptly(t *testing.T) {
	backends(t, func(t *testing.T, io string) {
		b := startBroker(t, brokerOpts{io: io})
		c, err := dialRaw(b.addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.conn.Close()
		if _, err := c.do(metadataAll()); err != nil {
			t.Fatal(err)
		}
		newAdmin(t, b.addr).BrokerMetadata(ctxTimeout(t))
		code, took := b.stop()
		if code != 0 || took > 2*time.Second {
			t.Fatalf("exit %d after %v:\n%s", code, took, b.stderr)
		}
		if err := waitClosed(c.conn, time.Second); err != nil {
			t.Errorf("client connection after exit: %v", err)
		}
		for _, want := range []string{"shutting down", "stopped"} {
			if !strings.Contains(b.stderr.String(), want) {
				t.Errorf("log lacks %q:\n%s", want, b.stderr)
			}
		}
	})
}

// The cluster id survives a restart; a different node.id on the same log
// dir is refused.
func TestRestartKeepsClusterID(t *testing.T) {
	backends(t, func(t *testing.T, io string) {
		dir := t.TempDir()
		b := startBroker(t, brokerOpts{io: io, logDir: dir})
		md, err := newAdmin(t, b.addr).BrokerMetadata(ctxTimeout(t))
		if err != nil {
			t.Fatal(err)
		}
		before, _ := os.ReadFile(filepath.Join(dir, "meta.properties"))
		if code, _ := b.stop(); code != 0 {
			t.Fatalf("exit %d", code)
		}
		b = startBroker(t, brokerOpts{io: io, logDir: dir})
		md2, err := newAdmin(t, b.addr).BrokerMetadata(ctxTimeout(t))
		if err != nil {
			t.Fatal(err)
		}
		after, _ := os.ReadFile(filepath.Join(dir, "meta.properties"))
		if md2.Cluster != md.Cluster || md.Cluster == "" || string(before) != string(after) {
			t.Errorf("cluster id %q -> %q; meta.properties\n%s->\n%s", md.Cluster, md2.Cluster, before, after)
		}
		if !strings.Contains(b.stderr.String(), "cluster.id="+md.Cluster) {
			t.Errorf("startup line lacks the cluster id:\n%s", b.stderr)
		}
		b.stop()

		code, stderr := runWeir(t, "serve", "--listeners=PLAINTEXT://127.0.0.1:"+strconv.Itoa(freePort(t)),
			"--log.dirs="+dir, "--node.id=2", "--io="+io)
		if code != 1 || !strings.Contains(stderr, "stored node.id 1 does not match the configured node.id 2") {
			t.Errorf("node.id 2 on node 1's dir: exit %d\n%s", code, stderr)
		}
	})
}

// A port in use, even by another Weir, is a clear error and exit 1.
func TestPortInUse(t *testing.T) {
	backends(t, func(t *testing.T, io string) {
		b := startBroker(t, brokerOpts{io: io})
		code, stderr := runWeir(t, "serve", "--listeners=PLAINTEXT://"+b.addr,
			"--log.dirs="+t.TempDir(), "--node.id=2", "--io="+io)
		if code != 1 || !strings.Contains(stderr, "address already in use") ||
			!strings.Contains(stderr, "PLAINTEXT://"+b.addr) {
			t.Errorf("second broker on %s: exit %d\n%s", b.addr, code, stderr)
		}
		if _, err := newAdmin(t, b.addr).BrokerMetadata(ctxTimeout(t)); err != nil {
			t.Errorf("first broker after the second failed: %v", err)
		}
	})
}
