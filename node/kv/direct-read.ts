// O_DIRECT reads into page-aligned memory, for loading checkpoints at restart. On this kind of VM the
// first touch of fresh memory costs about 13 µs per 4 KiB page when the CPU faults it in (a trap per
// page), so reading 1 GiB of chunk bodies through the page cache into new buffers spent some 4 s in
// the kernel (the faults, plus the page-cache copy). A direct read has the kernel pin the destination
// pages in one pass, with no trap per page, and DMA the data into them without a copy: 256 MiB took
// 0.1-0.15 s of system time instead of 1.0 s, and wall time fell with it.
//
// O_DIRECT wants the file offset, the length and the memory address aligned. Pack files put large
// bodies at multiples of ALIGN (chunk-packs.ts); the address of an ArrayBuffer's memory is not
// visible from JS, so the offset at which a buffer is aligned is found once per buffer by trying a
// direct read at increasing offsets. Where direct I/O is refused (tmpfs, a platform without
// O_DIRECT, an alignment this cannot meet) the caller reads through the page cache as before.

import { closeSync, constants, openSync, readSync } from 'node:fs'
import { open, type FileHandle } from 'node:fs/promises'

/** File offsets, lengths and memory addresses of direct reads are multiples of this. */
export const ALIGN = 4096
export const alignUp = (n: number): number => Math.ceil(n / ALIGN) * ALIGN
// malloc hands out 16-byte aligned memory, so the aligned offset is a multiple of 16.
const STEP = 16
const O_DIRECT: number | undefined = (constants as { O_DIRECT?: number }).O_DIRECT

export class DirectReader {
  readonly #handles = new Map<string, Promise<FileHandle | undefined>>()
  /** Files whose direct reads failed with EINVAL: read through the page cache from then on. */
  readonly #refused = new Set<string>()
  /** Buffer → the offset in it whose address is aligned; null: no offset works. */
  readonly #aligned = new WeakMap<ArrayBufferLike, number | null>()

  /**
   * The offset in `buffer` (below ALIGN) at which memory is aligned for direct reads, found by
   * reading the first ALIGN bytes of `probeFile` (at least that long) into it; 0 when direct reads
   * are unavailable. The probe writes into the buffer's first 2·ALIGN bytes.
   */
  alignment(buffer: ArrayBufferLike, probeFile: string): number {
    const known = this.#aligned.get(buffer)
    if (known !== undefined) return known ?? 0
    let found: number | null = null
    if (O_DIRECT !== undefined && buffer.byteLength >= 2 * ALIGN) {
      let fd: number | undefined
      try {
        fd = openSync(probeFile, constants.O_RDONLY | O_DIRECT)
        for (let s = 0; s < ALIGN && found === null; s += STEP) {
          try {
            if (readSync(fd, new Uint8Array(buffer, s, ALIGN), 0, ALIGN, 0) === ALIGN) found = s
          } catch (e) {
            if ((e as NodeJS.ErrnoException).code !== 'EINVAL') break
          }
        }
      } catch {
        // no direct I/O on this file system
      } finally {
        if (fd !== undefined) closeSync(fd)
      }
    }
    this.#aligned.set(buffer, found)
    return found ?? 0
  }

  /**
   * Reads `length` bytes at `position` of `path` into the start of `out` with O_DIRECT, if `out`
   * is aligned (see alignment), has room for the read rounded up to ALIGN, and `position` is a
   * multiple of ALIGN. Returns the bytes read (at most the rounded length), or undefined when a
   * direct read does not apply or was refused: then nothing is promised about `out`.
   */
  async read(path: string, out: Uint8Array, length: number, position: number): Promise<number | undefined> {
    const base = this.#aligned.get(out.buffer)
    const span = alignUp(length)
    if (base === undefined || base === null || (out.byteOffset - base) % ALIGN !== 0 || position % ALIGN !== 0 || span > out.length) return undefined
    if (this.#refused.has(path)) return undefined
    let handle = this.#handles.get(path)
    if (handle === undefined) {
      handle = O_DIRECT === undefined ? Promise.resolve(undefined) : open(path, constants.O_RDONLY | O_DIRECT).catch(() => undefined)
      this.#handles.set(path, handle)
    }
    const fh = await handle
    if (fh === undefined) return undefined
    try {
      return (await fh.read(out, 0, span, position)).bytesRead
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EINVAL') throw e
      // Left open: other reads may still be using the handle; forget() or close() closes it.
      this.#refused.add(path)
      return undefined
    }
  }

  async forget(path: string): Promise<void> {
    const fh = await this.#handles.get(path)
    this.#handles.delete(path)
    this.#refused.delete(path)
    await fh?.close()
  }

  async close(): Promise<void> {
    for (const path of [...this.#handles.keys()]) await this.forget(path)
  }
}
