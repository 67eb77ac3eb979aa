// LEB128 reading and a growable byte sink: the only two primitives the parser and rewriter need.
// Every malformed-input path throws CapsaError('WASM_INVALID') so callers never see a RangeError.

import { CapsaError } from '../../protocol/errors.ts'
import { encodeSleb128, encodeUleb128 } from '../../protocol/leb128.ts'

export function invalid(message: string, detail?: Record<string, unknown>): never {
  throw new CapsaError('WASM_INVALID', `invalid wasm module: ${message}`, detail)
}

export function rejected(message: string, detail?: Record<string, unknown>): never {
  throw new CapsaError('WASM_REJECTED', `wasm module rejected: ${message}`, detail)
}

export class Reader {
  readonly bytes: Uint8Array
  pos: number
  end: number
  constructor(bytes: Uint8Array, pos = 0, end = bytes.length) {
    this.bytes = bytes
    this.pos = pos
    this.end = end
  }

  eof(): boolean {
    return this.pos >= this.end
  }

  byte(): number {
    if (this.pos >= this.end) invalid('unexpected end of section', { at: this.pos })
    return this.bytes[this.pos++]
  }

  /** Unsigned LEB up to 32 bits. */
  u32(): number {
    let result = 0
    let shift = 0
    for (;;) {
      const b = this.byte()
      if (shift === 28 && (b & 0x70) !== 0) invalid('u32 LEB overflow', { at: this.pos })
      result += (b & 0x7f) * 2 ** shift
      if ((b & 0x80) === 0) return result
      shift += 7
      if (shift > 28) invalid('u32 LEB too long', { at: this.pos })
    }
  }

  /** Unsigned LEB up to 64 bits as a number when below 2^53, else as a bigint. */
  u64n(): number | bigint {
    const start = this.pos
    let result = 0
    let shift = 0
    for (;;) {
      const b = this.byte()
      result += (b & 0x7f) * 2 ** shift
      if ((b & 0x80) === 0) break
      shift += 7
      if (shift > 49) {
        this.pos = start
        return this.u64()
      }
    }
    return result
  }

  /** Unsigned LEB up to 64 bits (memory64 limits and offsets). */
  u64(): bigint {
    let result = 0n
    let shift = 0n
    for (;;) {
      const b = this.byte()
      result |= BigInt(b & 0x7f) << shift
      if ((b & 0x80) === 0) return result
      shift += 7n
      if (shift > 63n) invalid('u64 LEB too long', { at: this.pos })
    }
  }

  /** Skips a signed or unsigned LEB of at most `maxBytes` bytes. */
  skipLeb(maxBytes: number): void {
    for (let i = 0; i < maxBytes; i++) if ((this.byte() & 0x80) === 0) return
    invalid('LEB too long', { at: this.pos })
  }

  /** Signed 33-bit LEB (block types); returns a JS number. */
  s33(): number {
    let result = 0
    let shift = 0
    let b: number
    do {
      b = this.byte()
      result += (b & 0x7f) * 2 ** shift
      shift += 7
      if (shift > 35) invalid('s33 LEB too long', { at: this.pos })
    } while (b & 0x80)
    if (b & 0x40) result -= 2 ** shift
    return result
  }

  take(n: number): Uint8Array {
    if (n < 0 || this.pos + n > this.end) invalid('length out of bounds', { at: this.pos, length: n })
    const out = this.bytes.subarray(this.pos, this.pos + n)
    this.pos += n
    return out
  }

  name(): string {
    const raw = this.take(this.u32())
    try {
      return utf8.decode(raw)
    } catch {
      return invalid('name is not valid UTF-8', { at: this.pos })
    }
  }
}

const utf8 = new TextDecoder('utf-8', { fatal: true })
const utf8enc = new TextEncoder()

/** A Buffer view of `bytes` without copying: Buffer.copy moves runs without allocating views. */
export function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length)
}

export class Writer {
  buf: Buffer
  len = 0
  constructor(capacity = 1024) {
    this.buf = Buffer.allocUnsafe(Math.max(capacity, 16))
  }

  private grow(extra: number): void {
    let cap = this.buf.length * 2
    while (cap < this.len + extra) cap *= 2
    const next = Buffer.allocUnsafe(cap)
    this.buf.copy(next, 0, 0, this.len)
    this.buf = next
  }

  byte(b: number): this {
    if (this.len >= this.buf.length) this.grow(1)
    this.buf[this.len++] = b
    return this
  }

  bytes(b: ArrayLike<number>): this {
    if (this.len + b.length > this.buf.length) this.grow(b.length)
    this.buf.set(b, this.len)
    this.len += b.length
    return this
  }

  /** Copies `src[from, to)`; the hot path of the rewriter (instructions are copied, not re-encoded). */
  range(src: Uint8Array, from: number, to: number): this {
    const n = to - from
    if (this.len + n > this.buf.length) this.grow(n)
    if (n < 16) {
      // Short runs: a loop beats the native call.
      const buf = this.buf
      let o = this.len
      for (let i = from; i < to; i++) buf[o++] = src[i]
    } else if (Buffer.isBuffer(src)) {
      src.copy(this.buf, this.len, from, to)
    } else {
      this.buf.set(src.subarray(from, to), this.len)
    }
    this.len += n
    return this
  }

  u32(v: number): this {
    do {
      let b = v & 0x7f
      v = Math.floor(v / 128)
      if (v !== 0) b |= 0x80
      this.byte(b)
    } while (v !== 0)
    return this
  }

  s64(v: bigint): this {
    return this.bytes(encodeSleb128(v))
  }

  /** Signed LEB of a safe integer (|v| < 2^53), without BigInt: the rewriter's hot path. */
  s32(v: number): this {
    for (;;) {
      const b = v & 0x7f // low 7 bits, correct for negatives in two's complement
      v = Math.floor(v / 128)
      if ((v === 0 && (b & 0x40) === 0) || (v === -1 && (b & 0x40) !== 0)) return this.byte(b)
      this.byte(b | 0x80)
    }
  }

  u64(v: bigint): this {
    return this.bytes(encodeUleb128(v))
  }

  name(s: string): this {
    const b = utf8enc.encode(s)
    return this.u32(b.length).bytes(b)
  }

  /** The written bytes without copying when the buffer is not from Node's shared pool. */
  detach(): Uint8Array {
    const b = this.buf
    if (b.byteOffset !== 0 || b.buffer.byteLength !== b.length) return this.result()
    this.buf = Buffer.allocUnsafe(16)
    const out = new Uint8Array(b.buffer, 0, this.len)
    this.len = 0
    return out
  }

  /** The written bytes as an exact-length copy. */
  result(): Uint8Array {
    return new Uint8Array(this.buf.subarray(0, this.len))
  }

  view(): Uint8Array {
    return this.buf.subarray(0, this.len)
  }
}
