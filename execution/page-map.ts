// A page map: memory as 4 KiB pages, a committed base plus the pending writes of the current message
// (or round). Absent pages read as zeros, and committing an all-zero page drops it, so two maps with
// equal content have equal entries and equal hashes whatever their history.
//
// The content hash is a lattice hash (LtHash16: the sum, lane by lane modulo 2^16, of a 2 KiB
// expansion of each page's digest): adding or replacing one page costs two expansions, so the hash
// of a committed map costs O(pages changed), never O(map size), and does not depend on the order in
// which pages were written.

import { createHash } from 'node:crypto'
import { sha256 } from '../protocol/hash.ts'
import { CapsaError } from '../protocol/errors.ts'

export const PAGE_SIZE = 4096
const LANES = 1024
const ZERO_PAGE = new Uint8Array(PAGE_SIZE)
const DOMAIN = new TextEncoder().encode('capsa-page-map-lthash')

export type PageIndex = number

/** The committed content of a page map in the form state/ persists: non-zero pages, ascending. */
export interface PageMapExport {
  pages: [PageIndex, Uint8Array][]
}

const ZERO_BUFFER = Buffer.alloc(PAGE_SIZE)

// memcmp: a BigUint64Array scan boxed a BigInt per word, which cost seconds per GiB at restore.
function isZeroPage(p: Uint8Array): boolean {
  return ZERO_BUFFER.equals(p)
}

function pageElement(index: PageIndex, page: Uint8Array): Uint16Array {
  const idx = new Uint8Array(8)
  new DataView(idx.buffer).setBigUint64(0, BigInt(index))
  const out = createHash('shake128', { outputLength: LANES * 2 }).update(DOMAIN).update(idx).update(page).digest()
  return new Uint16Array(new Uint8Array(out).buffer)
}

function checkIndex(index: PageIndex): void {
  if (!Number.isSafeInteger(index) || index < 0) throw new CapsaError('INVALID_ARGUMENT', `bad page index ${index}`)
}

function checkPage(index: PageIndex, bytes: Uint8Array): void {
  checkIndex(index)
  if (bytes.length !== PAGE_SIZE) throw new CapsaError('INVALID_ARGUMENT', `page must be ${PAGE_SIZE} bytes, got ${bytes.length}`)
}

export class PageMap {
  #base = new Map<PageIndex, Uint8Array>()
  #delta = new Map<PageIndex, Uint8Array>()
  #acc = new Uint16Array(LANES)
  /** Committed pages changed since the hash was last brought up to date, with their content at that
   *  time (undefined = was zero). The hash is updated lazily, so a page committed by many messages
   *  of a round is hashed once per `hash()` call, not once per commit. */
  #unhashed = new Map<PageIndex, Uint8Array | undefined>()

  /** Current content of a page (pending write if any, else committed). Do not mutate the result. */
  read(index: PageIndex): Uint8Array {
    return this.#delta.get(index) ?? this.#base.get(index) ?? ZERO_PAGE
  }

  /** Committed content only, ignoring pending writes. Do not mutate the result. */
  readCommitted(index: PageIndex): Uint8Array {
    return this.#base.get(index) ?? ZERO_PAGE
  }

  /** Replaces a whole page (copied). */
  write(index: PageIndex, bytes: Uint8Array): void {
    checkPage(index, bytes)
    this.#delta.set(index, bytes.slice())
  }

  /** Reads `length` bytes at byte `offset`, across page boundaries. */
  readBytes(offset: number, length: number, out: Uint8Array = new Uint8Array(length), outOffset = 0): Uint8Array {
    let done = 0
    while (done < length) {
      const pos = offset + done
      const page = Math.floor(pos / PAGE_SIZE)
      const inPage = pos - page * PAGE_SIZE
      const n = Math.min(PAGE_SIZE - inPage, length - done)
      out.set(this.read(page).subarray(inPage, inPage + n), outOffset + done)
      done += n
    }
    return out
  }

  /** Writes bytes at byte `offset`; only the touched pages become dirty. */
  writeBytes(offset: number, bytes: Uint8Array): void {
    let done = 0
    while (done < bytes.length) {
      const pos = offset + done
      const page = Math.floor(pos / PAGE_SIZE)
      const inPage = pos - page * PAGE_SIZE
      const n = Math.min(PAGE_SIZE - inPage, bytes.length - done)
      let target = this.#delta.get(page)
      if (target === undefined) {
        checkIndex(page)
        target = this.read(page).slice()
        this.#delta.set(page, target)
      }
      target.set(bytes.subarray(done, done + n), inPage)
      done += n
    }
  }

  /** Pages written since the last commit or rollback, ascending. */
  dirtyPages(): PageIndex[] {
    return [...this.#delta.keys()].sort((a, b) => a - b)
  }

  /** Makes pending writes part of the committed content; returns the pages that changed. */
  commit(): PageIndex[] {
    const changed: PageIndex[] = []
    for (const index of this.dirtyPages()) {
      const next = this.#delta.get(index)!
      const prev = this.#base.get(index)
      const nextZero = isZeroPage(next)
      if (prev === undefined && nextZero) continue
      if (prev !== undefined && Buffer.compare(prev, next) === 0) continue
      if (!this.#unhashed.has(index)) this.#unhashed.set(index, prev)
      if (nextZero) this.#base.delete(index)
      else this.#base.set(index, next)
      changed.push(index)
    }
    this.#delta.clear()
    return changed
  }

  rollback(): void {
    this.#delta.clear()
  }

  /** Drops committed pages at or above `fromPage` (memory shrunk by a reinstall or a wipe). */
  truncate(fromPage: PageIndex): void {
    for (const index of [...this.#base.keys()]) {
      if (index >= fromPage) this.write(index, ZERO_PAGE)
    }
  }

  /** Number of non-zero committed pages. */
  get committedPageCount(): number {
    return this.#base.size
  }

  /** Indices of the non-zero committed pages, ascending. */
  committedPages(): PageIndex[] {
    return [...this.#base.keys()].sort((a, b) => a - b)
  }

  /** 32-byte hash of the committed content. */
  hash(): Uint8Array {
    for (const [index, old] of this.#unhashed) {
      if (old !== undefined) this.#sub(pageElement(index, old))
      const now = this.#base.get(index)
      if (now !== undefined) this.#add(pageElement(index, now))
    }
    this.#unhashed.clear()
    return sha256(DOMAIN, new Uint8Array(this.#acc.buffer))
  }

  export(): PageMapExport {
    return { pages: this.committedPages().map((i) => [i, this.#base.get(i)!.slice()]) }
  }

  /** A committed map of the given pages, which it keeps rather than copies (a restore of 1 GiB would
   *  otherwise fault in and copy 1 GiB more): the caller must not change them afterwards. Committed
   *  pages are never written in place (writes go to fresh pending copies), so sharing them is safe. */
  static fromExport(data: PageMapExport): PageMap {
    const m = new PageMap()
    for (const [i, bytes] of data.pages) {
      checkPage(i, bytes)
      if (isZeroPage(bytes)) continue
      if (!m.#unhashed.has(i)) m.#unhashed.set(i, m.#base.get(i))
      m.#base.set(i, bytes)
    }
    return m
  }

  #add(e: Uint16Array): void {
    const a = this.#acc
    for (let i = 0; i < LANES; i++) a[i] = a[i] + e[i]
  }
  #sub(e: Uint16Array): void {
    const a = this.#acc
    for (let i = 0; i < LANES; i++) a[i] = a[i] - e[i]
  }
}
