package engine

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/weirmq/weir/engine/config"
	"github.com/weirmq/weir/engine/metadata"
	"github.com/weirmq/weir/logstore"
	"github.com/weirmq/weir/netio"
)

// Options are what a Broker runs with besides the Kafka configuration.
type Options struct {
	Config *config.Config // resolved by Open
	IO     string         // netio backend: auto, uring or std
	Shards int            // 0: one per CPU
	// FileSend is how the uring backend sends log bytes to sockets:
	// netio.FileSendSplice (default) or netio.FileSendMmap.
	FileSend string
	Logger   *slog.Logger // nil: slog.Default()
	// Listen starts a listener on the broker's shard runtime; nil means
	// rt.Listen. Tests swap it.
	Listen func(rt netio.Runtime, cfg netio.ListenConfig, h netio.Handler) (netio.Server, error)
	// FileIO writes the partition logs; nil means pwrite(2). Tests swap
	// it.
	FileIO logstore.FileIO
}

// Broker is one Weir node: its identity, its metadata image, its shard
// runtime and its listeners. Open, Start, then Close.
type Broker struct {
	opts      Options
	cfg       *config.Resolved
	log       *slog.Logger
	nodeID    int32
	clusterID string
	// incarnation is this process's broker incarnation id, new at each
	// Open; endpoints are this node's advertised endpoints by listener
	// (broker and controller), with the bound ports once started.
	incarnation [16]byte
	endpoints   atomic.Pointer[map[string]metadata.Endpoint]
	image       atomic.Pointer[metadata.Image]
	// life runs this node's heartbeat and fences expired sessions
	// (brokers.go).
	life    struct{ stop, done chan struct{} }
	locks   []*os.File
	servers []netio.Server
	// parts is the table of hosted partitions; shards is the shard
	// runtime whose loops own them and serve every listener (shards.go).
	parts         atomic.Pointer[partitionTable]
	shards        shardRuntime
	appenders     appenders // leaders' appends off the uring loops (appender.go)
	segFiles      segFiles  // per-segment files for zero-copy fetches
	fetchSessions fetchSessions
	errs          *errorLog // errors that repeat per request, rate-limited
	// snapshotsOnce: the close snapshots are taken at the first close of
	// the log stores, while the shard loops run (a second close finds
	// the runtime closed, and the logs too).
	snapshotsOnce sync.Once

	producerIDs *producerIDs

	// groups is the group coordinator (engine/groups, wired in
	// group_coordinator.go).
	groups     *groupCoordinator
	groupsOnce sync.Once

	// ctl serializes metadata changes (topics, configs). logDirs are the
	// log stores, one per log dir, fixed once Open returns. effective and
	// topicConfigs are the broker's and each topic's configuration under
	// the published image, swapped with it.
	ctl controlPlane
	// cluster is this node's part in a controller quorum of several
	// voters (cluster.go); nil on a single node.
	cluster *cluster
	// fetchers replicate the partitions this node follows (fetcher.go).
	fetchers fetchers
	// ackBeforeReplication is a test-only switch (environment
	// WEIR_TEST_ACK_BEFORE_REPLICATION=1): acks=all is answered once the
	// leader has the records, as a broken broker would, so that the tests
	// can show their checker catches the loss. Never set it otherwise.
	ackBeforeReplication bool
	logDirs              []*logstore.Dir
	cleaner              *logstore.Cleaner // nil with log.cleaner.enable=false (logdirs.go)
	moves                logMoves          // moves of logs between log dirs (logmoves.go)
	effective            atomic.Pointer[config.Config]
	topicConfigs         atomic.Pointer[map[string]*topicConfig]

	// rebalance runs the preferred-leader rebalance (leader_rebalance.go).
	rebalance struct{ stop, done chan struct{} }
}

// Open prepares the log dirs (created, locked, meta.properties checked or
// written), replays the metadata log into the first image, and opens the
// partition logs it names (recovering them after a crash). It does not
// listen yet.
func Open(opts Options) (*Broker, error) {
	cfg, err := opts.Config.Resolve()
	if err != nil {
		return nil, err
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.Listen == nil {
		opts.Listen = func(rt netio.Runtime, cfg netio.ListenConfig, h netio.Handler) (netio.Server, error) {
			return rt.Listen(cfg, h)
		}
	}
	b := &Broker{opts: opts, cfg: cfg, log: opts.Logger, nodeID: cfg.NodeID, incarnation: NewUUID()}
	b.appenders.slots = make(chan struct{}, max(cfg.IOThreads, 1))
	if os.Getenv("WEIR_TEST_ACK_BEFORE_REPLICATION") == "1" {
		b.ackBeforeReplication = true
		b.log.Warn("TEST ONLY: acks=all is answered before the ISR has the records " +
			"(WEIR_TEST_ACK_BEFORE_REPLICATION=1); acknowledged records can be lost")
	}
	ends := b.advertisedSelf(nil)
	b.endpoints.Store(&ends)
	b.errs = newErrorLog(opts.Logger, 10*time.Second)
	b.parts.Store(newPartitionTable())
	// The shard loops come first: recovery and every log's syncs run on them.
	rt, err := netio.NewRuntime(netio.Config{
		IO:             opts.IO,
		Shards:         opts.Shards,
		FileSend:       opts.FileSend,
		MaxQueuedBytes: cfg.QueuedMaxRequestBytes,
		Logger:         b.log,
	})
	if err != nil {
		return nil, err
	}
	b.shards.rt = rt
	fail := func(err error, stores bool) (*Broker, error) {
		if stores {
			b.closeStores()
		}
		b.unlock()
		rt.Close()
		return nil, err
	}
	if err := b.openLogDirs(); err != nil {
		return fail(err, false)
	}
	if err := b.openMetadata(); err != nil {
		return fail(err, true)
	}
	if err := b.openProducerIDs(); err != nil {
		return fail(err, true)
	}
	return b, nil
}

func (b *Broker) openLogDirs() error {
	for _, dir := range b.cfg.LogDirs {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return fmt.Errorf("log dir: %w", err)
		}
		f, err := lockDir(dir)
		if err != nil {
			return err
		}
		b.locks = append(b.locks, f)
	}
	newID := func() string { return NewUUID().String() }
	if clustered(b.cfg) {
		newID = func() string { return derivedClusterID(b.cfg.Voters) }
	}
	id, formatted, err := ensureMeta(b.cfg.LogDirs, b.nodeID, newID)
	if err != nil {
		return err
	}
	b.clusterID = id
	for _, dir := range formatted {
		b.log.Info("formatted log dir", "dir", dir, "cluster.id", id, "node.id", b.nodeID)
	}
	return nil
}

// Start listens on every listener. On error the listeners already started
// are closed again.
func (b *Broker) Start() error {
	// Groups and offsets come back from __consumer_offsets before any
	// request can ask for them: the loads of the partitions the published
	// image says this broker leads (group_leadership.go).
	b.coord().awaitLoads()
	b.coord().startExpiry()
	for _, l := range b.cfg.Listeners {
		srv, err := b.opts.Listen(b.shards.rt, netio.ListenConfig{
			Addr:          l.Addr(),
			MaxFrameBytes: int(b.cfg.RequestMaxBytes),
			MaxIdle:       time.Duration(max(b.cfg.ConnectionsMaxIdleMs, 0)) * time.Millisecond,
		}, &listenerHandler{b: b, name: l.Name})
		if err != nil {
			b.closeServers()
			return fmt.Errorf("listener %s: %w", l, err)
		}
		b.servers = append(b.servers, srv)
	}
	bound := map[string]int{}
	for i, srv := range b.servers {
		if ta, ok := srv.Addr().(*net.TCPAddr); ok {
			bound[b.cfg.Listeners[i].Name] = ta.Port
		}
	}
	ends := b.advertisedSelf(bound)
	b.endpoints.Store(&ends)
	if b.cluster == nil {
		b.ctl.mu.Lock()
		err := b.registerSelfLocked(ends) // amends the registration with the bound ports
		b.ctl.mu.Unlock()
		if err != nil {
			b.closeServers()
			return err
		}
		b.startLife()
	} else {
		b.startCluster()
	}
	b.startLeaderRebalance()
	b.startMaintenance()
	return nil
}

// NodeID and ClusterID are this node's identity.
func (b *Broker) NodeID() int32     { return b.nodeID }
func (b *Broker) ClusterID() string { return b.clusterID }

// Servers lists the running listeners, in the order of the listeners key.
func (b *Broker) Servers() []netio.Server { return b.servers }

// Runtime is the broker's shard runtime, which every listener uses.
func (b *Broker) Runtime() netio.Runtime { return b.shards.rt }

// Listeners lists the configured listeners, in the same order.
func (b *Broker) Listeners() []config.Listener { return b.cfg.Listeners }

// Advertised is the advertised address of a listener ("" if none).
func (b *Broker) Advertised(listener string) string {
	if ep, ok := (*b.endpoints.Load())[listener]; ok {
		return net.JoinHostPort(ep.Host, strconv.Itoa(int(ep.Port)))
	}
	return ""
}

// Close stops the listeners, waits for a metadata change in progress,
// closes the logs (checkpoints and the clean-shutdown marker written),
// stops the shard loops and releases the log dirs.
func (b *Broker) Close() error {
	if b.cluster != nil {
		// The quorum node first, its leadership handed over: a change
		// in flight fails now rather than wait for peers whose messages
		// no longer come in.
		b.resign()
		b.cluster.member.Close()
	}
	b.stopCluster()
	b.stopFetchers()
	b.stopLife()
	b.stopLeaderRebalance()
	b.coord().close()
	err := b.closeServers()
	b.stopAppenders()
	err = errors.Join(err, b.closeStores())
	err = errors.Join(err, b.shards.rt.Close())
	b.unlock()
	return err
}

// closeStores closes the metadata log, then the log dirs.
func (b *Broker) closeStores() error {
	b.stopCluster()
	b.stopFetchers()
	return errors.Join(b.closeMetadata(), b.closeLogStores())
}

func (b *Broker) closeServers() error {
	var errs []error
	for i := len(b.servers) - 1; i >= 0; i-- {
		errs = append(errs, b.servers[i].Close())
	}
	b.servers = nil
	return errors.Join(errs...)
}

func (b *Broker) unlock() {
	for _, f := range b.locks {
		f.Close()
	}
	b.locks = nil
}
