// State sync between the nodes of a subnet, on its own channel of the subnet's streams. A node that
// jumps to a CUP asks a peer for a witness of the checkpoint manifest hash in that height's tree and
// checks it against the CUP's state hash; then state/sync.ts fetches the manifest and every chunk,
// each verified against that hash, so a lying peer costs time and bandwidth, never a wrong state.
// Requests are answered by any peer that still has the checkpoint; each has a timeout.

import { asBytes, asMap, asNat, asText, decodeCbor, encodeCbor } from '../protocol/cbor.ts'
import type { CborValue } from '../protocol/cbor.ts'
import { CapsaError } from '../protocol/errors.ts'
import { bytesEqual, toHex } from '../protocol/hash.ts'
import { decodeHashTree, encodeHashTree, lookupPath, reconstruct } from '../protocol/hash-tree.ts'
import type { Transport } from '../protocol/interfaces.ts'
import { CHECKPOINT_MANIFEST_PATH } from '../state/certified-state.ts'
import type { CheckpointStore } from '../state/checkpoint.ts'
import { checkpointSource, syncCheckpoint } from '../state/sync.ts'
import type { ChunkSource } from '../state/sync.ts'
import type { MapNode } from '../state/tree.ts'
import { buildWitness } from '../state/witness.ts'

export interface StateSyncPeerOptions {
  channel: Transport<Uint8Array>
  self: number
  peers: number
  store: CheckpointStore
  /** The tree of a checkpoint height this node keeps (to serve witnesses). */
  checkpointTree(height: bigint): MapNode | undefined
  requestTimeoutMs?: number
  log?: (line: string) => void
}

/** Requests answered at a time per peer; a flood of requests is dropped, not queued. */
const MAX_SERVING = 64

export class StateSyncPeer {
  readonly #o: StateSyncPeerOptions
  readonly #pending = new Map<number, (bytes: Uint8Array | undefined) => void>()
  readonly #serving = new Map<number, number>()
  #nextId = 1

  constructor(opts: StateSyncPeerOptions) {
    this.#o = opts
    opts.channel.onMessage((from, bytes) => {
      try {
        this.#receive(from, bytes)
      } catch {
        // Malformed traffic from a member: dropped (the requester times out).
      }
    })
  }

  #receive(from: number, bytes: Uint8Array): void {
    const m = asMap(decodeCbor(bytes), 'state sync message')
    if (m.r !== undefined) {
      const id = Number(asNat(m.r, 'r'))
      const resolve = this.#pending.get(id)
      if (resolve === undefined) return
      this.#pending.delete(id)
      resolve(m.v === null ? undefined : asBytes(m.v, 'v'))
      return
    }
    const id = asNat(m.q, 'q')
    const kind = asText(m.k, 'k')
    const height = asNat(m.h, 'h')
    const busy = this.#serving.get(from) ?? 0
    if (busy >= MAX_SERVING) return
    this.#serving.set(from, busy + 1)
    void this.#answer(kind, height, m.i === undefined ? 0 : Number(asNat(m.i, 'i')))
      .catch(() => undefined)
      .then((v) => this.#o.channel.send(encodeCbor({ r: id, v: v ?? null }, { selfDescribe: false }), from))
      .finally(() => this.#serving.set(from, (this.#serving.get(from) ?? 1) - 1))
  }

  async #answer(kind: string, height: bigint, index: number): Promise<Uint8Array | undefined> {
    const source = checkpointSource(this.#o.store)
    if (kind === 'w') {
      const tree = this.#o.checkpointTree(height)
      return tree === undefined ? undefined : encodeHashTree(buildWitness(tree, [CHECKPOINT_MANIFEST_PATH]))
    }
    if (kind === 'm') return source.manifest(height)
    if (kind === 'c') return source.chunk(height, index)
    return undefined
  }

  request(peer: number, kind: 'w' | 'm' | 'c', height: bigint, index?: number): Promise<Uint8Array | undefined> {
    const id = this.#nextId++
    const q: Record<string, CborValue> = { q: id, k: kind, h: height }
    if (index !== undefined) q.i = index
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.#pending.delete(id)
        resolve(undefined)
      }, this.#o.requestTimeoutMs ?? 5_000)
      this.#pending.set(id, (v) => {
        clearTimeout(timer)
        resolve(v)
      })
      this.#o.channel.send(encodeCbor(q, { selfDescribe: false }), peer)
    })
  }

  /** The manifest hash certified at `height`, and the first peer whose witness reproduces `stateHash`. */
  async certifiedManifestHash(height: bigint, stateHash: Uint8Array): Promise<{ hash: Uint8Array; peer: number }> {
    for (const peer of this.#others()) {
      const bytes = await this.request(peer, 'w', height)
      if (bytes === undefined) continue
      try {
        const tree = decodeHashTree(bytes)
        if (!bytesEqual(reconstruct(tree), stateHash)) continue
        const found = lookupPath(CHECKPOINT_MANIFEST_PATH, tree)
        if (found.status === 'found') return { hash: found.value, peer }
      } catch {
        continue
      }
    }
    throw new CapsaError('STATE_SYNC_INVALID', `no peer served a witness of the checkpoint at height ${height} matching state hash ${toHex(stateHash)}`)
  }

  /** Fetches the checkpoint certified at `height` into the store. */
  async sync(height: bigint, stateHash: Uint8Array, signal: AbortSignal): Promise<void> {
    const { hash: manifestHash, peer: first } = await this.certifiedManifestHash(height, stateHash)
    if (signal.aborted) return
    // The peer that just answered goes first: a peer that is down would cost a timeout per chunk.
    const peers = [first, ...this.#others().filter((p) => p !== first)]
    const sources: ChunkSource[] = peers.map((peer) => ({
      manifest: (h) => this.request(peer, 'm', h),
      chunk: (h, i) => (signal.aborted ? Promise.resolve(undefined) : this.request(peer, 'c', h, i)),
    }))
    const { progress } = await syncCheckpoint(this.#o.store, sources, height, manifestHash)
    this.#o.log?.(`state sync: height ${height}: ${progress.fetched} chunks fetched, ${progress.reused} reused, ${progress.rejected} rejected`)
  }

  #others(): number[] {
    const out: number[] = []
    for (let i = 1; i < this.#o.peers; i++) out.push((this.#o.self + i) % this.#o.peers)
    return out
  }
}
