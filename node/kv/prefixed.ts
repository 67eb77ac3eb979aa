// One LevelDB holds several key spaces (consensus state, checkpoints); each component sees its own,
// so their key layouts can never collide.

import type { KvOp, KvStore } from '../../protocol/interfaces.ts'

function join(prefix: Uint8Array, key: Uint8Array): Uint8Array {
  const k = new Uint8Array(prefix.length + key.length)
  k.set(prefix)
  k.set(key, prefix.length)
  return k
}

/** The keys of `kv` under `prefix`, with the prefix removed; closing it leaves `kv` open. */
export function prefixedKvStore(kv: KvStore, prefixText: string): KvStore {
  const prefix = new TextEncoder().encode(prefixText)
  const end = prefix.slice()
  end[end.length - 1]++ // the prefix ends in a printable character, so this never wraps
  return {
    get: (key) => kv.get(join(prefix, key)),
    batch: (ops, options) => kv.batch(ops.map((op): KvOp => ({ ...op, key: join(prefix, op.key) })), options),
    async *iterate(range) {
      const gte = range.gte === undefined ? prefix : join(prefix, range.gte)
      const lt = range.lt === undefined ? end : join(prefix, range.lt)
      for await (const [k, v] of kv.iterate({ gte, lt })) yield [k.subarray(prefix.length), v]
    },
    close: async () => {},
  }
}
