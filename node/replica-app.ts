// The replica's application behind consensus, for now: blocks carry ingress messages from this node's
// pool, and the state is a running SHA-256 of the delivered batches, so equal chains give equal state
// hashes on every node and certification runs end to end. Execution replaces it later behind the same
// interfaces (PayloadBuilder, PayloadValidator, BatchDelivery, StateHashSource).

import { ingressPayloadBuilder, ingressPayloadValidator } from '../consensus/ingress-payload.ts'
import { encodeCbor } from '../protocol/cbor.ts'
import type { Batch, BatchDelivery, BlockPayload, PayloadBuilder, PayloadValidator, StateHashSource } from '../protocol/consensus-types.ts'
import { sha256, toHex } from '../protocol/hash.ts'
import type { Height, TimeNs } from '../protocol/ids.ts'
import { limits } from '../protocol/limits.ts'
import { IngressPool } from './ingress-pool.ts'

export function batchDigest(b: Batch): Uint8Array {
  return sha256(encodeCbor({ height: b.height, time: b.time, randomness: b.randomness, messages: b.messages.map((m) => [m.id, m.bytes]) }, { selfDescribe: false }))
}

export interface ReplicaAppOptions {
  /** Where the app starts: the CUP consensus starts from. */
  startHeight: bigint
  startHash: Uint8Array
  ingress?: IngressPool
  /** State hashes kept in memory; certification of older heights is no longer possible. */
  keepHashes?: number
  onDeliver?: (batch: Batch, stateHash: Uint8Array) => void
}

export class ReplicaApp implements PayloadBuilder, PayloadValidator, BatchDelivery, StateHashSource {
  readonly ingress: IngressPool
  lastHeight: bigint
  lastHash: Uint8Array
  syncs = 0
  readonly #hashes = new Map<bigint, Uint8Array>()
  readonly #keep: bigint
  readonly #onDeliver: ReplicaAppOptions['onDeliver']
  // Delivered message ids with their batch time. An id leaves the history only once no block can
  // carry it any more (its expiry is at most TTL + drift after any block time that accepted it), and
  // the cut-off derives from batch times, so every node keeps the same history.
  readonly #history = new Map<string, bigint>()
  readonly #builder: PayloadBuilder
  readonly #validator: PayloadValidator

  constructor(opts: ReplicaAppOptions) {
    this.ingress = opts.ingress ?? new IngressPool()
    this.lastHeight = opts.startHeight
    this.lastHash = opts.startHash
    this.#hashes.set(opts.startHeight, opts.startHash)
    this.#keep = BigInt(opts.keepHashes ?? 200)
    this.#onDeliver = opts.onDeliver
    const inHistory = (id: Uint8Array) => this.#history.has(toHex(id))
    this.#builder = ingressPayloadBuilder(this.ingress, inHistory)
    this.#validator = ingressPayloadValidator(inHistory)
  }

  build(height: Height, time: TimeNs, past: readonly BlockPayload[]): BlockPayload {
    return this.#builder.build(height, time, past)
  }

  validate(payload: BlockPayload, height: Height, time: TimeNs, past: readonly BlockPayload[]): string | undefined {
    return this.#validator.validate(payload, height, time, past)
  }

  deliver(batch: Batch): void {
    if (batch.height !== this.lastHeight + 1n) throw new Error(`batch ${batch.height} delivered out of order (last ${this.lastHeight})`)
    const hash = sha256(this.lastHash, batchDigest(batch))
    this.#hashes.set(batch.height, hash)
    this.#hashes.delete(batch.height - this.#keep)
    this.lastHeight = batch.height
    this.lastHash = hash
    for (const m of batch.messages) this.#history.set(toHex(m.id), batch.time)
    const horizon = batch.time - limits.maxIngressTtlNs - limits.ingressExpiryDriftNs
    for (const [id, t] of this.#history) {
      if (t >= horizon) break // insertion order is batch order, so the rest is newer
      this.#history.delete(id)
    }
    this.ingress.purge(batch.time, batch.messages.map((m) => m.id))
    this.#onDeliver?.(batch, hash)
  }

  /** Jumps to a CUP's state: the running hash needs nothing but the certified hash itself. */
  syncTo(height: Height, stateHash: Uint8Array): void {
    this.#hashes.clear()
    this.#hashes.set(height, stateHash)
    this.lastHeight = height
    this.lastHash = stateHash
    this.syncs++
  }

  stateHash(height: Height): Uint8Array | undefined {
    return this.#hashes.get(height)
  }
}
