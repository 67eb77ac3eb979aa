// The node-local pool of ingress messages waiting to be included in a block. It is not replicated
// state: each node's pool differs, and consensus only sees what a block maker selects from it.
// Bounded in count and bytes; a full pool answers "overloaded" so the HTTP layer can say 429.

import { CapsaError } from '../protocol/errors.ts'
import { toHex } from '../protocol/hash.ts'
import type { IngressMessage } from '../protocol/consensus-types.ts'

export interface PooledIngress extends IngressMessage {
  /** ingress_expiry in ns: the message is dropped once the pool's time passes it. */
  readonly expiry: bigint
}

export interface IngressPoolLimits {
  maxMessages: number
  maxBytes: number
}

export class IngressPool {
  readonly #limits: IngressPoolLimits
  // Insertion order is arrival order, which is also the order a block maker drains the pool in.
  readonly #byId = new Map<string, PooledIngress>()
  #bytes = 0

  constructor(limits: IngressPoolLimits = { maxMessages: 50_000, maxBytes: 256 * 1024 * 1024 }) {
    this.#limits = limits
  }

  get size(): number { return this.#byId.size }
  get bytes(): number { return this.#bytes }

  has(id: Uint8Array): boolean {
    return this.#byId.has(toHex(id))
  }

  /** Adds a message; false if it is already pooled. Throws OVERLOADED when the pool is full. */
  add(message: PooledIngress): boolean {
    const key = toHex(message.id)
    if (this.#byId.has(key)) return false
    if (this.#byId.size >= this.#limits.maxMessages || this.#bytes + message.bytes.length > this.#limits.maxBytes) {
      throw new CapsaError('OVERLOADED', `the ingress pool of this node is full (${this.#byId.size} messages, ${this.#bytes} bytes); retry later`)
    }
    this.#byId.set(key, message)
    this.#bytes += message.bytes.length
    return true
  }

  /**
   * Messages for a block at `time`: not expired, not in `exclude` (already in the chain), in arrival
   * order, within the count and byte limits of a block.
   */
  select(time: bigint, maxCount: number, maxBytes: number, exclude: (id: Uint8Array) => boolean): PooledIngress[] {
    const out: PooledIngress[] = []
    let bytes = 0
    for (const m of this.#byId.values()) {
      if (out.length >= maxCount) break
      if (m.expiry < time || exclude(m.id)) continue
      if (bytes + m.bytes.length > maxBytes) continue
      out.push(m)
      bytes += m.bytes.length
    }
    return out
  }

  /** Drops messages that were included in a finalized block, or whose expiry is before `time`. */
  purge(time: bigint, included: Iterable<Uint8Array> = []): number {
    let removed = 0
    for (const id of included) if (this.#remove(toHex(id))) removed++
    for (const [key, m] of this.#byId) if (m.expiry < time && this.#remove(key)) removed++
    return removed
  }

  #remove(key: string): boolean {
    const m = this.#byId.get(key)
    if (m === undefined) return false
    this.#byId.delete(key)
    this.#bytes -= m.bytes.length
    return true
  }
}
