package main

// Interop tests: Kafka clients nobody here wrote, against a broker. Each test
// creates a fresh topic (3 partitions) with franz-go's kadm, has the client
// produce a few hundred records with an explicit partition per record (keys,
// values and headers where the client has them), has the same client consume
// them back from the beginning (without a consumer group, but for kafkajs,
// which has no other consumer), and compares the records per partition:
// count (exactly), order, offsets, bytes, and the offsets the producer was
// acknowledged where it reports them. franz-go then reads the topic back
// too (it tells null from empty, which some of the clients do not), and
// where the producer compresses, a raw Fetch from each partition's leader
// checks the broker stored and serves the batches in that codec.
//
// Each client's test body is a driver taking a bootstrap list
// (host:port[,host:port...]): the TestInterop* functions run it against
// interopTarget (one broker), TestInteropCluster3 (interop_cluster_test.go)
// against a 3-node cluster, where interopTopic checks that each topic's
// partitions are led by three different brokers. The consumer-group flows
// of the clients are in groups_interop_test.go, the same way.
//
// Clients and their versions (Debian 12 packages and npm packages from
// .ci/install-deps, Go modules from go.mod):
//
//	kcat                     Debian kcat 1.7.1-2, on librdkafka 2.0.2 (librdkafka1 2.0.2-1)
//	kafka-python             Debian python3-kafka 2.0.2-3 (kafka-python 2.0.2)
//	confluent-kafka          Debian python3-confluent-kafka 1.7.0-4 (confluent-kafka 1.7.0, librdkafka 2.0.2)
//	sarama                   github.com/IBM/sarama v1.61.1, Config.Version = V2_8_0_0
//	kafka-go                 github.com/segmentio/kafka-go v0.4.51
//	franz-go                 github.com/twmb/franz-go v1.22.3
//	kafkajs                  npm kafkajs 2.2.4 (testdata/interop/package-lock.json), under node
//	kfake (target, optional) github.com/twmb/franz-go/pkg/kfake v0.0.0-20260918054303-01f206a7e32c
//
// Codecs exercised: kcat none, kafka-python gzip, confluent-kafka lz4
// (idempotent producer) and zstd, sarama snappy (idempotent), kafka-go
// none, franz-go lz4 (idempotent), kafkajs gzip (idempotent).
//
// Requests each client sent, as kfake saw them; kfake serves the newest
// versions, so these are the versions the clients choose at best:
//
//	kcat             ApiVersions v3, Metadata v4, Produce v7, ListOffsets v2, Fetch v11
//	kafka-python     ApiVersions v0, Metadata v0 and v1, Produce v7, ListOffsets v1, Fetch v4
//	confluent-kafka  ApiVersions v3, Metadata v4, Produce v7, ListOffsets v2, Fetch v11,
//	                 InitProducerId v4 (idempotent), FindCoordinator v2 (only if advertised)
//	sarama V2_8_0_0  ApiVersions v3, Metadata v11, Produce v9, ListOffsets v6, Fetch v12
//	kafka-go         ApiVersions v0, Metadata v6 and v8, Produce v8, ListOffsets v1, Fetch v10
//	franz-go         ApiVersions v5, Metadata v13, Produce v13, ListOffsets v10, Fetch v18,
//	                 InitProducerId v5
//	kafkajs          ApiVersions v2, Metadata v6, Produce v7, ListOffsets v3, Fetch v11,
//	                 InitProducerId v1, FindCoordinator v2, JoinGroup v5, SyncGroup v3,
//	                 OffsetCommit v5, OffsetFetch v4, LeaveGroup v3
//
// The broker is chosen by interopTarget: by default the real `weir serve`
// (built by TestMain); WEIR_INTEROP_TARGET=kfake runs franz-go's in-process
// fake broker instead, which validates the harness itself and logs the API
// keys and versions each client sent and the codecs of its Produce batches:
//
//	WEIR_INTEROP_TARGET=kfake go test -run Interop -v ./cmd/weir/
//
// (see kfakeApiVersions for what kfake advertises, and
// WEIR_INTEROP_KFAKE_APIS to make it advertise another broker's table).
//
// Against weir the tests skip until weir advertises the APIs they need
// (Produce first of all). WEIR_INTEROP_IO picks weir's I/O backend (std).
// The Python clients run as subprocesses of testdata/interop/*.py (see
// testdata/interop/common.py for their protocol) under the first python3
// that imports them (WEIR_INTEROP_PYTHON, /usr/bin/python3, python3 on
// PATH); kafkajs as testdata/interop/kafkajs_client.js, with the same
// protocol, under node (WEIR_INTEROP_NODE, node on PATH). A test whose
// client is missing skips and says what installs it.

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/segmentio/kafka-go"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

const (
	interopParts   = 3
	interopRecords = 300
	// Bound of one client run (a subprocess, or one Go client's produce or
	// consume); the scripts get interopScriptTimeout and stop themselves first.
	interopRunTimeout    = 40 * time.Second
	interopScriptTimeout = "25"
)

// The APIs every interop test needs the broker to serve. Produce is checked
// first: it is the one weir is known to lack until its data path lands.
var interopAPIs = []int16{0 /* Produce */, 1 /* Fetch */, 2 /* ListOffsets */, 3 /* Metadata */, 19 /* CreateTopics */}

// interopTarget starts the broker the interop tests talk to and returns its
// bootstrap address and a stop function (also run at cleanup). By default
// it is weir serve, with the serve flags args; WEIR_INTEROP_TARGET=kfake
// starts kfake instead. Against weir, a test skips while weir does not
// advertise the APIs it needs.
func interopTarget(t *testing.T, args ...string) (bootstrap string, stop func()) {
	t.Helper()
	switch target := os.Getenv("WEIR_INTEROP_TARGET"); target {
	case "kfake":
		return startKfake(t)
	case "", "weir":
		io := os.Getenv("WEIR_INTEROP_IO")
		if io == "" {
			io = "std"
		}
		b := startBroker(t, brokerOpts{io: io, args: args})
		requireAPIs(t, b.addr)
		return b.addr, func() { b.stop() }
	default:
		t.Fatalf("WEIR_INTEROP_TARGET=%q: want weir (the default) or kfake", target)
		return "", nil
	}
}

// requireAPIs skips the test unless the broker advertises interopAPIs.
func requireAPIs(t *testing.T, bootstrap string) {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(seedList(bootstrap)...), kgo.RetryTimeout(5*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	vs, err := kadm.NewClient(cl).ApiVersions(ctx)
	if err != nil {
		t.Fatalf("ApiVersions: %v", err)
	}
	for _, v := range vs.Sorted() {
		if v.Err != nil {
			t.Fatalf("ApiVersions of node %d: %v", v.NodeID, v.Err)
		}
		for _, key := range interopAPIs {
			if _, ok := v.KeyMaxVersion(key); ok {
				continue
			}
			if key == 0 {
				t.Skip("weir does not serve Produce yet")
			}
			t.Skipf("weir does not serve %s (key %d) yet; the interop tests need it", kmsg.NameForKey(key), key)
		}
	}
}

// apiLog counts the requests (key, version) a kfake broker handled.
// and the compression codecs of the record batches in Produce requests.
type apiLog struct {
	mu     sync.Mutex
	seen   map[[2]int16]int
	codecs map[string]int
}

func (l *apiLog) observe(req kmsg.Request) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.seen[[2]int16{req.Key(), req.GetVersion()}]++
	if pr, ok := req.(*kmsg.ProduceRequest); ok {
		for _, t := range pr.Topics {
			for _, p := range t.Partitions {
				batchCodecs(p.Records, l.codecs)
			}
		}
	}
}

func (l *apiLog) reset() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.seen, l.codecs = map[[2]int16]int{}, map[string]int{}
}

// String lists what was seen as "Name(key) vV×count", by key then version.
func (l *apiLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	kv := make([][2]int16, 0, len(l.seen))
	for k := range l.seen {
		kv = append(kv, k)
	}
	sort.Slice(kv, func(i, j int) bool {
		if kv[i][0] != kv[j][0] {
			return kv[i][0] < kv[j][0]
		}
		return kv[i][1] < kv[j][1]
	})
	var s []string
	for _, k := range kv {
		s = append(s, fmt.Sprintf("%s(%d) v%d×%d", kmsg.NameForKey(k[0]), k[0], k[1], l.seen[k]))
	}
	return fmt.Sprintf("%s; produced batches by codec %v", strings.Join(s, ", "), l.codecs)
}

// kfakeLogs maps a running kfake's bootstrap address to its apiLog.
var kfakeLogs sync.Map

func startKfake(t *testing.T) (string, func()) {
	t.Helper()
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.Ports(freePort(t)), kfake.ClusterID("weir-interop"))
	if err != nil {
		t.Fatalf("kfake: %v", err)
	}
	addr := c.ListenAddrs()[0]
	var once sync.Once
	stop := func() {
		once.Do(func() {
			kfakeLogs.Delete(addr)
			c.Close()
		})
	}
	t.Cleanup(stop)
	apis := kfakeApiVersions(t, addr)
	log := &apiLog{}
	log.reset()
	// Answer ApiVersions with apis; observe every request and handle no
	// other: kfake then serves it as usual. A key's own control function
	// runs before the catch-all one, so ApiVersions is observed here.
	c.ControlKey(18, func(req kmsg.Request) (kmsg.Response, error, bool) {
		log.observe(req)
		r := req.(*kmsg.ApiVersionsRequest)
		if r.Version > 5 { // kfake answers what it does not serve (v0, UNSUPPORTED_VERSION)
			return nil, nil, false
		}
		c.KeepControl()
		resp := *apis
		resp.Version = r.Version
		resp.ApiKeys = append([]kmsg.ApiVersionsResponseApiKey(nil), apis.ApiKeys...)
		return &resp, nil, true
	})
	c.Control(func(req kmsg.Request) (kmsg.Response, error, bool) {
		log.observe(req)
		return nil, nil, false
	})
	kfakeLogs.Store(addr, log)
	return addr, stop
}

// kfakeApiVersions is the ApiVersions response the kfake target gives:
// kfake's own (asked for here), except that Produce is advertised from v0.
// kfake, like Kafka 4 (KIP-896), serves Produce v3+ only; but librdkafka
// 2.0.2 (Debian 12's), like every release before the fix for
// librdkafka#4956, compresses with gzip, snappy or lz4 only when the broker's
// advertised Produce range includes v0, and with lz4 only
// when its FindCoordinator range includes v0 as well. So Kafka 4 advertises
// Produce v0-v2 anyway and rejects them when used (KAFKA-18659). Without
// that, kcat and confluent-kafka silently send those codecs uncompressed
// (zstd is unaffected); TestInteropConfluentKafka/lz4 catches it.
//
// WEIR_INTEROP_KFAKE_APIS=key[:min-max],... advertises only the keys listed,
// with the ranges given (kfake's where none is; a max is lowered to kfake's,
// a min is taken as given, as a broker may advertise versions it rejects),
// to see how the clients fare with another broker's table, e.g. weir's
// (with CreateTopics, which the tests need):
// 0:3-13,1:4-18,2:1-11,3:0-13,18:0-5,19,21:0-2,22:0-5,23:0-4.
func kfakeApiVersions(t *testing.T, addr string) *kmsg.ApiVersionsResponse {
	t.Helper()
	c, err := dialRaw(addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.conn.Close()
	r, err := c.do(apiVersions())
	if err != nil {
		t.Fatalf("kfake ApiVersions: %v", err)
	}
	resp := r.(*kmsg.ApiVersionsResponse)
	spec := os.Getenv("WEIR_INTEROP_KFAKE_APIS")
	if spec == "" {
		for i := range resp.ApiKeys {
			if resp.ApiKeys[i].ApiKey == 0 {
				resp.ApiKeys[i].MinVersion = 0
			}
		}
		return resp
	}
	have := map[int16]kmsg.ApiVersionsResponseApiKey{}
	for _, k := range resp.ApiKeys {
		have[k.ApiKey] = k
	}
	resp.ApiKeys = nil
	for _, item := range strings.Split(spec, ",") {
		ks, rng, _ := strings.Cut(strings.TrimSpace(item), ":")
		key, err := strconv.Atoi(ks)
		k, ok := have[int16(key)]
		if err != nil || !ok {
			t.Fatalf("WEIR_INTEROP_KFAKE_APIS: %q: not a key kfake serves", item)
		}
		if rng != "" {
			lo, hi, _ := strings.Cut(rng, "-")
			minV, err1 := strconv.Atoi(lo)
			maxV, err2 := strconv.Atoi(hi)
			if err1 != nil || err2 != nil || minV > maxV {
				t.Fatalf("WEIR_INTEROP_KFAKE_APIS: %q: want key:min-max", item)
			}
			// Never above what kfake serves: it drops the connection.
			k.MinVersion, k.MaxVersion = int16(minV), min(int16(maxV), k.MaxVersion)
			if k.MinVersion > k.MaxVersion {
				t.Fatalf("WEIR_INTEROP_KFAKE_APIS: %q: kfake serves %s up to v%d", item, kmsg.NameForKey(k.ApiKey), k.MaxVersion)
			}
		}
		resp.ApiKeys = append(resp.ApiKeys, k)
	}
	sort.Slice(resp.ApiKeys, func(i, j int) bool { return resp.ApiKeys[i].ApiKey < resp.ApiKeys[j].ApiKey })
	return resp
}

// observeAPIs starts recording the requests the broker at bootstrap gets
// (kfake only) and returns a function that logs them for client.
func observeAPIs(t *testing.T, bootstrap, client string) (report func()) {
	v, ok := kfakeLogs.Load(bootstrap)
	if !ok {
		return func() {}
	}
	log := v.(*apiLog)
	log.reset()
	return func() { t.Logf("APIs %s sent (kfake): %s", client, log) }
}

// seedList splits a bootstrap list, host:port[,host:port...].
func seedList(bootstrap string) []string { return strings.Split(bootstrap, ",") }

// interopTopic creates a fresh topic of interopParts partitions through
// the brokers of bootstrap, each partition with a replica on every one of
// them (up to 3: one on a single node, three on a cluster), waits until
// every one of them names the same leader for every partition
// (waitLeaders), and returns its name and id. Its partitions must be spread over as many leaders as
// bootstrap names brokers (up to interopParts): weir places partition p of
// a new topic on broker p%n+1, so a cluster's clients meet every broker.
func interopTopic(t *testing.T, bootstrap, client string) (string, [16]byte) {
	t.Helper()
	topic := fmt.Sprintf("interop-%s-%d", client, time.Now().UnixNano())
	cl, err := kgo.NewClient(kgo.SeedBrokers(seedList(bootstrap)...), kgo.RetryTimeout(5*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	rf := int16(min(len(seedList(bootstrap)), 3))
	resp, err := kadm.NewClient(cl).CreateTopic(ctx, interopParts, rf, nil, topic)
	if err == nil {
		err = resp.Err
	}
	if err != nil {
		t.Fatalf("create topic %s: %v", topic, err)
	}
	leaders, id := waitLeaders(t, bootstrap, topic, interopParts)
	distinct := map[int32]bool{}
	for _, l := range leaders {
		distinct[l] = true
	}
	if want := min(len(seedList(bootstrap)), interopParts); len(distinct) != want {
		t.Errorf("topic %s: partitions led by %v, want %d different brokers", topic, leaders, want)
	}
	return topic, id
}

// waitLeaders waits (10 s at most) until every broker of bootstrap answers
// Metadata with topic's parts partitions, each with the same leader on
// every broker, and returns the leaders by partition and the topic id.
func waitLeaders(t *testing.T, bootstrap, topic string, parts int) ([]int32, [16]byte) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		var leaders []int32
		var id [16]byte
		agree := true
		for _, seed := range seedList(bootstrap) {
			l, tid, err := leadersOn(seed, topic, parts)
			if err != nil || leaders != nil && !slices.Equal(l, leaders) {
				agree = false
				if time.Now().After(deadline) {
					t.Fatalf("topic %s: %s says leaders %v (%v), others %v after 10 s", topic, seed, l, err, leaders)
				}
				break
			}
			leaders, id = l, tid
		}
		if agree {
			return leaders, id
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// leadersOn is topic's leaders by partition as the broker at addr answers
// Metadata; an error unless it has parts partitions, each led.
func leadersOn(addr, topic string, parts int) ([]int32, [16]byte, error) {
	c, err := dialRaw(addr)
	if err != nil {
		return nil, [16]byte{}, err
	}
	defer c.conn.Close()
	c.conn.SetDeadline(time.Now().Add(2 * time.Second))
	resp, err := c.do(metadataAll())
	if err != nil {
		return nil, [16]byte{}, err
	}
	for _, tp := range resp.(*kmsg.MetadataResponse).Topics {
		if tp.Topic == nil || *tp.Topic != topic {
			continue
		}
		if tp.ErrorCode != 0 || len(tp.Partitions) != parts {
			return nil, tp.TopicID, fmt.Errorf("error %d, %d partitions", tp.ErrorCode, len(tp.Partitions))
		}
		leaders := make([]int32, parts)
		for _, p := range tp.Partitions {
			if p.ErrorCode != 0 || p.Leader < 0 || int(p.Partition) >= parts {
				return nil, tp.TopicID, fmt.Errorf("partition %d: error %d, leader %d", p.Partition, p.ErrorCode, p.Leader)
			}
			leaders[p.Partition] = p.Leader
		}
		return leaders, tp.TopicID, nil
	}
	return nil, [16]byte{}, fmt.Errorf("no topic %s", topic)
}

// irec is one record as produced or consumed. Nil Key or Value is null.
type irec struct {
	P    int32
	O    int64 // offset; -1 when not known (records to produce)
	Key  []byte
	Val  []byte
	Hdrs []ihdr
}

type ihdr struct {
	Key string
	Val []byte
}

// genRecords makes n records over interopParts partitions, in runs of 4 per
// partition. printable records suit line-based tools (kcat): every key
// present, values of [0-9a-z-] only, fixed headers per partition. Otherwise
// values are binary and some keys and values are null or empty.
func genRecords(n int, printable bool) []irec {
	recs := make([]irec, n)
	for i := range recs {
		r := irec{P: int32((i / 4) % interopParts), O: -1, Key: fmt.Appendf(nil, "key-%04d", i)}
		if printable {
			v := fmt.Appendf(nil, "value-%04d-", i)
			v = append(v, bytes.Repeat([]byte{byte('a' + i%26)}, (i*37)%700)...)
			if i%97 == 50 {
				v = append(v, bytes.Repeat([]byte("0123456789"), 1600)...) // ~16 KiB
			}
			r.Val = v
			r.Hdrs = []ihdr{{"src", []byte("kcat")}, {"part", fmt.Appendf(nil, "p%d", r.P)}}
			recs[i] = r
			continue
		}
		rng := rand.New(rand.NewPCG(uint64(i), 0x7765697221))
		v := fmt.Appendf(nil, "v%04d|", i)
		for range i % 64 { // incompressible bytes, 0x00..0xff
			v = append(v, byte(rng.Uint32()))
		}
		v = append(v, bytes.Repeat([]byte{byte(i), 0, 0xff, '\n'}, (i*13)%500)...)
		if i%97 == 50 {
			v = append(v, bytes.Repeat([]byte("weir interop "), 1300)...) // ~16 KiB
		}
		r.Val = v
		switch {
		case i%37 == 5:
			r.Key = nil
		case i%31 == 6:
			r.Key = []byte{}
		}
		switch {
		case i%43 == 4:
			r.Val = nil
		case i%41 == 3:
			r.Val = []byte{}
		}
		r.Hdrs = []ihdr{{"seq", []byte(strconv.Itoa(i))}, {"bin", binary.BigEndian.AppendUint32(nil, uint32(i))}}
		if i%5 == 0 {
			r.Hdrs = append(r.Hdrs, ihdr{"empty", []byte{}})
		}
		if i%11 == 0 {
			r.Hdrs = append(r.Hdrs, ihdr{"seq", []byte("dup")}) // repeated names keep their order
		}
		if i%7 == 0 {
			r.Hdrs = nil
		}
		recs[i] = r
	}
	return recs
}

// cmpOpts say what a client cannot tell apart.
type cmpOpts struct {
	nullIsEmpty bool // the client reads (or writes) null keys/values as empty
}

// compareRecords checks got (consumed, in arrival order) against want (as
// produced, in send order): the exact count, and per partition the order,
// offsets from 0 (fresh topic) and bytes. delivered, where the producer
// reported them, are the offsets the broker acknowledged for want[i].
func compareRecords(t *testing.T, want, got []irec, delivered map[int]irec, o cmpOpts) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("consumed %d records, produced %d", len(got), len(want))
	}
	wantBy := map[int32][]int{} // partition -> indexes into want
	for i, r := range want {
		wantBy[r.P] = append(wantBy[r.P], i)
	}
	gotBy := map[int32][]irec{}
	for _, r := range got {
		gotBy[r.P] = append(gotBy[r.P], r)
	}
	bad := 0
	errorf := func(format string, args ...any) {
		bad++
		if bad <= 10 {
			t.Errorf(format, args...)
		}
	}
	for p := int32(0); p < interopParts; p++ {
		w, g := wantBy[p], gotBy[p]
		if len(g) != len(w) {
			errorf("partition %d: consumed %d records, produced %d", p, len(g), len(w))
		}
		for j := 0; j < len(w) && j < len(g); j++ {
			wr, gr := want[w[j]], g[j]
			if gr.O != int64(j) {
				errorf("partition %d record %d (#%d): offset %d, want %d", p, j, w[j], gr.O, j)
			}
			if d, ok := delivered[w[j]]; ok && (d.P != p || d.O != int64(j)) {
				errorf("record #%d: producer was told partition %d offset %d, consumed at %d/%d", w[j], d.P, d.O, p, j)
			}
			if !irecSameBytes(wr.Key, gr.Key, o) {
				errorf("partition %d offset %d (#%d): key %s, want %s", p, j, w[j], irecShow(gr.Key), irecShow(wr.Key))
			}
			if !irecSameBytes(wr.Val, gr.Val, o) {
				errorf("partition %d offset %d (#%d): value %s, want %s", p, j, w[j], irecShow(gr.Val), irecShow(wr.Val))
			}
			if !irecSameHeaders(wr.Hdrs, gr.Hdrs) {
				errorf("partition %d offset %d (#%d): headers %s, want %s", p, j, w[j], irecShowHdrs(gr.Hdrs), irecShowHdrs(wr.Hdrs))
			}
		}
	}
	for p := range gotBy {
		if p < 0 || p >= interopParts {
			errorf("consumed %d records from partition %d, which does not exist", len(gotBy[p]), p)
		}
	}
	if len(delivered) > 0 && len(delivered) != len(want) {
		errorf("producer reported %d deliveries, want %d", len(delivered), len(want))
	}
	if bad > 10 {
		t.Errorf("... and %d more mismatches", bad-10)
	}
}

func irecSameBytes(want, got []byte, o cmpOpts) bool {
	if !o.nullIsEmpty && (want == nil) != (got == nil) {
		return false
	}
	return bytes.Equal(want, got)
}

func irecSameHeaders(want, got []ihdr) bool {
	if len(want) != len(got) {
		return false
	}
	for i := range want {
		if want[i].Key != got[i].Key || !bytes.Equal(want[i].Val, got[i].Val) {
			return false
		}
	}
	return true
}

func irecShow(b []byte) string {
	if b == nil {
		return "null"
	}
	if len(b) > 40 {
		return fmt.Sprintf("%q...(%d bytes)", b[:40], len(b))
	}
	return fmt.Sprintf("%q", b)
}

func irecShowHdrs(h []ihdr) string {
	var s []string
	for _, x := range h {
		s = append(s, x.Key+"="+irecShow(x.Val))
	}
	return "[" + strings.Join(s, " ") + "]"
}

// storedCodecs fetches the whole topic with a raw Fetch from each
// partition's leader and counts its record batches by compression codec, as
// the brokers store and serve them.
func storedCodecs(t *testing.T, bootstrap, topic string, id [16]byte) map[string]int {
	t.Helper()
	leaders, _ := waitLeaders(t, bootstrap, topic, interopParts)
	cl, err := kgo.NewClient(kgo.SeedBrokers(seedList(bootstrap)...), kgo.RetryTimeout(5*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	codecs := map[string]int{}
	for p := int32(0); p < interopParts; p++ {
		next := int64(0)
		for range 100 {
			req := kmsg.NewPtrFetchRequest()
			req.ReplicaID = -1
			req.MaxWaitMillis = 100
			req.MinBytes = 1
			req.MaxBytes = 8 << 20
			rt := kmsg.NewFetchRequestTopic()
			rt.Topic, rt.TopicID = topic, id
			rp := kmsg.NewFetchRequestTopicPartition()
			rp.Partition, rp.FetchOffset, rp.PartitionMaxBytes = p, next, 4<<20
			rp.CurrentLeaderEpoch, rp.LogStartOffset = -1, -1
			rt.Partitions = append(rt.Partitions, rp)
			req.Topics = append(req.Topics, rt)
			resp, err := req.RequestWith(ctx, cl.Broker(int(leaders[p])))
			if err != nil {
				t.Fatalf("raw fetch %s/%d@%d from broker %d: %v", topic, p, next, leaders[p], err)
			}
			if len(resp.Topics) != 1 || len(resp.Topics[0].Partitions) != 1 {
				t.Fatalf("raw fetch %s/%d: %d topics in the response", topic, p, len(resp.Topics))
			}
			rp2 := resp.Topics[0].Partitions[0]
			if rp2.ErrorCode != 0 {
				t.Fatalf("raw fetch %s/%d@%d: error code %d", topic, p, next, rp2.ErrorCode)
			}
			if next >= rp2.HighWatermark {
				break
			}
			n := batchCodecs(rp2.RecordBatches, codecs)
			if n < 0 {
				t.Fatalf("raw fetch %s/%d@%d: no whole batch below high watermark %d (%d bytes)",
					topic, p, next, rp2.HighWatermark, len(rp2.RecordBatches))
			}
			next = n
		}
	}
	return codecs
}

// countBatches counts the whole v2 record batches in b by compression codec
// and returns the offset after the last one, or -1 if there is none.
func batchCodecs(b []byte, codecs map[string]int) (next int64) {
	next = -1
	for len(b) >= 61 {
		size := 12 + int(int32(binary.BigEndian.Uint32(b[8:])))
		if size < 61 || size > len(b) {
			break // a partial batch at the end
		}
		codec := "magic" + strconv.Itoa(int(b[16]))
		if b[16] == 2 {
			attrs := binary.BigEndian.Uint16(b[21:])
			codec = strconv.Itoa(int(attrs & 7))
			if names := []string{"none", "gzip", "snappy", "lz4", "zstd"}; int(attrs&7) < len(names) {
				codec = names[attrs&7]
			}
		}
		codecs[codec]++
		next = int64(binary.BigEndian.Uint64(b)) + int64(binary.BigEndian.Uint32(b[23:])) + 1
		b = b[size:]
	}
	return next
}

// wantStoredCodec checks that the topic's batches are stored in codec.
func wantStoredCodec(t *testing.T, bootstrap, topic string, id [16]byte, codec string) {
	t.Helper()
	got := storedCodecs(t, bootstrap, topic, id)
	t.Logf("stored batches by codec: %v", got)
	if got[codec] == 0 {
		t.Errorf("no batch stored with %s: %v", codec, got)
		if got["none"] > 0 && codec != "zstd" {
			t.Logf("librdkafka 2.0.2 sends gzip, snappy and lz4 uncompressed unless ApiVersions " +
				"advertises Produce from v0, and lz4 also FindCoordinator from v0 (librdkafka#4956); " +
				"Kafka 4 advertises Produce v0-v2 for this and rejects them when used (KAFKA-18659)")
		}
	}
}

// kgoReadsBack consumes the topic from the start with franz-go (a direct
// consumer, no group) and compares it with want: a second reader, which
// tells null from empty, of what the client under test produced.
func kgoReadsBack(t *testing.T, bootstrap, topic string, want []irec) {
	t.Run("franz-go reads back", func(t *testing.T) {
		compareRecords(t, want, kgoConsume(t, bootstrap, topic, len(want)), nil, cmpOpts{})
	})
}

// kgoConsume reads topic from the start with franz-go, every partition
// directly (no group), until it has n records, then briefly for more.
func kgoConsume(t *testing.T, bootstrap, topic string, n int) []irec {
	t.Helper()
	parts := map[int32]kgo.Offset{}
	for p := int32(0); p < interopParts; p++ {
		parts[p] = kgo.NewOffset().AtStart()
	}
	cl, err := kgo.NewClient(kgo.SeedBrokers(seedList(bootstrap)...), kgo.RetryTimeout(5*time.Second),
		kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{topic: parts}), kgo.FetchMaxWait(200*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), interopRunTimeout)
	defer cancel()
	var got []irec
	poll := func(ctx context.Context) {
		fs := cl.PollFetches(ctx)
		fs.EachError(func(topic string, p int32, err error) {
			if !errors.Is(err, context.DeadlineExceeded) {
				t.Errorf("franz-go fetch %s/%d: %v", topic, p, err)
			}
		})
		fs.EachRecord(func(r *kgo.Record) {
			g := irec{P: r.Partition, O: r.Offset, Key: r.Key, Val: r.Value}
			for _, h := range r.Headers {
				g.Hdrs = append(g.Hdrs, ihdr{h.Key, h.Value})
			}
			got = append(got, g)
		})
	}
	for len(got) < n && ctx.Err() == nil && !t.Failed() {
		poll(ctx)
	}
	// More than was produced is caught by compareRecords.
	extra, cancelExtra := context.WithTimeout(ctx, 300*time.Millisecond)
	poll(extra)
	cancelExtra()
	return got
}

// ---- script clients (Python, Node.js) ----

var interopPythonCache sync.Map // module -> interpreter path, or "" if none

// pythonFor finds a python3 that imports module, or skips the test.
func pythonFor(t *testing.T, module, debPkg string) string {
	t.Helper()
	if v, ok := interopPythonCache.Load(module); ok {
		if v.(string) == "" {
			t.Skipf("no python3 here imports %s (Debian %s; make deps)", module, debPkg)
		}
		return v.(string)
	}
	var cands []string
	if p := os.Getenv("WEIR_INTEROP_PYTHON"); p != "" {
		cands = append(cands, p)
	}
	cands = append(cands, "/usr/bin/python3")
	if p, err := exec.LookPath("python3"); err == nil {
		cands = append(cands, p)
	}
	found := ""
	for _, py := range cands {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		err := exec.CommandContext(ctx, py, "-c", "import "+module).Run()
		cancel()
		if err == nil {
			found = py
			break
		}
	}
	interopPythonCache.Store(module, found)
	if found == "" {
		t.Skipf("no python3 here imports %s (tried %v; Debian %s; make deps)", module, cands, debPkg)
	}
	return found
}

// interopScriptOut is what a script printed.
type interopScriptOut struct {
	records   []irec
	delivered map[int]irec
	summary   map[string]any
}

type interopScriptLine struct {
	Delivered *struct {
		I int   `json:"i"`
		P int32 `json:"p"`
		O int64 `json:"o"`
	} `json:"delivered"`
	Record *struct {
		P int32        `json:"p"`
		O int64        `json:"o"`
		K *string      `json:"k"`
		V *string      `json:"v"`
		H [][2]*string `json:"h"`
	} `json:"record"`
	Summary map[string]any `json:"summary"`
}

// runScript runs testdata/interop/script under the interpreter (python3 or
// node): BOOTSTRAP TOPIC COUNT MODE opts..., feeding recs (if any) as JSON
// lines on stdin, and parses its output (see testdata/interop/common.py).
func runScript(t *testing.T, interp, script, bootstrap, topic string, count int, mode string, recs []irec, opts ...string) interopScriptOut {
	t.Helper()
	path, err := filepath.Abs(filepath.Join("testdata", "interop", script))
	if err != nil {
		t.Fatal(err)
	}
	var in bytes.Buffer
	enc := json.NewEncoder(&in)
	for _, r := range recs {
		h := make([][2]*string, len(r.Hdrs))
		for i, x := range r.Hdrs {
			k := x.Key
			h[i] = [2]*string{&k, interopB64(x.Val)}
		}
		enc.Encode(map[string]any{"p": r.P, "k": interopB64(r.Key), "v": interopB64(r.Val), "h": h})
	}
	ctx, cancel := context.WithTimeout(context.Background(), interopRunTimeout)
	defer cancel()
	args := append([]string{path, bootstrap, topic, strconv.Itoa(count), mode, "timeout=" + interopScriptTimeout}, opts...)
	cmd := exec.CommandContext(ctx, interp, args...)
	cmd.Stdin = &in
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	cmd.Env = append(os.Environ(), "PYTHONDONTWRITEBYTECODE=1", "PYTHONUNBUFFERED=1")
	cmd.WaitDelay = 2 * time.Second
	start := time.Now()
	err = cmd.Run()
	var ee *exec.ExitError
	if errors.As(err, &ee) && ee.ExitCode() == 77 {
		t.Skipf("%s: client module missing:\n%s", script, stderr.String())
	}
	if err != nil {
		t.Fatalf("%s %s %v after %v: %v\nstderr:\n%s\nstdout (last 2000 bytes):\n%s", script, mode, opts,
			time.Since(start).Round(time.Millisecond), err, stderr.String(), interopTail(stdout.String(), 2000))
	}
	out := interopScriptOut{delivered: map[int]irec{}}
	for _, line := range strings.Split(strings.TrimSpace(stdout.String()), "\n") {
		var l interopScriptLine
		if err := json.Unmarshal([]byte(line), &l); err != nil {
			t.Fatalf("%s: bad output line %q: %v", script, line, err)
		}
		switch {
		case l.Delivered != nil:
			out.delivered[l.Delivered.I] = irec{P: l.Delivered.P, O: l.Delivered.O}
		case l.Record != nil:
			r := irec{P: l.Record.P, O: l.Record.O, Key: interopUnb64(t, l.Record.K), Val: interopUnb64(t, l.Record.V)}
			for _, h := range l.Record.H {
				if h[0] == nil {
					t.Fatalf("%s: header without a name: %q", script, line)
				}
				r.Hdrs = append(r.Hdrs, ihdr{*h[0], interopUnb64(t, h[1])})
			}
			out.records = append(out.records, r)
		case l.Summary != nil:
			out.summary = l.Summary
		}
	}
	if out.summary == nil {
		t.Fatalf("%s %s: no summary line; stderr:\n%s", script, mode, stderr.String())
	}
	t.Logf("%s %s %v: %v in %v", script, mode, opts, out.summary, time.Since(start).Round(time.Millisecond))
	return out
}

func interopB64(b []byte) *string {
	if b == nil {
		return nil
	}
	s := base64.StdEncoding.EncodeToString(b)
	return &s
}

func interopUnb64(t *testing.T, s *string) []byte {
	if s == nil {
		return nil
	}
	b, err := base64.StdEncoding.DecodeString(*s)
	if err != nil {
		t.Fatalf("bad base64 %q: %v", *s, err)
	}
	return b
}

func interopTail(s string, n int) string {
	if len(s) > n {
		return "..." + s[len(s)-n:]
	}
	return s
}

// ---- the tests ----

// Each client's test is a driver that takes the bootstrap list
// (host:port[,host:port...]) of a running broker or cluster: the
// Test functions below run it against interopTarget, and
// TestInteropCluster3 against a 3-node cluster.

func TestInteropKcat(t *testing.T) {
	kcat := kcatPath(t)
	bootstrap, stop := interopTarget(t)
	defer stop()
	interopKcat(t, kcat, bootstrap)
}

func TestInteropKafkaPython(t *testing.T) {
	py := pythonFor(t, "kafka", "python3-kafka")
	bootstrap, stop := interopTarget(t)
	defer stop()
	interopKafkaPython(t, py, bootstrap)
}

func TestInteropConfluentKafka(t *testing.T) {
	py := pythonFor(t, "confluent_kafka", "python3-confluent-kafka")
	for _, c := range confluentCodecs {
		t.Run(c.codec, func(t *testing.T) {
			bootstrap, stop := interopTarget(t)
			defer stop()
			interopConfluentKafka(t, py, bootstrap, c.codec, c.idempotence)
		})
	}
}

func TestInteropSarama(t *testing.T) {
	bootstrap, stop := interopTarget(t)
	defer stop()
	interopSarama(t, bootstrap)
}

func TestInteropKafkaGo(t *testing.T) {
	bootstrap, stop := interopTarget(t)
	defer stop()
	interopKafkaGo(t, bootstrap)
}

func TestInteropFranzGo(t *testing.T) {
	bootstrap, stop := interopTarget(t)
	defer stop()
	interopFranzGo(t, bootstrap)
}

// kcatPath finds kcat or skips the test.
func kcatPath(t *testing.T) string {
	t.Helper()
	kcat, err := exec.LookPath("kcat")
	if err != nil {
		t.Skip("kcat not installed (make deps)")
	}
	return kcat
}

// kcat (librdkafka): -P per partition with -K: keys and -H headers, -C from
// the beginning to the end with a -f format, and -L (every broker of
// bootstrap listed, the partitions led by as many of them as interopTopic
// spread them over).
func interopKcat(t *testing.T, kcat, bootstrap string) {
	topic, _ := interopTopic(t, bootstrap, "kcat")
	report := observeAPIs(t, bootstrap, "kcat")
	recs := genRecords(interopRecords, true)

	run := func(stdin []byte, args ...string) []byte {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), interopRunTimeout)
		defer cancel()
		cmd := exec.CommandContext(ctx, kcat, append([]string{"-b", bootstrap, "-X", "socket.timeout.ms=10000"}, args...)...)
		cmd.Stdin = bytes.NewReader(stdin)
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		cmd.WaitDelay = 2 * time.Second
		if err := cmd.Run(); err != nil {
			t.Fatalf("kcat %v: %v\nstderr:\n%s", args, err, stderr.String())
		}
		if s := stderr.String(); strings.Contains(s, "ERROR") || strings.Contains(s, "failed") {
			t.Errorf("kcat %v stderr:\n%s", args, s)
		}
		return stdout.Bytes()
	}

	t.Run("produce", func(t *testing.T) {
		for p := int32(0); p < interopParts; p++ {
			var in bytes.Buffer
			var hdrs []string
			for _, r := range recs {
				if r.P == p {
					fmt.Fprintf(&in, "%s:%s\n", r.Key, r.Val)
					if hdrs == nil {
						for _, h := range r.Hdrs {
							hdrs = append(hdrs, "-H", h.Key+"="+string(h.Val))
						}
					}
				}
			}
			args := append([]string{"-P", "-t", topic, "-p", strconv.Itoa(int(p)), "-K", ":",
				"-X", "acks=all", "-X", "linger.ms=5"}, hdrs...)
			run(in.Bytes(), args...)
		}
	})

	t.Run("consume", func(t *testing.T) {
		out := run(nil, "-C", "-t", topic, "-o", "beginning", "-e", "-f", "%p\t%o\t%K\t%k\t%S\t%s\t%h\n")
		var got []irec
		for _, line := range strings.Split(strings.TrimSuffix(string(out), "\n"), "\n") {
			if line == "" {
				continue
			}
			f := strings.SplitN(line, "\t", 7)
			if len(f) != 7 {
				t.Fatalf("kcat line %q: %d fields", interopTail(line, 200), len(f))
			}
			p, _ := strconv.Atoi(f[0])
			o, _ := strconv.ParseInt(f[1], 10, 64)
			r := irec{P: int32(p), O: o, Key: []byte(f[3]), Val: []byte(f[5])}
			if f[2] == "-1" {
				r.Key = nil
			}
			if f[4] == "-1" {
				r.Val = nil
			}
			if kl, _ := strconv.Atoi(f[2]); kl != len(f[3]) && kl != -1 {
				t.Errorf("kcat says key length %s, printed %d bytes", f[2], len(f[3]))
			}
			if f[6] != "" {
				for _, kv := range strings.Split(f[6], ",") {
					k, v, _ := strings.Cut(kv, "=")
					r.Hdrs = append(r.Hdrs, ihdr{k, []byte(v)})
				}
			}
			got = append(got, r)
		}
		compareRecords(t, recs, got, nil, cmpOpts{})
	})

	t.Run("list", func(t *testing.T) {
		out := run(nil, "-L", "-J", "-t", topic)
		var md struct {
			Brokers []struct {
				ID   int32  `json:"id"`
				Name string `json:"name"`
			} `json:"brokers"`
			Topics []struct {
				Topic      string `json:"topic"`
				Error      string `json:"error"`
				Partitions []struct {
					Partition int32  `json:"partition"`
					Leader    int32  `json:"leader"`
					Error     string `json:"error"`
				} `json:"partitions"`
			} `json:"topics"`
		}
		if err := json.Unmarshal(out, &md); err != nil {
			t.Fatalf("kcat -L -J: %v\n%s", err, out)
		}
		seeds := seedList(bootstrap)
		ids := map[int32]bool{}
		for _, b := range md.Brokers {
			ids[b.ID] = true
			if !slices.Contains(seeds, b.Name) {
				t.Errorf("kcat -L broker %d at %s, not one of %v", b.ID, b.Name, seeds)
			}
		}
		if len(md.Brokers) != len(seeds) || len(ids) != len(seeds) {
			t.Errorf("kcat -L brokers %+v, want one at each of %v", md.Brokers, seeds)
		}
		if len(md.Topics) != 1 || md.Topics[0].Topic != topic || md.Topics[0].Error != "" ||
			len(md.Topics[0].Partitions) != interopParts {
			t.Fatalf("kcat -L topics: %s", out)
		}
		leaders := map[int32]bool{}
		for _, p := range md.Topics[0].Partitions {
			leaders[p.Leader] = true
			if !ids[p.Leader] || p.Error != "" {
				t.Errorf("kcat -L partition %+v, want a leader among the brokers", p)
			}
		}
		if want := min(len(seeds), interopParts); len(leaders) != want {
			t.Errorf("kcat -L: partitions led by %d brokers, want %d: %s", len(leaders), want, out)
		}
	})
	report()
	kgoReadsBack(t, bootstrap, topic, recs)
}

// kafka-python: KafkaProducer (gzip) and KafkaConsumer in assign mode.
func interopKafkaPython(t *testing.T, py, bootstrap string) {
	topic, id := interopTopic(t, bootstrap, "kafka-python")
	report := observeAPIs(t, bootstrap, "kafka-python")
	recs := genRecords(interopRecords, false)
	prod := runScript(t, py, "kafka_python_client.py", bootstrap, topic, len(recs), "produce", recs, "compression=gzip")
	cons := runScript(t, py, "kafka_python_client.py", bootstrap, topic, len(recs), "consume", nil)
	report()
	compareRecords(t, recs, cons.records, prod.delivered, cmpOpts{})
	kgoReadsBack(t, bootstrap, topic, recs)
	wantStoredCodec(t, bootstrap, topic, id, "gzip")
}

// The confluent-kafka runs: lz4 with the idempotent producer, zstd without.
var confluentCodecs = []struct{ codec, idempotence string }{{"lz4", "true"}, {"zstd", "false"}}

// confluent-kafka (librdkafka): Producer with codec; Consumer in assign mode.
func interopConfluentKafka(t *testing.T, py, bootstrap, codec, idempotence string) {
	topic, id := interopTopic(t, bootstrap, "confluent-"+codec)
	report := observeAPIs(t, bootstrap, "confluent-kafka "+codec+" idempotence="+idempotence)
	recs := genRecords(interopRecords, false)
	prod := runScript(t, py, "confluent_client.py", bootstrap, topic, len(recs), "produce", recs,
		"compression="+codec, "idempotence="+idempotence)
	cons := runScript(t, py, "confluent_client.py", bootstrap, topic, len(recs), "consume", nil)
	report()
	compareRecords(t, recs, cons.records, prod.delivered, cmpOpts{})
	kgoReadsBack(t, bootstrap, topic, recs)
	wantStoredCodec(t, bootstrap, topic, id, codec)
}

// sarama at protocol version 2.8: idempotent SyncProducer (snappy, manual
// partitioner) and a partition consumer per partition.
func interopSarama(t *testing.T, bootstrap string) {
	topic, id := interopTopic(t, bootstrap, "sarama")
	report := observeAPIs(t, bootstrap, "sarama V2_8_0_0")
	recs := genRecords(interopRecords, false)

	cfg := sarama.NewConfig()
	cfg.Version = sarama.V2_8_0_0
	cfg.ClientID = "weir-interop-sarama"
	cfg.Net.DialTimeout, cfg.Net.ReadTimeout, cfg.Net.WriteTimeout = 10*time.Second, 10*time.Second, 10*time.Second
	cfg.Metadata.Retry.Max = 3
	cfg.Producer.Return.Successes = true
	cfg.Producer.RequiredAcks = sarama.WaitForAll
	cfg.Producer.Partitioner = sarama.NewManualPartitioner
	cfg.Producer.Compression = sarama.CompressionSnappy
	// Idempotent, so retries (sarama can fail a first send with "broker not
	// connected" under load) are safe: the broker drops duplicates.
	cfg.Producer.Idempotent = true
	cfg.Net.MaxOpenRequests = 1
	cfg.Producer.Retry.Max = 5
	cfg.Producer.Retry.Backoff = 50 * time.Millisecond
	cfg.Consumer.Return.Errors = true
	cfg.Consumer.MaxWaitTime = 200 * time.Millisecond

	delivered := map[int]irec{}
	func() {
		p, err := sarama.NewSyncProducer(seedList(bootstrap), cfg)
		if err != nil {
			t.Fatalf("sarama producer: %v", err)
		}
		defer p.Close()
		msgs := make([]*sarama.ProducerMessage, len(recs))
		for i, r := range recs {
			m := &sarama.ProducerMessage{Topic: topic, Partition: r.P, Metadata: i}
			if r.Key != nil {
				m.Key = sarama.ByteEncoder(r.Key)
			}
			if r.Val != nil {
				m.Value = sarama.ByteEncoder(r.Val)
			}
			for _, h := range r.Hdrs {
				m.Headers = append(m.Headers, sarama.RecordHeader{Key: []byte(h.Key), Value: h.Val})
			}
			msgs[i] = m
		}
		// Several messages a call, so that batches hold many records.
		for i := 0; i < len(msgs); i += 50 {
			if err := p.SendMessages(msgs[i:min(i+50, len(msgs))]); err != nil {
				var errs sarama.ProducerErrors
				if errors.As(err, &errs) && len(errs) > 0 {
					t.Fatalf("sarama SendMessages: %v (first: %v)", err, errs[0].Err)
				}
				t.Fatalf("sarama SendMessages: %v", err)
			}
		}
		for _, m := range msgs {
			delivered[m.Metadata.(int)] = irec{P: m.Partition, O: m.Offset}
		}
	}()

	var got []irec
	func() {
		c, err := sarama.NewConsumer(seedList(bootstrap), cfg)
		if err != nil {
			t.Fatalf("sarama consumer: %v", err)
		}
		defer c.Close()
		wantBy := map[int32]int{}
		for _, r := range recs {
			wantBy[r.P]++
		}
		deadline := time.After(interopRunTimeout)
		for p := int32(0); p < interopParts; p++ {
			pc, err := c.ConsumePartition(topic, p, sarama.OffsetOldest)
			if err != nil {
				t.Fatalf("sarama ConsumePartition %d: %v", p, err)
			}
			take := func(m *sarama.ConsumerMessage) {
				r := irec{P: m.Partition, O: m.Offset, Key: m.Key, Val: m.Value}
				for _, h := range m.Headers {
					r.Hdrs = append(r.Hdrs, ihdr{string(h.Key), h.Value})
				}
				got = append(got, r)
			}
			for n := 0; n < wantBy[p]; n++ {
				select {
				case m := <-pc.Messages():
					take(m)
				case err := <-pc.Errors():
					t.Fatalf("sarama partition %d: %v", p, err)
				case <-deadline:
					t.Fatalf("sarama partition %d: %d of %d records before the deadline", p, n, wantBy[p])
				}
			}
			// More than was produced is caught by compareRecords.
			select {
			case m := <-pc.Messages():
				take(m)
			case <-time.After(300 * time.Millisecond):
			}
			pc.Close()
		}
	}()
	report()
	compareRecords(t, recs, got, delivered, cmpOpts{})
	kgoReadsBack(t, bootstrap, topic, recs)
	wantStoredCodec(t, bootstrap, topic, id, "snappy")
}

// kafka-go: a Writer (partition chosen by a Balancer) and a Reader per
// partition without a group.
func interopKafkaGo(t *testing.T, bootstrap string) {
	topic, _ := interopTopic(t, bootstrap, "kafka-go")
	report := observeAPIs(t, bootstrap, "kafka-go")
	recs := genRecords(interopRecords, false)

	// The writer's messages carry their index in an "i" header first;
	// the balancer and the completion read it, and it is dropped on read.
	idx := func(m kafka.Message) int {
		i, _ := strconv.Atoi(string(m.Headers[0].Value))
		return i
	}
	delivered := map[int]irec{}
	var mu sync.Mutex
	w := &kafka.Writer{
		Addr:  kafka.TCP(seedList(bootstrap)...),
		Topic: topic,
		Balancer: kafka.BalancerFunc(func(m kafka.Message, _ ...int) int {
			return int(recs[idx(m)].P)
		}),
		BatchSize:    100,
		BatchTimeout: 10 * time.Millisecond,
		RequiredAcks: kafka.RequireAll,
		MaxAttempts:  1,
		ReadTimeout:  10 * time.Second,
		WriteTimeout: 10 * time.Second,
		Completion: func(ms []kafka.Message, err error) {
			mu.Lock()
			defer mu.Unlock()
			if err == nil {
				for _, m := range ms {
					delivered[idx(m)] = irec{P: int32(m.Partition), O: m.Offset}
				}
			}
		},
	}
	msgs := make([]kafka.Message, len(recs))
	for i, r := range recs {
		m := kafka.Message{Key: r.Key, Value: r.Val, Headers: []kafka.Header{{Key: "i", Value: []byte(strconv.Itoa(i))}}}
		for _, h := range r.Hdrs {
			m.Headers = append(m.Headers, kafka.Header{Key: h.Key, Value: h.Val})
		}
		msgs[i] = m
	}
	ctx, cancel := context.WithTimeout(context.Background(), interopRunTimeout)
	defer cancel()
	if err := w.WriteMessages(ctx, msgs...); err != nil {
		w.Close()
		t.Fatalf("kafka-go WriteMessages: %v", err)
	}
	if err := w.Close(); err != nil {
		t.Fatalf("kafka-go writer close: %v", err)
	}
	// The writer's own header is not part of the records compared.
	want := make([]irec, len(recs))
	for i, r := range recs {
		r.Hdrs = append([]ihdr{{"i", []byte(strconv.Itoa(i))}}, r.Hdrs...)
		want[i] = r
	}

	wantBy := map[int32]int{}
	for _, r := range recs {
		wantBy[r.P]++
	}
	var got []irec
	for p := int32(0); p < interopParts; p++ {
		rd := kafka.NewReader(kafka.ReaderConfig{
			Brokers:   seedList(bootstrap),
			Topic:     topic,
			Partition: int(p),
			MinBytes:  1,
			MaxBytes:  8 << 20,
			MaxWait:   200 * time.Millisecond,
		})
		if err := rd.SetOffset(kafka.FirstOffset); err != nil {
			t.Fatal(err)
		}
		take := func(m kafka.Message) {
			r := irec{P: int32(m.Partition), O: m.Offset, Key: m.Key, Val: m.Value}
			for _, h := range m.Headers {
				r.Hdrs = append(r.Hdrs, ihdr{h.Key, h.Value})
			}
			got = append(got, r)
		}
		for n := 0; n < wantBy[p]; n++ {
			m, err := rd.ReadMessage(ctx)
			if err != nil {
				rd.Close()
				t.Fatalf("kafka-go partition %d: %d of %d records: %v", p, n, wantBy[p], err)
			}
			take(m)
		}
		// More than was produced is caught by compareRecords.
		extra, cancelExtra := context.WithTimeout(ctx, 300*time.Millisecond)
		if m, err := rd.ReadMessage(extra); err == nil {
			take(m)
		}
		cancelExtra()
		rd.Close()
	}
	report()
	// kafka-go's Reader returns an empty key or value as nil; franz-go,
	// reading back, tells them apart.
	compareRecords(t, want, got, delivered, cmpOpts{nullIsEmpty: true})
	kgoReadsBack(t, bootstrap, topic, want)
}

// franz-go: an idempotent producer (lz4, manual partitioner, acks all) and
// a direct consumer of every partition (kgoConsume).
func interopFranzGo(t *testing.T, bootstrap string) {
	topic, id := interopTopic(t, bootstrap, "franz-go")
	report := observeAPIs(t, bootstrap, "franz-go")
	recs := genRecords(interopRecords, false)
	cl, err := kgo.NewClient(kgo.SeedBrokers(seedList(bootstrap)...), kgo.RecordPartitioner(kgo.ManualPartitioner()),
		kgo.ProducerBatchCompression(kgo.Lz4Compression()), kgo.RequiredAcks(kgo.AllISRAcks()),
		kgo.ProducerLinger(5*time.Millisecond), kgo.RecordDeliveryTimeout(interopRunTimeout))
	if err != nil {
		t.Fatal(err)
	}
	delivered := map[int]irec{}
	var mu sync.Mutex
	ctx, cancel := context.WithTimeout(context.Background(), interopRunTimeout)
	defer cancel()
	for i, r := range recs {
		kr := &kgo.Record{Topic: topic, Partition: r.P, Key: r.Key, Value: r.Val}
		for _, h := range r.Hdrs {
			kr.Headers = append(kr.Headers, kgo.RecordHeader{Key: h.Key, Value: h.Val})
		}
		cl.Produce(ctx, kr, func(kr *kgo.Record, err error) {
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				t.Errorf("franz-go produce #%d: %v", i, err)
				return
			}
			delivered[i] = irec{P: kr.Partition, O: kr.Offset}
		})
	}
	if err := cl.Flush(ctx); err != nil {
		t.Fatalf("franz-go flush: %v", err)
	}
	cl.Close()
	got := kgoConsume(t, bootstrap, topic, len(recs))
	report()
	compareRecords(t, recs, got, delivered, cmpOpts{})
	wantStoredCodec(t, bootstrap, topic, id, "lz4")
}
