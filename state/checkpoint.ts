// Checkpoints through a KvStore: each one is ONE atomic batch holding the chunks no kept checkpoint has
// yet, the manifest, the pointer to the latest checkpoint, and the deletions of garbage-collected
// checkpoints and of chunks only they referenced. A crash leaves either the old or the new checkpoint,
// never a mix; damage the store did not prevent (bit rot, a torn non-atomic copy) shows up as a hash
// mismatch at load and stops the node with STATE_CORRUPT naming the key.
//
// Keys: 'c' ‖ chunk hash → chunk bytes · 'm' ‖ u64 height → manifest · 'd' ‖ u64 height → manifest
// hash · 'l' → u64 height ‖ manifest hash of the latest checkpoint.

import { CapsaError } from '../protocol/errors.ts'
import { bytesEqual, toHex } from '../protocol/hash.ts'
import type { KvOp, KvStore } from '../protocol/interfaces.ts'
import { limits } from '../protocol/limits.ts'
import { loadSnapshot } from './checkpoint-load.ts'
import type { BodySource, ChunkBodyReader } from './checkpoint-load.ts'
import { buildManifest, concatParts, decodeManifest, encodeManifest, manifestHash } from './manifest.ts'
import type { BuiltChunk, ChunkRef, Manifest, StateSnapshot } from './manifest.ts'

const LATEST = Uint8Array.of(0x6c) // 'l'
const key = (prefix: string, body: Uint8Array): Uint8Array => {
  const k = new Uint8Array(1 + body.length)
  k[0] = prefix.charCodeAt(0)
  k.set(body, 1)
  return k
}
const u64 = (v: bigint): Uint8Array => {
  const b = new Uint8Array(8)
  new DataView(b.buffer).setBigUint64(0, v)
  return b
}
export const chunkKey = (hash: Uint8Array): Uint8Array => key('c', hash)
export const manifestKey = (h: bigint): Uint8Array => key('m', u64(h))
const hashKey = (h: bigint): Uint8Array => key('d', u64(h))
const printable = (k: Uint8Array): string => `${String.fromCharCode(k[0])}/${toHex(k.subarray(1))}`

export interface PreparedCheckpoint { manifest: Manifest; built: ReadonlyMap<string, BuiltChunk>; hash: Uint8Array }
export interface CheckpointInfo { height: bigint; manifest: Manifest; manifestBytes: Uint8Array; hash: Uint8Array }

function corrupt(k: Uint8Array, what: string): never {
  throw new CapsaError(
    'STATE_CORRUPT',
    `checkpoint store: ${what} (key ${printable(k)}). The on-disk state is damaged: stop the node, move its state directory aside and restart it so it fetches a checkpoint from its peers (state sync).`,
    { key: printable(k) },
  )
}

export class CheckpointStore {
  readonly kv: KvStore
  readonly keep: number
  readonly chunkPages: number
  /** Kept checkpoints, oldest first; the last is the latest. */
  private kept: CheckpointInfo[] = []
  /** Chunk hash (hex) → number of kept manifests referencing it. */
  private refs = new Map<string, number>()
  private opened = false
  /** Chunk bodies outside the KvStore, if given (the KvStore then holds manifests and pointers only). */
  readonly bodies: ChunkBodyReader | undefined

  constructor(kv: KvStore, opts: { keep?: number; chunkPages?: number; bodies?: ChunkBodyReader } = {}) {
    this.kv = kv
    this.bodies = opts.bodies
    this.keep = Math.max(1, opts.keep ?? limits.checkpointsKept)
    this.chunkPages = opts.chunkPages ?? limits.checkpointChunkPages
  }

  /** Reads and verifies the kept manifests (not the chunks). Idempotent. */
  async open(): Promise<void> {
    if (this.opened) return
    const kept: CheckpointInfo[] = []
    for await (const [k, hash] of this.kv.iterate({ gte: key('d', u64(0n)), lt: key('e', new Uint8Array(0)) })) {
      const height = new DataView(k.buffer, k.byteOffset + 1, 8).getBigUint64(0)
      kept.push(await this.readManifest(height, hash.slice()))
    }
    const latest = await this.kv.get(LATEST)
    if (latest) {
      const h = new DataView(latest.buffer, latest.byteOffset, latest.byteLength).getBigUint64(0)
      const top = kept[kept.length - 1]
      if (!top || top.height !== h || !bytesEqual(top.hash, latest.subarray(8))) corrupt(LATEST, `latest pointer names height ${h}, which is not the newest intact checkpoint`)
    } else if (kept.length > 0) corrupt(LATEST, 'checkpoints exist but the latest pointer is missing')
    this.kept = kept
    this.refs = new Map()
    for (const c of kept) this.count(c.manifest, 1)
    // Bodies put before a crash cut their batch off, or dropped by a batch whose deletions the crash
    // cut off, are referenced by no kept checkpoint.
    await this.bodies?.retainOnly(new Set(this.refs.keys()))
    this.opened = true
  }

  private async readManifest(height: bigint, hash: Uint8Array): Promise<CheckpointInfo> {
    const mk = manifestKey(height)
    const bytes = await this.kv.get(mk)
    if (!bytes) corrupt(mk, `manifest of height ${height} is missing`)
    if (!bytesEqual(manifestHash(bytes), hash)) corrupt(mk, `manifest of height ${height} does not match its recorded hash`)
    const manifest = decodeManifest(bytes)
    if (manifest.height !== height) corrupt(mk, `manifest records height ${manifest.height}`)
    return { height, manifest, manifestBytes: bytes.slice(), hash }
  }

  private count(m: Manifest, delta: number, dropped?: Uint8Array[]): void {
    for (const h of distinctChunks(m)) {
      const k = toHex(h)
      const n = (this.refs.get(k) ?? 0) + delta
      if (n > 0) this.refs.set(k, n)
      else {
        this.refs.delete(k)
        dropped?.push(h)
      }
    }
  }

  latest(): CheckpointInfo | undefined {
    return this.kept[this.kept.length - 1]
  }
  heights(): bigint[] {
    return this.kept.map((c) => c.height)
  }
  info(height: bigint): CheckpointInfo | undefined {
    return this.kept.find((c) => c.height === height)
  }
  hasChunk(hash: Uint8Array): boolean {
    return this.refs.has(toHex(hash))
  }

  /**
   * Writes a checkpoint of `snap` in one atomic batch. `dirty` (page indexes changed since the latest
   * checkpoint, per page map) limits hashing and writing to the chunks holding them.
   */
  async write(snap: StateSnapshot, dirty?: ReadonlyMap<string, Iterable<number>>): Promise<CheckpointInfo> {
    await this.open()
    const prev = this.latest()
    if (prev && snap.height <= prev.height) throw new CapsaError('INVALID_ARGUMENT', `checkpoint height ${snap.height} is not above the latest ${prev.height}`)
    const { manifest, built } = buildManifest(snap, this.chunkPages, prev?.manifest, prev ? dirty : undefined)
    return this.commit(manifest, (h) => built.get(toHex(h))?.parts)
  }

  /**
   * The manifest (and its hash) of `snap`, computed now, without touching the store: a replica puts
   * the hash into the certified tree of the height before the write reaches disk. Hash every chunk
   * (no `dirty` shortcut), since the write it feeds may overtake no other.
   */
  prepare(snap: StateSnapshot): PreparedCheckpoint {
    const { manifest, built } = buildManifest(snap, this.chunkPages)
    return { manifest, built, hash: manifestHash(encodeManifest(manifest)) }
  }

  /** Writes a prepared checkpoint unless the store already holds one at or above its height. */
  async writePrepared(p: PreparedCheckpoint): Promise<CheckpointInfo | undefined> {
    await this.open()
    const prev = this.latest()
    // A replica replaying heights it had checkpointed before a crash prepares the same checkpoints
    // again (execution is deterministic); the store keeps the newer one it has.
    if (prev && p.manifest.height <= prev.height) return undefined
    return this.commit(p.manifest, (h) => p.built.get(toHex(h))?.parts)
  }

  /** Adopts a checkpoint whose chunks were fetched and verified elsewhere (state sync). */
  async adopt(manifestBytes: Uint8Array, chunk: (hash: Uint8Array) => Uint8Array | undefined): Promise<CheckpointInfo> {
    await this.open()
    const manifest = decodeManifest(manifestBytes, 'STATE_SYNC_INVALID')
    const prev = this.latest()
    if (prev && manifest.height <= prev.height) throw new CapsaError('INVALID_ARGUMENT', `synced height ${manifest.height} is not above the latest ${prev.height}`)
    return this.commit(manifest, (h) => {
      const bytes = chunk(h)
      return bytes === undefined ? undefined : [bytes]
    })
  }

  private async commit(manifest: Manifest, chunk: (hash: Uint8Array) => readonly Uint8Array[] | undefined): Promise<CheckpointInfo> {
    const manifestBytes = encodeManifest(manifest)
    const hash = manifestHash(manifestBytes)
    const info: CheckpointInfo = { height: manifest.height, manifest, manifestBytes, hash }
    const ops: KvOp[] = []
    const fresh: BuiltChunk[] = []
    for (const h of distinctChunks(manifest)) {
      if (this.refs.has(toHex(h))) continue
      const parts = chunk(h)
      if (!parts) throw new CapsaError('INVALID_ARGUMENT', `checkpoint ${manifest.height}: no bytes for new chunk ${toHex(h)}`)
      if (this.bodies) fresh.push({ hash: h, parts })
      else ops.push({ type: 'put', key: chunkKey(h), value: concatParts(parts) })
    }
    // Bodies first: once the batch below names them, they must already be on disk.
    if (this.bodies) await this.bodies.putMany(fresh)
    ops.push({ type: 'put', key: manifestKey(info.height), value: manifestBytes })
    ops.push({ type: 'put', key: hashKey(info.height), value: hash })
    const latest = new Uint8Array(40)
    latest.set(u64(info.height))
    latest.set(hash, 8)
    ops.push({ type: 'put', key: LATEST, value: latest })
    // Reference counts change only after the batch is durable; work on copies until then.
    const savedRefs = new Map(this.refs)
    this.count(manifest, 1)
    const gone = this.kept.slice(0, Math.max(0, this.kept.length + 1 - this.keep))
    const dropped: Uint8Array[] = []
    for (const g of gone) {
      this.count(g.manifest, -1, dropped)
      ops.push({ type: 'del', key: manifestKey(g.height) }, { type: 'del', key: hashKey(g.height) })
    }
    if (!this.bodies) for (const h of dropped) ops.push({ type: 'del', key: chunkKey(h) })
    try {
      await this.kv.batch(ops, { sync: true })
    } catch (e) {
      this.refs = savedRefs
      throw e
    }
    this.kept = [...this.kept.slice(gone.length), info]
    await this.bodies?.delete(dropped)
    return info
  }

  /** Loads and verifies a kept checkpoint (default: the latest). */
  async load(height?: bigint): Promise<{ snapshot: StateSnapshot; info: CheckpointInfo } | undefined> {
    await this.open()
    const info = height === undefined ? this.latest() : this.info(height)
    if (!info) return undefined
    const bodies = this.bodies
    const source: BodySource = bodies?.readInto
      ? { kind: 'into', read: (h, out) => bodies.readInto!(h, out), align: bodies.alignment?.bind(bodies) }
      : { kind: 'get', get: (h) => this.#body(h) }
    const snapshot = await loadSnapshot(info.manifest, source, (h, what) => corrupt(chunkKey(h), what))
    return { snapshot, info }
  }

  /** One chunk by its index in the manifest's flat chunk table (files in order), for state sync. */
  async chunkAt(height: bigint, index: number): Promise<Uint8Array | undefined> {
    await this.open()
    const info = this.info(height)
    const ref = info && chunkTable(info.manifest)[index]
    if (!ref) return undefined
    return this.#body(ref.hash)
  }

  #body(hash: Uint8Array): Promise<Uint8Array | undefined> {
    return this.bodies ? this.bodies.get(hash) : this.kv.get(chunkKey(hash))
  }
}

const tables = new WeakMap<Manifest, ChunkRef[]>()
export function chunkTable(m: Manifest): ChunkRef[] {
  let t = tables.get(m)
  if (!t) tables.set(m, (t = m.files.flatMap((f) => f.chunks)))
  return t
}
function distinctChunks(m: Manifest): Uint8Array[] {
  const seen = new Map<string, Uint8Array>()
  for (const c of chunkTable(m)) seen.set(toHex(c.hash), c.hash)
  return [...seen.values()]
}
