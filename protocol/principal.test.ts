import { describe, expect, it } from 'vitest'
import { Principal } from '@dfinity/principal'
import { Ed25519KeyIdentity } from '@dfinity/identity'
import { isCapsaError } from './errors.ts'
import { fromHex, toHex } from './hash.ts'
import {
  ANONYMOUS_PRINCIPAL, canisterIdFromIndex, canisterIdInRanges, canisterIndexOf, checkPrincipalBytes, CANISTERS_PER_SUBNET,
  MANAGEMENT_CANISTER_ID, principalClass, principalFromText, principalToText, selfAuthenticating, subnetCanisterRange,
} from './principal.ts'

function expectCode(f: () => unknown, code: string): void {
  try {
    f()
  } catch (e) {
    expect(isCapsaError(e), String(e)).toBe(true)
    expect((e as { code: string }).code).toBe(code)
    return
  }
  expect.unreachable('no error thrown')
}

const SPEC_EXAMPLES: [string, string][] = [
  ['aaaaa-aa', ''],
  ['2vxsx-fae', '04'],
  ['rrkah-fqaaa-aaaaa-aaaaq-cai', '00000000000000010101'],
  ['em77e-bvlzu-aq', 'abcd01'],
  ['rwlgt-iiaaa-aaaaa-aaaaa-cai', '00000000000000000101'],
  ['ryjl3-tyaaa-aaaaa-aaaba-cai', '00000000000000020101'],
  ['n5n4y-3aaaa-aaaaa-p777q-cai', '00000000000fffff0101'],
]

describe('textual principals', () => {
  it('parses and prints the spec examples', () => {
    for (const [text, hex] of SPEC_EXAMPLES) {
      expect(toHex(principalFromText(text))).toBe(hex)
      expect(principalToText(fromHex(hex))).toBe(text)
    }
  })
  it('parses case-insensitively', () => {
    expect(toHex(principalFromText('RRKAH-FQAAA-AAAAA-AAAAQ-CAI'))).toBe('00000000000000010101')
    expect(toHex(principalFromText('Em77E-bvlzu-aQ'))).toBe('abcd01')
  })
  it('agrees with @dfinity/principal on random principals of every length', () => {
    let seed = 7
    for (let len = 0; len <= 29; len++) {
      const b = new Uint8Array(len).map(() => (seed = (seed * 1103515245 + 12345) >>> 0) >>> 24)
      const text = principalToText(b)
      expect(text).toBe(Principal.fromUint8Array(b).toText())
      expect(toHex(principalFromText(text))).toBe(toHex(b))
    }
  })
  it('refuses bad checksums, characters, grouping and lengths with PRINCIPAL_MALFORMED', () => {
    const bad = [
      '', 'aaaaa-ab', 'rrkah-fqaaa-aaaaa-aaaaq-caj', 'em77e-bvlzu-ar', // checksum
      'rrkah-fqaaa-aaaaa-aaaaq-ca1', 'rrkah_fqaaa-aaaaa-aaaaq-cai', 'aaaaa-aa=', ' aaaaa-aa', // characters
      'rrkahfqaaa-aaaaa-aaaaq-cai', 'rrkah-fqaaa-aaaaa-aaaaqcai', 'aaaaaaa', '-aaaaa-aa', 'aaaaa-aa-', 'aaaaa--aa', // grouping
      '{"__principal__":"aaaaa-aa"}',
      Principal.fromUint8Array(new Uint8Array(30).fill(1)).toText(), // 30 bytes
      'a'.repeat(200),
    ]
    for (const t of bad) expectCode(() => principalFromText(t), 'PRINCIPAL_MALFORMED')
    expectCode(() => principalFromText(42 as unknown as string), 'PRINCIPAL_MALFORMED')
  })
  it('checks binary length', () => {
    expect(checkPrincipalBytes(new Uint8Array(29)).length).toBe(29)
    expectCode(() => checkPrincipalBytes(new Uint8Array(30)), 'PRINCIPAL_MALFORMED')
    expectCode(() => principalToText(new Uint8Array(30)), 'PRINCIPAL_MALFORMED')
    expectCode(() => checkPrincipalBytes('aaaaa-aa'), 'PRINCIPAL_MALFORMED')
  })
})

describe('principal classes', () => {
  it('classifies by last byte', () => {
    const key = Ed25519KeyIdentity.generate(new Uint8Array(32).fill(3)).getPublicKey().toDer()
    expect(principalClass(MANAGEMENT_CANISTER_ID)).toBe('management')
    expect(principalClass(ANONYMOUS_PRINCIPAL)).toBe('anonymous')
    expect(principalClass(selfAuthenticating(key))).toBe('self-authenticating')
    expect(principalClass(canisterIdFromIndex(5))).toBe('opaque')
    expect(principalClass(Uint8Array.of(1, 2, 0x7f))).toBe('reserved')
    expect(principalClass(new Uint8Array(29).fill(3))).toBe('derived')
    expect(principalClass(Uint8Array.of(9, 0x02))).toBe('opaque') // a short id ending 0x02 is not self-authenticating
    expect(principalToText(ANONYMOUS_PRINCIPAL)).toBe('2vxsx-fae')
  })
  it('derives self-authenticating ids as @dfinity/principal does', () => {
    for (let i = 0; i < 5; i++) {
      const id = Ed25519KeyIdentity.generate(new Uint8Array(32).fill(i + 10))
      const der = id.getPublicKey().toDer()
      expect(toHex(selfAuthenticating(der))).toBe(toHex(id.getPrincipal().toUint8Array()))
      expect(selfAuthenticating(der).length).toBe(29)
    }
  })
})

describe('canister ids and ranges', () => {
  it('maps indices to the IC layout and back', () => {
    expect(principalToText(canisterIdFromIndex(0))).toBe('rwlgt-iiaaa-aaaaa-aaaaa-cai')
    expect(principalToText(canisterIdFromIndex(1))).toBe('rrkah-fqaaa-aaaaa-aaaaq-cai')
    expect(principalToText(canisterIdFromIndex(2n))).toBe('ryjl3-tyaaa-aaaaa-aaaba-cai')
    expect(principalToText(canisterIdFromIndex(0xfffff))).toBe('n5n4y-3aaaa-aaaaa-p777q-cai')
    for (const i of [0n, 1n, 0xfffffn, 2n ** 64n - 1n, 123456789n]) expect(canisterIndexOf(canisterIdFromIndex(i))).toBe(i)
    expect(canisterIndexOf(principalFromText('em77e-bvlzu-aq'))).toBeUndefined()
    expect(canisterIndexOf(Uint8Array.of(0, 0, 0, 0, 0, 0, 0, 1, 1, 2))).toBeUndefined()
    expectCode(() => canisterIdFromIndex(-1), 'INVALID_ARGUMENT')
    expectCode(() => canisterIdFromIndex(2n ** 64n), 'INVALID_ARGUMENT')
  })
  it('checks inclusive bytewise ranges with shorter-is-smaller', () => {
    const r = [[canisterIdFromIndex(10), canisterIdFromIndex(20)] as const]
    expect(canisterIdInRanges(canisterIdFromIndex(10), r)).toBe(true)
    expect(canisterIdInRanges(canisterIdFromIndex(20), r)).toBe(true)
    expect(canisterIdInRanges(canisterIdFromIndex(15), r)).toBe(true)
    expect(canisterIdInRanges(canisterIdFromIndex(9), r)).toBe(false)
    expect(canisterIdInRanges(canisterIdFromIndex(21), r)).toBe(false)
    // A proper prefix sorts before the longer id; a longer id with the end as prefix sorts after it.
    const lo = canisterIdFromIndex(10)
    expect(canisterIdInRanges(lo.subarray(0, 9), r)).toBe(false)
    expect(canisterIdInRanges(Uint8Array.of(...lo, 0), r)).toBe(true)
    expect(canisterIdInRanges(Uint8Array.of(...canisterIdFromIndex(20), 0), r)).toBe(false)
    expect(canisterIdInRanges(MANAGEMENT_CANISTER_ID, r)).toBe(false)
    expect(canisterIdInRanges(canisterIdFromIndex(15), [])).toBe(false)
  })
  it('gives subnet k the indices [k·2^20, (k+1)·2^20 − 1]', () => {
    expect(CANISTERS_PER_SUBNET).toBe(1048576n)
    const [lo0, hi0] = subnetCanisterRange(0)
    expect(principalToText(lo0)).toBe('rwlgt-iiaaa-aaaaa-aaaaa-cai')
    expect(principalToText(hi0)).toBe('n5n4y-3aaaa-aaaaa-p777q-cai')
    const [lo3, hi3] = subnetCanisterRange(3n)
    expect(canisterIndexOf(lo3)).toBe(3n * 2n ** 20n)
    expect(canisterIndexOf(hi3)).toBe(4n * 2n ** 20n - 1n)
    expect(canisterIdInRanges(canisterIdFromIndex(4n * 2n ** 20n), [subnetCanisterRange(3)])).toBe(false)
    expect(canisterIdInRanges(canisterIdFromIndex(4n * 2n ** 20n), [subnetCanisterRange(4)])).toBe(true)
    expectCode(() => subnetCanisterRange(2n ** 44n), 'INVALID_ARGUMENT')
    expect(canisterIndexOf(subnetCanisterRange(2n ** 44n - 1n)[1])).toBe(2n ** 64n - 1n)
  })
})
