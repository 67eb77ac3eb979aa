// A minimal length-prefixed binary codec for checkpoint metadata and manifests. Big-endian integers,
// u32 length before every byte string, so an encoding is canonical (one value, one byte string) and
// every node derives the same manifest hash. Truncated or trailing input is a coded error.

import { CapsaError } from '../protocol/errors.ts'
import type { ErrorCode } from '../protocol/errors.ts'

export class Writer {
  private chunks: Uint8Array[] = []
  private scratch = new DataView(new ArrayBuffer(8))
  u8(v: number): this {
    this.chunks.push(Uint8Array.of(v))
    return this
  }
  u32(v: number): this {
    this.scratch.setUint32(0, v)
    this.chunks.push(new Uint8Array(this.scratch.buffer.slice(0, 4)))
    return this
  }
  u64(v: bigint | number): this {
    this.scratch.setBigUint64(0, BigInt(v))
    this.chunks.push(new Uint8Array(this.scratch.buffer.slice(0, 8)))
    return this
  }
  bytes(b: Uint8Array): this {
    this.u32(b.length)
    this.chunks.push(b)
    return this
  }
  text(s: string): this {
    return this.bytes(new TextEncoder().encode(s))
  }
  finish(): Uint8Array {
    let n = 0
    for (const c of this.chunks) n += c.length
    const out = new Uint8Array(n)
    let o = 0
    for (const c of this.chunks) {
      out.set(c, o)
      o += c.length
    }
    return out
  }
}

export class Reader {
  private o = 0
  private view: DataView
  private buf: Uint8Array
  private what: string
  private code: ErrorCode
  constructor(buf: Uint8Array, what: string, code: ErrorCode = 'STATE_CORRUPT') {
    this.buf = buf
    this.view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength)
    this.what = what
    this.code = code
  }
  private need(n: number): void {
    if (this.o + n > this.buf.length) throw new CapsaError(this.code, `${this.what}: truncated at byte ${this.o}`)
  }
  u8(): number {
    this.need(1)
    return this.buf[this.o++]
  }
  u32(): number {
    this.need(4)
    const v = this.view.getUint32(this.o)
    this.o += 4
    return v
  }
  u64(): bigint {
    this.need(8)
    const v = this.view.getBigUint64(this.o)
    this.o += 8
    return v
  }
  bytes(): Uint8Array {
    const n = this.u32()
    this.need(n)
    const b = this.buf.subarray(this.o, this.o + n)
    this.o += n
    return b
  }
  text(): string {
    try {
      return new TextDecoder('utf-8', { fatal: true }).decode(this.bytes())
    } catch (e) {
      if (e instanceof CapsaError) throw e
      throw new CapsaError(this.code, `${this.what}: invalid UTF-8`)
    }
  }
  end(): void {
    if (this.o !== this.buf.length) throw new CapsaError(this.code, `${this.what}: ${this.buf.length - this.o} trailing bytes`)
  }
}
