// The LevelDB KvStore (classic-level through `level` 10): binary keys and values as Uint8Array views,
// atomic batches (optionally fsynced), ordered range iteration. The only disk I/O of the state layer.

import { Level } from 'level'
import type { KvOp, KvStore } from '../../protocol/interfaces.ts'

// classic-level hands out Buffers even for 'view'; callers compare with plain Uint8Arrays.
const plain = (b: Uint8Array): Uint8Array => (Buffer.isBuffer(b) ? new Uint8Array(b.buffer, b.byteOffset, b.byteLength) : b)

export class LevelKvStore implements KvStore {
  readonly db: Level<Uint8Array, Uint8Array>

  private constructor(db: Level<Uint8Array, Uint8Array>) {
    this.db = db
  }

  static async open(dir: string): Promise<LevelKvStore> {
    const db = new Level<Uint8Array, Uint8Array>(dir, { keyEncoding: 'view', valueEncoding: 'view' })
    await db.open()
    return new LevelKvStore(db)
  }

  async get(key: Uint8Array): Promise<Uint8Array | undefined> {
    const v = await this.db.get(key)
    return v === undefined ? undefined : plain(v)
  }

  async batch(ops: readonly KvOp[], options: { sync?: boolean } = {}): Promise<void> {
    if (ops.length === 0) return
    const chained = this.db.batch()
    for (const op of ops) {
      if (op.type === 'put') chained.put(op.key, op.value)
      else chained.del(op.key)
    }
    await chained.write({ sync: options.sync ?? false })
  }

  async *iterate(range: { gte?: Uint8Array; lt?: Uint8Array }): AsyncIterable<[Uint8Array, Uint8Array]> {
    const opts: { gte?: Uint8Array; lt?: Uint8Array } = {}
    if (range.gte) opts.gte = range.gte
    if (range.lt) opts.lt = range.lt
    for await (const [k, v] of this.db.iterator(opts)) yield [plain(k), plain(v)]
  }

  async close(): Promise<void> {
    await this.db.close()
  }
}
