// The seams between components. Replicated code never reaches for the wall clock, randomness, disk or
// network directly; it receives these from its caller (node/ in production, sim/ in tests).

import type { TimeNs } from './ids.ts'

/** Local time of one node. Consensus uses it for delays and block timestamps; never in execution. */
export interface Clock {
  /** Nanoseconds since the Unix epoch. Must be monotonic non-decreasing. */
  now(): TimeNs
}

/** A seeded source of randomness, for simulation and for non-replicated choices (nonces). */
export interface Rng {
  /** Uniform 32-bit unsigned integer. */
  nextU32(): number
  /** Fills and returns `out`. */
  fill(out: Uint8Array): Uint8Array
}

/** Ordered byte-keyed store (LevelDB in node/, an in-memory map with crash faults in sim/). */
export interface KvStore {
  get(key: Uint8Array): Promise<Uint8Array | undefined>
  /** Applies every operation or none. */
  batch(ops: readonly KvOp[], options?: { sync?: boolean }): Promise<void>
  /** Keys in [gte, lt) in ascending bytewise order. */
  iterate(range: { gte?: Uint8Array; lt?: Uint8Array }): AsyncIterable<[Uint8Array, Uint8Array]>
  close(): Promise<void>
}
/**
 * Where checkpoint chunk bodies live when they are kept outside the KvStore (content-addressed by
 * their hash; node/ packs them into append-only files, which write several times faster than LevelDB).
 * The KvStore stays the commit point: bodies are put (durably) before the batch naming them commits,
 * and deleted only after the batch that drops them; `retainOnly` removes what a crash left between.
 */
export interface ChunkBodyStore {
  /** Stores the bodies (each the concatenation of its parts) durably; returns once they survive a
   *  crash. Hashes already present are skipped. */
  putMany(chunks: readonly { hash: Uint8Array; parts: readonly Uint8Array[] }[]): Promise<void>
  get(hash: Uint8Array): Promise<Uint8Array | undefined>
  delete(hashes: readonly Uint8Array[]): Promise<void>
  /** Forgets every body not in `keep` (hex hashes). */
  retainOnly(keep: ReadonlySet<string>): Promise<void>
}
export type KvOp = { type: 'put'; key: Uint8Array; value: Uint8Array } | { type: 'del'; key: Uint8Array }

/** Message transport among the nodes of one subnet (libp2p in node/, the packet simulator in sim/). */
export interface Transport<M> {
  /** Sends to one peer (by index in the subnet's node list) or, with `to` omitted, to all peers. */
  send(message: M, to?: number): void
  /** Registers the receiver. Messages from unknown peers never reach it. */
  onMessage(handler: (from: number, message: M) => void): void
}
