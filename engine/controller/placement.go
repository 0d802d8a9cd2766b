package controller

import (
	"cmp"
	"slices"

	"github.com/twmb/franz-go/pkg/kerr"

	"github.com/weirmq/weir/engine/metadata"
)

// stripeReplicas places n partitions from first on with rf replicas each
// over the usable brokers (registered, not in controlled shutdown),
// rack-aware as Kafka's placement is:
//
//   - The unfenced brokers are listed alternating by rack (Kafka's
//     rack-alternated list: racks by name, each rack's brokers by id; the
//     first of each rack, then the second of each, ...). Partition p is
//     led by the p-th of that list (modulo its length), so leaders stripe
//     evenly over the unfenced brokers, and a leader is never fenced.
//   - Each follower is the next broker along that list after the leader,
//     then along the fenced brokers' list (listed the same way, from the
//     p-th on), that is on a rack no replica of the partition is on yet;
//     once every rack has one, racks take a second replica each in the
//     same way, and so on. So a partition's replicas are on rf different
//     racks while there are rf racks, unfenced brokers before fenced ones
//     on a rack not yet used (Kafka 4's StripedReplicaPlacer: rack
//     diversity first, then unfenced brokers).
//
// Brokers without a rack count as one rack of their own, as in Kafka 4's
// KRaft controller (StripedReplicaPlacer keys racks by an Optional): a
// cluster where some brokers have broker.rack and some do not is placed,
// not refused. The refusal "Not all brokers have rack information" and
// its --disable-rack-aware are the ZooKeeper-era AdminUtils', which KRaft
// does not use for topic creation. Without racks at all this is plain
// round robin: partition p's replicas are the unfenced brokers from the
// p-th on, then the fenced ones.
//
// Kafka starts the stripe at a random broker and rack; Weir starts it at
// partition 0's index, so placement is a function of the image, and new
// partitions of a topic go on with the stripe where its partitions left
// off.
func stripeReplicas(im *metadata.Image, first, n, rf int32) ([][]int32, *Refusal) {
	unfenced, fenced := rackAlternated(im)
	if len(unfenced) == 0 {
		return nil, Refuse(kerr.InvalidReplicationFactor, "Unable to replicate the partition %d time(s): "+
			"All brokers are currently fenced.", rf)
	}
	if total := len(unfenced) + len(fenced); int(rf) > total {
		return nil, Refuse(kerr.InvalidReplicationFactor, "Unable to replicate the partition %d time(s): "+
			"The target replication factor of %d cannot be reached because only %d broker(s) are registered.",
			rf, rf, total)
	}
	out := make([][]int32, n)
	for i := range out {
		out[i] = placePartition(unfenced, fenced, int(first)+i, int(rf))
	}
	return out, nil
}

// placed is a broker in a rack-alternated list.
type placed struct {
	id   int32
	rack rackName
}

// rackName is a broker's rack; set is false for a broker without one.
type rackName struct {
	name string
	set  bool
}

// rackAlternated lists the usable brokers, unfenced and fenced apart,
// alternating by rack: racks in name order (no rack first), the first
// broker of each rack, then the second of each, and so on.
func rackAlternated(im *metadata.Image) (unfenced, fenced []placed) {
	byRack := [2]map[rackName][]int32{{}, {}} // unfenced, fenced; ids in order
	for _, b := range im.Brokers() {
		if b.InControlledShutdown {
			continue
		}
		var r rackName
		if b.Rack != nil {
			r = rackName{*b.Rack, true}
		}
		i := 0
		if b.Fenced {
			i = 1
		}
		byRack[i][r] = append(byRack[i][r], b.NodeID)
	}
	alternate := func(m map[rackName][]int32) []placed {
		racks := make([]rackName, 0, len(m))
		for r := range m {
			racks = append(racks, r)
		}
		slices.SortFunc(racks, func(a, b rackName) int {
			if a.set != b.set {
				if a.set {
					return 1
				}
				return -1
			}
			return cmp.Compare(a.name, b.name)
		})
		var out []placed
		for round := 0; ; round++ {
			added := false
			for _, r := range racks {
				if ids := m[r]; round < len(ids) {
					out = append(out, placed{ids[round], r})
					added = true
				}
			}
			if !added {
				return out
			}
		}
	}
	return alternate(byRack[0]), alternate(byRack[1])
}

// placePartition gives partition p its rf replicas (see stripeReplicas):
// there are unfenced brokers and at least rf brokers in all.
func placePartition(unfenced, fenced []placed, p, rf int) []int32 {
	var walk []placed // the candidates, in order
	for i := range unfenced {
		walk = append(walk, unfenced[(p+i)%len(unfenced)])
	}
	for i := range fenced {
		walk = append(walk, fenced[(p+i)%len(fenced)])
	}
	out := []int32{walk[0].id}
	used := map[rackName]bool{walk[0].rack: true} // racks of this round
	taken := make([]bool, len(walk))
	taken[0] = true
	next := func() int {
		for i, b := range walk {
			if !taken[i] && !used[b.rack] {
				return i
			}
		}
		return -1
	}
	for len(out) < rf {
		i := next()
		if i < 0 { // every rack with brokers left has one: the next round
			clear(used)
			i = next()
		}
		taken[i], used[walk[i].rack] = true, true
		out = append(out, walk[i].id)
	}
	return out
}
