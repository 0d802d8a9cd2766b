package engine

import (
	"bytes"
	"testing"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// TestFetchEncodeMatchesKmsg: the hand-framed Fetch response (without
// record bytes) is byte for byte what kmsg encodes, at every version,
// with the KIP-951 fields (current_leader v12+, node_endpoints v16+) and
// KIP-595's diverging_epoch (v12+) set and unset.
func TestFetchEncodeMatchesKmsg(t *testing.T) {
	rack := "r2"
	nodes := []nodeEndpoint{{id: 2, host: "10.0.0.2", port: 9092, rack: &rack}, {id: 3, host: "h3", port: 1}}
	topics := []fetchTopicOut{
		{name: "a", id: [16]byte{1}, parts: []fetchPartitionOut{
			{partition: 0, hw: 5, lastStable: 5, logStart: 1},
			{partition: 2, hw: 9, lastStable: 9, logStart: 0, diverging: &epochEnd{3, 7}},
			{partition: 4, errCode: kerr.FencedLeaderEpoch.Code, hw: -1, lastStable: -1, logStart: -1,
				diverging: &epochEnd{0, 12}, tellLeader: true, leader: currentLeader{3, 8}},
			{partition: 1, errCode: kerr.NotLeaderForPartition.Code, hw: -1, lastStable: -1, logStart: -1,
				tellLeader: true, leader: currentLeader{2, 7}},
		}},
		{name: "b", id: [16]byte{2}, parts: []fetchPartitionOut{
			{partition: 3, errCode: kerr.NotLeaderForPartition.Code, hw: -1, lastStable: -1, logStart: -1,
				tellLeader: true, leader: currentLeader{-1, 4}},
		}},
	}
	for v := int16(4); v <= 18; v++ {
		for _, withNodes := range []bool{false, true} {
			var ns []nodeEndpoint
			if withNodes {
				ns = nodes
			}
			resp, err := encodeFetch(v, 77, 0, 9, topics, ns, nil)
			if err != nil {
				t.Fatal(err)
			}
			var got []byte
			for _, p := range resp.Parts {
				got = append(got, p.Bytes...)
			}
			resp.Release()
			got = got[8:] // size, correlation id
			if v >= 12 {
				got = got[1:] // the header's tags
			}
			if want := kmsgFetch(v, topics, ns); !bytes.Equal(got, want) {
				t.Fatalf("v%d (nodes %v):\n got % x\nwant % x", v, withNodes, got, want)
			}
		}
	}
}

// kmsgFetch is the response encodeFetch should frame, encoded by kmsg.
func kmsgFetch(v int16, topics []fetchTopicOut, nodes []nodeEndpoint) []byte {
	resp := kmsg.NewPtrFetchResponse()
	resp.Version, resp.SessionID = v, 9
	for _, t := range topics {
		rt := kmsg.NewFetchResponseTopic()
		rt.Topic, rt.TopicID = t.name, t.id
		for _, p := range t.parts {
			rp := kmsg.NewFetchResponseTopicPartition()
			rp.Partition, rp.ErrorCode = p.partition, p.errCode
			rp.HighWatermark, rp.LastStableOffset, rp.LogStartOffset = p.hw, p.lastStable, p.logStart
			rp.RecordBatches = []byte{}
			if p.diverging != nil && v >= 12 {
				rp.DivergingEpoch.Epoch, rp.DivergingEpoch.EndOffset = p.diverging.epoch, p.diverging.end
			}
			if p.tellLeader && v >= 12 {
				rp.CurrentLeader.LeaderID, rp.CurrentLeader.LeaderEpoch = p.leader.id, p.leader.epoch
			}
			rt.Partitions = append(rt.Partitions, rp)
		}
		resp.Topics = append(resp.Topics, rt)
	}
	if v >= 16 {
		for _, n := range nodes {
			b := kmsg.NewFetchResponseBroker()
			b.NodeID, b.Host, b.Port, b.Rack = n.id, n.host, n.port, n.rack
			resp.Brokers = append(resp.Brokers, b)
		}
	}
	return resp.AppendTo(nil)
}
