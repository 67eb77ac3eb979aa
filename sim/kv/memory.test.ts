import { describe, expect, it } from 'vitest'
import { MemoryKvStore } from './memory.ts'

const put = (k: number[], v: number) => ({ type: 'put' as const, key: Uint8Array.from(k), value: Uint8Array.of(v) })

describe('MemoryKvStore', () => {
  it('iterates a byte range in bytewise order, shorter keys first', async () => {
    const kv = new MemoryKvStore()
    await kv.batch([put([2, 0], 1), put([1], 2), put([2], 3), put([0xff], 4), put([3], 5)])
    const keys: number[][] = []
    for await (const [k] of kv.iterate({ gte: Uint8Array.of(1), lt: Uint8Array.of(3) })) keys.push([...k])
    expect(keys).toEqual([[1], [2], [2, 0]])
  })

  it('loses a batch entirely when it crashes during it, and keeps earlier ones', async () => {
    const kv = new MemoryKvStore({ crashAtBatch: 1 })
    await kv.batch([put([1], 1)])
    await expect(kv.batch([put([2], 2), put([3], 3)])).rejects.toThrow(/crash/)
    await expect(kv.get(Uint8Array.of(1))).rejects.toThrow(/crash/)
    const after = kv.restart()
    expect(await after.get(Uint8Array.of(1))).toEqual(Uint8Array.of(1))
    expect(await after.get(Uint8Array.of(2))).toBeUndefined()
  })

  it('applies only a prefix of a torn batch', async () => {
    const kv = new MemoryKvStore({ tornAtBatch: { batch: 0, keep: 2 } })
    await expect(kv.batch([put([1], 1), put([2], 2), put([3], 3)])).rejects.toThrow(/crash/)
    const after = kv.restart()
    expect([await after.get(Uint8Array.of(2)), await after.get(Uint8Array.of(3))]).toEqual([Uint8Array.of(2), undefined])
  })
})
