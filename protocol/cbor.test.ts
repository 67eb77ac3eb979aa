import { describe, expect, it } from 'vitest'
import { Cbor as AgentCbor } from '@dfinity/agent'
import { asBytes, asMap, asNat, asText, decodeCbor, encodeCbor } from './cbor.ts'
import { isCapsaError } from './errors.ts'
import { toHex } from './hash.ts'

describe('CBOR', () => {
  it('prefixes the self-describe tag and round-trips the shapes the interface uses', () => {
    const value = { status: 'replied', reply: { arg: new Uint8Array([1, 2, 3]) }, timestamp: 1685570400000000000n, n: 7, list: [[new Uint8Array([9])]] }
    const bytes = encodeCbor(value)
    expect(toHex(bytes.subarray(0, 3))).toBe('d9d9f7')
    expect(decodeCbor(bytes)).toEqual({ ...value, timestamp: 1685570400000000000n })
  })

  it('encodes 64-bit naturals as the agent does, and the agent decodes what we encode', () => {
    const bytes = encodeCbor({ ingress_expiry: 1685570400000000000n, small: 5n })
    const back = AgentCbor.decode(bytes) as Record<string, unknown>
    expect(back.ingress_expiry).toBe(1685570400000000000n)
    expect(Number(back.small)).toBe(5)
  })

  it('decodes what the agent encodes', () => {
    const content = { request_type: 'call', canister_id: new Uint8Array([0, 0, 0, 0, 0, 0, 4, 0xd2]), ingress_expiry: 1685570400000000000n, arg: new Uint8Array([0x44, 0x49, 0x44, 0x4c, 0, 0]) }
    const bytes = AgentCbor.encode({ content })
    const m = asMap(decodeCbor(bytes), 'envelope')
    const c = asMap(m.content, 'content')
    expect(asText(c.request_type, 'request_type')).toBe('call')
    expect(asNat(c.ingress_expiry, 'ingress_expiry')).toBe(1685570400000000000n)
    expect(asBytes(c.canister_id, 'canister_id')).toEqual(content.canister_id)
  })

  it.each([
    ['empty input', ''],
    ['a lone break', 'ff'],
    ['a bignum tag', 'c24101'],
    ['an embedded-CBOR tag', 'd81841a0'],
    ['a duplicate map key', 'a2616101616102'],
    ['trailing bytes', '0000'],
    ['a truncated byte string', '4501'],
    ['a float', 'fa3fc00000'],
  ])('rejects %s with a coded error', (_, hex) => {
    let err: unknown
    try { decodeCbor(new Uint8Array(Buffer.from(hex, 'hex'))) } catch (e) { err = e }
    expect(isCapsaError(err, 'CBOR_MALFORMED')).toBe(true)
  })

  it('narrowing helpers name the field that has the wrong shape', () => {
    expect(() => asMap([], 'envelope')).toThrow('envelope must be a map')
    expect(() => asBytes('x', 'sender')).toThrow('sender must be a byte string')
    expect(() => asNat(-1, 'ingress_expiry')).toThrow('ingress_expiry must be a natural number')
    expect(() => asNat(1.5, 'ingress_expiry')).toThrow()
  })
})
