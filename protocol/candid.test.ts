import { describe, expect, it } from 'vitest'
import { decodeCandid, encodeCandid, IDL } from './candid.ts'

describe('decodeCandid', () => {
  const arg = encodeCandid([IDL.Text, IDL.Nat], ['hello', 42n])

  it('decodes a view in the middle of a larger buffer (IDL.decode ignores byteOffset)', () => {
    const big = new Uint8Array(100 + arg.length)
    big.set(arg, 100)
    expect(decodeCandid([IDL.Text, IDL.Nat], big.subarray(100))).toEqual(['hello', 42n])
  })

  it('decodes a Buffer view of a pooled allocation (Buffer#slice is a view, not a copy)', () => {
    const pooled = Buffer.concat([Buffer.from('some other bytes in the pool'), Buffer.from(arg)])
    const view = pooled.subarray(pooled.length - arg.length)
    expect(view.byteOffset).toBeGreaterThan(0)
    expect(decodeCandid([IDL.Text, IDL.Nat], view)).toEqual(['hello', 42n])
  })

  it('answers garbage with a coded error', () => {
    expect(() => decodeCandid([IDL.Nat], Uint8Array.of(1, 2, 3, 4, 5))).toThrow(/invalid Candid argument/)
  })
})
