// The simulated execution layer of one node: its ingress pool, a payload builder and validator that
// deduplicate against the chain, and a state that is a running SHA-256 of the delivered batches, so
// equal batches give equal state hashes at every height on every node.

import type { Batch, BatchDelivery, BlockPayload, IngressMessage, PayloadBuilder, PayloadValidator, StateHashSource } from '../../protocol/consensus-types.ts'
import { encodeCbor } from '../../protocol/cbor.ts'
import { sha256, toHex } from '../../protocol/hash.ts'
import type { Height, TimeNs } from '../../protocol/ids.ts'

export const MAX_MESSAGES_PER_BLOCK = 20
export const MAX_MESSAGE_BYTES = 4096

export function batchDigest(b: Batch): Uint8Array {
  return sha256(encodeCbor({ height: b.height, time: b.time, randomness: b.randomness, messages: b.messages.map((m) => [m.id, m.bytes]) }, { selfDescribe: false }))
}

export interface AppHooks {
  onDeliver(node: number, batch: Batch, stateHash: Uint8Array): void
  onSync(node: number, height: bigint, stateHash: Uint8Array): Map<string, bigint>
}

export class SimApp implements PayloadBuilder, PayloadValidator, BatchDelivery, StateHashSource {
  readonly node: number
  readonly hooks: AppHooks
  /** Ingress messages this node knows about and has not seen delivered. */
  readonly ingress = new Map<string, IngressMessage>()
  /** Height at which each delivered message id was delivered (the "ingress history"). */
  deliveredAt = new Map<string, bigint>()
  readonly hashes = new Map<bigint, Uint8Array>()
  lastHeight: bigint

  constructor(node: number, startHeight: bigint, startHash: Uint8Array, hooks: AppHooks) {
    this.node = node
    this.hooks = hooks
    this.lastHeight = startHeight
    this.hashes.set(startHeight, startHash)
  }

  build(_height: Height, _time: TimeNs, past: readonly BlockPayload[]): BlockPayload {
    const inPast = new Set<string>()
    for (const p of past) for (const m of p.messages) inPast.add(toHex(m.id))
    const messages: IngressMessage[] = []
    for (const [id, m] of this.ingress) {
      if (messages.length >= MAX_MESSAGES_PER_BLOCK) break
      if (!inPast.has(id) && !this.deliveredAt.has(id)) messages.push(m)
    }
    return { messages }
  }

  validate(payload: BlockPayload, _height: Height, _time: TimeNs, past: readonly BlockPayload[]): string | undefined {
    if (payload.messages.length > MAX_MESSAGES_PER_BLOCK) return 'too many messages'
    const seen = new Set<string>()
    for (const p of past) for (const m of p.messages) seen.add(toHex(m.id))
    for (const m of payload.messages) {
      if (!(m.id instanceof Uint8Array) || !(m.bytes instanceof Uint8Array) || m.id.length !== 32) return 'malformed message'
      if (m.bytes.length > MAX_MESSAGE_BYTES) return 'message too large'
      const id = toHex(m.id)
      if (seen.has(id) || this.deliveredAt.has(id)) return 'duplicate message'
      seen.add(id)
    }
    return undefined
  }

  deliver(batch: Batch): void {
    const prev = this.hashes.get(batch.height - 1n)
    if (prev === undefined || batch.height !== this.lastHeight + 1n) throw new Error(`node ${this.node}: batch ${batch.height} out of order (last ${this.lastHeight})`)
    const hash = sha256(prev, batchDigest(batch))
    this.hashes.set(batch.height, hash)
    this.lastHeight = batch.height
    for (const m of batch.messages) {
      const id = toHex(m.id)
      this.deliveredAt.set(id, batch.height)
      this.ingress.delete(id)
    }
    // Keep a bounded window of state hashes, as a state manager drops old in-memory states.
    this.hashes.delete(batch.height - 200n)
    this.hooks.onDeliver(this.node, batch, hash)
  }

  syncTo(height: Height, stateHash: Uint8Array): void {
    this.hashes.clear()
    this.hashes.set(height, stateHash)
    this.lastHeight = height
    this.deliveredAt = this.hooks.onSync(this.node, height, stateHash)
    for (const id of this.deliveredAt.keys()) this.ingress.delete(id)
  }

  stateHash(height: Height): Uint8Array | undefined {
    return this.hashes.get(height)
  }
}
