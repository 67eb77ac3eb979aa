// Checkpoint chunk bodies in append-only pack files beside the LevelDB store. A checkpoint's new chunks
// go into one new pack written sequentially with a single fsync, which measured several times faster
// than putting 256 KiB values through LevelDB (its log, memtable flush and compactions write each byte
// two or three times). The index (hash → pack, offset) lives in memory and is rebuilt at open by
// reading the record headers; a pack torn by a crash ends early and its partial record is ignored
// (the checkpoint that named it never committed). Packs whose chunks are mostly dropped are compacted:
// their live chunks are copied into the next pack, and the old file goes once the new one is durable.
//
// Pack file: 8-byte magic, then records: u32 body length (big-endian), 32-byte chunk hash, body. In
// 'capsapk2' packs a body of DIRECT_MIN bytes or more starts at the next multiple of ALIGN after its
// header (zero padding between, at most 6% of such a body), so a restart can read it with O_DIRECT
// straight into the page-aligned place it is loaded to (see direct-read.ts); smaller bodies, and
// 'capsapk1' packs (no padding), are read through the page cache.

import { closeSync, fstatSync, openSync, readSync, unlinkSync } from 'node:fs'
import { mkdir, open, readdir, unlink, type FileHandle } from 'node:fs/promises'
import { join } from 'node:path'
import { ALIGN, DirectReader, alignUp } from './direct-read.ts'
import type { ChunkBodyReader } from '../../state/checkpoint-load.ts'
import { CapsaError } from '../../protocol/errors.ts'
import { fromHex, toHex } from '../../protocol/hash.ts'

const MAGIC_V1 = new TextEncoder().encode('capsapk1')
const MAGIC = new TextEncoder().encode('capsapk2')
const HEADER = 4 + 32
const ZEROS = new Uint8Array(ALIGN)
const DIRECT_MIN = 64 * 1024
/** Where the body of a record whose header is at `at` starts. */
const bodyAt = (aligned: boolean, at: number, length: number): number => (aligned && length >= DIRECT_MIN ? alignUp(at + HEADER) : at + HEADER)
const MAX_BODY = 64 * 1024 * 1024
/** A pack whose live bytes fall below this share of its size is rewritten into the next pack. */
const COMPACT_BELOW = 0.5

interface Location { pack: number; offset: number; length: number }
/** `bodyBytes`: all bodies written to the pack, live or not (padding aside), for compaction. */
interface Pack { size: number; bodyBytes: number; liveBytes: number; liveCount: number; aligned: boolean; handle?: Promise<FileHandle> }

const packName = (seq: number): string => `${String(seq).padStart(12, '0')}.pack`

export class ChunkPacks implements ChunkBodyReader {
  readonly dir: string
  readonly #index = new Map<string, Location>()
  readonly #packs = new Map<number, Pack>()
  #next = 1
  readonly #direct = new DirectReader()
  /** Bodies read by readInto, directly (O_DIRECT) or through the page cache. */
  readonly stats = { directReads: 0, cachedReads: 0 }
  // One writer at a time: the checkpoint store already serializes commits; this keeps it so.
  #writing: Promise<unknown> = Promise.resolve()

  private constructor(dir: string) {
    this.dir = dir
  }

  static async open(dir: string): Promise<ChunkPacks> {
    await mkdir(dir, { recursive: true })
    const p = new ChunkPacks(dir)
    const seqs = (await readdir(dir)).map((n) => /^(\d{12})\.pack$/.exec(n)).filter((m) => m !== null).map((m) => Number(m[1])).sort((a, b) => a - b)
    for (const seq of seqs) p.#scan(seq)
    if (seqs.length > 0) p.#next = seqs[seqs.length - 1] + 1
    // A pack holding no complete record (a write torn early) or only superseded copies goes now.
    for (const seq of [...p.#packs.keys()]) await p.#dropIfEmpty(seq)
    return p
  }

  // Synchronous: it runs once at start-up, and thousands of awaited header reads cost more than this.
  #scan(seq: number): void {
    const path = join(this.dir, packName(seq))
    const fd = openSync(path, 'r')
    try {
      const size = fstatSync(fd).size
      const head = new Uint8Array(HEADER)
      const magic = new Uint8Array(MAGIC.length)
      const n = readSync(fd, magic, 0, MAGIC.length, 0)
      const got = toHex(magic.subarray(0, n))
      // Killed between creating the file and writing its header: nothing in it was ever named.
      if (n < MAGIC.length && toHex(MAGIC).startsWith(got)) return unlinkSync(path)
      if (got !== toHex(MAGIC) && got !== toHex(MAGIC_V1)) {
        throw new CapsaError('STATE_CORRUPT', `chunk pack ${path} has no pack header. Move the node's data directory aside and restart it to fetch state from its peers.`)
      }
      const pack: Pack = { size, bodyBytes: 0, liveBytes: 0, liveCount: 0, aligned: got === toHex(MAGIC) }
      this.#packs.set(seq, pack)
      let at = MAGIC.length
      while (at + HEADER <= size) {
        readSync(fd, head, 0, HEADER, at)
        const length = new DataView(head.buffer).getUint32(0)
        const offset = bodyAt(pack.aligned, at, length)
        if (length > MAX_BODY || offset + length > size) break // torn tail of a write a crash cut off
        const key = toHex(head.subarray(4))
        const old = this.#index.get(key)
        if (old !== undefined) this.#unref(old) // a later pack (compaction) supersedes an earlier copy
        this.#index.set(key, { pack: seq, offset, length })
        pack.bodyBytes += length
        pack.liveBytes += length
        pack.liveCount++
        at = offset + length
      }
    } finally {
      closeSync(fd)
    }
  }

  get size(): number {
    return this.#index.size
  }
  packCount(): number {
    return this.#packs.size
  }

  async putMany(chunks: readonly { hash: Uint8Array; parts: readonly Uint8Array[] }[]): Promise<void> {
    const run = this.#writing.then(() => this.#write(chunks))
    this.#writing = run.catch(() => undefined)
    return run
  }

  async #write(chunks: readonly { hash: Uint8Array; parts: readonly Uint8Array[] }[]): Promise<void> {
    const records: { key: string; hash: Uint8Array; parts: readonly Uint8Array[]; length: number }[] = []
    const seen = new Set<string>()
    for (const c of chunks) {
      const key = toHex(c.hash)
      if (this.#index.has(key) || seen.has(key)) continue
      seen.add(key)
      let length = 0
      for (const part of c.parts) length += part.length
      records.push({ key, hash: c.hash, parts: c.parts, length })
    }
    // Mostly-dead packs ride along: their live chunks move into this pack.
    const compacted = [...this.#packs.entries()].filter(([, p]) => p.liveBytes < p.bodyBytes * COMPACT_BELOW).map(([seq]) => seq)
    if (compacted.length > 0) {
      const moving = new Set(compacted)
      for (const [key, loc] of this.#index) {
        if (!moving.has(loc.pack) || seen.has(key)) continue
        const bytes = await this.#read(loc)
        records.push({ key, hash: fromHex(key), parts: [bytes], length: bytes.length })
        seen.add(key)
      }
    }
    if (records.length === 0) return
    const seq = this.#next++
    const path = join(this.dir, packName(seq))
    const fh = await open(path, 'wx')
    const pack: Pack = { size: 0, bodyBytes: 0, liveBytes: 0, liveCount: 0, aligned: true }
    const placed: [string, Location][] = []
    try {
      const buffers: Uint8Array[] = [MAGIC]
      let at = MAGIC.length
      for (const r of records) {
        const head = new Uint8Array(HEADER)
        new DataView(head.buffer).setUint32(0, r.length)
        head.set(r.hash, 4)
        const offset = bodyAt(true, at, r.length)
        buffers.push(head)
        if (offset > at + HEADER) buffers.push(ZEROS.subarray(0, offset - at - HEADER))
        buffers.push(...r.parts)
        placed.push([r.key, { pack: seq, offset, length: r.length }])
        at = offset + r.length
      }
      // writev takes at most IOV_MAX buffers per call.
      for (let i = 0; i < buffers.length; i += 512) await fh.writev(buffers.slice(i, i + 512))
      await fh.sync()
      pack.size = at
    } finally {
      await fh.close()
    }
    await this.#syncDir()
    this.#packs.set(seq, pack)
    for (const [key, loc] of placed) {
      const old = this.#index.get(key)
      if (old !== undefined) this.#unref(old)
      this.#index.set(key, loc)
      pack.bodyBytes += loc.length
      pack.liveBytes += loc.length
      pack.liveCount++
    }
    for (const s of compacted) await this.#dropIfEmpty(s)
  }

  async #syncDir(): Promise<void> {
    const d = await open(this.dir, 'r')
    try {
      await d.sync()
    } finally {
      await d.close()
    }
  }

  async get(hash: Uint8Array): Promise<Uint8Array | undefined> {
    const loc = this.#index.get(toHex(hash))
    return loc === undefined ? undefined : this.#read(loc)
  }

  /** Reads a body into `out` (see ChunkBodyReader): no buffer of its own, so a load can place it. */
  async readInto(hash: Uint8Array, out: Uint8Array): Promise<number | undefined> {
    const loc = this.#index.get(toHex(hash))
    if (loc === undefined) return undefined
    const want = Math.min(loc.length, out.length)
    const pack = this.#packs.get(loc.pack)!
    if (pack.aligned && want === loc.length) {
      const n = await this.#direct.read(join(this.dir, packName(loc.pack)), out, want, loc.offset)
      if (n !== undefined) {
        this.stats.directReads++
        return n >= want ? loc.length : n
      }
    }
    this.stats.cachedReads++
    const { bytesRead } = await (await this.#handle(loc.pack)).read(out, 0, want, loc.offset)
    return bytesRead === want ? loc.length : bytesRead
  }

  /** See ChunkBodyReader.alignment. */
  alignment(buffer: ArrayBuffer): number {
    for (const [seq, p] of this.#packs) if (p.aligned && p.size >= ALIGN) return this.#direct.alignment(buffer, join(this.dir, packName(seq)))
    return 0
  }

  #handle(seq: number): Promise<FileHandle> {
    const pack = this.#packs.get(seq)!
    // One handle per pack, shared by concurrent reads (the promise is stored before it resolves).
    return (pack.handle ??= open(join(this.dir, packName(seq)), 'r'))
  }

  async #read(loc: Location): Promise<Uint8Array> {
    // Uninitialised memory: zeroing fresh pages first cost more than the read itself (first-touch
    // faults). A plain Uint8Array view, so a caller's slice() copies as it does for Uint8Arrays.
    const raw = Buffer.allocUnsafeSlow(loc.length)
    const out = new Uint8Array(raw.buffer, raw.byteOffset, raw.length)
    const { bytesRead } = await (await this.#handle(loc.pack)).read(out, 0, loc.length, loc.offset)
    // A short read means the file changed under the node; the caller's hash check reports it.
    return bytesRead === loc.length ? out : out.subarray(0, bytesRead)
  }

  async delete(hashes: readonly Uint8Array[]): Promise<void> {
    const touched = new Set<number>()
    for (const h of hashes) {
      const key = toHex(h)
      const loc = this.#index.get(key)
      if (loc === undefined) continue
      this.#index.delete(key)
      this.#unref(loc)
      touched.add(loc.pack)
    }
    for (const seq of touched) await this.#dropIfEmpty(seq)
  }

  async retainOnly(keep: ReadonlySet<string>): Promise<void> {
    const gone = [...this.#index.keys()].filter((k) => !keep.has(k)).map(fromHex)
    await this.delete(gone)
  }

  #unref(loc: Location): void {
    const p = this.#packs.get(loc.pack)
    if (p === undefined) return
    p.liveBytes -= loc.length
    p.liveCount--
  }

  async #dropIfEmpty(seq: number): Promise<void> {
    const p = this.#packs.get(seq)
    if (p === undefined || p.liveCount > 0) return
    this.#packs.delete(seq)
    await (await p.handle)?.close()
    await this.#direct.forget(join(this.dir, packName(seq)))
    await unlink(join(this.dir, packName(seq))).catch(() => undefined)
  }

  async close(): Promise<void> {
    await this.#writing
    for (const p of this.#packs.values()) await (await p.handle)?.close()
    for (const p of this.#packs.values()) p.handle = undefined
    await this.#direct.close()
  }
}
