// The checkpoint manifest: every file of a state snapshot cut into content-addressed chunks, the IC's
// design (ic-consensus-and-state §6.3) in a simpler encoding. Its hash is the state hash that all honest
// nodes agree on at a checkpoint height and that state sync verifies against.
//
// A snapshot is generic: named page maps (4 KiB pages; absent pages are zero) and named blobs.
// - page map `n` becomes file `pages/n` of pageCount × 4 KiB; chunk c holds pages [c·P, (c+1)·P) with
//   trailing zero bytes trimmed, and an all-zero chunk is omitted. So a chunk depends only on its own
//   pages: a checkpoint rehashes just the chunks holding dirty pages and reuses the other hashes.
// - blob `n` becomes file `blob/n`, cut into P × 4 KiB chunks, untrimmed.
// Files are sorted by name; integers are big-endian; every byte string carries a u32 length.

import { CapsaError } from '../protocol/errors.ts'
import { bytesEqual, compareBytes, domainSeparator, sha256, toHex } from '../protocol/hash.ts'
import { Reader, Writer } from './codec.ts'

export const PAGE_BYTES = 4096
export const MANIFEST_VERSION = 1
const CHUNK_DOMAIN = domainSeparator('capsa-state-chunk')
const MANIFEST_DOMAIN = domainSeparator('capsa-state-manifest')

export interface PageMapSnapshot {
  /** Logical size in pages (the page map's length); pages at or beyond it must not be present. */
  pageCount: number
  /** Page index → 4 KiB; absent pages are zero. */
  pages: ReadonlyMap<number, Uint8Array>
}
export interface StateSnapshot {
  height: bigint
  pageMaps: ReadonlyMap<string, PageMapSnapshot>
  blobs: ReadonlyMap<string, Uint8Array>
}

/** A chunk built for a checkpoint: its hash and the pieces whose concatenation is its content. */
export interface BuiltChunk { readonly hash: Uint8Array; readonly parts: readonly Uint8Array[] }
export interface ChunkRef { readonly offset: number; readonly size: number; readonly hash: Uint8Array }
export interface ManifestFile { readonly name: string; readonly size: number; readonly chunks: readonly ChunkRef[] }
export interface Manifest {
  readonly height: bigint
  readonly chunkPages: number
  readonly files: readonly ManifestFile[]
}

/** A chunk's hash; the chunk may be given as the pieces whose concatenation it is. */
export const chunkHash = (...parts: readonly Uint8Array[]): Uint8Array => sha256(CHUNK_DOMAIN, ...parts)

export function encodeManifest(m: Manifest): Uint8Array {
  const w = new Writer().u32(MANIFEST_VERSION).u64(m.height).u32(m.chunkPages).u32(m.files.length)
  for (const f of m.files) {
    w.text(f.name).u64(f.size).u32(f.chunks.length)
    for (const c of f.chunks) w.u64(c.offset).u32(c.size).bytes(c.hash)
  }
  return w.finish()
}
export const manifestHash = (encoded: Uint8Array): Uint8Array => sha256(MANIFEST_DOMAIN, encoded)

export function decodeManifest(bytes: Uint8Array, code: 'STATE_CORRUPT' | 'STATE_SYNC_INVALID' = 'STATE_CORRUPT'): Manifest {
  const r = new Reader(bytes, 'state manifest', code)
  const version = r.u32()
  if (version !== MANIFEST_VERSION) throw new CapsaError(code, `state manifest: unsupported version ${version}`)
  const height = r.u64()
  const chunkPages = r.u32()
  const files: ManifestFile[] = []
  for (let n = r.u32(), i = 0; i < n; i++) {
    const name = r.text()
    const size = Number(r.u64())
    const chunks: ChunkRef[] = []
    for (let k = r.u32(), j = 0; j < k; j++) {
      const offset = Number(r.u64())
      const csize = r.u32()
      const hash = r.bytes().slice()
      if (hash.length !== 32 || offset + csize > size) throw new CapsaError(code, `state manifest: bad chunk ${j} of ${name}`)
      chunks.push({ offset, size: csize, hash })
    }
    if (i > 0 && files[i - 1].name >= name) throw new CapsaError(code, 'state manifest: files not sorted')
    files.push({ name, size, chunks })
  }
  r.end()
  return { height, chunkPages, files }
}

const pagesFile = (n: string): string => `pages/${n}`
const blobFile = (n: string): string => `blob/${n}`

/** The bytes of chunk `c` of a page map (trailing zeros trimmed), or undefined if all zero. */
const ZERO_PAGE = new Uint8Array(PAGE_BYTES)

/**
 * Chunk `c` of a page map as the pieces that make it up (page views, zero pages, the last page cut
 * after its last non-zero byte), or undefined when the chunk is all zeros. Hashing and writing the
 * pieces avoids copying every page into a fresh chunk buffer, which cost more than hashing them.
 */
export function pageChunkParts(pm: PageMapSnapshot, c: number, chunkPages: number): Uint8Array[] | undefined {
  const first = c * chunkPages
  const last = Math.min(first + chunkPages, pm.pageCount)
  let top = -1
  for (let p = last - 1; p >= first && top < 0; p--) {
    const page = pm.pages.get(p)
    if (!page) continue
    for (let b = PAGE_BYTES - 1; b >= 0; b--) {
      if (page[b] !== 0) {
        top = (p - first) * PAGE_BYTES + b + 1
        break
      }
    }
  }
  if (top < 0) return undefined
  const parts: Uint8Array[] = []
  for (let p = first; p < last; p++) {
    const o = (p - first) * PAGE_BYTES
    if (o >= top) break
    const page = pm.pages.get(p) ?? ZERO_PAGE
    parts.push(o + PAGE_BYTES <= top ? page : page.subarray(0, top - o))
  }
  return parts
}

export function concatParts(parts: readonly Uint8Array[]): Uint8Array {
  if (parts.length === 1) return parts[0]
  let n = 0
  for (const p of parts) n += p.length
  const out = new Uint8Array(n)
  let o = 0
  for (const p of parts) {
    out.set(p, o)
    o += p.length
  }
  return out
}

/**
 * Builds the manifest of `snap`. With `previous` and `dirty` (page indexes changed since `previous`
 * per page map), only chunks holding dirty pages are rebuilt and hashed; the others are reused.
 * Returns the manifest and the bytes of every chunk it (re)built, by hash.
 */
export function buildManifest(
  snap: StateSnapshot,
  chunkPages: number,
  previous?: Manifest,
  dirty?: ReadonlyMap<string, Iterable<number>>,
): { manifest: Manifest; built: Map<string, BuiltChunk> } {
  const built = new Map<string, BuiltChunk>()
  const chunkBytes = chunkPages * PAGE_BYTES
  const add = (parts: Uint8Array[], offset: number): ChunkRef => {
    const hash = chunkHash(...parts)
    let size = 0
    for (const p of parts) size += p.length
    built.set(toHex(hash), { hash, parts })
    return { offset, size, hash }
  }
  const prevFiles = new Map((previous && previous.chunkPages === chunkPages ? previous.files : []).map((f) => [f.name, f]))
  const files: ManifestFile[] = []
  for (const [name, pm] of snap.pageMaps) {
    for (const p of pm.pages.keys()) {
      if (!Number.isInteger(p) || p < 0 || p >= pm.pageCount) throw new CapsaError('INVALID_ARGUMENT', `page map ${name}: page ${p} outside [0, ${pm.pageCount})`)
    }
    const nChunks = Math.ceil(pm.pageCount / chunkPages)
    const prev = prevFiles.get(pagesFile(name))
    const refs = new Map<number, ChunkRef>()
    let todo: Iterable<number>
    if (prev && dirty) {
      // a page map missing from `dirty` is unchanged; a shrunk one also rebuilds its cut chunk
      for (const c of prev.chunks) if (c.offset / chunkBytes < nChunks) refs.set(c.offset / chunkBytes, c)
      const set = new Set([...(dirty.get(name) ?? [])].map((p) => Math.floor(p / chunkPages)))
      if (prev.size > pm.pageCount * PAGE_BYTES) set.add(Math.floor(pm.pageCount / chunkPages))
      todo = set
    } else todo = Array.from({ length: nChunks }, (_, i) => i)
    for (const c of todo) {
      if (c >= nChunks) continue
      const parts = pageChunkParts(pm, c, chunkPages)
      if (parts) refs.set(c, add(parts, c * chunkBytes))
      else refs.delete(c)
    }
    const chunks = [...refs.entries()].sort((a, b) => a[0] - b[0]).map((e) => e[1])
    files.push({ name: pagesFile(name), size: pm.pageCount * PAGE_BYTES, chunks })
  }
  for (const [name, blob] of snap.blobs) {
    const chunks: ChunkRef[] = []
    for (let o = 0; o < blob.length; o += chunkBytes) chunks.push(add([blob.subarray(o, Math.min(o + chunkBytes, blob.length))], o))
    files.push({ name: blobFile(name), size: blob.length, chunks })
  }
  files.sort((a, b) => compareBytes(new TextEncoder().encode(a.name), new TextEncoder().encode(b.name)))
  for (let i = 1; i < files.length; i++) if (files[i - 1].name === files[i].name) throw new CapsaError('INVALID_ARGUMENT', `duplicate state file ${files[i].name}`)
  return { manifest: { height: snap.height, chunkPages, files }, built }
}

export function verifyChunk(ref: ChunkRef, bytes: Uint8Array | undefined): bytes is Uint8Array {
  return bytes !== undefined && bytes.length === ref.size && bytesEqual(chunkHash(bytes), ref.hash)
}
