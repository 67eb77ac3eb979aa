// LEB128 as the IC uses it: the representation-independent hash encodes nats (unsigned) and ints
// (signed) in their shortest form, and Candid uses the same encodings. Decoding is strict: a
// non-shortest (overlong) or truncated encoding is refused, so one value has exactly one encoding.

import { CapsaError } from './errors.ts'

export interface Leb128Decoded {
  value: bigint
  /** Offset of the first byte after the encoding. */
  next: number
}

/** Shortest unsigned LEB128 of a natural number. */
export function encodeUleb128(value: bigint | number): Uint8Array {
  if (typeof value === 'number' && Number.isSafeInteger(value) && value >= 0) return encodeSmallUleb(value)
  let v = toBigint(value)
  if (v < 0n) throw new CapsaError('INVALID_ARGUMENT', `unsigned LEB128 of a negative value: ${v}`)
  // Values below 2^53 take the number path: request ids hash one nat per request, and bigint
  // shifts cost several times more than number arithmetic.
  if (v <= BigInt(Number.MAX_SAFE_INTEGER)) return encodeSmallUleb(Number(v))
  const out: number[] = []
  do {
    let byte = Number(v & 0x7fn)
    v >>= 7n
    if (v !== 0n) byte |= 0x80
    out.push(byte)
  } while (v !== 0n)
  return Uint8Array.from(out)
}

function toBigint(value: bigint | number): bigint {
  if (typeof value === 'bigint') return value
  if (!Number.isInteger(value)) throw new CapsaError('INVALID_ARGUMENT', `LEB128 of a non-integer: ${value}`)
  return BigInt(value)
}

function encodeSmallUleb(n: number): Uint8Array {
  const out: number[] = []
  do {
    let byte = n % 128
    n = Math.floor(n / 128)
    if (n !== 0) byte |= 0x80
    out.push(byte)
  } while (n !== 0)
  return Uint8Array.from(out)
}

/** Shortest signed (two's complement) LEB128 of an integer. */
export function encodeSleb128(value: bigint | number): Uint8Array {
  let v = toBigint(value)
  const out: number[] = []
  for (;;) {
    const byte = Number(v & 0x7fn)
    v >>= 7n // arithmetic shift: stays -1 for negatives
    const signBitClear = (byte & 0x40) === 0
    if ((v === 0n && signBitClear) || (v === -1n && !signBitClear)) {
      out.push(byte)
      return Uint8Array.from(out)
    }
    out.push(byte | 0x80)
  }
}

/** Decodes one unsigned LEB128 value at `offset`; throws LEB128_MALFORMED on truncation or overlong form. */
export function decodeUleb128(bytes: Uint8Array, offset = 0): Leb128Decoded {
  let value = 0n
  let shift = 0n
  let i = offset
  for (;;) {
    if (i >= bytes.length) throw new CapsaError('LEB128_MALFORMED', `truncated unsigned LEB128 at byte ${offset}`)
    const byte = bytes[i++]
    value |= BigInt(byte & 0x7f) << shift
    shift += 7n
    if ((byte & 0x80) === 0) {
      // A final zero byte after at least one other byte adds nothing: the encoding is not the shortest.
      if (byte === 0 && i - offset > 1) throw new CapsaError('LEB128_MALFORMED', `overlong unsigned LEB128 at byte ${offset}`)
      return { value, next: i }
    }
  }
}

/** Decodes one signed LEB128 value at `offset`; throws LEB128_MALFORMED on truncation or overlong form. */
export function decodeSleb128(bytes: Uint8Array, offset = 0): Leb128Decoded {
  let value = 0n
  let shift = 0n
  let i = offset
  for (;;) {
    if (i >= bytes.length) throw new CapsaError('LEB128_MALFORMED', `truncated signed LEB128 at byte ${offset}`)
    const byte = bytes[i++]
    value |= BigInt(byte & 0x7f) << shift
    shift += 7n
    if ((byte & 0x80) === 0) {
      if (i - offset > 1) {
        // The last byte is redundant when it only repeats the sign already carried by bit 6 of the
        // byte before it (0x00 after a clear sign bit, 0x7f after a set one).
        const prevSign = (bytes[i - 2] & 0x40) !== 0
        if ((byte === 0x00 && !prevSign) || (byte === 0x7f && prevSign)) {
          throw new CapsaError('LEB128_MALFORMED', `overlong signed LEB128 at byte ${offset}`)
        }
      }
      if ((byte & 0x40) !== 0) value -= 1n << shift
      return { value, next: i }
    }
  }
}
