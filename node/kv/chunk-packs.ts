// Checkpoint chunk bodies in append-only pack files beside the LevelDB store. A checkpoint's new chunks
// go into one new pack written sequentially with a single fsync, which measured several times faster
// than putting 256 KiB values through LevelDB (its log, memtable flush and compactions write each byte
// two or three times). The index (hash → pack, offset) lives in memory and is rebuilt at open by
// reading the record headers; a pack torn by a crash ends early and its partial record is ignored
// (the checkpoint that named it never committed). Packs whose chunks are mostly dropped are compacted:
// their live chunks are copied into the next pack, and the old file goes once the new one is durable.
//
// Pack file: 8-byte magic, then records: u32 body length (big-endian), 32-byte chunk hash, body.

import { mkdir, open, readdir, unlink, type FileHandle } from 'node:fs/promises'
import { join } from 'node:path'
import type { ChunkBodyStore } from '../../protocol/interfaces.ts'
import { CapsaError } from '../../protocol/errors.ts'
import { fromHex, toHex } from '../../protocol/hash.ts'

const MAGIC = new TextEncoder().encode('capsapk1')
const HEADER = 4 + 32
const MAX_BODY = 64 * 1024 * 1024
/** A pack whose live bytes fall below this share of its size is rewritten into the next pack. */
const COMPACT_BELOW = 0.5

interface Location { pack: number; offset: number; length: number }
interface Pack { size: number; liveBytes: number; liveCount: number; handle?: Promise<FileHandle> }

const packName = (seq: number): string => `${String(seq).padStart(12, '0')}.pack`

export class ChunkPacks implements ChunkBodyStore {
  readonly dir: string
  readonly #index = new Map<string, Location>()
  readonly #packs = new Map<number, Pack>()
  #next = 1
  // One writer at a time: the checkpoint store already serializes commits; this keeps it so.
  #writing: Promise<unknown> = Promise.resolve()

  private constructor(dir: string) {
    this.dir = dir
  }

  static async open(dir: string): Promise<ChunkPacks> {
    await mkdir(dir, { recursive: true })
    const p = new ChunkPacks(dir)
    const seqs = (await readdir(dir)).map((n) => /^(\d{12})\.pack$/.exec(n)).filter((m) => m !== null).map((m) => Number(m[1])).sort((a, b) => a - b)
    for (const seq of seqs) await p.#scan(seq)
    if (seqs.length > 0) p.#next = seqs[seqs.length - 1] + 1
    return p
  }

  async #scan(seq: number): Promise<void> {
    const fh = await open(join(this.dir, packName(seq)), 'r')
    try {
      const size = (await fh.stat()).size
      const head = new Uint8Array(HEADER)
      const magic = new Uint8Array(MAGIC.length)
      if (size < MAGIC.length || (await fh.read(magic, 0, MAGIC.length, 0)).bytesRead !== MAGIC.length || toHex(magic) !== toHex(MAGIC)) {
        throw new CapsaError('STATE_CORRUPT', `chunk pack ${join(this.dir, packName(seq))} has no pack header. Move the node's data directory aside and restart it to fetch state from its peers.`)
      }
      const pack: Pack = { size, liveBytes: 0, liveCount: 0 }
      this.#packs.set(seq, pack)
      let at = MAGIC.length
      while (at + HEADER <= size) {
        await fh.read(head, 0, HEADER, at)
        const length = new DataView(head.buffer).getUint32(0)
        if (length > MAX_BODY || at + HEADER + length > size) break // torn tail of a write a crash cut off
        const key = toHex(head.subarray(4))
        const old = this.#index.get(key)
        if (old !== undefined) this.#unref(old) // a later pack (compaction) supersedes an earlier copy
        this.#index.set(key, { pack: seq, offset: at + HEADER, length })
        pack.liveBytes += length
        pack.liveCount++
        at += HEADER + length
      }
    } finally {
      await fh.close()
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
    const compacted = [...this.#packs.entries()].filter(([, p]) => p.liveBytes < p.size * COMPACT_BELOW).map(([seq]) => seq)
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
    const pack: Pack = { size: 0, liveBytes: 0, liveCount: 0 }
    const placed: [string, Location][] = []
    try {
      const buffers: Uint8Array[] = [MAGIC]
      let at = MAGIC.length
      for (const r of records) {
        const head = new Uint8Array(HEADER)
        new DataView(head.buffer).setUint32(0, r.length)
        head.set(r.hash, 4)
        buffers.push(head, ...r.parts)
        placed.push([r.key, { pack: seq, offset: at + HEADER, length: r.length }])
        at += HEADER + r.length
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

  async #read(loc: Location): Promise<Uint8Array> {
    const pack = this.#packs.get(loc.pack)!
    // One handle per pack, shared by concurrent reads (the promise is stored before it resolves).
    pack.handle ??= open(join(this.dir, packName(loc.pack)), 'r')
    // Uninitialised memory: zeroing fresh pages first cost more than the read itself (first-touch
    // faults). A plain Uint8Array view, so a caller's slice() copies as it does for Uint8Arrays.
    const raw = Buffer.allocUnsafeSlow(loc.length)
    const out = new Uint8Array(raw.buffer, raw.byteOffset, raw.length)
    const { bytesRead } = await (await pack.handle).read(out, 0, loc.length, loc.offset)
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
    await unlink(join(this.dir, packName(seq))).catch(() => undefined)
  }

  async close(): Promise<void> {
    await this.#writing
    for (const p of this.#packs.values()) await (await p.handle)?.close()
    for (const p of this.#packs.values()) p.handle = undefined
  }
}
