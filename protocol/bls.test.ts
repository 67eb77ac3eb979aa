import { describe, expect, it } from 'vitest'
import { bls12_381 as nobleV2 } from 'noble-curves-v2/bls12-381.js'
import { bls12_381 as nobleV1 } from '@noble/curves/bls12-381'
import {
  BLS_DST,
  blsHashMessage,
  blsKeyFromSeed,
  blsPublicKey,
  blsPublicKeyFromDer,
  blsPublicKeyToDer,
  blsSign,
  blsVerify,
  combineAndVerify,
  combineShares,
  dealThresholdKey,
  isValidBlsPublicKey,
  publicShareFromCoefficients,
  signShare,
  verifyShare,
  type BlsSignatureShare,
} from './bls.ts'
import { isCapsaError } from './errors.ts'
import { DOMAIN, toHex } from './hash.ts'

const enc = (s: string) => new TextEncoder().encode(s)
const msg = new Uint8Array([...DOMAIN.stateRoot, ...new Uint8Array(32).fill(0xab)])

function expectCode(fn: () => unknown, code: string): void {
  try {
    fn()
  } catch (e) {
    expect(isCapsaError(e)).toBe(true)
    expect((e as { code: string }).code).toBe(code)
    return
  }
  throw new Error('expected a CapsaError')
}

/** All k-subsets of [0, n) in lexicographic order, limited to `max`. */
function subsets(n: number, k: number, max: number): number[][] {
  const out: number[][] = []
  const rec = (start: number, acc: number[]) => {
    if (out.length >= max) return
    if (acc.length === k) return void out.push([...acc])
    for (let i = start; i < n; i++) rec(i + 1, [...acc, i])
  }
  rec(0, [])
  return out
}

describe('single-key BLS (IC min-sig)', () => {
  const sk = blsKeyFromSeed(enc('capsa test key'))
  const pk = blsPublicKey(sk)
  const sig = blsSign(msg, sk)

  it('produces 48-byte G1 signatures and 96-byte G2 keys, deterministically from the seed', () => {
    expect(sk.length).toBe(32)
    expect(pk.length).toBe(96)
    expect(sig.length).toBe(48)
    expect(toHex(blsKeyFromSeed(enc('capsa test key')))).toBe(toHex(sk))
    expect(toHex(blsKeyFromSeed(enc('capsa test key!')))).not.toBe(toHex(sk))
  })

  it('matches noble v2 byte for byte and verifies with the agent-side noble v1', () => {
    const S = nobleV2.shortSignatures
    expect(toHex(S.getPublicKey(sk).toBytes(true))).toBe(toHex(pk))
    expect(toHex(S.sign(S.hash(msg, BLS_DST), sk).toBytes(true))).toBe(toHex(sig))
    expect(nobleV1.verifyShortSignature(sig, msg, pk)).toBe(true)
    expect(blsVerify(sig, msg, pk)).toBe(true)
    expect(blsVerify(sig, blsHashMessage(msg), pk)).toBe(true)
  })

  it('agrees with noble verify on wrong messages and wrong keys', () => {
    const other = blsPublicKey(blsKeyFromSeed(enc('other')))
    const msg2 = msg.slice()
    msg2[40] ^= 1
    expect(blsVerify(sig, msg2, pk)).toBe(false)
    expect(nobleV1.verifyShortSignature(sig, msg2, pk)).toBe(false)
    expect(blsVerify(sig, msg, other)).toBe(false)
    expect(nobleV1.verifyShortSignature(sig, msg, other)).toBe(false)
  })

  it('rejects a signature made under another DST', () => {
    const S = nobleV2.shortSignatures
    const foreign = S.sign(S.hash(msg, 'BLS_SIG_BLS12381G1_XMD:SHA-256_SSWU_RO_POP_'), sk).toBytes(true)
    expect(toHex(foreign)).not.toBe(toHex(sig))
    expect(blsVerify(foreign, msg, pk)).toBe(false)
  })

  it('returns false, never throws, on garbage', () => {
    const identityG1 = nobleV2.G1.Point.ZERO.toBytes(true)
    const identityG2 = nobleV2.G2.Point.ZERO.toBytes(true)
    expect(blsVerify(new Uint8Array(48), msg, pk)).toBe(false)
    expect(blsVerify(new Uint8Array(48).fill(0xff), msg, pk)).toBe(false)
    expect(blsVerify(sig.subarray(1), msg, pk)).toBe(false)
    expect(blsVerify(identityG1, msg, pk)).toBe(false)
    expect(blsVerify(sig, msg, new Uint8Array(96))).toBe(false)
    expect(blsVerify(sig, msg, identityG2)).toBe(false)
    expect(blsVerify(sig, msg, pk.subarray(0, 95))).toBe(false)
    expect(blsVerify(sig, msg, blsPublicKeyToDer(pk))).toBe(false)
    expect(blsVerify('x' as unknown as Uint8Array, msg, pk)).toBe(false)
    expect(blsVerify(sig, null as unknown as Uint8Array, pk)).toBe(false)
    expect(isValidBlsPublicKey(pk)).toBe(true)
    expect(isValidBlsPublicKey(identityG2)).toBe(false)
  })

  it('wraps keys in the IC DER form and rejects anything else', () => {
    const der = blsPublicKeyToDer(pk)
    expect(der.length).toBe(133)
    expect(toHex(der)).toBe('308182301d060d2b0601040182dc7c0503010201060c2b0601040182dc7c05030201036100' + toHex(pk))
    expect(toHex(blsPublicKeyFromDer(der))).toBe(toHex(pk))
    const bad = der.slice()
    bad[5] ^= 1
    expectCode(() => blsPublicKeyFromDer(bad), 'PUBLIC_KEY_INVALID')
    expectCode(() => blsPublicKeyFromDer(der.subarray(0, 132)), 'PUBLIC_KEY_INVALID')
    expectCode(() => blsPublicKeyToDer(pk.subarray(1)), 'PUBLIC_KEY_INVALID')
  })

  it('rejects invalid secret keys with a coded error', () => {
    expectCode(() => blsSign(msg, new Uint8Array(32)), 'BLS_INVALID')
    expectCode(() => blsSign(msg, new Uint8Array(32).fill(0xff)), 'BLS_INVALID')
    expectCode(() => blsPublicKey(new Uint8Array(31)), 'BLS_INVALID')
  })
})

describe('threshold BLS', () => {
  for (const [t, n, maxSubsets] of [
    [3, 4, 4],
    [9, 13, 5],
  ] as const) {
    it(`any ${t} of ${n} shares combine into the master key's signature`, () => {
      const key = dealThresholdKey({ t, n, seed: enc(`genesis ${t}/${n}`) })
      expect(key.shares.map((s) => s.index)).toEqual(Array.from({ length: n }, (_, i) => i + 1))
      expect(toHex(key.publicKey)).toBe(toHex(blsPublicKey(key.masterSecret)))
      const single = blsSign(msg, key.masterSecret)
      const shares: BlsSignatureShare[] = key.shares.map((s) => ({ index: s.index, signature: signShare(msg, s.secretShare) }))
      for (const s of shares) expect(verifyShare(s.signature, msg, key.shares[s.index - 1].publicShare)).toBe(true)
      for (const s of key.shares) expect(toHex(publicShareFromCoefficients(key.publicCoefficients, s.index))).toBe(toHex(s.publicShare))
      // Lexicographic first subsets plus the last t and a reversed order.
      const picks = subsets(n, t, maxSubsets)
      picks.push(Array.from({ length: t }, (_, i) => n - t + i))
      picks.push(Array.from({ length: t }, (_, i) => n - 1 - i))
      for (const pick of picks) {
        const combined = combineShares(pick.map((i) => shares[i]), t)
        expect(toHex(combined)).toBe(toHex(single))
      }
      expect(blsVerify(single, msg, key.publicKey)).toBe(true)
      expect(nobleV1.verifyShortSignature(single, msg, key.publicKey)).toBe(true)
    })
  }

  it('is reproducible from the seed and differs across seeds', () => {
    const a = dealThresholdKey({ t: 2, n: 3, seed: enc('s') })
    const b = dealThresholdKey({ t: 2, n: 3, seed: enc('s') })
    const c = dealThresholdKey({ t: 2, n: 3, seed: enc('s2') })
    expect(toHex(a.publicKey)).toBe(toHex(b.publicKey))
    expect(toHex(a.shares[2].secretShare)).toBe(toHex(b.shares[2].secretShare))
    expect(toHex(a.publicKey)).not.toBe(toHex(c.publicKey))
  })

  it('detects a forged share; combining it gives a signature that fails verification', () => {
    const key = dealThresholdKey({ t: 3, n: 4, seed: enc('forge') })
    const shares = key.shares.map((s) => ({ index: s.index, signature: signShare(msg, s.secretShare) }))
    const forged = { index: 2, signature: signShare(msg, blsKeyFromSeed(enc('attacker'))) }
    expect(verifyShare(forged.signature, msg, key.shares[1].publicShare)).toBe(false)
    // A share valid for index 1 presented as index 2 is also a forgery.
    expect(verifyShare(shares[0].signature, msg, key.shares[1].publicShare)).toBe(false)
    const bad = combineShares([shares[0], forged, shares[2]], 3)
    expect(blsVerify(bad, msg, key.publicKey)).toBe(false)
    expect(verifyShare(shares[1].signature, enc('other message'), key.shares[1].publicShare)).toBe(false)
  })

  it('combineAndVerify: optimistic when all shares are good, finds and drops bad ones otherwise', () => {
    const key = dealThresholdKey({ t: 3, n: 5, seed: enc('optimistic') })
    const publicShare = (i: number) => key.shares.find((s) => s.index === i)?.publicShare
    const good = key.shares.map((s) => ({ index: s.index, signature: signShare(msg, s.secretShare) }))
    const expected = toHex(blsSign(msg, key.masterSecret))
    const ok = combineAndVerify({ message: msg, shares: good, t: 3, publicKey: key.publicKey, publicShare })
    expect(toHex(ok.signature)).toBe(expected)
    expect(ok.invalidShares).toEqual([])
    // Share 2 forged, share 3 not even a point, share 4 from an unknown index: the rest suffice.
    const mixed = [good[0], { index: 2, signature: good[4].signature }, { index: 3, signature: new Uint8Array(48).fill(0xff) }, good[3], { index: 9, signature: good[1].signature }, good[4]]
    const r = combineAndVerify({ message: msg, shares: mixed, t: 3, publicKey: key.publicKey, publicShare })
    expect(toHex(r.signature)).toBe(expected)
    expect(r.invalidShares).toEqual([2, 3, 9])
    expectCode(() => combineAndVerify({ message: msg, shares: mixed.slice(0, 4), t: 3, publicKey: key.publicKey, publicShare }), 'BLS_INVALID')
    expectCode(() => combineAndVerify({ message: msg, shares: [good[0], good[0], good[1]], t: 3, publicKey: key.publicKey, publicShare }), 'BLS_INVALID')
  })

  it('rejects duplicate, insufficient, malformed shares and bad parameters with BLS_INVALID', () => {
    const key = dealThresholdKey({ t: 3, n: 4, seed: enc('errors') })
    const shares = key.shares.map((s) => ({ index: s.index, signature: signShare(msg, s.secretShare) }))
    expectCode(() => combineShares([shares[0], shares[1]], 3), 'BLS_INVALID')
    expectCode(() => combineShares([shares[0], shares[1], shares[1]], 3), 'BLS_INVALID')
    expectCode(() => combineShares([shares[0], shares[1], { index: 2, signature: shares[2].signature }], 3), 'BLS_INVALID')
    expectCode(() => combineShares([shares[0], shares[1], { index: 0, signature: shares[2].signature }], 3), 'BLS_INVALID')
    expectCode(() => combineShares([shares[0], shares[1], { index: 3, signature: new Uint8Array(48) }], 3), 'BLS_INVALID')
    expectCode(() => combineShares(shares, 0), 'BLS_INVALID')
    expectCode(() => dealThresholdKey({ t: 5, n: 4, seed: enc('x') }), 'BLS_INVALID')
    expectCode(() => dealThresholdKey({ t: 0, n: 4, seed: enc('x') }), 'BLS_INVALID')
    expectCode(() => publicShareFromCoefficients([new Uint8Array(96)], 1), 'BLS_INVALID')
    expectCode(() => publicShareFromCoefficients(key.publicCoefficients, 0), 'BLS_INVALID')
  })
})

// The arithmetic is mcl's; the agents verify with noble. Both must agree on every valid value and on
// which encodings are points at all, or a certificate could be accepted by one side and not the other.
describe('mcl backend agrees with noble', () => {
  const { Fp, Fp2 } = nobleV2.fields
  let state = 0x9e3779b9
  const rnd = (n: number) => {
    const out = new Uint8Array(n)
    for (let i = 0; i < n; i++) {
      state ^= state << 13
      state ^= state >>> 17
      state ^= state << 5
      out[i] = state & 0xff
    }
    return out
  }
  const nobleG1Ok = (b: Uint8Array) => {
    try {
      const p = nobleV2.G1.Point.fromBytes(b)
      p.assertValidity()
      return !p.is0()
    } catch {
      return false
    }
  }
  const nobleG2Ok = (b: Uint8Array) => {
    try {
      const p = nobleV2.G2.Point.fromBytes(b)
      p.assertValidity()
      return !p.is0()
    } catch {
      return false
    }
  }
  const toBe = (x: bigint, n: number) => {
    const out = new Uint8Array(n)
    for (let i = n - 1; i >= 0; i--, x >>= 8n) out[i] = Number(x & 0xffn)
    return out
  }
  // A compressed encoding of a curve point outside the prime-order subgroup (x chosen at random).
  const offSubgroupG1 = (): Uint8Array => {
    for (;;) {
      const x = Fp.create(BigInt('0x' + toHex(rnd(48))))
      const y2 = Fp.add(Fp.mul(Fp.sqr(x), x), 4n)
      let y: bigint
      try {
        y = Fp.sqrt(y2)
      } catch {
        continue
      }
      const b = toBe(x, 48)
      b[0] |= 0x80 | (y > Fp.neg(y) ? 0x20 : 0)
      return b
    }
  }
  const offSubgroupG2 = (): Uint8Array => {
    for (;;) {
      const x = Fp2.fromBigTuple([Fp.create(BigInt('0x' + toHex(rnd(48)))), Fp.create(BigInt('0x' + toHex(rnd(48))))])
      const y2 = Fp2.add(Fp2.mul(Fp2.sqr(x), x), Fp2.fromBigTuple([4n, 4n]))
      let y
      try {
        y = Fp2.sqrt(y2)
      } catch {
        continue
      }
      const b = new Uint8Array(96)
      b.set(toBe(x.c1, 48), 0)
      b.set(toBe(x.c0, 48), 48)
      const ny = Fp2.neg(y)
      const larger = y.c1 !== ny.c1 ? y.c1 > ny.c1 : y.c0 > ny.c0
      b[0] |= 0x80 | (larger ? 0x20 : 0)
      return b
    }
  }

  it('hash, keys, signatures and combination are byte-identical on random inputs', () => {
    const S = nobleV2.shortSignatures
    for (let i = 0; i < 20; i++) {
      const m = rnd(1 + (i * 37) % 200)
      const sk = blsKeyFromSeed(rnd(32))
      expect(toHex(blsHashMessage(m).point.serialize())).toBe(toHex(S.hash(m, BLS_DST).toBytes(true)))
      expect(toHex(blsPublicKey(sk))).toBe(toHex(S.getPublicKey(sk).toBytes(true)))
      const sig = blsSign(m, sk)
      expect(toHex(sig)).toBe(toHex(S.sign(S.hash(m, BLS_DST), sk).toBytes(true)))
      expect(nobleV1.verifyShortSignature(sig, m, blsPublicKey(sk))).toBe(true)
    }
  })

  it('accepts and rejects exactly the encodings noble does', () => {
    const sig = blsSign(msg, blsKeyFromSeed(enc('k')))
    const pk = blsPublicKey(blsKeyFromSeed(enc('k')))
    const g1: Uint8Array[] = [sig, offSubgroupG1(), offSubgroupG1(), nobleV2.G1.Point.ZERO.toBytes(true)]
    const g2: Uint8Array[] = [pk, offSubgroupG2(), offSubgroupG2(), nobleV2.G2.Point.ZERO.toBytes(true)]
    // Flag bits, a field element ≥ p, and single-byte corruptions of valid points.
    for (const flags of [0x00, 0x20, 0x40, 0x60, 0xa0, 0xc0, 0xe0]) {
      const a = sig.slice()
      a[0] = (a[0] & 0x1f) | flags
      g1.push(a)
      const b = pk.slice()
      b[0] = (b[0] & 0x1f) | flags
      g2.push(b)
    }
    const big = toBe(Fp.ORDER + 3n, 48)
    big[0] |= 0x80
    g1.push(big)
    const big2 = pk.slice()
    big2.set(big, 48)
    big2[48] &= 0x1f
    g2.push(big2)
    for (let i = 0; i < 40; i++) {
      const a = sig.slice()
      a[i % 48] ^= 1 << (i % 8)
      g1.push(a)
      const b = pk.slice()
      b[(i * 5) % 96] ^= 1 << (i % 8)
      g2.push(b)
    }
    const other = blsHashMessage(enc('other'))
    for (const b of g1) expect([toHex(b), blsVerify(b, other, pk) || blsVerify(b, msg, pk) || isG1(b)]).toEqual([toHex(b), nobleG1Ok(b)])
    for (const b of g2) expect([toHex(b), isValidBlsPublicKey(b)]).toEqual([toHex(b), nobleG2Ok(b)])
  })
})

// Decoding is internal; a signature share that combines shows the point decoded.
function isG1(b: Uint8Array): boolean {
  try {
    combineShares([{ index: 1, signature: b }], 1)
    return true
  } catch {
    return false
  }
}
