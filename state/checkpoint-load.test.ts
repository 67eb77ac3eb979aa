import { describe, expect, it } from 'vitest'
import { toHex } from '../protocol/hash.ts'
import { MemoryKvStore } from '../sim/kv/memory.ts'
import { CheckpointStore } from './checkpoint.ts'
import type { ChunkBodyReader } from './checkpoint-load.ts'
import { PAGE_BYTES, concatParts } from './manifest.ts'
import type { StateSnapshot } from './manifest.ts'
import { xorshift } from './testing.ts'

/** Bodies in memory. `readInto` scribbles past the body, as a direct read of whole blocks does. */
class MemoryBodies implements ChunkBodyReader {
  readonly bodies = new Map<string, Uint8Array>()
  readonly into: boolean
  constructor(into: boolean) {
    this.into = into
    if (!into) this.readInto = undefined
  }
  async putMany(chunks: readonly { hash: Uint8Array; parts: readonly Uint8Array[] }[]): Promise<void> {
    for (const c of chunks) this.bodies.set(toHex(c.hash), concatParts(c.parts).slice())
  }
  async get(hash: Uint8Array): Promise<Uint8Array | undefined> {
    return this.bodies.get(toHex(hash))?.slice()
  }
  async delete(hashes: readonly Uint8Array[]): Promise<void> {
    for (const h of hashes) this.bodies.delete(toHex(h))
  }
  async retainOnly(keep: ReadonlySet<string>): Promise<void> {
    for (const k of [...this.bodies.keys()]) if (!keep.has(k)) this.bodies.delete(k)
  }
  readInto?: ChunkBodyReader['readInto'] = async (hash, out) => {
    const b = this.bodies.get(toHex(hash))
    if (!b) return undefined
    const n = Math.min(b.length, out.length)
    out.set(b.subarray(0, n))
    out.fill(0xaa, n)
    return b.length
  }
  alignment(): number {
    return 528 // slots need not start at the buffer's start
  }
}

function random(n: number, seed: number): Uint8Array {
  const next = xorshift(seed)
  const out = new Uint8Array(n)
  for (let i = 0; i < n; i++) out[i] = next() & 0xff
  return out
}

// Page map a: chunk 0 random, chunk 1 the same bytes (a duplicate), chunk 2 one sparse page (trimmed
// to 10 bytes), chunk 3 all zero (omitted). Page map b repeats chunk 0; blob y repeats blob x.
function sample(): StateSnapshot {
  const P = 64
  const a = new Map<number, Uint8Array>()
  const first = random(P * PAGE_BYTES, 1)
  for (let p = 0; p < P; p++) {
    a.set(p, first.subarray(p * PAGE_BYTES, (p + 1) * PAGE_BYTES))
    a.set(P + p, first.slice(p * PAGE_BYTES, (p + 1) * PAGE_BYTES))
  }
  const sparse = new Uint8Array(PAGE_BYTES)
  sparse.set(random(10, 2))
  a.set(2 * P + 3, sparse)
  const b = new Map<number, Uint8Array>()
  for (let p = 0; p < P; p++) b.set(p, a.get(p)!)
  const x = random(300_000, 3)
  return {
    height: 9n,
    pageMaps: new Map([['a', { pageCount: 4 * P - 3, pages: a }], ['b', { pageCount: P, pages: b }]]),
    blobs: new Map([['x', x], ['y', x.slice()], ['empty', new Uint8Array(0)]]),
  }
}

const pageOf = (pages: ReadonlyMap<number, Uint8Array>, i: number) => pages.get(i) ?? new Uint8Array(PAGE_BYTES)

function expectSame(got: StateSnapshot, want: StateSnapshot): void {
  expect(got.height).toBe(want.height)
  expect([...got.pageMaps.keys()].sort()).toEqual([...want.pageMaps.keys()].sort())
  for (const [name, w] of want.pageMaps) {
    const g = got.pageMaps.get(name)!
    expect(g.pageCount).toBe(w.pageCount)
    for (const [i, page] of g.pages) {
      expect(page.length).toBe(PAGE_BYTES)
      expect(i).toBeLessThan(g.pageCount)
      expect(toHex(page)).toBe(toHex(pageOf(w.pages, i)))
    }
    for (const [i, page] of w.pages) if (page.some((b) => b !== 0)) expect(g.pages.has(i)).toBe(true)
  }
  expect([...got.blobs.keys()].sort()).toEqual([...want.blobs.keys()].sort())
  for (const [name, w] of want.blobs) expect(toHex(got.blobs.get(name)!)).toBe(toHex(w))
}

describe('checkpoint loading', () => {
  for (const into of [true, false]) {
    it(`${into ? 'into preallocated slots' : 'from buffers of their own'}: the same snapshot back, duplicates and trimmed tails included; damage is STATE_CORRUPT naming the chunk`, async () => {
      const kv = new MemoryKvStore()
      const bodies = new MemoryBodies(into)
      const want = sample()
      const info = await new CheckpointStore(kv, { bodies }).write(want)
      const load = () => new CheckpointStore(kv.restart(), { bodies }).load()
      const got = (await load())!
      expect(toHex(got.info.hash)).toBe(toHex(info.hash))
      expectSame(got.snapshot, want)

      // Pages of one chunk are views of one buffer, not a copy each (into slots only).
      const a = got.snapshot.pageMaps.get('a')!.pages
      if (into) expect(a.get(0)!.buffer).toBe(a.get(63)!.buffer)

      const [key, body] = [...bodies.bodies].find(([, v]) => v.length === 64 * PAGE_BYTES)!
      const flipped = body.slice()
      flipped[12345] ^= 1
      bodies.bodies.set(key, flipped)
      await expect(load()).rejects.toMatchObject({ code: 'STATE_CORRUPT', message: expect.stringContaining('does not match its hash') })
      await expect(load()).rejects.toThrow(`key c/${key}`)
      bodies.bodies.set(key, body.subarray(0, body.length - 1))
      await expect(load()).rejects.toMatchObject({ code: 'STATE_CORRUPT', message: expect.stringContaining(`holds ${body.length - 1} bytes`) })
      bodies.bodies.delete(key)
      await expect(load()).rejects.toMatchObject({ code: 'STATE_CORRUPT', message: expect.stringContaining('is missing') })
      bodies.bodies.set(key, body)
      expectSame((await load())!.snapshot, want)
    })
  }
})
