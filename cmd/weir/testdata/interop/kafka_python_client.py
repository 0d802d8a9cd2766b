"""kafka-python (Debian python3-kafka) against a broker: KafkaProducer with an
explicit partition per record, KafkaConsumer in assign mode (no group).

    python3 kafka_python_client.py BOOTSTRAP TOPIC COUNT produce [compression=gzip]
    python3 kafka_python_client.py BOOTSTRAP TOPIC COUNT consume
    python3 kafka_python_client.py BOOTSTRAP TOPIC COUNT group group=G

group: a KafkaConsumer in consumer group G (subscribe) that reads at least
COUNT records, at most 50 a poll, and commits synchronously after each poll
(manual commit after processing).

See common.py for the stdin/stdout protocol.
"""

import logging
import sys

import common

try:
    import kafka
    from kafka import KafkaConsumer, KafkaProducer, TopicPartition
except ImportError as e:
    sys.stderr.write("interop: kafka-python missing (Debian python3-kafka): %s\n" % e)
    sys.exit(common.MISSING_MODULE)

CLIENT_ID = "weir-interop-kafka-python"


def produce(a):
    recs = common.read_records(a.count)
    codec = a.opts.get("compression") or None
    p = KafkaProducer(
        bootstrap_servers=a.bootstrap.split(","),
        client_id=CLIENT_ID,
        acks="all",
        linger_ms=5,
        compression_type=codec,
        max_block_ms=int(a.left() * 1000),
        request_timeout_ms=10000,
        api_version_auto_timeout_ms=10000,
        retries=0,
    )
    futs = []
    for part, k, v, h in recs:
        futs.append(p.send(a.topic, key=k, value=v, headers=h, partition=part))
    p.flush(timeout=a.left())
    for i, f in enumerate(futs):
        md = f.get(timeout=a.left())
        common.emit("delivered", {"i": i, "p": md.partition, "o": md.offset})
    p.close(timeout=5)
    common.emit("summary", {"client": "kafka-python", "version": kafka.__version__,
                            "api_version": list(p.config["api_version"]),
                            "compression": codec, "produced": len(futs)})


def consume(a):
    c = KafkaConsumer(
        bootstrap_servers=a.bootstrap.split(","),
        client_id=CLIENT_ID,
        group_id=None,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        fetch_max_wait_ms=200,
        api_version_auto_timeout_ms=10000,
    )
    parts = None
    while not parts and not a.expired():
        parts = c.partitions_for_topic(a.topic)
    if not parts:
        common.fail("no partitions for %s" % a.topic)
    tps = [TopicPartition(a.topic, p) for p in sorted(parts)]
    c.assign(tps)
    c.seek_to_beginning(*tps)
    got = 0
    while got < a.count and not a.expired():
        batch = c.poll(timeout_ms=int(min(a.left(), 0.5) * 1000))
        for tp in sorted(batch, key=lambda tp: tp.partition):
            for m in batch[tp]:
                common.record(m.partition, m.offset, m.key, m.value, m.headers)
                got += 1
    # A broker that returns more than was produced is caught by the exact
    # count check in Go: look once more, briefly.
    for tp, msgs in c.poll(timeout_ms=300).items():
        for m in msgs:
            common.record(m.partition, m.offset, m.key, m.value, m.headers)
    api = list(c.config["api_version"])
    c.close(autocommit=False)
    if got < a.count:
        common.fail("consumed %d records of %d before the deadline" % (got, a.count))
    common.emit("summary", {"client": "kafka-python", "version": kafka.__version__,
                            "api_version": api, "consumed": got})


def group(a):
    c = KafkaConsumer(
        a.topic,
        bootstrap_servers=a.bootstrap.split(","),
        client_id=CLIENT_ID,
        group_id=a.opts["group"],
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        max_poll_records=50,
        fetch_max_wait_ms=200,
        api_version_auto_timeout_ms=10000,
    )
    got = 0
    while got < a.count and not a.expired():
        batch = c.poll(timeout_ms=int(min(a.left(), 0.5) * 1000))
        for tp in sorted(batch, key=lambda tp: tp.partition):
            for m in batch[tp]:
                common.record(m.partition, m.offset, m.key, m.value, m.headers)
                got += 1
        if batch:
            c.commit()  # synchronous: what was processed is committed
    c.close(autocommit=False)
    if got < a.count:
        common.fail("consumed %d records of %d before the deadline" % (got, a.count))
    common.emit("summary", {"client": "kafka-python", "version": kafka.__version__,
                            "group": a.opts["group"], "consumed": got})


def main():
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    a = common.Args(sys.argv)
    {"produce": produce, "consume": consume, "group": group}[a.mode](a)


if __name__ == "__main__":
    main()
