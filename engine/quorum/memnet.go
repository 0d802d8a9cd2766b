package quorum

import (
	"math/rand/v2"
	"sync"
	"time"

	pb "go.etcd.io/raft/v3/raftpb"
	"google.golang.org/protobuf/proto"
)

// Network is an in-memory transport between nodes of one process, for
// tests, with faults: links cut (Isolate, Partition), messages dropped at
// random (SetDrop, from a seed) and delayed (SetDelay). Messages are
// encoded and decoded on the way, as over a wire.
type Network struct {
	mu      sync.Mutex
	nodes   map[int32]Receiver
	cut     map[[2]int32]bool // directed links that deliver nothing
	drop    float64
	delay   time.Duration
	rnd     *rand.Rand
	counts  map[pb.MessageType]int // delivered, by type
	timers  sync.WaitGroup
	stopped bool
}

// NewNetwork returns a network with no faults; seed drives SetDrop.
func NewNetwork(seed uint64) *Network {
	return &Network{nodes: map[int32]Receiver{}, cut: map[[2]int32]bool{},
		rnd: rand.New(rand.NewPCG(seed, seed^0x5745)), counts: map[pb.MessageType]int{}}
}

// Endpoint is node's Transport on the network.
func (nw *Network) Endpoint(node int32) Transport { return &endpoint{nw: nw, node: node} }

type endpoint struct {
	nw   *Network
	node int32
}

func (e *endpoint) Attach(r Receiver) {
	e.nw.mu.Lock()
	defer e.nw.mu.Unlock()
	e.nw.nodes[e.node] = r
}

func (e *endpoint) Send(msgs []*pb.Message) {
	for _, m := range msgs {
		e.nw.send(e.node, m)
	}
}

func (nw *Network) send(from int32, m *pb.Message) {
	to := NodeID(m.GetTo())
	data, err := proto.Marshal(m)
	if err != nil {
		panic(err)
	}
	nw.mu.Lock()
	src, dst := nw.nodes[from], nw.nodes[to]
	lost := dst == nil || nw.stopped || nw.cut[[2]int32{from, to}] || nw.drop > 0 && nw.rnd.Float64() < nw.drop
	delay := nw.delay
	if !lost && delay > 0 {
		nw.timers.Add(1)
	}
	nw.mu.Unlock()
	if lost {
		if src != nil {
			src.ReportUnreachable(to)
			if m.GetType() == pb.MsgSnap {
				src.ReportSnapshot(to, false)
			}
		}
		return
	}
	deliver := func() {
		var c pb.Message
		if err := proto.Unmarshal(data, &c); err != nil {
			panic(err)
		}
		nw.mu.Lock()
		nw.counts[c.GetType()]++
		nw.mu.Unlock()
		dst.Step(&c)
		if c.GetType() == pb.MsgSnap && src != nil {
			src.ReportSnapshot(to, true)
		}
	}
	if delay == 0 {
		deliver()
		return
	}
	time.AfterFunc(delay, func() {
		defer nw.timers.Done()
		deliver()
	})
}

// Isolate cuts every link to and from node.
func (nw *Network) Isolate(node int32) {
	nw.mu.Lock()
	defer nw.mu.Unlock()
	for other := range nw.nodes {
		if other != node {
			nw.cut[[2]int32{node, other}] = true
			nw.cut[[2]int32{other, node}] = true
		}
	}
}

// Partition cuts every link between nodes of different groups; a node in
// no group is cut from all.
func (nw *Network) Partition(groups ...[]int32) {
	nw.mu.Lock()
	defer nw.mu.Unlock()
	group := map[int32]int{}
	for i, g := range groups {
		for _, n := range g {
			group[n] = i + 1
		}
	}
	for a := range nw.nodes {
		for b := range nw.nodes {
			if a != b && (group[a] == 0 || group[a] != group[b]) {
				nw.cut[[2]int32{a, b}] = true
			}
		}
	}
}

// Heal restores every link.
func (nw *Network) Heal() {
	nw.mu.Lock()
	defer nw.mu.Unlock()
	clear(nw.cut)
}

// SetDrop makes each message lost with probability p.
func (nw *Network) SetDrop(p float64) {
	nw.mu.Lock()
	defer nw.mu.Unlock()
	nw.drop = p
}

// SetDelay delays each message by d (0: delivered within Send).
func (nw *Network) SetDelay(d time.Duration) {
	nw.mu.Lock()
	defer nw.mu.Unlock()
	nw.delay = d
}

// Delivered is the number of messages of type t delivered so far.
func (nw *Network) Delivered(t pb.MessageType) int {
	nw.mu.Lock()
	defer nw.mu.Unlock()
	return nw.counts[t]
}

// Remove takes node off the network (a stopped process): messages to it
// are lost until it attaches again.
func (nw *Network) Remove(node int32) {
	nw.mu.Lock()
	defer nw.mu.Unlock()
	delete(nw.nodes, node)
}

// Close stops delivering and waits for delayed messages in flight.
func (nw *Network) Close() {
	nw.mu.Lock()
	nw.stopped = true
	nw.mu.Unlock()
	nw.timers.Wait()
}
