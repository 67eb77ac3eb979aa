import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { LevelKvStore } from './level.ts'

const dir = mkdtempSync(join(tmpdir(), 'capsa-level-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

describe('LevelKvStore', () => {
  it('gets, batches, iterates a byte range in order, and persists across reopen', async () => {
    const kv = await LevelKvStore.open(join(dir, 'a'))
    expect(await kv.get(Uint8Array.of(1))).toBeUndefined()
    await kv.batch([
      { type: 'put', key: Uint8Array.of(2, 0), value: Uint8Array.of(20) },
      { type: 'put', key: Uint8Array.of(1), value: Uint8Array.of(10) },
      { type: 'put', key: Uint8Array.of(2), value: Uint8Array.of(21) },
      { type: 'put', key: Uint8Array.of(3), value: Uint8Array.of(30) },
    ], { sync: true })
    await kv.batch([{ type: 'del', key: Uint8Array.of(3) }])
    const seen: number[][] = []
    for await (const [k, v] of kv.iterate({ gte: Uint8Array.of(1), lt: Uint8Array.of(3) })) seen.push([...k, -1, ...v])
    expect(seen).toEqual([[1, -1, 10], [2, -1, 21], [2, 0, -1, 20]])
    await kv.close()
    const again = await LevelKvStore.open(join(dir, 'a'))
    expect(await again.get(Uint8Array.of(2, 0))).toEqual(Uint8Array.of(20))
    expect(await again.get(Uint8Array.of(3))).toBeUndefined()
    await again.close()
  })
})
