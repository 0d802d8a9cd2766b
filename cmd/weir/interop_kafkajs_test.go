package main

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// kafkajs runs as testdata/interop/kafkajs_client.js under node, with the
// kafkajs that .ci/install-deps installs there (npm ci: package.json pins
// the version, package-lock.json the tarball's hash). WEIR_INTEROP_NODE
// names another node.

var interopNode struct {
	once sync.Once
	path string // "" when node or kafkajs is missing
	why  string
}

// nodeForKafkajs finds a node that resolves kafkajs from testdata/interop,
// or skips the test.
func nodeForKafkajs(t *testing.T) string {
	t.Helper()
	interopNode.once.Do(func() {
		node := os.Getenv("WEIR_INTEROP_NODE")
		if node == "" {
			p, err := exec.LookPath("node")
			if err != nil {
				interopNode.why = "node not installed (Debian nodejs; make deps)"
				return
			}
			node = p
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		cmd := exec.CommandContext(ctx, node, "-e", "require.resolve('kafkajs')")
		cmd.Dir = filepath.Join("testdata", "interop")
		if out, err := cmd.CombinedOutput(); err != nil {
			interopNode.why = "kafkajs not installed in testdata/interop/node_modules " +
				"(make deps runs npm ci there): " + interopTail(string(out), 300)
			return
		}
		interopNode.path = node
	})
	if interopNode.path == "" {
		t.Skip(interopNode.why)
	}
	return interopNode.path
}

func TestInteropKafkajs(t *testing.T) {
	node := nodeForKafkajs(t)
	bootstrap, stop := interopTarget(t, groupArgs...)
	defer stop()
	interopKafkajs(t, node, bootstrap)
}

// kafkajs: an idempotent producer (gzip) with an explicit partition per
// record, 50 records a send(); then a consumer in a fresh group (kafkajs
// has no other) from the beginning, committing after each batch, so the
// group's committed offsets end up at the partitions' ends.
func interopKafkajs(t *testing.T, node, bootstrap string) {
	topic, id := interopTopic(t, bootstrap, "kafkajs")
	report := observeAPIs(t, bootstrap, "kafkajs")
	recs := genRecords(interopRecords, false)
	for i := range recs {
		recs[i].Hdrs = headersByName(recs[i].Hdrs)
	}
	group := "g-" + topic
	prod := runScript(t, node, "kafkajs_client.js", bootstrap, topic, len(recs), "produce", recs,
		"compression=gzip", "idempotent=true")
	cons := runScript(t, node, "kafkajs_client.js", bootstrap, topic, len(recs), "consume", nil, "group="+group)
	report()
	compareRecords(t, recs, cons.records, prod.delivered, cmpOpts{})
	kgoReadsBack(t, bootstrap, topic, recs)
	wantStoredCodec(t, bootstrap, topic, id, "gzip")
	ends := map[int32]int64{}
	for _, r := range recs {
		ends[r.P]++
	}
	wantCommitted(t, bootstrap, group, topic, ends)
}

// headersByName reorders headers as kafkajs keeps them, in an object of
// name -> value or values: the values of a repeated name together, at the
// place of the name's first appearance.
func headersByName(h []ihdr) []ihdr {
	if h == nil {
		return nil
	}
	var names []string
	vals := map[string][][]byte{}
	for _, x := range h {
		if _, ok := vals[x.Key]; !ok {
			names = append(names, x.Key)
		}
		vals[x.Key] = append(vals[x.Key], x.Val)
	}
	out := make([]ihdr, 0, len(h))
	for _, n := range names {
		for _, v := range vals[n] {
			out = append(out, ihdr{n, v})
		}
	}
	return out
}
