"""confluent-kafka (Debian python3-confluent-kafka, on librdkafka) against a
broker: Producer with an explicit partition per record and a compression
codec, Consumer in assign mode (no group join, no commits), and Consumer in
a group (subscribe) with synchronous commits of what it read.

    python3 confluent_client.py BOOTSTRAP TOPIC COUNT produce compression=lz4 [idempotence=true]
        [linger=MS] [report_errors=true]
    python3 confluent_client.py BOOTSTRAP TOPIC COUNT consume
    python3 confluent_client.py BOOTSTRAP TOPIC COUNT group group=NAME

See common.py for the stdin/stdout protocol.
"""

import sys

import common

try:
    import confluent_kafka
    from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaException, Producer, TopicPartition
except ImportError as e:
    sys.stderr.write("interop: confluent-kafka missing (Debian python3-confluent-kafka): %s\n" % e)
    sys.exit(common.MISSING_MODULE)

CLIENT_ID = "weir-interop-confluent"


def versions():
    return {"client": "confluent-kafka", "version": confluent_kafka.version()[0],
            "librdkafka": confluent_kafka.libversion()[0]}


def produce(a):
    recs = common.read_records(a.count)
    codec = a.opts.get("compression", "none")
    idem = a.opts.get("idempotence", "false")
    # report_errors: failed deliveries are counted in the summary ("failed":
    # {error name: count}, "failed_indexes") instead of failing the run.
    report_errors = a.opts.get("report_errors") == "true"
    p = Producer({
        "bootstrap.servers": a.bootstrap,
        "client.id": CLIENT_ID,
        "acks": "all",
        "linger.ms": int(a.opts.get("linger", "5")),
        "compression.type": codec,
        "enable.idempotence": idem,
        "message.timeout.ms": int(a.left() * 1000),
        "socket.timeout.ms": 10000,
    })
    delivered = [None] * len(recs)
    errors = []

    def report(i):
        def cb(err, msg):
            if err is not None:
                errors.append((i, err))
            else:
                delivered[i] = (msg.partition(), msg.offset())
        return cb

    for i, (part, k, v, h) in enumerate(recs):
        p.produce(a.topic, value=v, key=k, partition=part, headers=h or None, on_delivery=report(i))
        p.poll(0)
    left = p.flush(a.left())
    if left:
        common.fail("%d records undelivered at the deadline" % left)
    if errors and not report_errors:
        common.fail("delivery failed: " + "; ".join("record %d: %s" % e for e in errors[:5]))
    for i, d in enumerate(delivered):
        if d is not None:
            common.emit("delivered", {"i": i, "p": d[0], "o": d[1]})
    s = versions()
    s.update({"compression": codec, "idempotence": idem, "produced": len(recs)})
    if report_errors:
        failed = {}
        for _, err in errors:
            failed[err.name()] = failed.get(err.name(), 0) + 1
        s.update({"failed": failed, "failed_indexes": sorted(i for i, _ in errors)})
    common.emit("summary", s)


def consume(a):
    c = Consumer({
        "bootstrap.servers": a.bootstrap,
        "client.id": CLIENT_ID,
        # librdkafka wants a group.id for any consumer; with assign() and no
        # commits it still never joins the group.
        "group.id": "weir-interop-unused",
        "enable.auto.commit": False,
        "enable.auto.offset.store": False,
        "auto.offset.reset": "earliest",
        "fetch.wait.max.ms": 200,
        "socket.timeout.ms": 10000,
    })
    md = c.list_topics(a.topic, timeout=a.left())
    t = md.topics.get(a.topic)
    if t is None or t.error is not None or not t.partitions:
        common.fail("no partitions for %s: %s" % (a.topic, t and t.error))
    c.assign([TopicPartition(a.topic, p, OFFSET_BEGINNING) for p in sorted(t.partitions)])
    got = 0

    def take(msgs):
        n = 0
        for m in msgs:
            if m.error() is not None:
                raise KafkaException(m.error())
            common.record(m.partition(), m.offset(), m.key(), m.value(), m.headers())
            n += 1
        return n

    while got < a.count and not a.expired():
        got += take(c.consume(num_messages=a.count, timeout=min(a.left(), 0.5)))
    # More than was produced is caught by the exact count check in Go.
    take(c.consume(num_messages=a.count, timeout=0.3))
    c.close()
    if got < a.count:
        common.fail("consumed %d records of %d before the deadline" % (got, a.count))
    s = versions()
    s["consumed"] = got
    common.emit("summary", s)


def group(a):
    c = Consumer({
        "bootstrap.servers": a.bootstrap,
        "client.id": CLIENT_ID,
        "group.id": a.opts["group"],
        "enable.auto.commit": False,
        "auto.offset.reset": "earliest",
        "fetch.wait.max.ms": 200,
        "session.timeout.ms": 6000,
        "socket.timeout.ms": 10000,
    })
    c.subscribe([a.topic])
    got = 0
    while got < a.count and not a.expired():
        msgs = c.consume(num_messages=min(50, a.count - got), timeout=min(a.left(), 0.5))
        for m in msgs:
            if m.error() is not None:
                raise KafkaException(m.error())
            common.record(m.partition(), m.offset(), m.key(), m.value(), m.headers())
            got += 1
        if msgs:
            c.commit(asynchronous=False)  # what was read is committed
    c.close()
    if got < a.count:
        common.fail("consumed %d records of %d before the deadline" % (got, a.count))
    s = versions()
    s.update({"group": a.opts["group"], "consumed": got})
    common.emit("summary", s)


def main():
    a = common.Args(sys.argv)
    {"produce": produce, "consume": consume, "group": group}[a.mode](a)


if __name__ == "__main__":
    main()
