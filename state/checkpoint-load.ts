// Loading a checkpoint into memory. Every chunk is read and checked against its manifest hash before
// the snapshot is returned, so a torn or damaged checkpoint stops the load; nothing is verified lazily.
//
// Where the time went (256 MiB to 1 GiB on a 2-core VM): not in hashing or object creation but in the
// kernel. The first touch of each fresh 4 KiB page traps (about 13 µs here), and reading through the
// page cache adds a copy; together some 4 s of system time per GiB, whatever the buffer sizes or read
// pattern (one big sequential read was no better, as found before). So chunks are read straight
// into their place in a few large buffers (one run per page map, split at SEGMENT bytes), each in a
// slot of whole pages so every page is a view and nothing is copied, aligned as the reader asks: the
// node's pack reader (node/kv/chunk-packs.ts) then uses O_DIRECT, where the kernel pins the pages
// without a trap each and the device writes into them with no page-cache copy. What remains is the
// hash, taken here on each slot as its read completes while the next reads are in flight.

import { bytesEqual, toHex } from '../protocol/hash.ts'
import type { ChunkBodyStore } from '../protocol/interfaces.ts'
import { CapsaError } from '../protocol/errors.ts'
import { PAGE_BYTES, chunkHash } from './manifest.ts'
import type { ChunkRef, Manifest, PageMapSnapshot, StateSnapshot } from './manifest.ts'

/** A body store that can read a body into memory the caller owns (ChunkPacks does). */
export interface ChunkBodyReader extends ChunkBodyStore {
  /**
   * Reads the body of `hash` into the start of `out`, at most `out.length` bytes. Returns the body's
   * stored length (which the caller compares with what it expects; a short read returns the bytes
   * actually read), or undefined if the body is absent.
   */
  readInto?(hash: Uint8Array, out: Uint8Array): Promise<number | undefined>
  /**
   * The offset below 4 KiB in `buffer` from which slots laid out in whole 4 KiB pages are read
   * fastest (aligned for direct I/O); 0 if it does not matter.
   */
  alignment?(buffer: ArrayBuffer): number
}

/** Where a body comes from: into `out` if given the chance, else as a buffer of its own. */
export type BodySource =
  | { kind: 'into'; read: (hash: Uint8Array, out: Uint8Array) => Promise<number | undefined>; align?: (buffer: ArrayBuffer) => number }
  | { kind: 'get'; get: (hash: Uint8Array) => Promise<Uint8Array | undefined> }

/** Largest buffer the pages of one page map are read into; a larger map gets several. */
const SEGMENT = 256 * 1024 * 1024
/** Reads in flight: enough to keep the thread pool's reads overlapped with hashing here. */
const WINDOW = 8

export type Fail = (hash: Uint8Array, what: string) => never

interface Task { file: string; ref: ChunkRef; slot?: Uint8Array; bytes?: Uint8Array }

const roundUp = (n: number): number => Math.ceil(n / PAGE_BYTES) * PAGE_BYTES

/** Reads and verifies every chunk of `m`, and assembles the snapshot. */
export async function loadSnapshot(m: Manifest, source: BodySource, fail: Fail): Promise<StateSnapshot> {
  const tasks: Task[] = []
  const pageFiles: { name: string; size: number; tasks: Task[] }[] = []
  const blobs = new Map<string, Uint8Array>()
  const blobTasks: Task[] = []
  for (const f of m.files) {
    if (f.name.startsWith('pages/')) {
      const mine: Task[] = []
      // Slots are laid out in manifest order; a run closes when the next slot would pass SEGMENT.
      let run: Task[] = []
      let runBytes = 0
      const close = () => {
        if (runBytes === 0) return
        if (source.kind === 'into') {
          // Zeroed by the allocator at no cost (fresh mappings), so no byte is ever uninitialised.
          // A page of room in front lets the slots start where the reader wants them aligned.
          const raw = new Uint8Array(runBytes + PAGE_BYTES)
          let at = source.align?.(raw.buffer as ArrayBuffer) ?? 0
          for (const t of run) {
            const n = roundUp(t.ref.size)
            t.slot = raw.subarray(at, at + n)
            at += n
          }
        }
        run = []
        runBytes = 0
      }
      for (const ref of f.chunks) {
        const t: Task = { file: f.name, ref }
        const n = roundUp(ref.size)
        if (runBytes + n > SEGMENT) close()
        run.push(t)
        runBytes += n
        mine.push(t)
        tasks.push(t)
      }
      close()
      pageFiles.push({ name: f.name.slice(6), size: f.size, tasks: mine })
    } else if (f.name.startsWith('blob/')) {
      const out = new Uint8Array(f.size)
      blobs.set(f.name.slice(5), out)
      for (const ref of f.chunks) {
        const t: Task = { file: f.name, ref, slot: out.subarray(ref.offset, ref.offset + ref.size) }
        tasks.push(t)
        blobTasks.push(t)
      }
    } else throw new CapsaError('STATE_CORRUPT', `state manifest: unknown file kind ${f.name}`)
  }

  // A body named twice (identical chunks) is read once; the other places copy it afterwards.
  const first = new Map<string, Task>()
  const unique: Task[] = []
  const copies: [Task, Task][] = []
  for (const t of tasks) {
    const k = toHex(t.ref.hash)
    const f = first.get(k)
    if (f) copies.push([t, f])
    else {
      first.set(k, t)
      unique.push(t)
    }
  }

  const readOne = async (t: Task): Promise<void> => {
    const { ref } = t
    const where = `chunk at offset ${ref.offset} of ${t.file} (height ${m.height})`
    let bytes: Uint8Array
    if (source.kind === 'into') {
      const slot = t.slot!
      const n = await source.read(ref.hash, slot)
      if (n === undefined) fail(ref.hash, `${where} is missing`)
      if (n !== ref.size) fail(ref.hash, `${where} holds ${n} bytes, the manifest says ${ref.size}`)
      bytes = slot.subarray(0, ref.size)
    } else {
      const got = await source.get(ref.hash)
      if (!got) fail(ref.hash, `${where} is missing`)
      if (got.length !== ref.size) fail(ref.hash, `${where} holds ${got.length} bytes, the manifest says ${ref.size}`)
      bytes = got
    }
    if (!bytesEqual(chunkHash(bytes), ref.hash)) fail(ref.hash, `${where} does not match its hash`)
    t.bytes = bytes
    if (t.slot && t.slot.length > ref.size) t.slot.fill(0, ref.size) // the trimmed tail of the last page
  }
  let next = 0
  const worker = async (): Promise<void> => {
    try {
      while (next < unique.length) await readOne(unique[next++])
    } catch (e) {
      next = unique.length // the others stop too: the load has failed
      throw e
    }
  }
  await Promise.all(Array.from({ length: Math.min(WINDOW, unique.length) }, worker))

  for (const [t, f] of copies) {
    if (t.slot) {
      t.slot.set(f.bytes!)
      t.slot.fill(0, f.bytes!.length)
      t.bytes = t.slot.subarray(0, f.bytes!.length)
    } else t.bytes = f.bytes
  }
  for (const { slot, bytes } of blobTasks) {
    if (bytes!.buffer !== slot!.buffer || bytes!.byteOffset !== slot!.byteOffset) slot!.set(bytes!)
  }

  const pageMaps = new Map<string, PageMapSnapshot>()
  for (const pf of pageFiles) {
    const pages = new Map<number, Uint8Array>()
    for (const t of pf.tasks) {
      const base = t.ref.offset / PAGE_BYTES
      const full = t.slot ?? t.bytes!
      const bytes = t.bytes!
      for (let o = 0, i = base; o < bytes.length; o += PAGE_BYTES, i++) {
        let page: Uint8Array
        if (o + PAGE_BYTES <= full.length) page = full.subarray(o, o + PAGE_BYTES)
        else {
          // a body of its own (the 'get' source) ends mid-page: pad that one page
          page = new Uint8Array(PAGE_BYTES)
          page.set(bytes.subarray(o))
        }
        // zero pages inside a chunk stay: the same content, and rewriting yields the same chunk
        pages.set(i, page)
      }
    }
    pageMaps.set(pf.name, { pageCount: pf.size / PAGE_BYTES, pages })
  }
  return { height: m.height, pageMaps, blobs }
}
