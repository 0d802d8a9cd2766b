package engine

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"io"
	"net"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/weirmq/weir/engine/metadata"
	"github.com/weirmq/weir/logstore"
	"github.com/weirmq/weir/netio"
)

// startDataBroker runs a real broker on a free port with the given netio
// backend, and a raw client that sends requests at exactly their version.
func startDataBroker(t *testing.T, io string) (*Broker, *rawClient) {
	t.Helper()
	b := newTestBroker(t, "listeners=PLAINTEXT://127.0.0.1:0")
	b.opts.IO, b.opts.Shards = io, 2
	if err := b.Start(); err != nil {
		t.Fatal(err)
	}
	return b, dialRaw(t, b.Servers()[0].Addr().String())
}

// rawClient speaks Kafka over one connection, one request at a time.
type rawClient struct {
	t    *testing.T
	addr string
	mu   sync.Mutex
	nc   net.Conn
	corr int32
}

func dialRaw(t *testing.T, addr string) *rawClient {
	nc, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nc.Close() })
	return &rawClient{t: t, addr: addr, nc: nc}
}

func (c *rawClient) request(req kmsg.Request) (kmsg.Response, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.corr++
	frame := kmsg.NewRequestFormatter(kmsg.FormatterClientID("raw")).AppendRequest(nil, req, c.corr)
	_ = c.nc.SetDeadline(time.Now().Add(15 * time.Second))
	if _, err := c.nc.Write(frame); err != nil {
		return nil, err
	}
	var size [4]byte
	if _, err := io.ReadFull(c.nc, size[:]); err != nil {
		return nil, err
	}
	body := make([]byte, binary.BigEndian.Uint32(size[:]))
	if _, err := io.ReadFull(c.nc, body); err != nil {
		return nil, err
	}
	resp := req.ResponseKind()
	if err := decodeResponse(append(size[:], body...), c.corr, req, resp); err != nil {
		return nil, err
	}
	return resp, nil
}

// addTestPartitions hosts topic with n partitions straight in the
// partition table, without the admin path, for data-path tests. The
// topic is registered in the metadata too, led by this node: the data
// path serves what the image says this node leads.
func addTestPartitions(t *testing.T, b *Broker, topic string, n int) {
	t.Helper()
	addTestPartitionsWith(t, b, topic, n, logstore.DefaultConfig())
}

func addTestPartitionsWith(t *testing.T, b *Broker, topic string, n int, cfg logstore.Config) {
	t.Helper()
	registerTestTopic(t, b, topic, n)
	tab := b.parts.Load().clone()
	id := testTopicID(topic)
	tab.byID[id] = topic
	for i := int32(0); i < int32(n); i++ {
		dir := filepath.Join(b.cfg.LogDirs[0], fmt.Sprintf("%s-%d", topic, i))
		l, err := logstore.Open(dir, topic, i, cfg, b.logOptions(), logstore.OpenState{})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { l.Close() })
		p, err := b.newPartition(topic, id, i, l, b.soleReplica(), time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		tab.byName[partitionKey{topic, i}] = p
	}
	b.parts.Store(tab)
}

// registerTestTopic commits topic with n partitions on this node alone
// (soleReplica) to the metadata and publishes the image, without the
// partition table (the caller hosts the partitions).
func registerTestTopic(t *testing.T, b *Broker, topic string, n int) {
	t.Helper()
	b.ctl.mu.Lock()
	defer b.ctl.mu.Unlock()
	id := testTopicID(topic)
	recs := []metadata.Record{metadata.TopicRecord{Name: topic, ID: id}}
	reg := b.soleReplica()
	for i := int32(0); i < int32(n); i++ {
		recs = append(recs, metadata.PartitionRecord{Partition: i, TopicID: id, Replicas: reg.Replicas,
			ISR: reg.ISR, Leader: reg.Leader, LeaderEpoch: reg.LeaderEpoch})
	}
	im, err := b.commitLocked(recs)
	if err != nil {
		t.Fatal(err)
	}
	b.image.Store(im)
}

// soleReplica is a partition's assignment on this node alone, as the
// controller makes it.
func (b *Broker) soleReplica() metadata.Partition {
	return metadata.Partition{Replicas: []int32{b.nodeID}, ISR: []int32{b.nodeID}, Leader: b.nodeID}
}

// testTopicID derives a topic id from the name, for tests.
func testTopicID(topic string) (id [16]byte) {
	copy(id[:], "id:"+topic+"________________")
	return id
}

// makeBatch encodes a magic-2 record batch the way clients do.
func makeBatch(pid int64, epoch int16, seq int32, values ...string) []byte {
	var recs []byte
	for i, v := range values {
		r := kmsg.Record{OffsetDelta: int32(i), Value: []byte(v)}
		r.Length = int32(len(r.AppendTo(nil)) - 1) // the length varint of 0 is one byte
		recs = r.AppendTo(recs)
	}
	now := time.Now().UnixMilli()
	rb := kmsg.RecordBatch{
		Magic: 2, LastOffsetDelta: int32(len(values) - 1), FirstTimestamp: now, MaxTimestamp: now,
		ProducerID: pid, ProducerEpoch: epoch, FirstSequence: seq, NumRecords: int32(len(values)),
		Records: recs,
	}
	raw := rb.AppendTo(nil)
	rb.Length = int32(len(raw) - 12)
	raw = rb.AppendTo(nil)
	rb.CRC = int32(crc32.Checksum(raw[21:], crc32.MakeTable(crc32.Castagnoli)))
	return rb.AppendTo(nil)
}

func produceReq(version int16, acks int16, topic string, parts map[int32][]byte) *kmsg.ProduceRequest {
	req := kmsg.NewPtrProduceRequest()
	req.Version, req.Acks, req.TimeoutMillis = version, acks, 5000
	rt := kmsg.NewProduceRequestTopic()
	rt.Topic, rt.TopicID = topic, testTopicID(topic)
	for p, recs := range parts {
		rp := kmsg.NewProduceRequestTopicPartition()
		rp.Partition, rp.Records = p, recs
		rt.Partitions = append(rt.Partitions, rp)
	}
	req.Topics = append(req.Topics, rt)
	return req
}

func send(t *testing.T, c *rawClient, req kmsg.Request) kmsg.Response {
	t.Helper()
	resp, err := c.request(req)
	if err != nil {
		t.Fatalf("%s v%d: %v", kmsg.NameForKey(req.Key()), req.GetVersion(), err)
	}
	return resp
}

func partitionResult(t *testing.T, resp *kmsg.ProduceResponse, p int32) kmsg.ProduceResponseTopicPartition {
	t.Helper()
	for _, tp := range resp.Topics[0].Partitions {
		if tp.Partition == p {
			return tp
		}
	}
	t.Fatalf("partition %d missing from response", p)
	return kmsg.ProduceResponseTopicPartition{}
}

func fetchReq(version int16, topic string, p int32, offset int64, maxWait int32) *kmsg.FetchRequest {
	req := kmsg.NewPtrFetchRequest()
	req.Version, req.MaxWaitMillis, req.MinBytes, req.MaxBytes = version, maxWait, 1, 50<<20
	req.SessionEpoch = -1
	rt := kmsg.NewFetchRequestTopic()
	rt.Topic, rt.TopicID = topic, testTopicID(topic)
	rp := kmsg.NewFetchRequestTopicPartition()
	rp.Partition, rp.FetchOffset, rp.PartitionMaxBytes = p, offset, 10<<20
	rp.CurrentLeaderEpoch = -1
	rt.Partitions = append(rt.Partitions, rp)
	req.Topics = append(req.Topics, rt)
	return req
}

func backendsForTest(t *testing.T) []string {
	return []string{netio.IOStd, netio.IOUring}
}

func TestProduceFetchRoundTrip(t *testing.T) {
	for _, backend := range backendsForTest(t) {
		t.Run(backend, func(t *testing.T) {
			b, cl := startDataBroker(t, backend)
			addTestPartitions(t, b, "events", 3)
			b1 := makeBatch(-1, -1, -1, "a", "b", "c")
			b2 := makeBatch(-1, -1, -1, "d")
			bad := makeBatch(-1, -1, -1, "x")
			bad[len(bad)-1] ^= 0xff // breaks the CRC
			resp := send(t, cl, produceReq(9, -1, "events", map[int32][]byte{0: b1, 1: bad, 7: b2})).(*kmsg.ProduceResponse)
			if r := partitionResult(t, resp, 0); r.ErrorCode != 0 || r.BaseOffset != 0 {
				t.Fatalf("partition 0: %+v", r)
			}
			if r := partitionResult(t, resp, 1); r.ErrorCode != kerr.CorruptMessage.Code {
				t.Fatalf("corrupt batch: error %d, want CORRUPT_MESSAGE", r.ErrorCode)
			}
			if r := partitionResult(t, resp, 7); r.ErrorCode != kerr.UnknownTopicOrPartition.Code {
				t.Fatalf("unknown partition: error %d", r.ErrorCode)
			}
			resp = send(t, cl, produceReq(3, 1, "events", map[int32][]byte{0: b2})).(*kmsg.ProduceResponse)
			if r := partitionResult(t, resp, 0); r.ErrorCode != 0 || r.BaseOffset != 3 {
				t.Fatalf("second append: %+v", r)
			}
			for v := int16(4); v <= 18; v++ {
				f := send(t, cl, fetchReq(v, "events", 0, 0, 0)).(*kmsg.FetchResponse)
				fp := f.Topics[0].Partitions[0]
				if fp.ErrorCode != 0 || fp.HighWatermark != 4 {
					t.Fatalf("fetch v%d: error %d hw %d", v, fp.ErrorCode, fp.HighWatermark)
				}
				if !bytes.Contains(fp.RecordBatches, []byte("a")) || len(fp.RecordBatches) != len(b1)+len(b2) {
					t.Fatalf("fetch v%d: %d record bytes, want %d", v, len(fp.RecordBatches), len(b1)+len(b2))
				}
			}
			f := send(t, cl, fetchReq(12, "events", 0, 99, 0)).(*kmsg.FetchResponse)
			if c := f.Topics[0].Partitions[0].ErrorCode; c != kerr.OffsetOutOfRange.Code {
				t.Fatalf("fetch past the end: error %d, want OFFSET_OUT_OF_RANGE", c)
			}
		})
	}
}

func TestIdempotentRetryGetsOriginalOffset(t *testing.T) {
	b, cl := startDataBroker(t, netio.IOUring)
	addTestPartitions(t, b, "idem", 1)
	ip := send(t, cl, &kmsg.InitProducerIDRequest{Version: 4, ProducerID: -1, ProducerEpoch: -1}).(*kmsg.InitProducerIDResponse)
	if ip.ErrorCode != 0 || ip.ProducerID < 0 {
		t.Fatalf("InitProducerId: %+v", ip)
	}
	pid := ip.ProducerID
	first := makeBatch(pid, 0, 0, "one", "two")
	r := partitionResult(t, send(t, cl, produceReq(9, -1, "idem", map[int32][]byte{0: first})).(*kmsg.ProduceResponse), 0)
	if r.ErrorCode != 0 || r.BaseOffset != 0 {
		t.Fatalf("first: %+v", r)
	}
	second := makeBatch(pid, 0, 2, "three")
	if r := partitionResult(t, send(t, cl, produceReq(9, -1, "idem", map[int32][]byte{0: second})).(*kmsg.ProduceResponse), 0); r.BaseOffset != 2 {
		t.Fatalf("second: %+v", r)
	}
	retry := makeBatch(pid, 0, 0, "one", "two")
	if r := partitionResult(t, send(t, cl, produceReq(9, -1, "idem", map[int32][]byte{0: retry})).(*kmsg.ProduceResponse), 0); r.ErrorCode != 0 || r.BaseOffset != 0 {
		t.Fatalf("retried batch: %+v, want its original offset 0", r)
	}
	gap := makeBatch(pid, 0, 9, "gap")
	if r := partitionResult(t, send(t, cl, produceReq(9, -1, "idem", map[int32][]byte{0: gap})).(*kmsg.ProduceResponse), 0); r.ErrorCode != kerr.OutOfOrderSequenceNumber.Code {
		t.Fatalf("sequence gap: error %d, want OUT_OF_ORDER_SEQUENCE_NUMBER", r.ErrorCode)
	}
	if leo := b.lookupPartition("idem", 0).log.LogEndOffset(); leo != 3 {
		t.Fatalf("log end %d after a retry and a rejected gap, want 3", leo)
	}
	ip2 := send(t, cl, &kmsg.InitProducerIDRequest{Version: 4, ProducerID: -1, ProducerEpoch: -1}).(*kmsg.InitProducerIDResponse)
	if ip2.ProducerID == pid {
		t.Fatal("second InitProducerId returned the same id")
	}
}

func TestFetchLongPollWokenByAppend(t *testing.T) {
	for _, backend := range backendsForTest(t) {
		t.Run(backend, func(t *testing.T) {
			b, cl := startDataBroker(t, backend)
			addTestPartitions(t, b, "poll", 1)
			producer := dialRaw(t, cl.addr)
			go func() {
				time.Sleep(200 * time.Millisecond)
				_, _ = producer.request(produceReq(9, 1, "poll", map[int32][]byte{0: makeBatch(-1, -1, -1, "late")}))
			}()
			start := time.Now()
			f := send(t, cl, fetchReq(12, "poll", 0, 0, 5000)).(*kmsg.FetchResponse)
			took := time.Since(start)
			fp := f.Topics[0].Partitions[0]
			if !bytes.Contains(fp.RecordBatches, []byte("late")) {
				t.Fatalf("long poll returned no records (error %d) after %v", fp.ErrorCode, took)
			}
			if took > 3*time.Second {
				t.Fatalf("long poll took %v: the append did not wake it", took)
			}
			// With nothing appended it waits max.wait.ms, then answers empty.
			start = time.Now()
			f = send(t, cl, fetchReq(12, "poll", 0, 1, 300)).(*kmsg.FetchResponse)
			if took := time.Since(start); took < 250*time.Millisecond || len(f.Topics[0].Partitions[0].RecordBatches) != 0 {
				t.Fatalf("idle long poll: %v, %d bytes", took, len(f.Topics[0].Partitions[0].RecordBatches))
			}
		})
	}
}

func TestListOffsetsDeleteRecordsLeaderEpochs(t *testing.T) {
	b, cl := startDataBroker(t, netio.IOUring)
	addTestPartitions(t, b, "offs", 1)
	for i := 0; i < 3; i++ {
		send(t, cl, produceReq(9, -1, "offs", map[int32][]byte{0: makeBatch(-1, -1, -1, "x", "y")}))
	}
	list := func(ts int64) kmsg.ListOffsetsResponseTopicPartition {
		req := kmsg.NewPtrListOffsetsRequest()
		req.Version = 7
		rt := kmsg.NewListOffsetsRequestTopic()
		rt.Topic = "offs"
		rp := kmsg.NewListOffsetsRequestTopicPartition()
		rp.Timestamp, rp.CurrentLeaderEpoch = ts, -1
		rt.Partitions = append(rt.Partitions, rp)
		req.Topics = append(req.Topics, rt)
		return send(t, cl, req).(*kmsg.ListOffsetsResponse).Topics[0].Partitions[0]
	}
	if got := list(-2); got.Offset != 0 || got.ErrorCode != 0 {
		t.Fatalf("earliest: %+v", got)
	}
	if got := list(-1); got.Offset != 6 {
		t.Fatalf("latest: %+v", got)
	}
	if got := list(0); got.Offset != 0 {
		t.Fatalf("timestamp 0: %+v", got)
	}
	if got := list(time.Now().Add(time.Hour).UnixMilli()); got.Offset != -1 {
		t.Fatalf("a timestamp past every record: %+v, want offset -1", got)
	}
	if got := list(-3); got.Offset < 0 || got.Timestamp <= 0 {
		t.Fatalf("max timestamp: %+v", got)
	}

	del := kmsg.NewPtrDeleteRecordsRequest()
	del.Version = 2
	dt := kmsg.NewDeleteRecordsRequestTopic()
	dt.Topic = "offs"
	dp := kmsg.NewDeleteRecordsRequestTopicPartition()
	dp.Offset = 4
	dt.Partitions = append(dt.Partitions, dp)
	del.Topics = append(del.Topics, dt)
	dr := send(t, cl, del).(*kmsg.DeleteRecordsResponse).Topics[0].Partitions[0]
	if dr.ErrorCode != 0 || dr.LowWatermark != 4 {
		t.Fatalf("delete records: %+v", dr)
	}
	if got := list(-2); got.Offset != 4 {
		t.Fatalf("earliest after delete records: %+v", got)
	}
	if c := send(t, cl, fetchReq(12, "offs", 0, 1, 0)).(*kmsg.FetchResponse).Topics[0].Partitions[0].ErrorCode; c != kerr.OffsetOutOfRange.Code {
		t.Fatalf("fetch below the log start: error %d", c)
	}
	dp.Offset = 99
	del.Topics[0].Partitions[0] = dp
	if c := send(t, cl, del).(*kmsg.DeleteRecordsResponse).Topics[0].Partitions[0].ErrorCode; c != kerr.OffsetOutOfRange.Code {
		t.Fatalf("delete past the high watermark: error %d", c)
	}

	ofe := kmsg.NewPtrOffsetForLeaderEpochRequest()
	ofe.Version = 3
	ot := kmsg.NewOffsetForLeaderEpochRequestTopic()
	ot.Topic = "offs"
	op := kmsg.NewOffsetForLeaderEpochRequestTopicPartition()
	op.LeaderEpoch, op.CurrentLeaderEpoch = 0, -1
	ot.Partitions = append(ot.Partitions, op)
	ofe.Topics = append(ofe.Topics, ot)
	er := send(t, cl, ofe).(*kmsg.OffsetForLeaderEpochResponse).Topics[0].Partitions[0]
	if er.ErrorCode != 0 || er.LeaderEpoch != 0 || er.EndOffset != 6 {
		t.Fatalf("offset for leader epoch 0: %+v", er)
	}
}

// TestFetchIsZeroCopy: the record bytes of a large fetch leave by the
// file-send path; only the framing comes from Go memory.
func TestFetchIsZeroCopy(t *testing.T) {
	for _, backend := range backendsForTest(t) {
		t.Run(backend, func(t *testing.T) {
			b, cl := startDataBroker(t, backend)
			addTestPartitions(t, b, "zc", 1)
			value := string(bytes.Repeat([]byte("v"), 64<<10))
			var produced int64
			for i := 0; i < 64; i++ {
				batch := makeBatch(-1, -1, -1, value, value)
				produced += int64(len(batch))
				send(t, cl, produceReq(9, 1, "zc", map[int32][]byte{0: batch}))
			}
			before := b.Runtime().Stats()
			req := fetchReq(12, "zc", 0, 0, 0)
			req.Topics[0].Partitions[0].PartitionMaxBytes = 64 << 20
			fp := send(t, cl, req).(*kmsg.FetchResponse).Topics[0].Partitions[0]
			if int64(len(fp.RecordBatches)) != produced {
				t.Fatalf("fetched %d record bytes, want %d", len(fp.RecordBatches), produced)
			}
			after := b.Runtime().Stats()
			fileBytes, heapBytes := after.FileBytes-before.FileBytes, after.HeapBytes-before.HeapBytes
			t.Logf("%s: %d record bytes by file send, %d framing bytes from the heap", backend, fileBytes, heapBytes)
			if fileBytes != produced || heapBytes > 4096 {
				t.Fatalf("file-send bytes %d (want %d), heap bytes %d (want framing only)", fileBytes, produced, heapBytes)
			}
		})
	}
}

func TestFetchSessions(t *testing.T) {
	b, cl := startDataBroker(t, netio.IOUring)
	addTestPartitions(t, b, "sess", 2)
	full := fetchReq(12, "sess", 0, 0, 0)
	full.SessionID, full.SessionEpoch = 0, 0
	p1 := full.Topics[0].Partitions[0]
	p1.Partition = 1
	full.Topics[0].Partitions = append(full.Topics[0].Partitions, p1)
	resp := send(t, cl, full).(*kmsg.FetchResponse)
	if resp.ErrorCode != 0 || resp.SessionID == 0 || len(resp.Topics[0].Partitions) != 2 {
		t.Fatalf("opening fetch: error %d session %d, %d partitions", resp.ErrorCode, resp.SessionID, len(resp.Topics[0].Partitions))
	}
	id := resp.SessionID
	incr := func(epoch int32, maxWait int32, forget ...int32) *kmsg.FetchResponse {
		req := kmsg.NewPtrFetchRequest()
		req.Version, req.MaxWaitMillis, req.MinBytes, req.MaxBytes = 12, maxWait, 1, 1<<20
		req.SessionID, req.SessionEpoch = id, epoch
		if len(forget) > 0 {
			ft := kmsg.NewFetchRequestForgottenTopic()
			ft.Topic, ft.Partitions = "sess", forget
			req.ForgottenTopics = append(req.ForgottenTopics, ft)
		}
		return send(t, cl, req).(*kmsg.FetchResponse)
	}
	if r := incr(1, 0); r.ErrorCode != 0 || len(r.Topics) != 0 {
		t.Fatalf("incremental fetch with nothing new: error %d, %d topics", r.ErrorCode, len(r.Topics))
	}
	send(t, cl, produceReq(9, 1, "sess", map[int32][]byte{1: makeBatch(-1, -1, -1, "new")}))
	r := incr(2, 1000)
	if r.ErrorCode != 0 || len(r.Topics) != 1 || len(r.Topics[0].Partitions) != 1 || r.Topics[0].Partitions[0].Partition != 1 {
		t.Fatalf("incremental fetch after an append to partition 1: %+v", r.Topics)
	}
	if !bytes.Contains(r.Topics[0].Partitions[0].RecordBatches, []byte("new")) {
		t.Fatal("incremental fetch lacks the new records")
	}
	if r := incr(2, 0); r.ErrorCode != kerr.InvalidFetchSessionEpoch.Code {
		t.Fatalf("replayed epoch: error %d, want INVALID_FETCH_SESSION_EPOCH", r.ErrorCode)
	}
	if r := incr(3, 0, 1); r.ErrorCode != 0 {
		t.Fatalf("forgetting partition 1: error %d", r.ErrorCode)
	}
	send(t, cl, produceReq(9, 1, "sess", map[int32][]byte{1: makeBatch(-1, -1, -1, "more")}))
	if r := incr(4, 0); len(r.Topics) != 0 {
		t.Fatalf("a forgotten partition came back: %+v", r.Topics)
	}
	id = 12345
	if r := incr(1, 0); r.ErrorCode != kerr.FetchSessionIDNotFound.Code {
		t.Fatalf("unknown session: error %d, want FETCH_SESSION_ID_NOT_FOUND", r.ErrorCode)
	}
}

// TestProducerStateRebuiltFromLog: a partition reopened from its log (as
// after a restart or crash) still recognises retried batches.
func TestProducerStateRebuiltFromLog(t *testing.T) {
	b, cl := startDataBroker(t, netio.IOStd)
	addTestPartitions(t, b, "rebuild", 1)
	pid := int64(4242)
	send(t, cl, produceReq(9, -1, "rebuild", map[int32][]byte{0: makeBatch(pid, 3, 0, "a", "b")}))
	send(t, cl, produceReq(9, -1, "rebuild", map[int32][]byte{0: makeBatch(pid, 3, 2, "c")}))
	old := b.lookupPartition("rebuild", 0)
	fresh, err := b.newPartition(old.topic, old.topicID, old.index, old.log, b.soleReplica(), time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	tab := b.parts.Load().clone()
	tab.byName[partitionKey{"rebuild", 0}] = fresh
	b.parts.Store(tab)
	r := partitionResult(t, send(t, cl, produceReq(9, -1, "rebuild", map[int32][]byte{0: makeBatch(pid, 3, 0, "a", "b")})).(*kmsg.ProduceResponse), 0)
	if r.ErrorCode != 0 || r.BaseOffset != 0 {
		t.Fatalf("retry after rebuild: %+v, want the original offset 0", r)
	}
	r = partitionResult(t, send(t, cl, produceReq(9, -1, "rebuild", map[int32][]byte{0: makeBatch(pid, 3, 3, "d")})).(*kmsg.ProduceResponse), 0)
	if r.ErrorCode != 0 || r.BaseOffset != 3 {
		t.Fatalf("next batch after rebuild: %+v, want offset 3", r)
	}
	r = partitionResult(t, send(t, cl, produceReq(9, -1, "rebuild", map[int32][]byte{0: makeBatch(pid, 2, 4, "stale")})).(*kmsg.ProduceResponse), 0)
	if r.ErrorCode != kerr.InvalidProducerEpoch.Code {
		t.Fatalf("older epoch: error %d, want INVALID_PRODUCER_EPOCH", r.ErrorCode)
	}
}

// TestFlushThroughRing: a topic with flush.messages=1 makes every append
// durable through the shards' rings before it is acknowledged.
func TestFlushThroughRing(t *testing.T) {
	for _, backend := range backendsForTest(t) {
		t.Run(backend, func(t *testing.T) {
			b, cl := startDataBroker(t, backend)
			cfg := logstore.DefaultConfig()
			cfg.FlushMessages = 1
			addTestPartitionsWith(t, b, "durable", 2, cfg)
			before := b.Runtime().Stats().Syncs
			for i := 0; i < 10; i++ {
				send(t, cl, produceReq(9, -1, "durable", map[int32][]byte{0: makeBatch(-1, -1, -1, "x"), 1: makeBatch(-1, -1, -1, "y")}))
			}
			syncs := b.Runtime().Stats().Syncs - before
			if syncs < 20 {
				t.Fatalf("%d syncs for 20 appends with flush.messages=1", syncs)
			}
			// acks waited for the syncs: the bytes are durable already.
			for _, p := range []int32{0, 1} {
				if rp := b.lookupPartition("durable", p).log.RecoveryPoint(); rp != 10 {
					t.Fatalf("partition %d: recovery point %d once 10 synced appends were acknowledged", p, rp)
				}
			}
		})
	}
}

// TestProduceOldVersionsRefused: v0-v2 are advertised (librdkafka needs
// it to compress) but answered UNSUPPORTED_VERSION.
func TestProduceOldVersionsRefused(t *testing.T) {
	b, cl := startDataBroker(t, netio.IOStd)
	addTestPartitions(t, b, "old", 1)
	for v := int16(0); v < 3; v++ {
		r := partitionResult(t, send(t, cl, produceReq(v, 1, "old", map[int32][]byte{0: makeBatch(-1, -1, -1, "x")})).(*kmsg.ProduceResponse), 0)
		if r.ErrorCode != kerr.UnsupportedVersion.Code {
			t.Fatalf("produce v%d: error %d, want UNSUPPORTED_VERSION", v, r.ErrorCode)
		}
	}
	if leo := b.lookupPartition("old", 0).log.LogEndOffset(); leo != 0 {
		t.Fatalf("an old-version produce was written: log end %d", leo)
	}
}

// TestProduceTooLarge: a batch over max.message.bytes gets
// MESSAGE_TOO_LARGE for its partition only.
func TestProduceTooLarge(t *testing.T) {
	b, cl := startDataBroker(t, netio.IOUring)
	cfg := logstore.DefaultConfig()
	cfg.MaxMessageBytes = 200
	addTestPartitionsWith(t, b, "small", 2, cfg)
	big := makeBatch(-1, -1, -1, string(bytes.Repeat([]byte("x"), 500)))
	resp := send(t, cl, produceReq(9, 1, "small", map[int32][]byte{0: big, 1: makeBatch(-1, -1, -1, "ok")})).(*kmsg.ProduceResponse)
	if r := partitionResult(t, resp, 0); r.ErrorCode != kerr.MessageTooLarge.Code {
		t.Fatalf("oversized batch: error %d, want MESSAGE_TOO_LARGE", r.ErrorCode)
	}
	if r := partitionResult(t, resp, 1); r.ErrorCode != 0 || r.BaseOffset != 0 {
		t.Fatalf("the other partition: %+v", r)
	}
}

// TestFetchSessionReopenedByFullFetch: a full fetch (epoch 0) naming an
// existing session closes it and opens a new one, as Kafka does.
func TestFetchSessionReopenedByFullFetch(t *testing.T) {
	b, cl := startDataBroker(t, netio.IOStd)
	addTestPartitions(t, b, "reopen", 1)
	open := fetchReq(12, "reopen", 0, 0, 0)
	open.SessionID, open.SessionEpoch = 0, 0
	first := send(t, cl, open).(*kmsg.FetchResponse)
	again := fetchReq(12, "reopen", 0, 0, 0)
	again.SessionID, again.SessionEpoch = first.SessionID, 0
	second := send(t, cl, again).(*kmsg.FetchResponse)
	if second.ErrorCode != 0 || second.SessionID == 0 || second.SessionID == first.SessionID {
		t.Fatalf("full fetch naming session %d: error %d, session %d", first.SessionID, second.ErrorCode, second.SessionID)
	}
	if b.fetchSessions.get(first.SessionID) != nil {
		t.Fatal("the old session is still cached")
	}
}

// TestDurableAckNotHeldByReader: with flush.messages=1, a produce that
// rolls a segment another reader still holds is answered once its bytes
// are synced; the pending trim of the held segment must not hold it back.
func TestDurableAckNotHeldByReader(t *testing.T) {
	b, cl := startDataBroker(t, netio.IOStd)
	cfg := logstore.DefaultConfig()
	cfg.FlushMessages, cfg.SegmentBytes = 1, 200
	addTestPartitionsWith(t, b, "dur", 1, cfg)
	fill := string(bytes.Repeat([]byte("a"), 96))
	send(t, cl, produceReq(9, -1, "dur", map[int32][]byte{0: makeBatch(-1, -1, -1, fill)}))
	p := b.lookupPartition("dur", 0)
	held, err := p.log.Read(0, 1<<20, p.log.HighWatermark()) // a fetch in flight
	if err != nil {
		t.Fatal(err)
	}
	defer held.Release()
	done := make(chan error, 1)
	go func() {
		_, err := cl.request(produceReq(9, -1, "dur", map[int32][]byte{0: makeBatch(-1, -1, -1, fill+"b")}))
		done <- err
	}()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatalf("produce unanswered while a reader holds the rolled segment (recovery point %d, durable %d, end %d)",
			p.log.RecoveryPoint(), p.log.DurableOffset(), p.log.LogEndOffset())
	}
}

// The shard loops exist from Open on: a produce or delete-records served
// before Start (a controller listener can serve early in a cluster) is done
// on its owner shard, not refused.
func TestDataPathBeforeStart(t *testing.T) {
	b := newTopicBroker(t)
	create := kmsg.NewPtrCreateTopicsRequest()
	ct := kmsg.NewCreateTopicsRequestTopic()
	ct.Topic, ct.NumPartitions, ct.ReplicationFactor = "early", 1, 1
	create.Topics = append(create.Topics, ct)
	if resp := roundTrip(t, b, create).(*kmsg.CreateTopicsResponse); resp.Topics[0].ErrorCode != 0 {
		t.Fatalf("create: %v", kerr.ErrorForCode(resp.Topics[0].ErrorCode))
	}
	if len(b.Servers()) != 0 {
		t.Fatal("listeners before Start")
	}
	resp := roundTrip(t, b, produceReq(9, 1, "early", map[int32][]byte{0: makeBatch(-1, -1, -1, "a", "b")})).(*kmsg.ProduceResponse)
	if p := resp.Topics[0].Partitions[0]; p.ErrorCode != 0 || p.BaseOffset != 0 {
		t.Fatalf("produce before Start: %v at %d", kerr.ErrorForCode(p.ErrorCode), p.BaseOffset)
	}
	del := kmsg.NewPtrDeleteRecordsRequest()
	dt := kmsg.NewDeleteRecordsRequestTopic()
	dt.Topic = "early"
	dp := kmsg.NewDeleteRecordsRequestTopicPartition()
	dp.Offset = 1
	dt.Partitions = append(dt.Partitions, dp)
	del.Topics = append(del.Topics, dt)
	dr := roundTrip(t, b, del).(*kmsg.DeleteRecordsResponse).Topics[0].Partitions[0]
	if dr.ErrorCode != 0 || dr.LowWatermark != 1 {
		t.Fatalf("delete records before Start: %v, low watermark %d", kerr.ErrorForCode(dr.ErrorCode), dr.LowWatermark)
	}
}
