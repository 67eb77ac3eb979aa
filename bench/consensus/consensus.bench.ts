// Consensus in the deterministic simulator: simulated rounds per second, finalization latency (in
// rounds and virtual ms) at 1 ms and 50 ms link delay, and the CPU cost of one round per node with
// real signatures (Ed25519 shares, threshold BLS beacon and certification; no shared memo).
// Budget: a 4-node subnet sharing 2 cores must sustain at least 4 rounds per second.

import { against, fmt, header, smoke } from '../harness.ts'
import { Cluster, GENESIS_TIME } from '../../sim/cluster/cluster.ts'
import { cryptoCounters } from '../../sim/cluster/crypto.ts'

header('consensus (sim/cluster)')

interface Run {
  heights: number
  wallMs: number
  cpuMs: number
  virtualMs: number
  latencyMs: number[]
  latencyRounds: number[]
}

function run(n: number, delayMs: number, heights: number, memoizeCrypto: boolean): Run {
  const cluster = new Cluster({ n, seed: 7, memoizeCrypto, ingressEveryMs: 100, network: { delay: { kind: 'uniform', minMs: delayMs * 0.8, maxMs: delayMs * 1.2 } } })
  const latencyMs: number[] = []
  const latencyRounds: number[] = []
  const seen = new Set<bigint>()
  const inner = cluster.hooks.onDeliver
  cluster.hooks.onDeliver = (node, batch, hash) => {
    inner(node, batch, hash)
    if (seen.has(batch.height)) return
    seen.add(batch.height)
    // The batch time is the maker's clock when it proposed; now is when the block became final.
    latencyMs.push(Number(cluster.queue.now - (batch.time - GENESIS_TIME)) / 1e6)
    latencyRounds.push(Number(cluster.node(node).consensus.notarizedHeight - batch.height) + 1)
  }
  cluster.runUntil(2) // warm-up: JIT and key caches
  const cpu0 = process.cpuUsage()
  const t0 = performance.now()
  const v0 = cluster.nowMs
  const h0 = Number(cluster.minDelivered())
  if (!cluster.runUntil(h0 + heights, { maxMs: 600_000 })) throw new Error(`no progress (n=${n}, delay=${delayMs})`)
  const cpu = process.cpuUsage(cpu0)
  return {
    heights: Number(cluster.minDelivered()) - h0,
    wallMs: performance.now() - t0,
    cpuMs: (cpu.user + cpu.system) / 1000,
    virtualMs: cluster.nowMs - v0,
    latencyMs: latencyMs.slice(2),
    latencyRounds: latencyRounds.slice(2),
  }
}

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length)
const p = (xs: number[], q: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(q * xs.length))] ?? 0

const heights = smoke ? 3 : 30
for (const delay of [1, 50]) {
  const r = run(4, delay, heights, true)
  console.log(`n=4, link ${delay} ms: ${fmt((r.heights * 1000) / r.wallMs)} simulated rounds/s (wall, shared BLS memo), ` +
    `${fmt(r.virtualMs / r.heights)} virtual ms per round, finalization latency mean ${fmt(mean(r.latencyMs))} ms (p90 ${fmt(p(r.latencyMs, 0.9))} ms), ` +
    `${fmt(mean(r.latencyRounds))} rounds (max ${Math.max(0, ...r.latencyRounds)})`)
}

for (const n of [4, 13]) {
  const before = { ...cryptoCounters }
  const r = run(n, 20, smoke ? 2 : n === 4 ? 20 : 6, false)
  const perRoundPerNode = r.cpuMs / r.heights / n
  const bls = cryptoCounters.blsSign + cryptoCounters.blsVerify + cryptoCounters.blsCombine - before.blsSign - before.blsVerify - before.blsCombine
  console.log(`n=${n}: CPU ${fmt(perRoundPerNode)} ms per round per node (${fmt(bls / r.heights / n)} BLS ops per round per node, no memo)`)
  if (n === 4) against('rounds/s, 4-node subnet sharing 2 cores', 2000 / (perRoundPerNode * 4), 'rounds/s', 4, true)
  else against(`rounds/s, ${n}-node subnet, one node per core`, 1000 / perRoundPerNode, 'rounds/s', 1, true)
}
