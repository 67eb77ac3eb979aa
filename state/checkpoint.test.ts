import { describe, expect, it } from 'vitest'
import { toHex } from '../protocol/hash.ts'
import { MemoryKvStore } from '../sim/kv/memory.ts'
import { CheckpointStore, chunkKey, chunkTable } from './checkpoint.ts'
import { buildManifest, encodeManifest, manifestHash } from './manifest.ts'
import { applyRound, fromSnapshot, genesis, snapshotOf, stateHash, xorshift } from './testing.ts'
import type { ModelState } from './testing.ts'
import { checkpointSource, syncCheckpoint } from './sync.ts'
import type { ChunkSource } from './sync.ts'

const SEED = 7

function run(rounds: number): ModelState {
  const s = genesis()
  for (let i = 0; i < rounds; i++) applyRound(s, SEED)
  return s
}
async function checkpoint(store: CheckpointStore, s: ModelState) {
  const info = await store.write(snapshotOf(s), s.dirty)
  s.dirty = new Map()
  return info
}
async function chunkKeys(kv: MemoryKvStore): Promise<number> {
  let n = 0
  for await (const [k] of kv.iterate({ gte: Uint8Array.of(0x63), lt: Uint8Array.of(0x64) })) if (k.length === 33) n++
  return n
}

describe('checkpoints', () => {
  it('round-trip, write incrementally the same manifest as from scratch, and collect garbage', async () => {
    const kv = new MemoryKvStore()
    const store = new CheckpointStore(kv, { keep: 2 })
    const s = genesis()
    for (let k = 0; k < 5; k++) {
      for (let i = 0; i < 10; i++) applyRound(s, SEED)
      const info = await checkpoint(store, s)
      const scratch = buildManifest(snapshotOf(s), store.chunkPages).manifest
      expect(toHex(info.hash)).toBe(toHex(manifestHash(encodeManifest(scratch))))
    }
    expect(store.heights()).toEqual([40n, 50n])
    const referenced = new Set([40n, 50n].flatMap((h) => chunkTable(store.info(h)!.manifest).map((c) => toHex(c.hash))))
    expect(await chunkKeys(kv)).toBe(referenced.size)
    const reopened = new CheckpointStore(kv.restart(), { keep: 2 })
    const loaded = await reopened.load()
    expect(loaded!.info.height).toBe(50n)
    expect(stateHash(fromSnapshot(loaded!.snapshot))).toBe(stateHash(s))
    expect(stateHash(fromSnapshot((await reopened.load(40n))!.snapshot))).toBe(stateHash(run(40)))
  })

  it('seeded property: checkpoints, crashes and restarts reach the hash of an uninterrupted run', async () => {
    for (const seed of [1, 2, 3]) {
      const next = xorshift(seed)
      const total = 60
      const expected = stateHash(run(total))
      let kv = new MemoryKvStore()
      let store = new CheckpointStore(kv, { keep: 2 })
      let s = genesis()
      let batches = 0
      while (s.height < total) {
        applyRound(s, SEED)
        if (next() % 6 === 0) {
          const crashNow = next() % 3 === 0
          if (crashNow) kv = kv.restart({ crashAtBatch: 0 })
          store = crashNow ? new CheckpointStore(kv, { keep: 2 }) : store
          try {
            await checkpoint(store, s)
            batches++
          } catch {
            expect(kv.crashed).toBe(true)
          }
        }
        if (next() % 9 === 0 || kv.crashed) {
          kv = kv.restart()
          store = new CheckpointStore(kv, { keep: 2 })
          const loaded = await store.load()
          s = loaded ? fromSnapshot(loaded.snapshot) : genesis()
        }
      }
      expect(batches).toBeGreaterThan(0)
      expect(stateHash(s)).toBe(expected)
    }
  })

  it('a torn (non-atomic) write is either harmless or detected, never loaded as a wrong state', async () => {
    const base = new MemoryKvStore()
    const s = run(20)
    await checkpoint(new CheckpointStore(base, { keep: 1 }), s)
    const old = stateHash(s)
    for (let i = 0; i < 20; i++) applyRound(s, SEED)
    const ops = 40
    let detected = 0
    for (let keep = 0; keep <= ops; keep += 2) {
      const kv = base.restart({ tornAtBatch: { batch: 0, keep } })
      const store = new CheckpointStore(kv, { keep: 1 })
      await store.write(snapshotOf(s), s.dirty).catch(() => undefined)
      try {
        const loaded = await new CheckpointStore(kv.restart(), { keep: 1 }).load()
        expect([old, stateHash(s)]).toContain(stateHash(fromSnapshot(loaded!.snapshot)))
      } catch (e) {
        expect((e as { code?: string }).code).toBe('STATE_CORRUPT')
        detected++
      }
    }
    expect(detected).toBeGreaterThan(0)
  })

  it('reuses untouched page maps and rebuilds the chunk a shrink cuts', async () => {
    const page = (b: number) => new Uint8Array(4096).fill(b)
    const a = new Map([[0, page(1)], [70, page(2)], [100, page(3)]])
    const b = new Map([[5, page(4)]])
    const store = new CheckpointStore(new MemoryKvStore())
    await store.write({ height: 1n, pageMaps: new Map([['a', { pageCount: 101, pages: a }], ['b', { pageCount: 6, pages: b }]]), blobs: new Map() })
    const shrunk = new Map([[0, page(1)], [70, page(9)]])
    const snap = { height: 2n, pageMaps: new Map([['a', { pageCount: 71, pages: shrunk }], ['b', { pageCount: 6, pages: b }]]), blobs: new Map() }
    const info = await store.write(snap, new Map([['a', [70]]]))
    expect(toHex(info.hash)).toBe(toHex(manifestHash(encodeManifest(buildManifest(snap, store.chunkPages).manifest))))
    const shrunk2 = new Map([[0, page(1)]]) // page 70 cut off by the shrink, reported by nobody
    const snap2 = { height: 3n, pageMaps: new Map([['a', { pageCount: 66, pages: shrunk2 }], ['b', { pageCount: 6, pages: b }]]), blobs: new Map() }
    const info2 = await store.write(snap2, new Map())
    expect(toHex(info2.hash)).toBe(toHex(manifestHash(encodeManifest(buildManifest(snap2, store.chunkPages).manifest))))
  })

  it('names the damaged key when a chunk rots', async () => {
    const kv = new MemoryKvStore()
    const store = new CheckpointStore(kv)
    const info = await checkpoint(store, run(10))
    const victim = chunkTable(info.manifest)[0].hash
    kv.corrupt(chunkKey(victim), (v) => ((v[0] ^= 1), v))
    await expect(new CheckpointStore(kv.restart()).load()).rejects.toMatchObject({ code: 'STATE_CORRUPT', message: expect.stringContaining(toHex(victim)) })
  })
})

describe('state sync', () => {
  it('reproduces the exact state, reuses held chunks, and rejects a tampered chunk', async () => {
    const source = new CheckpointStore(new MemoryKvStore())
    const s = run(30)
    const info = await checkpoint(source, s)
    const honest = checkpointSource(source)
    const tampered: ChunkSource = {
      manifest: honest.manifest,
      async chunk(h, i) {
        const c = await honest.chunk(h, i)
        if (c && i === 1) c[c.length - 1] ^= 0xff
        return c
      },
    }
    const t1 = new CheckpointStore(new MemoryKvStore())
    await expect(syncCheckpoint(t1, [tampered], 30n, info.hash)).rejects.toMatchObject({ code: 'STATE_SYNC_INVALID' })
    expect(t1.latest()).toBeUndefined()
    await expect(syncCheckpoint(t1, [honest], 30n, new Uint8Array(32))).rejects.toMatchObject({ code: 'STATE_SYNC_INVALID' })

    const { progress } = await syncCheckpoint(t1, [tampered, honest], 30n, info.hash)
    expect(progress.rejected).toBe(1)
    const loaded = await t1.load()
    expect(toHex(loaded!.info.hash)).toBe(toHex(info.hash))
    expect(stateHash(fromSnapshot(loaded!.snapshot))).toBe(stateHash(s))

    for (let i = 0; i < 5; i++) applyRound(s, SEED)
    const info2 = await checkpoint(source, s)
    const second = await syncCheckpoint(t1, [honest], 35n, info2.hash)
    expect(second.progress.reused).toBeGreaterThan(0)
    expect(stateHash(fromSnapshot((await t1.load())!.snapshot))).toBe(stateHash(s))
  })
})
