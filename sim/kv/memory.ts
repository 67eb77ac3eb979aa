// An in-memory KvStore for simulation, with crash faults. A "crash" freezes what survives; the node
// restarts on `restart()`, a new store over the surviving data. Faults:
// - `crashAtBatch: n`: the n-th batch (0-based) never lands, and the store is crashed from then on
//   (a LevelDB batch is atomic: a crash during it loses it entirely);
// - `tornAtBatch: { batch, keep }`: the batch applies only its first `keep` operations, as a
//   non-atomic sequence of writes would, and the store is crashed. Tests use it to check that damage
//   is detected rather than silently loaded.

import type { KvOp, KvStore } from '../../protocol/interfaces.ts'

const hex = (b: Uint8Array): string => Buffer.from(b.buffer, b.byteOffset, b.length).toString('hex')

export interface MemoryKvFaults {
  crashAtBatch?: number
  tornAtBatch?: { batch: number; keep: number }
}

export class CrashedError extends Error {
  constructor() {
    super('simulated crash: the store is gone until restart()')
    this.name = 'CrashedError'
  }
}

export class MemoryKvStore implements KvStore {
  private data: Map<string, Uint8Array>
  private faults: MemoryKvFaults
  private batches = 0
  private crashedFlag = false
  private closed = false

  constructor(faults: MemoryKvFaults = {}, data?: Map<string, Uint8Array>) {
    this.faults = faults
    this.data = data ?? new Map()
  }

  get crashed(): boolean {
    return this.crashedFlag
  }
  get size(): number {
    return this.data.size
  }

  private live(): void {
    if (this.crashedFlag) throw new CrashedError()
    if (this.closed) throw new Error('store closed')
  }

  async get(key: Uint8Array): Promise<Uint8Array | undefined> {
    this.live()
    const v = this.data.get(hex(key))
    return v && v.slice()
  }

  async batch(ops: readonly KvOp[], _options?: { sync?: boolean }): Promise<void> {
    this.live()
    const n = this.batches++
    if (this.faults.crashAtBatch === n) {
      this.crashedFlag = true
      throw new CrashedError()
    }
    const torn = this.faults.tornAtBatch?.batch === n ? this.faults.tornAtBatch.keep : undefined
    const todo = torn === undefined ? ops : ops.slice(0, torn)
    for (const op of todo) {
      if (op.type === 'put') this.data.set(hex(op.key), op.value.slice())
      else this.data.delete(hex(op.key))
    }
    if (torn !== undefined) {
      this.crashedFlag = true
      throw new CrashedError()
    }
  }

  async *iterate(range: { gte?: Uint8Array; lt?: Uint8Array }): AsyncIterable<[Uint8Array, Uint8Array]> {
    this.live()
    const lo = range.gte && hex(range.gte)
    const hi = range.lt && hex(range.lt)
    // Lower-case hex of bytes sorts like the bytes themselves (shorter-is-smaller holds for prefixes).
    const keys = [...this.data.keys()].filter((k) => (lo === undefined || k >= lo) && (hi === undefined || k < hi)).sort()
    for (const k of keys) {
      const v = this.data.get(k)
      if (v) yield [new Uint8Array(Buffer.from(k, 'hex')), v.slice()]
    }
  }

  async close(): Promise<void> {
    this.closed = true
  }

  /** The store a restarted node sees: everything that landed before the crash, no faults. */
  restart(faults: MemoryKvFaults = {}): MemoryKvStore {
    return new MemoryKvStore(faults, new Map(this.data))
  }

  /** Test hook: overwrites a stored value behind the store's back (bit rot). */
  corrupt(key: Uint8Array, mutate: (v: Uint8Array) => Uint8Array): void {
    const k = hex(key)
    const v = this.data.get(k)
    if (v) this.data.set(k, mutate(v.slice()))
  }
}
