# Weir's build. Every target builds with the flags below; nothing else needs them.
#
# giouring (pinned at v0.0.0-20230826085535-69588b89acb9, the only version
# served) pulls syscall.munmap by go:linkname, which Go >= 1.23 refuses to link
# unless -checklinkname=0 is passed. GOFLAGS carries it to every go command
# that make runs. Anyone passing their own -ldflags must repeat it.
export GOFLAGS := -buildvcs=false -ldflags=-checklinkname=0

GO        ?= go
BIN       := bin/weir
PKGS      := ./...
FUZZTIME  ?= 20s

.PHONY: all build run cluster test test-faults test-scale test-race fuzz lint bench bench-quick bench-replication bench-micro deps verify-uring clean

all: build

build:
	$(GO) build -o $(BIN) ./cmd/weir

# A single-node broker on 127.0.0.1:9092 with its data in ./data, with
# Kafka's defaults otherwise (internal topics get as many replicas as there
# are brokers, so groups work on one node).
run: build
	./$(BIN) serve --listeners=PLAINTEXT://127.0.0.1:9092 --log.dirs=./data --node.id=1

# Three combined nodes (broker,controller) on 127.0.0.1, a Raft quorum of
# three voters: brokers on 9092-9094, controllers on 9192-9194, data in
# ./data/node-N, log lines prefixed with the node. Ctrl-C stops all three
# (each a controlled shutdown).
CLUSTER_VOTERS := 1@127.0.0.1:9192,2@127.0.0.1:9193,3@127.0.0.1:9194
cluster: build
	@for n in 1 2 3; do \
		./$(BIN) serve --node.id=$$n --process.roles=broker,controller \
			--listeners=PLAINTEXT://127.0.0.1:909$$((n+1)),CONTROLLER://127.0.0.1:919$$((n+1)) \
			--advertised.listeners=PLAINTEXT://127.0.0.1:909$$((n+1)) \
			--controller.listener.names=CONTROLLER \
			--listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT \
			--controller.quorum.voters=$(CLUSTER_VOTERS) \
			--log.dirs=./data/node-$$n 2>&1 | (trap '' INT TERM; sed -u "s/^/node-$$n | /") & \
	done; wait

# Installs what the tests need (kcat, strace, kafka-python, confluent-kafka,
# node and kafkajs) on a fresh machine, then runs every test, with the race
# detector on the packages whose code is concurrent.
test: deps build
	$(GO) test -count=1 -timeout 15m $(PKGS)
	$(GO) test -count=1 -race -timeout 10m ./ring/... ./netio/... ./logstore/... ./replica/... ./engine/...

# The replication fault tests alone, verbose: nodes in network namespaces
# cut off and healed (root and iproute2; make test runs them too).
test-faults: build
	$(GO) test -count=1 -timeout 10m -run 'TestFaults' -v ./cmd/weir

# 10,000 partitions on one node (make test runs the same test with 2,000):
# creation time, memory, open files and disk per partition, restarts.
test-scale: build
	WEIR_SCALE_PARTITIONS=10000 $(GO) test -count=1 -timeout 15m -run 'TestManyPartitions' -v ./cmd/weir

test-race: deps build
	$(GO) test -count=1 -race -timeout 15m $(PKGS)

deps:
	bash .ci/install-deps

fuzz:
	$(GO) test -run '^$$' -fuzz '^FuzzFramer$$' -fuzztime $(FUZZTIME) ./netio
	$(GO) test -run '^$$' -fuzz '^FuzzRequestHeader$$' -fuzztime $(FUZZTIME) ./engine
	$(GO) test -run '^$$' -fuzz '^FuzzBatchValidate$$' -fuzztime $(FUZZTIME) ./logstore
	$(GO) test -run '^$$' -fuzz '^FuzzIndexOpen$$' -fuzztime $(FUZZTIME) ./logstore
	$(GO) test -run '^$$' -fuzz '^FuzzRecords$$' -fuzztime $(FUZZTIME) ./logstore
	$(GO) test -run '^$$' -fuzz '^FuzzValidateRecords$$' -fuzztime $(FUZZTIME) ./logstore
	$(GO) test -run '^$$' -fuzz '^FuzzUnlz4$$' -fuzztime $(FUZZTIME) ./logstore
	$(GO) test -run '^$$' -fuzz '^FuzzProducerSnapshot$$' -fuzztime $(FUZZTIME) ./logstore
	$(GO) test -run '^$$' -fuzz '^FuzzDumpLog$$' -fuzztime $(FUZZTIME) ./tools
	$(GO) test -run '^$$' -fuzz '^FuzzMetadataRecord$$' -fuzztime $(FUZZTIME) ./logstore/metalog

lint:
	$(GO) vet $(PKGS)
	$(GO) run honnef.co/go/tools/cmd/staticcheck@v0.8.2 $(PKGS)

# The benchmark suite (weir bench, see bench/): starts Weir with --io=uring
# and --io=std and kfake on this host, measures the host's limits, runs the
# compare scenarios three times in alternation and the batch x codec matrix,
# and rewrites bench/RESULTS.md, bench/results.json and bench/charts/.
# bench/FINDINGS.md (the profile findings, written by hand) is appended.
# About 12 minutes on 2 cores.
bench: build
	./$(BIN) bench compare --rounds 3 --duration 5s --matrix --matrix-duration 2s \
		--markdown bench/RESULTS.md --json bench/results.json --chart-dir bench/charts --notes bench/FINDINGS.md

# The cost of replication (weir bench replication): three Weir nodes on
# this host, node 1 leading every partition; RF1 acks=1, RF3 acks=1 and
# RF3 acks=all, three rounds in alternation; throughput, p99 and each
# node's CPU per GB against the targets. Rewrites bench/REPLICATION.md and
# bench/replication.json. About 2 minutes.
bench-replication: build
	./$(BIN) bench replication --rounds 3 --duration 5s \
		--markdown bench/REPLICATION.md --json bench/replication.json

# A one-minute smoke run of the same suite, writing to a scratch dir; CI runs it.
bench-quick: build
	rm -rf bin/bench-quick && mkdir -p bin/bench-quick
	./$(BIN) bench compare --quick --markdown bin/bench-quick/RESULTS.md --json bin/bench-quick/results.json

# Go micro-benchmarks of the layers (ring, netio, logstore).
bench-micro:
	$(GO) test -run '^$$' -bench . -benchtime 2s -timeout 20m ./ring/... ./netio/... ./logstore/...

# Proves the uring backend moves socket bytes through io_uring (strace -f -c).
verify-uring: deps build
	$(GO) test -count=1 -run 'TestStraceUring' -v ./cmd/weir

clean:
	rm -rf bin
