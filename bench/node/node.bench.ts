// Replica processes under load: a real local subnet of `capsa-node` processes on 127.0.0.1 (fresh
// genesis, node defaults for consensus), a Motoko counter, and a load generator that signs its own
// envelopes. Figures: start-up to certifying (1 and 4 nodes), update latency submit → certified reply
// (POST /api/v3 .../call), sustained updates/s with many clients in flight across the 4 nodes, queries/s
// and latency on one node, and @dfinity/agent's overhead over the raw generator for the same calls.
// Goals (Capsa issue 6): update p50 ≤ 300 ms, ≥ 1,000 updates/s, ≥ 5,000 queries/s, query p50 ≤ 2 ms.
// Everything this starts is killed in `finally`, on a signal, and by a watchdog.

import { rmSync } from 'node:fs'
import { loadavg } from 'node:os'
import { Actor } from '@dfinity/agent'
import { IDL } from '@dfinity/candid'
import type { Principal } from '@dfinity/principal'
import { against, fmt, header, smoke } from '../harness.ts'
import { compileMotoko, MOTOKO_COUNTER as COUNTER } from '../../sim/motoko.ts'
import { LocalSubnet, type LocalSubnetOptions } from '../../test/support/local-subnet.ts'
import { installCounters } from './setup.ts'
import { cpuSeconds, fmtLatency, latencySummary, newSigner, query, scrapeMetrics, update, type Signer } from './load.ts'

header('node: replica processes on 127.0.0.1 under load')

const counterIdl: IDL.InterfaceFactory = ({ IDL: I }) => I.Service({ inc: I.Func([], [I.Nat], []), get: I.Func([], [I.Nat], ['query']) })
type Counter = { inc(): Promise<bigint>; get(): Promise<bigint> }

const cfg = smoke
  ? { canisters: 1, seqUpdates: 1, latencyClients: 2, latencyMs: 1_000, loadClients: 8, loadMs: 1_000, saturateClients: 16, saturateMs: 1_000, idleMs: 500, seqQueries: 10, queryClients: 8, queryMs: 300, agentUpdates: 1, agentQueries: 3, watchdogMs: 100_000 }
  : { canisters: 4, seqUpdates: 20, latencyClients: 4, latencyMs: 15_000, loadClients: 200, loadMs: 25_000, saturateClients: 1_000, saturateMs: 25_000, idleMs: 3_000, seqQueries: 500, queryClients: 32, queryMs: 5_000, agentUpdates: 15, agentQueries: 200, watchdogMs: 420_000 }

// The genesis command's local timings unless CAPSA_BENCH_CONSENSUS gives JSON overrides, e.g. '{"unitDelayMs":300,"initialNotaryDelayMs":150}'.
const consensus = process.env.CAPSA_BENCH_CONSENSUS ? (JSON.parse(process.env.CAPSA_BENCH_CONSENSUS) as LocalSubnetOptions['consensus']) : undefined
console.log(`machine load average before the run: ${loadavg().map((l) => l.toFixed(2)).join(' ')} (2 cores, shared with other work)`)
console.log(`consensus config: ${consensus ? JSON.stringify(consensus) : 'the local timings genesis writes (node/genesis.ts CONSENSUS_TIMING.local)'}`)
const subnets: LocalSubnet[] = []
function killAll(): void {
  for (const s of subnets) {
    for (const p of [...s.procs, ...s.extra]) if (p && p.child.exitCode === null) p.child.kill('SIGKILL')
    rmSync(s.dir, { recursive: true, force: true })
  }
}
process.on('exit', killAll)
for (const sig of ['SIGINT', 'SIGTERM'] as const) process.on(sig, () => process.exit(130))
const watchdog = setTimeout(() => {
  console.error(`node bench: watchdog: not done after ${cfg.watchdogMs} ms; killing the subnet`)
  for (const s of subnets) console.error(s.logs())
  process.exit(1)
}, cfg.watchdogMs)
watchdog.unref()

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))
const now = () => performance.now()
// Nat replies of the counter: DIDL, one type (nat = 0x7d), then the LEB128 value.
const decodeNat = (reply: Uint8Array) => IDL.decode([IDL.Nat], reply)[0] as bigint

/** Starts every node; returns ms to all answering /_/health and to all certifying (certifiedHeight ≥ 1). */
async function startSubnet(s: LocalSubnet, limitMs: number): Promise<{ httpMs: number; readyMs: number } | { error: string }> {
  await s.create()
  const t0 = now()
  for (let i = 0; i < s.n; i++) s.start(i)
  let httpMs: number | undefined
  while (now() - t0 < limitMs) {
    const hs = await Promise.all(Array.from({ length: s.n }, (_, i) => s.health(i)))
    if (httpMs === undefined && hs.every((h) => h !== undefined)) httpMs = now() - t0
    if (hs.every((h) => h !== undefined && h.certifiedHeight >= 1)) return { httpMs: httpMs ?? now() - t0, readyMs: now() - t0 }
    const dead = s.procs.findIndex((p) => p !== undefined && p.child.exitCode !== null)
    if (dead >= 0) return { error: `node ${dead} exited with code ${s.procs[dead]!.child.exitCode}` }
    await sleep(50)
  }
  // A last look: on a busy machine the final poll may have been the one that timed out.
  const hs = await Promise.all(Array.from({ length: s.n }, (_, i) => s.health(i)))
  if (hs.every((h) => h !== undefined && h.certifiedHeight >= 1)) return { httpMs: httpMs ?? now() - t0, readyMs: now() - t0 }
  return { error: `not certifying after ${limitMs} ms; health: ${JSON.stringify(hs)}` }
}

interface LoadResult { latencies: number[]; replied: number; polled: number; throttled: number; rejected: number; errors: string[]; seconds: number }

/** `clients` loops, client i on node i % n and canister i % k, each sending its next update as soon as the last one ends. */
async function load(s: LocalSubnet, ids: Principal[], clients: number, durationMs: number, signers: Signer[]): Promise<LoadResult> {
  const r: LoadResult = { latencies: [], replied: 0, polled: 0, throttled: 0, rejected: 0, errors: [], seconds: 0 }
  const t0 = now()
  const end = t0 + durationMs
  await Promise.all(Array.from({ length: clients }, async (_, i) => {
    const base = s.url(i % s.n)
    const id = ids[i % ids.length]
    const bytes = id.toUint8Array()
    const text = id.toText()
    await sleep((i * 5) % 250) // do not open every connection in the same millisecond
    while (now() < end) {
      const start = now()
      const o = await update(base, text, bytes, 'inc', signers[i % signers.length])
      if (o.kind === 'replied' || o.kind === 'polled') {
        r.latencies.push(now() - start)
        if (o.kind === 'replied') r.replied++
        else r.polled++
      } else if (o.kind === 'throttled') {
        r.throttled++
        await sleep(50)
      } else if (o.kind === 'rejected') r.rejected++
      else {
        r.errors.push(o.detail)
        await sleep(100)
      }
    }
  }))
  r.seconds = (now() - t0) / 1000
  return r
}

function printLoad(name: string, r: LoadResult): void {
  const done = r.replied + r.polled
  console.log(`${name}: ${done} updates in ${r.seconds.toFixed(1)} s = ${fmt(done / r.seconds)} updates/s; latency ${fmtLatency(r.latencies)}`)
  console.log(`  outcomes: ${r.replied} certified at once (200), ${r.polled} after 202 + read_state, ${r.throttled} throttled (429), ${r.rejected} rejected, ${r.errors.length} errors${r.errors.length ? ` (first: ${r.errors[0]})` : ''}`)
}

async function sustained(s: LocalSubnet, ids: Principal[], clients: number, ms: number, signers: Signer[], goals: boolean, idleCores: number): Promise<void> {
  const before = await Promise.all([0, 1, 2, 3].map((i) => scrapeMetrics(s.url(i))))
  const cpu0 = s.procs.map((p) => cpuSeconds(p?.child.pid))
  const self0 = process.cpuUsage()
  const heavy = await load(s, ids, clients, ms, signers)
  const selfCpu = process.cpuUsage(self0)
  const cpu1 = s.procs.map((p) => cpuSeconds(p?.child.pid))
  const after = await Promise.all([0, 1, 2, 3].map((i) => scrapeMetrics(s.url(i))))
  printLoad(`sustained, ${clients} clients over 4 nodes and ${ids.length} canister(s)`, heavy)
  const heavyL = latencySummary(heavy.latencies)
  const rate = (heavy.replied + heavy.polled) / heavy.seconds
  if (goals) {
    against('updates/s sustained, 4-node subnet on 2 cores', rate, 'updates/s', 1_000, true)
    against('update p50 under that load', heavyL.p50, 'ms', 300, false)
  } else {
    against(`updates/s with ${clients} in flight (capacity)`, rate, 'updates/s', 1_000, true)
  }
  const delta = (i: number, k: string) => (after[i].get(k) ?? 0) - (before[i].get(k) ?? 0)
  const blocks = delta(0, 'capsa_finalized_height')
  const executed = delta(0, 'capsa_executed_messages_total')
  console.log(`  node 0 during the run: ${blocks} blocks finalized (${fmt(blocks / heavy.seconds)} blocks/s, ${fmt((heavy.seconds * 1000) / Math.max(1, blocks))} ms/block), ` +
    `${executed} messages executed (${fmt(executed / Math.max(1, blocks))} per block), last finalization latency ${fmt(1000 * (after[0].get('capsa_finalization_latency_seconds') ?? NaN))} ms, ` +
    `ingress pool at the end ${after[0].get('capsa_ingress_pool_messages') ?? '?'}`)
  const busy = printCpu(cpu0, cpu1, selfCpu, heavy.seconds).reduce((a, b) => a + b, 0) - idleCores
  // CPU time, unlike wall time, hardly depends on what else the shared machine runs.
  const perUpdateMs = (busy * heavy.seconds * 1000) / Math.max(1, heavy.replied + heavy.polled)
  console.log(perUpdateMs > 0
    ? `  node CPU per update, 4 nodes together, idle consensus (${idleCores.toFixed(2)} cores) subtracted: ${perUpdateMs.toFixed(2)} ms → CPU-bound ceiling on 2 dedicated cores ≈ ${fmt((2 - idleCores) / (perUpdateMs / 1000))} updates/s`
    : `  node CPU per update: not measurable in this run (load CPU below the idle baseline)`)
}

function printCpu(cpu0: (number | undefined)[], cpu1: (number | undefined)[], self: NodeJS.CpuUsage, seconds: number): number[] {
  const use = cpu0.map((c, i) => (c !== undefined && cpu1[i] !== undefined ? (cpu1[i] - c) / seconds : NaN))
  console.log(`  CPU in cores during the run: nodes ${use.map((c) => c.toFixed(2)).join(' + ')} = ${use.reduce((a, b) => a + b, 0).toFixed(2)}, ` +
    `load generator ${((self.user + self.system) / 1e6 / seconds).toFixed(2)} (machine: 2 cores, shared)`)
  return use
}

async function sequentialQueries(base: string, id: Principal, count: number, signer?: Signer): Promise<number[]> {
  const out: number[] = []
  for (let k = 0; k < count; k++) {
    const t = now()
    await query(base, id.toText(), id.toUint8Array(), 'get', signer)
    out.push(now() - t)
  }
  return out
}

/** A 1-node subnet: start-up time, and whether it executes and certifies updates at all. */
async function oneNodeSubnet(): Promise<void> {
  const one = new LocalSubnet({ nodes: 1, consensus })
  subnets.push(one)
  try {
    const r1 = await startSubnet(one, 30_000)
    if ('error' in r1) {
      console.log(`1-node subnet: DOES NOT WORK: ${r1.error}`)
      console.log(one.logs())
      return
    }
    console.log(`1-node subnet: HTTP up in ${fmt(r1.httpMs)} ms, certifying (certifiedHeight ≥ 1) after ${fmt(r1.readyMs)} ms`)
    const { ids } = await installCounters(one, 1, wasm)
    const signer = newSigner()
    const lat: number[] = []
    for (let k = 0; k < cfg.seqUpdates; k++) {
      const t = now()
      const o = await update(one.url(0), ids[0].toText(), ids[0].toUint8Array(), 'inc', signer)
      if (o.kind !== 'replied' && o.kind !== 'polled') throw new Error(`1-node update failed: ${JSON.stringify(o)}`)
      if (decodeNat(o.reply) !== BigInt(k + 1)) throw new Error(`1-node counter: expected ${k + 1}, got ${decodeNat(o.reply)}`)
      lat.push(now() - t)
    }
    console.log(`1-node subnet: sequential update latency ${fmtLatency(lat)}`)
  } finally {
    await one.close()
    subnets.splice(subnets.indexOf(one), 1)
  }
}

const wasm = compileMotoko(COUNTER, 'eop').wasm
try {
  // 1. Start-up: one node, then four. Smoke runs them side by side to stay within CI's minute.
  const oneNode = oneNodeSubnet()
  oneNode.catch(() => undefined) // awaited below; this only keeps it from counting as unhandled meanwhile
  if (!smoke) await oneNode
  const s = new LocalSubnet({ nodes: 4, consensus })
  subnets.push(s)
  const r4 = await startSubnet(s, 45_000)
  if ('error' in r4) throw new Error(`4-node subnet did not start: ${r4.error}\n${s.logs()}`)
  console.log(`4-node subnet: HTTP up in ${fmt(r4.httpMs)} ms, all 4 certifying (certifiedHeight ≥ 1) after ${fmt(r4.readyMs)} ms`)
  if (smoke) await oneNode

  const tSetup = now()
  const { agent, ids } = await installCounters(s, cfg.canisters, wasm)
  console.log(`setup: ${ids.length} Motoko counter(s) created and installed through @dfinity/agent in ${fmt(now() - tSetup)} ms`)
  const signers = Array.from({ length: 16 }, newSigner)
  const idle0 = s.procs.map((p) => cpuSeconds(p?.child.pid))
  const tIdle = now()
  await sleep(cfg.idleMs)
  const idleUse = idle0.map((c, i) => ((cpuSeconds(s.procs[i]?.child.pid) ?? NaN) - (c ?? NaN)) / ((now() - tIdle) / 1000))
  const idleCores = idleUse.reduce((a, b) => a + b, 0)
  console.log(`idle subnet (consensus only): nodes use ${idleUse.map((c) => c.toFixed(2)).join(' + ')} = ${idleCores.toFixed(2)} cores`)

  // 2. Update latency, lightly loaded: a few clients, one call in flight each.
  const light = await load(s, ids.slice(0, 1), cfg.latencyClients, cfg.latencyMs, signers)
  printLoad(`update latency, ${cfg.latencyClients} clients (one in flight each)`, light)
  const lightL = latencySummary(light.latencies)
  against('update p50, submit → certified reply (light load)', lightL.p50, 'ms', 300, false)
  console.log(`update p99, light load: ${lightL.p99.toFixed(1)} ms`)

  // 3. Sustained load across the four nodes; /metrics and /proc say where the time went. Each client
  // waits for its reply, so updates/s ≤ clients / latency: a second run with far more in flight shows
  // whether the subnet itself saturates.
  await sustained(s, ids, cfg.loadClients, cfg.loadMs, signers, true, idleCores)
  await sustained(s, ids, cfg.saturateClients, cfg.saturateMs, signers, false, idleCores)

  // 4. Queries on one node: sequential latency (anonymous and signed), then throughput with many in flight.
  const qid = ids[0]
  const anon = await sequentialQueries(s.url(0), qid, cfg.seqQueries)
  const signedQ = await sequentialQueries(s.url(0), qid, cfg.seqQueries, signers[0])
  console.log(`query latency, node 0, one at a time: anonymous ${fmtLatency(anon)}; signed ${fmtLatency(signedQ)}`)
  const qEnd = now() + cfg.queryMs
  let queries = 0
  const qLat: number[] = []
  const qt0 = now()
  const qcpu0 = s.procs.map((p) => cpuSeconds(p?.child.pid))
  const qself0 = process.cpuUsage()
  await Promise.all(Array.from({ length: cfg.queryClients }, async () => {
    while (now() < qEnd) {
      const t = now()
      await query(s.url(0), qid.toText(), qid.toUint8Array(), 'get')
      qLat.push(now() - t)
      queries++
    }
  }))
  const qSeconds = (now() - qt0) / 1000
  const qps = queries / qSeconds
  console.log(`queries, ${cfg.queryClients} in flight on node 0 (anonymous): ${fmt(qps)} queries/s, latency ${fmtLatency(qLat)}`)
  const q0 = printCpu(qcpu0, s.procs.map((p) => cpuSeconds(p?.child.pid)), process.cpuUsage(qself0), qSeconds)[0] - idleUse[0]
  const perQueryMs = (q0 * qSeconds * 1000) / Math.max(1, queries)
  console.log(perQueryMs > 0
    ? `  node 0 CPU per query, idle subtracted: ${perQueryMs.toFixed(3)} ms → CPU-bound ceiling on one dedicated core ≈ ${fmt(1000 / perQueryMs)} queries/s`
    : `  node 0 CPU per query: not measurable in this run (below the idle baseline)`)
  against('queries/s, one node', qps, 'queries/s', 5_000, true)
  against('query p50, one node, one at a time', latencySummary(anon).p50, 'ms', 2, false)

  // 5. The agent's overhead: the same calls through @dfinity/agent (it verifies the certificate's BLS
  // signature and the query's node signature; the raw generator checks neither).
  const counter = Actor.createActor<Counter>(counterIdl, { agent, canisterId: qid })
  const agentUpd: number[] = []
  const rawUpd: number[] = []
  let last = await counter.get()
  for (let k = 0; k < cfg.agentUpdates; k++) {
    let t = now()
    const v = await counter.inc()
    agentUpd.push(now() - t)
    if (v <= last) throw new Error(`counter went from ${last} to ${v}`)
    t = now()
    const o = await update(s.url(0), qid.toText(), qid.toUint8Array(), 'inc', signers[0])
    rawUpd.push(now() - t)
    if (o.kind !== 'replied' && o.kind !== 'polled') throw new Error(`raw update failed: ${JSON.stringify(o)}`)
    last = decodeNat(o.reply)
  }
  const agentQ: number[] = []
  for (let k = 0; k < cfg.agentQueries; k++) {
    const t = now()
    await counter.get()
    agentQ.push(now() - t)
  }
  const au = latencySummary(agentUpd)
  const ru = latencySummary(rawUpd)
  const aq = latencySummary(agentQ)
  const rq = latencySummary(signedQ)
  console.log(`update via @dfinity/agent Actor: ${fmtLatency(agentUpd)}`)
  console.log(`update via raw generator (interleaved): ${fmtLatency(rawUpd)}  → agent overhead p50 ${(au.p50 - ru.p50).toFixed(1)} ms`)
  console.log(`query via @dfinity/agent Actor: ${fmtLatency(agentQ)}  → agent overhead p50 ${(aq.p50 - rq.p50).toFixed(2)} ms over the raw signed query`)
  console.log(`machine load average at the end: ${loadavg().map((l) => l.toFixed(2)).join(' ')}`)
} finally {
  for (const s of subnets) await s.close()
  clearTimeout(watchdog)
}
