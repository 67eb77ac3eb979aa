import { describe, expect, it } from 'vitest'
import { lebDecode, lebEncode, PipeArrayBuffer, slebDecode, slebEncode } from '@dfinity/candid'
import { isCapsaError } from './errors.ts'
import { decodeSleb128, decodeUleb128, encodeSleb128, encodeUleb128 } from './leb128.ts'
import { toHex } from './hash.ts'

function rng(seed: number): () => number {
  let s = seed >>> 0
  return () => {
    s = (s + 0x6d2b79f5) >>> 0
    let t = s
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}
function randomBigint(r: () => number, bits: number): bigint {
  let v = 0n
  for (let i = 0; i < bits; i += 16) v = (v << 16n) | BigInt(Math.floor(r() * 65536))
  return v >> BigInt(Math.floor(r() * bits))
}

describe('unsigned LEB128', () => {
  it('matches the spec examples', () => {
    expect(toHex(encodeUleb128(0))).toBe('00')
    expect(toHex(encodeUleb128(624485))).toBe('e58e26')
    expect(toHex(encodeUleb128(127n))).toBe('7f')
    expect(toHex(encodeUleb128(128n))).toBe('8001')
  })
  it('round-trips and agrees with Candid for random values up to 200 bits', () => {
    const r = rng(1)
    for (let i = 0; i < 500; i++) {
      const v = randomBigint(r, 200)
      const enc = encodeUleb128(v)
      expect(toHex(enc)).toBe(toHex(new Uint8Array(lebEncode(v))))
      expect(decodeUleb128(enc)).toEqual({ value: v, next: enc.length })
    }
  })
  it('encodes the number and bigint paths identically around 2^53', () => {
    for (const v of [2n ** 53n - 1n, 2n ** 53n, 2n ** 53n + 1n, 2n ** 64n - 1n]) {
      expect(decodeUleb128(encodeUleb128(v)).value).toBe(v)
    }
    expect(toHex(encodeUleb128(Number.MAX_SAFE_INTEGER))).toBe(toHex(encodeUleb128(BigInt(Number.MAX_SAFE_INTEGER))))
  })
  it('decodes at an offset', () => {
    expect(decodeUleb128(Uint8Array.of(0xff, 0xe5, 0x8e, 0x26, 0x01), 1)).toEqual({ value: 624485n, next: 4 })
  })
  it('refuses truncated and overlong encodings and negative values with coded errors', () => {
    for (const bad of [[], [0x80], [0xff, 0xff], [0x80, 0x00], [0xe5, 0x80, 0x00]]) {
      const f = () => decodeUleb128(Uint8Array.from(bad))
      expect(f).toThrow()
      try { f() } catch (e) { expect(isCapsaError(e, 'LEB128_MALFORMED')).toBe(true) }
    }
    expect(() => encodeUleb128(-1n)).toThrow(/negative/)
  })
})

describe('signed LEB128', () => {
  it('matches the spec example and edge values', () => {
    expect(toHex(encodeSleb128(0))).toBe('00')
    expect(toHex(encodeSleb128(-123456))).toBe('c0bb78')
    expect(toHex(encodeSleb128(-1))).toBe('7f')
    expect(toHex(encodeSleb128(63))).toBe('3f')
    expect(toHex(encodeSleb128(64))).toBe('c000')
    expect(toHex(encodeSleb128(-64))).toBe('40')
    expect(toHex(encodeSleb128(-65))).toBe('bf7f')
  })
  it('round-trips and agrees with Candid for random values', () => {
    const r = rng(2)
    for (let i = 0; i < 500; i++) {
      const v = randomBigint(r, 150) * (r() < 0.5 ? -1n : 1n)
      const enc = encodeSleb128(v)
      expect(toHex(enc)).toBe(toHex(new Uint8Array(slebEncode(v))))
      expect(decodeSleb128(enc)).toEqual({ value: v, next: enc.length })
    }
  })
  it('agrees with Candid decoding of its own encodings', () => {
    const r = rng(3)
    for (let i = 0; i < 100; i++) {
      const v = randomBigint(r, 100) - randomBigint(r, 100)
      const enc = encodeSleb128(v)
      expect(slebDecode(new PipeArrayBuffer(enc))).toBe(v)
      expect(lebDecode(new PipeArrayBuffer(encodeUleb128(v < 0n ? -v : v)))).toBe(v < 0n ? -v : v)
    }
  })
  it('refuses truncated and overlong encodings', () => {
    for (const bad of [[], [0xc0], [0x80, 0x00], [0xff, 0x7f], [0xc0, 0x80, 0x00]]) {
      try {
        decodeSleb128(Uint8Array.from(bad))
        expect.unreachable(`accepted ${bad}`)
      } catch (e) {
        expect(isCapsaError(e, 'LEB128_MALFORMED')).toBe(true)
      }
    }
    // 64 needs its second byte (bit 6 of the first is the sign): not overlong.
    expect(decodeSleb128(Uint8Array.of(0xc0, 0x00)).value).toBe(64n)
    expect(decodeSleb128(Uint8Array.of(0xbf, 0x7f)).value).toBe(-65n)
  })
})


describe('LEB128 encoder arguments', () => {
  it('refuses non-integers with a coded error', () => {
    for (const f of [() => encodeUleb128(1.5), () => encodeSleb128(Number.NaN), () => encodeUleb128(Infinity)]) {
      try {
        f()
        expect.unreachable()
      } catch (e) {
        expect(isCapsaError(e, 'INVALID_ARGUMENT')).toBe(true)
      }
    }
  })
})
