import { afterAll, describe, expect, it } from 'vitest'
import { appendFileSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { sha256, toHex } from '../../protocol/hash.ts'
import { CheckpointStore } from '../../state/checkpoint.ts'
import { applyRound, fromSnapshot, genesis, snapshotOf, stateHash } from '../../state/testing.ts'
import type { ModelState } from '../../state/testing.ts'
import { ChunkPacks } from './chunk-packs.ts'
import { LevelKvStore } from './level.ts'

const SEED = 11
const root = mkdtempSync(join(tmpdir(), 'capsa-packs-'))
afterAll(() => rmSync(root, { recursive: true, force: true }))

async function openStores(dir: string) {
  const kv = await LevelKvStore.open(join(dir, 'db'))
  const bodies = await ChunkPacks.open(join(dir, 'chunks'))
  return { kv, bodies, store: new CheckpointStore(kv, { keep: 2, bodies }) }
}
async function checkpoint(store: CheckpointStore, s: ModelState) {
  const info = await store.write(snapshotOf(s), s.dirty)
  s.dirty = new Map()
  return info
}
const packFiles = (dir: string) => readdirSync(join(dir, 'chunks')).filter((n) => n.endsWith('.pack')).sort()

describe('checkpoint chunks in pack files', () => {
  it('round-trips checkpoints across a reopen, keeping only the chunks kept checkpoints reference', async () => {
    const dir = join(root, 'a')
    let { kv, bodies, store } = await openStores(dir)
    const s = genesis()
    for (let k = 0; k < 6; k++) {
      for (let i = 0; i < 10; i++) applyRound(s, SEED)
      await checkpoint(store, s)
    }
    // No chunk body went into LevelDB.
    for await (const [key] of kv.iterate({})) expect(key.length === 33 && key[0] === 0x63).toBe(false)
    const referenced = new Set([50n, 60n].flatMap((h) => store.info(h)!.manifest.files.flatMap((f) => f.chunks.map((c) => toHex(c.hash)))))
    expect(bodies.size).toBe(referenced.size)
    // Mostly-dead packs were compacted away rather than kept forever.
    expect(bodies.packCount()).toBeLessThanOrEqual(4)
    await bodies.close()
    await kv.close()
    ;({ kv, bodies, store } = await openStores(dir))
    const loaded = await store.load()
    expect(loaded!.info.height).toBe(60n)
    expect(stateHash(fromSnapshot(loaded!.snapshot))).toBe(stateHash(s))
    await bodies.close()
    await kv.close()
  })

  it('ignores a torn pack tail, forgets orphaned bodies at open, and reports a damaged body as STATE_CORRUPT', async () => {
    const dir = join(root, 'b')
    let { kv, bodies, store } = await openStores(dir)
    const s = genesis()
    for (let i = 0; i < 10; i++) applyRound(s, SEED)
    await checkpoint(store, s)
    // A crash after the bodies of the next checkpoint were written but before its batch committed.
    const orphan = new Uint8Array(1000).fill(7)
    await bodies.putMany([{ hash: sha256(orphan), parts: [orphan] }])
    // A crash in the middle of writing another pack: a record header promising more than is there.
    const last = packFiles(dir).at(-1)!
    appendFileSync(join(dir, 'chunks', last), Buffer.from([0, 0, 16, 0, ...new Uint8Array(40)]))
    await bodies.close()
    await kv.close()

    ;({ kv, bodies, store } = await openStores(dir))
    await store.open()
    expect(await bodies.get(sha256(orphan))).toBeUndefined()
    expect(stateHash(fromSnapshot((await store.load())!.snapshot))).toBe(stateHash(s))
    await bodies.close()
    await kv.close()

    // Bit rot inside a body: the load names the chunk and says what to do.
    const first = packFiles(dir)[0]
    const bytes = readFileSync(join(dir, 'chunks', first))
    bytes[bytes.length - 5] ^= 0xff
    writeFileSync(join(dir, 'chunks', first), bytes)
    ;({ kv, bodies, store } = await openStores(dir))
    await expect(store.load()).rejects.toMatchObject({ code: 'STATE_CORRUPT' })
    await bodies.close()
    await kv.close()
  })
})
