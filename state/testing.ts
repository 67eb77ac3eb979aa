// A deterministic workload over the state layer for tests, the crash test's child process and
// benchmarks: each round's changes derive from (seed, height) only, so replaying rounds after a
// restart must reach exactly the state an uninterrupted run reaches.

import { sha256, toHex } from '../protocol/hash.ts'
import { IngressHistory } from './ingress-history.ts'
import { PAGE_BYTES, buildManifest, encodeManifest, manifestHash } from './manifest.ts'
import type { PageMapSnapshot, StateSnapshot } from './manifest.ts'
import { setTime } from './state-tree.ts'
import { EMPTY_MAP, decodeTreeLeaves, encodeTreeLeaves } from './tree.ts'
import type { MapNode } from './tree.ts'

export function xorshift(seed: number): () => number {
  let s = seed >>> 0 || 0x9e3779b9
  return () => {
    s ^= s << 13
    s >>>= 0
    s ^= s >>> 17
    s ^= s << 5
    s >>>= 0
    return s
  }
}

export interface ModelState {
  height: bigint
  tree: MapNode
  history: IngressHistory
  pageMaps: Map<string, { pageCount: number; pages: Map<number, Uint8Array> }>
  /** Pages written since the last checkpoint, per page map. */
  dirty: Map<string, Set<number>>
}

const PAGE_MAPS = ['canister/0/heap', 'canister/0/stable', 'canister/1/heap']
const SECOND = 1_000_000_000n

export function genesis(): ModelState {
  return { height: 0n, tree: EMPTY_MAP, history: new IngressHistory({ marginNs: 20n * SECOND }), pageMaps: new Map(), dirty: new Map() }
}

/** Executes round `height + 1`: a few page writes, some calls arriving and completing, time. */
export function applyRound(s: ModelState, seed: number, opts: { pagesPerRound?: number } = {}): void {
  const h = s.height + 1n
  const next = xorshift(seed ^ Number(h * 2654435761n % 4294967296n))
  const now = h * SECOND
  const writes = opts.pagesPerRound ?? 1 + (next() % 4)
  for (let i = 0; i < writes; i++) {
    const name = PAGE_MAPS[next() % PAGE_MAPS.length]
    let pm = s.pageMaps.get(name)
    if (!pm) s.pageMaps.set(name, (pm = { pageCount: 0, pages: new Map() }))
    const index = next() % 300
    if (index >= pm.pageCount) pm.pageCount = index + 1
    const page = new Uint8Array(PAGE_BYTES)
    const words = new Uint32Array(page.buffer)
    const fill = next() % 3 === 0 ? words.length : 8 // mostly sparse pages, some dense
    for (let w = 0; w < fill; w++) words[w] = next()
    pm.pages.set(index, page)
    let d = s.dirty.get(name)
    if (!d) s.dirty.set(name, (d = new Set()))
    d.add(index)
  }
  let tree = setTime(s.tree, now)
  for (let i = 0, n = next() % 3; i < n; i++) {
    const rid = sha256(new TextEncoder().encode(`${seed}/${h}/${i}`))
    tree = s.history.set(tree, { requestId: rid, sender: Uint8Array.of(4), effectiveCanisterId: Uint8Array.of(1), expiry: now + 10n * SECOND, status: { status: 'processing' } }, now)
  }
  if (h > 3n) {
    const rid = sha256(new TextEncoder().encode(`${seed}/${h - 3n}/0`))
    const rec = s.history.get(rid)
    if (rec && rec.status.status === 'processing') {
      const status = next() % 2 === 0 ? { status: 'replied' as const, reply: Uint8Array.of(Number(h % 256n)) } : { status: 'rejected' as const, rejectCode: 5, rejectMessage: `trap at ${h}` }
      tree = s.history.set(tree, { ...rec, status }, now)
    }
  }
  s.tree = s.history.prune(tree, now)
  s.height = h
}

export function snapshotOf(s: ModelState): StateSnapshot {
  const pageMaps = new Map<string, PageMapSnapshot>([...s.pageMaps].map(([k, v]) => [k, { pageCount: v.pageCount, pages: v.pages }]))
  return { height: s.height, pageMaps, blobs: new Map([['tree', encodeTreeLeaves(s.tree)], ['ingress_history', s.history.encode()]]) }
}

export function fromSnapshot(snap: StateSnapshot): ModelState {
  const pageMaps = new Map([...snap.pageMaps].map(([k, v]) => [k, { pageCount: v.pageCount, pages: new Map(v.pages) }]))
  const history = IngressHistory.decode(snap.blobs.get('ingress_history')!, { marginNs: 20n * SECOND })
  return { height: snap.height, tree: decodeTreeLeaves(snap.blobs.get('tree')!), history, pageMaps, dirty: new Map() }
}

/** Certified root ‖ full manifest hash: equal iff tree, pages, and ingress history are equal. */
export function stateHash(s: ModelState): string {
  const { manifest } = buildManifest(snapshotOf(s), 64)
  return `${toHex(s.tree.hash)}:${toHex(manifestHash(encodeManifest(manifest)))}`
}
