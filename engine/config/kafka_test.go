package config

import "testing"

// The keys Weir promises to know, with their Kafka types.
func TestKafkaKeys(t *testing.T) {
	want := map[string]Type{
		"node.id": Int, "broker.id": Int, "process.roles": List, "listeners": List,
		"advertised.listeners": List, "listener.security.protocol.map": List,
		"inter.broker.listener.name": String, "controller.listener.names": List,
		"controller.quorum.voters": List, "controller.quorum.bootstrap.servers": List,
		"log.dirs": List, "log.dir": String, "num.partitions": Int,
		"default.replication.factor": Int, "auto.create.topics.enable": Bool,
		"delete.topic.enable": Bool, "socket.request.max.bytes": Int,
		"socket.send.buffer.bytes": Int, "socket.receive.buffer.bytes": Int,
		"num.network.threads": Int, "num.io.threads": Int, "message.max.bytes": Int,
		"log.segment.bytes": Int, "log.roll.ms": Long, "log.roll.hours": Int,
		"log.retention.ms": Long, "log.retention.minutes": Int, "log.retention.hours": Int,
		"log.retention.bytes": Long, "log.retention.check.interval.ms": Long,
		"log.index.interval.bytes": Int, "log.index.size.max.bytes": Int,
		"log.flush.interval.messages": Long, "log.flush.interval.ms": Long,
		"log.cleanup.policy": List, "offsets.topic.num.partitions": Int,
		"offsets.topic.replication.factor": Short, "offsets.retention.minutes": Int,
		"group.initial.rebalance.delay.ms": Int, "group.min.session.timeout.ms": Int,
		"group.max.session.timeout.ms": Int, "group.max.size": Int,
		"min.insync.replicas": Int, "unclean.leader.election.enable": Bool,
		"replica.lag.time.max.ms": Long, "broker.rack": String,
		"transaction.state.log.replication.factor": Short, "transaction.state.log.min.isr": Int,
		"controller.quorum.election.timeout.ms": Int, "controller.quorum.fetch.timeout.ms": Int,
		"broker.session.timeout.ms": Int, "broker.heartbeat.interval.ms": Int,
		"metadata.log.max.snapshot.interval.ms": Long, "metadata.max.retention.bytes": Long,
		"metadata.log.max.record.bytes.between.snapshots": Long, "auto.leader.rebalance.enable": Bool,
		"leader.imbalance.check.interval.seconds": Long, "max.request.partition.size.limit": Int,
	}
	for name, typ := range want {
		k, ok := Kafka.Key(name)
		if !ok {
			t.Errorf("%s missing", name)
			continue
		}
		if k.Type != typ {
			t.Errorf("%s is %s, want %s", name, k.Type, typ)
		}
	}
	if _, ok := Kafka.Key("cluster.id"); ok {
		t.Errorf("cluster.id is a key; Kafka keeps it in meta.properties")
	}
	for _, name := range Kafka.Names() {
		k, _ := Kafka.Key(name)
		if len(k.Doc) > 100 {
			t.Errorf("%s: doc is longer than one line (%d chars)", name, len(k.Doc))
		}
	}
}
