'use strict'
/*
kafkajs (npm kafkajs, pinned in package.json; .ci/install-deps runs npm ci
in this directory) against a broker, with the protocol of common.py:

    node kafkajs_client.js BOOTSTRAP TOPIC COUNT produce [compression=gzip] [idempotent=true]
    node kafkajs_client.js BOOTSTRAP TOPIC COUNT consume group=G

BOOTSTRAP is host:port[,host:port...]. produce sends the records of stdin
with an explicit partition each, 50 to a send() call; kafkajs reports a base
offset per partition and send, so a record's offset is that base plus its
place among the call's records for its partition. consume is a consumer in
group G (kafkajs has no consumer outside a group) subscribed from the
beginning, which commits synchronously after each batch what it read, reads
at least COUNT records and then looks briefly for more.

Headers: kafkajs keeps a record's headers in an object, name -> value or
array of values, so the values of a repeated name come out together, in the
order of the names' first appearance; the Go side expects that order.
*/

process.env.KAFKAJS_NO_PARTITIONER_WARNING = '1'

const MISSING_MODULE = 77

let kafkajs
try {
  kafkajs = require('kafkajs')
} catch (e) {
  process.stderr.write(`interop: kafkajs missing (npm ci in ${__dirname}; make deps): ${e.message}\n`)
  process.exit(MISSING_MODULE)
}
const { Kafka, CompressionTypes, logLevel } = kafkajs
const VERSION = require('kafkajs/package.json').version
const CLIENT_ID = 'weir-interop-kafkajs'

function emit(kind, obj) {
  process.stdout.write(JSON.stringify({ [kind]: obj }) + '\n')
}

function fail(msg) {
  process.stderr.write('interop: ' + msg + '\n')
  process.exit(1)
}

const b64 = b => (b == null ? null : Buffer.from(b).toString('base64'))
const unb64 = s => (s == null ? null : Buffer.from(s, 'base64'))

function parseArgs(argv) {
  if (argv.length < 4) {
    fail('usage: kafkajs_client.js BOOTSTRAP TOPIC COUNT produce|consume [key=value ...]')
  }
  const a = { bootstrap: argv[0].split(','), topic: argv[1], count: Number(argv[2]), mode: argv[3], opts: {} }
  for (const kv of argv.slice(4)) {
    const i = kv.indexOf('=')
    a.opts[i < 0 ? kv : kv.slice(0, i)] = i < 0 ? '' : kv.slice(i + 1)
  }
  // The whole run's bound; kafkajs's own timeouts are shorter.
  a.deadline = Date.now() + 1000 * Number(a.opts.timeout || '30')
  return a
}

// kafkajs's log lines go to stderr, warnings and worse only.
const logCreator = () => ({ namespace, level, label, log }) => {
  const { message, ...extra } = log
  process.stderr.write(`kafkajs ${label} [${namespace}] ${message} ${JSON.stringify(extra)}\n`)
}

function client(a) {
  return new Kafka({
    clientId: CLIENT_ID,
    brokers: a.bootstrap,
    connectionTimeout: 5000,
    requestTimeout: 10000,
    retry: { retries: 5, initialRetryTime: 100, maxRetryTime: 2000 },
    logLevel: logLevel.WARN,
    logCreator,
  })
}

async function readStdin() {
  const chunks = []
  for await (const c of process.stdin) chunks.push(c)
  return Buffer.concat(chunks).toString('utf8')
}

// headersOut turns [[name, b64|null], ...] into kafkajs's object.
function headersOut(h) {
  const out = {}
  for (const [name, v] of h || []) {
    const val = unb64(v)
    if (!(name in out)) out[name] = val
    else if (Array.isArray(out[name])) out[name].push(val)
    else out[name] = [out[name], val]
  }
  return out
}

function headersIn(obj) {
  const out = []
  for (const [name, v] of Object.entries(obj || {})) {
    for (const x of Array.isArray(v) ? v : [v]) out.push([name, b64(x)])
  }
  return out
}

async function produce(a) {
  const lines = (await readStdin()).split('\n').filter(l => l.trim() !== '')
  if (lines.length !== a.count) fail(`read ${lines.length} records on stdin, want ${a.count}`)
  const recs = lines.map(l => JSON.parse(l))
  const codec = a.opts.compression || 'none'
  const compression = { none: CompressionTypes.None, gzip: CompressionTypes.GZIP }[codec]
  if (compression === undefined) fail(`compression ${codec}: kafkajs has none and gzip built in`)
  const idempotent = a.opts.idempotent === 'true'
  const p = client(a).producer({ idempotent, maxInFlightRequests: idempotent ? 1 : undefined, allowAutoTopicCreation: false })
  await p.connect()
  for (let i = 0; i < recs.length; i += 50) {
    const chunk = recs.slice(i, i + 50)
    const res = await p.send({
      topic: a.topic,
      acks: -1,
      timeout: 10000,
      compression,
      messages: chunk.map(r => ({ partition: r.p, key: unb64(r.k), value: unb64(r.v), headers: headersOut(r.h) })),
    })
    const base = new Map(res.map(m => [m.partition, BigInt(m.baseOffset)]))
    const next = new Map()
    chunk.forEach((r, j) => {
      if (!base.has(r.p)) fail(`send: no offset for partition ${r.p}: ${JSON.stringify(res)}`)
      const k = next.get(r.p) || 0n
      next.set(r.p, k + 1n)
      emit('delivered', { i: i + j, p: r.p, o: Number(base.get(r.p) + k) })
    })
  }
  await p.disconnect()
  emit('summary', { client: 'kafkajs', version: VERSION, compression: codec, idempotent, produced: recs.length })
}

async function consume(a) {
  const group = a.opts.group
  if (!group) fail('consume needs group=NAME')
  const c = client(a).consumer({
    groupId: group,
    sessionTimeout: 10000,
    heartbeatInterval: 500,
    maxWaitTimeInMs: 200,
    allowAutoTopicCreation: false,
  })
  await c.connect()
  await c.subscribe({ topics: [a.topic], fromBeginning: true })
  let got = 0
  let failure = null
  let done
  const enough = new Promise(resolve => (done = resolve))
  await c.run({
    autoCommit: false,
    eachBatch: async ({ batch, heartbeat }) => {
      if (batch.messages.length === 0) return
      for (const m of batch.messages) {
        emit('record', { p: batch.partition, o: Number(m.offset), k: b64(m.key), v: b64(m.value), h: headersIn(m.headers) })
        got++
      }
      const last = BigInt(batch.lastOffset())
      try {
        await c.commitOffsets([{ topic: batch.topic, partition: batch.partition, offset: String(last + 1n) }])
      } catch (e) {
        failure = failure || e
      }
      await heartbeat()
      if (got >= a.count || failure) done()
    },
  })
  const timer = setTimeout(done, Math.max(100, a.deadline - Date.now()))
  await enough
  clearTimeout(timer)
  // More than was produced is caught by the exact count check in Go.
  await new Promise(resolve => setTimeout(resolve, 300))
  await c.disconnect()
  if (failure) fail(`commit: ${failure.stack || failure}`)
  if (got < a.count) fail(`consumed ${got} records of ${a.count} before the deadline`)
  emit('summary', { client: 'kafkajs', version: VERSION, group, consumed: got })
}

async function main() {
  const a = parseArgs(process.argv.slice(2))
  const modes = { produce, consume }
  if (!modes[a.mode]) fail(`mode ${a.mode}: want produce or consume`)
  // A run that hangs past its deadline fails rather than waits for the Go side's kill.
  setTimeout(() => fail('deadline passed'), Math.max(100, a.deadline - Date.now()) + 5000).unref()
  await modes[a.mode](a)
}

main().catch(e => fail(e.stack || String(e)))
