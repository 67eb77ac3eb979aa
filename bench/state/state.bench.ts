// State layer figures: (1) incremental root-hash cost per round against the number of request ids in
// the tree (it must grow like log n, not n); (2) checkpoint write throughput of dirty pages on LevelDB;
// (3) restart time: loading and verifying that checkpoint. Smoke mode: 1k/10k ids and 8 MiB.
// CAPSA_BENCH_STATE_SIZES_MIB=100,256 overrides the checkpoint sizes (full mode: 100 and 1024).

import { randomFillSync } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { sha256 } from '../../protocol/hash.ts'
import { ChunkPacks } from '../../node/kv/chunk-packs.ts'
import { LevelKvStore } from '../../node/kv/level.ts'
import { CheckpointStore } from '../../state/checkpoint.ts'
import { PAGE_BYTES } from '../../state/manifest.ts'
import type { PageMapSnapshot } from '../../state/manifest.ts'
import { LABEL, setRequestStatus } from '../../state/state-tree.ts'
import { buildFromLeaves } from '../../state/tree.ts'
import type { MapNode } from '../../state/tree.ts'
import { against, fmt, header, smoke } from '../harness.ts'

header('state: incremental certified tree, checkpoints on LevelDB')

const now = () => Number(process.hrtime.bigint()) / 1e6
// CPU time of the whole process (all threads, LevelDB's included): on a shared, oversubscribed machine
// wall time overstates cost, so both are printed.
const cpuMs = () => {
  const u = process.cpuUsage()
  return (u.user + u.system) / 1000
}
const rid = (i: number) => sha256(new Uint8Array(new Uint32Array([i, 0x5eed]).buffer))

// ---- (2) checkpoint throughput and (3) restart (first: a heap holding the big trees of (1) slows GC) ----
const sizes = process.env.CAPSA_BENCH_STATE_SIZES_MIB?.split(',').map(Number) ?? (smoke ? [8] : [100, 1024])
for (const mib of sizes) {
  const dir = mkdtempSync(join(tmpdir(), 'capsa-state-bench-'))
  try {
    const pageCount = (mib * 1024 * 1024) / PAGE_BYTES
    const pages = new Map<number, Uint8Array>()
    const backing = new Uint8Array(mib * 1024 * 1024)
    randomFillSync(backing) // incompressible, the worst case for LevelDB
    for (let p = 0; p < pageCount; p++) pages.set(p, backing.subarray(p * PAGE_BYTES, (p + 1) * PAGE_BYTES))
    const pageMaps = new Map<string, PageMapSnapshot>([['canister/0/stable', { pageCount, pages }]])
    // The node keeps chunk bodies in pack files beside LevelDB; LevelDB alone is shown for reference.
    for (const layout of ['pack files + LevelDB (the node)', 'LevelDB only'] as const) {
      const packs = layout.startsWith('pack')
      const at = join(dir, packs ? 'packs' : 'level')
      const open = async () => {
        const kv = await LevelKvStore.open(join(at, 'db'))
        const bodies = packs ? await ChunkPacks.open(join(at, 'chunks')) : undefined
        return { kv, bodies, store: new CheckpointStore(kv, { bodies }), close: async () => { await bodies?.close(); await kv.close() } }
      }
      const w = await open()
      const t0 = now()
      const c0 = cpuMs()
      const info = await w.store.write({ height: 1n, pageMaps, blobs: new Map([['meta', new Uint8Array(1000)]]) })
      const writeS = (now() - t0) / 1000
      const writeCpuS = (cpuMs() - c0) / 1000
      await w.close()
      const writeName = `checkpoint write, ${mib} MiB dirty pages (${layout}, fsynced)`
      // Only the node's layout is held to the target; LevelDB alone is the reference it improves on.
      if (packs) against(writeName, (mib * 1.048576) / writeS, 'MB/s', 200, true)
      else console.log(`${writeName.padEnd(56)} ${fmt((mib * 1.048576) / writeS).padStart(12)} MB/s  (reference)`)
      console.log(`  (process CPU ${writeCpuS.toFixed(2)} s = ${fmt((mib * 1.048576) / writeCpuS)} MB per CPU-second)`)

      const t1 = now()
      const c1 = cpuMs()
      const r = await open()
      const loaded = await r.store.load()
      const loadS = (now() - t1) / 1000
      const loadCpuS = (cpuMs() - c1) / 1000
      const reads = r.bodies?.stats
      await r.close()
      if (!loaded || loaded.info.height !== info.height || loaded.snapshot.pageMaps.get('canister/0/stable')!.pages.size !== pageCount) throw new Error('restart loaded the wrong state')
      const loadName = `restart: open + load + verify ${mib} MiB (${layout})`
      if (packs) against(loadName, loadS, 's', (5 * mib) / 1024, false)
      else console.log(`${loadName.padEnd(56)} ${fmt(loadS).padStart(12)} s  (reference)`)
      console.log(`  (process CPU ${loadCpuS.toFixed(2)} s; target scaled from ≤ 5 s per GiB${reads ? `; chunk reads: ${reads.directReads} direct, ${reads.cachedReads} through the page cache` : ''})`)
    }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

// ---- (1) incremental root hash ----
const K = 100 // changes per round: 50 status updates of existing ids + 50 new ids
const perChange: [number, number][] = []
for (const n of smoke ? [1_000, 10_000] : [1_000, 100_000, 1_000_000]) {
  const t0 = now()
  const ids = Array.from({ length: n }, (_, i) => rid(i)).sort(Buffer.compare)
  const status = new TextEncoder().encode('received')
  let root: MapNode = buildFromLeaves(ids.map((id) => [[LABEL.requestStatus, id, LABEL.status], status] as const))
  const buildMs = now() - t0
  const rounds = smoke ? 3 : 20
  let next = n
  const t1 = now()
  const c1 = cpuMs()
  for (let r = 0; r < rounds; r++) {
    for (let j = 0; j < K / 2; j++) root = setRequestStatus(root, ids[(r * 7919 + j * 104729) % n], { status: 'replied', reply: Uint8Array.of(r, j) })
    for (let j = 0; j < K / 2; j++) root = setRequestStatus(root, rid(next++), { status: 'processing' })
    void root.hash // the root hash is maintained by every update; reading it costs nothing more
  }
  const ms = (now() - t1) / rounds
  const cpu = (cpuMs() - c1) / rounds
  const us = (cpu * 1000) / K
  perChange.push([n, us])
  console.log(`root hash, ${fmt(n).padStart(9)} request ids: ${ms.toFixed(2).padStart(8)} ms/round wall, ${cpu.toFixed(2)} ms cpu, ${K} changes = ${us.toFixed(1).padStart(6)} µs cpu/change = ${(us / Math.log2(n)).toFixed(2)} µs/change/log2(n)   (bulk build ${(buildMs / 1000).toFixed(1)} s)`)
}
const [n0, u0] = perChange[0]
const [n1, u1] = perChange[perChange.length - 1]
console.log(`cost ratio ${fmt(n1)}/${fmt(n0)} ids: ×${(u1 / u0).toFixed(2)} per change (log ratio ×${(Math.log2(n1) / Math.log2(n0)).toFixed(2)}, linear would be ×${fmt(n1 / n0)})`)
against('per-change cost growth vs log2 growth', u1 / u0 / (Math.log2(n1) / Math.log2(n0)), 'x', 2, false)
