import { afterAll, describe, expect, it } from 'vitest'
import { appendFileSync, closeSync, constants, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
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

  it('ignores a torn pack tail and packs torn at creation, forgets orphaned bodies at open, and reports a damaged body as STATE_CORRUPT', async () => {
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

    // Killed right after creating a pack (nothing or part of its header written): the pack goes.
    const seq = Number(packFiles(dir).at(-1)!.slice(0, 12))
    writeFileSync(join(dir, 'chunks', `${String(seq + 1).padStart(12, '0')}.pack`), new Uint8Array(0))
    writeFileSync(join(dir, 'chunks', `${String(seq + 2).padStart(12, '0')}.pack`), Buffer.from('caps'))
    const before = packFiles(dir).length
    ;({ kv, bodies, store } = await openStores(dir))
    expect(packFiles(dir).length).toBe(before - 2)
    expect(stateHash(fromSnapshot((await store.load())!.snapshot))).toBe(stateHash(s))
    await bodies.close()
    await kv.close()
    // A header that is not a pack's is damage, not a torn write.
    writeFileSync(join(dir, 'chunks', `${String(seq + 3).padStart(12, '0')}.pack`), Buffer.from('garbage!'))
    await expect(ChunkPacks.open(join(dir, 'chunks'))).rejects.toMatchObject({ code: 'STATE_CORRUPT' })
    rmSync(join(dir, 'chunks', `${String(seq + 3).padStart(12, '0')}.pack`))

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

  it('loads large bodies with direct reads into aligned memory, and still reads packs written without alignment', async () => {
    const dir = join(root, 'c')
    let { kv, bodies, store } = await openStores(dir)
    const s = genesis()
    for (let i = 0; i < 40; i++) applyRound(s, SEED, { pagesPerRound: 6 })
    await checkpoint(store, s)
    await bodies.close()
    await kv.close()

    ;({ kv, bodies, store } = await openStores(dir))
    expect(stateHash(fromSnapshot((await store.load())!.snapshot))).toBe(stateHash(s))
    // Where the file system takes O_DIRECT (not tmpfs), the large bodies went that way.
    if (directIo(dir)) expect(bodies.stats.directReads).toBeGreaterThan(0)
    expect(bodies.stats.directReads + bodies.stats.cachedReads).toBeGreaterThan(0)
    await bodies.close()
    await kv.close()

    // Bit rot inside a large (aligned) body is caught however it was read.
    const pack = join(dir, 'chunks', packFiles(dir)[0])
    const good = readFileSync(pack)
    const big = v2Records(good).find((r) => r.body.length >= 65536)!
    const bad = Buffer.from(good)
    bad[big.offset + 100] ^= 0x01
    writeFileSync(pack, bad)
    ;({ kv, bodies, store } = await openStores(dir))
    await expect(store.load()).rejects.toMatchObject({ code: 'STATE_CORRUPT', message: expect.stringContaining(toHex(big.hash)) })
    await bodies.close()
    await kv.close()

    // The same records in the previous format (no padding): read through the page cache.
    writeFileSync(pack, Buffer.concat([Buffer.from('capsapk1'), ...v2Records(good).flatMap((r) => [r.header, r.body])]))
    ;({ kv, bodies, store } = await openStores(dir))
    expect(stateHash(fromSnapshot((await store.load())!.snapshot))).toBe(stateHash(s))
    expect(bodies.stats.directReads).toBe(0)
    await bodies.close()
    await kv.close()
  })
})

/** The records of a 'capsapk2' pack, parsed independently of the code under test. */
function v2Records(file: Uint8Array): { header: Uint8Array; hash: Uint8Array; offset: number; body: Uint8Array }[] {
  expect(new TextDecoder().decode(file.subarray(0, 8))).toBe('capsapk2')
  const out = []
  let at = 8
  while (at + 36 <= file.length) {
    const length = new DataView(file.buffer, file.byteOffset + at, 4).getUint32(0)
    const offset = length >= 65536 ? Math.ceil((at + 36) / 4096) * 4096 : at + 36
    if (length >= 65536) expect(file.subarray(at + 36, offset).every((b) => b === 0)).toBe(true)
    out.push({ header: file.subarray(at, at + 36), hash: file.subarray(at + 4, at + 36), offset, body: file.subarray(offset, offset + length) })
    at = offset + length
  }
  expect(at).toBe(file.length)
  return out
}

function directIo(dir: string): boolean {
  const O_DIRECT = (constants as { O_DIRECT?: number }).O_DIRECT
  if (O_DIRECT === undefined) return false
  try {
    closeSync(openSync(join(dir, 'chunks', packFiles(dir)[0]), constants.O_RDONLY | O_DIRECT))
    return true
  } catch {
    return false
  }
}
