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

.PHONY: all build run test test-race fuzz lint bench bench-quick deps verify-uring clean

all: build

build:
	$(GO) build -o $(BIN) ./cmd/weir

# A single-node broker on 127.0.0.1:9092 with its data in ./data. Like the
# server.properties Kafka ships, it sets the offsets topic's replication factor
# to 1: the default, 3, needs three brokers.
run: build
	./$(BIN) serve --listeners=PLAINTEXT://127.0.0.1:9092 --log.dirs=./data --node.id=1 \
		--offsets.topic.replication.factor=1

# Installs what the tests need (kcat, strace, kafka-python, confluent-kafka)
# on a fresh machine, then runs every test, with the race detector on the
# packages whose code is concurrent.
test: deps build
	$(GO) test -count=1 -timeout 10m $(PKGS)
	$(GO) test -count=1 -race -timeout 10m ./ring/... ./netio/... ./logstore/... ./engine/...

test-race: deps build
	$(GO) test -count=1 -race -timeout 15m $(PKGS)

deps:
	bash .ci/install-deps

fuzz:
	$(GO) test -run '^$$' -fuzz '^FuzzFramer$$' -fuzztime $(FUZZTIME) ./netio
	$(GO) test -run '^$$' -fuzz '^FuzzRequestHeader$$' -fuzztime $(FUZZTIME) ./engine
	$(GO) test -run '^$$' -fuzz '^FuzzBatchValidate$$' -fuzztime $(FUZZTIME) ./logstore
	$(GO) test -run '^$$' -fuzz '^FuzzIndexOpen$$' -fuzztime $(FUZZTIME) ./logstore

lint:
	$(GO) vet $(PKGS)
	$(GO) run honnef.co/go/tools/cmd/staticcheck@v0.8.2 $(PKGS)

bench:
	$(GO) test -run '^$$' -bench . -benchtime 2s -timeout 20m ./ring/... ./netio/... ./logstore/...

bench-quick:
	$(GO) test -run '^$$' -bench . -benchtime 200ms -timeout 5m ./netio/...

# Proves the uring backend moves socket bytes through io_uring (strace -f -c).
verify-uring: deps build
	$(GO) test -count=1 -run 'TestStraceUring' -v ./cmd/weir

clean:
	rm -rf bin
