// The BLS12-381 arithmetic behind protocol/bls.ts, on mcl-wasm (herumi's mcl compiled to
// WebAssembly). Why mcl and not noble: measured on this project's machines (bench/crypto), mcl signs
// in 0.24 ms instead of 2.8, hashes to G1 in 0.25 ms instead of 2.1 and verifies in 3.5 ms instead of
// 12.7; consensus and certification sign and verify several times per height on every node, so this
// is most of a node's CPU. Why not another library: @chainsafe/blst and bls-eth-wasm implement only
// the min-pk variant (signatures in G2), which cannot produce or check the IC's certificates.
//
// mcl is configured once, globally, to be byte-compatible with the IC and with noble (protocol tests
// cross-check both on valid and malformed encodings): ZCash compressed point encoding, RFC 9380
// hash-to-curve (SSWU) with the IC's DST, and subgroup checks on every decoded point.

import mcl from 'mcl-wasm'
import type { Fr, G1, G2, PrecomputedG2 } from 'mcl-wasm'
// The default import is the CommonJS exports object: `mod` is set on it by init, after import time.
import mclInternals from 'mcl-wasm/dist/mcl.js'

export const BLS_DST = 'BLS_SIG_BLS12381G1_XMD:SHA-256_SSWU_RO_NUL_'
/** The group order r of G1 and G2. */
export const FR_ORDER = 0x73eda753299d7d483339d80809a1d80553bda402fffe5bfeffffffff00000001n

await initMcl()
mcl.setETHserialization(true)
mcl.setMapToMode(mcl.IRTF)
mcl.verifyOrderG1(true)
mcl.verifyOrderG2(true)
setG1Dst(BLS_DST)

// mcl-wasm's glue turns its embedded module from base64 into bytes with `Uint8Array.from(atob(s),
// c => c.charCodeAt(0))`: a callback per byte that costs ~270 ms at every process start (a 4-node
// local subnet on 2 cores starts ~0.6 s later). The glue runs synchronously up to
// WebAssembly.instantiate, so for exactly that synchronous window `Uint8Array.from` takes a fast path
// for a Latin-1 string mapped by char code (atob's output); anything else goes to the original.
function initMcl(): Promise<void> {
  const original = Uint8Array.from
  const fast = function (this: unknown, src: unknown, fn?: (c: string, i: number) => number, thisArg?: unknown) {
    if (typeof src === 'string' && fn !== undefined && fn('A', 0) === 65 && fn('\xff', 0) === 255 && !/[^\x00-\xff]/.test(src)) {
      return new Uint8Array(Buffer.from(src, 'latin1'))
    }
    return (original as (...a: unknown[]) => Uint8Array).call(this, src, fn, thisArg)
  }
  ;(Uint8Array as { from: unknown }).from = fast
  try {
    return mcl.init(mcl.BLS12_381)
  } finally {
    ;(Uint8Array as { from: unknown }).from = original
  }
}

// mcl-wasm wraps hashing with the DST fixed at build time; the C function that changes it is exported
// by the WebAssembly module but not wrapped, so it is called through the raw module here.
function setG1Dst(dst: string): void {
  const bytes = new TextEncoder().encode(dst)
  const m = (mclInternals as unknown as { mod: unknown }).mod as { _malloc(n: number): number; _free(p: number): void; HEAP8: Int8Array; _mclBnG1_setDst(p: number, n: number): number }
  const p = m._malloc(bytes.length)
  try {
    m.HEAP8.set(bytes, p)
    if (m._mclBnG1_setDst(p, bytes.length) !== 0) throw new Error('mcl: setting the G1 DST failed')
  } finally {
    m._free(p)
  }
}

export type { Fr, G1, G2, PrecomputedG2 }

/** The standard generator of G2 (compressed), the base of every public key. */
const G2_BASE_HEX =
  '93e02b6052719f607dacd3a088274f65596bd0d09920b61ab5da61bbdc7f5049334cf11213945d57e5ac7d055d042b7e' +
  '024aa2b2f08f0a91260805272dc51051c6e47ad4fa403b02b4510b647ae3d1770bac0326a805bbefd48056c8c121bdb8'
export const G2_BASE: G2 = mcl.deserializeHexStrToG2(G2_BASE_HEX)
const NEG_G2_BASE_PRE = new mcl.PrecomputedG2(mcl.neg(G2_BASE))

export function frFromBigint(x: bigint): Fr {
  const f = new mcl.Fr()
  f.setStr(x.toString(16), 16)
  return f
}

export function frFromIndex(index: number): Fr {
  const f = new mcl.Fr()
  f.setInt(index)
  return f
}

/** Decodes a compressed G1 point (subgroup-checked); undefined for anything else. */
export function g1FromBytes(bytes: Uint8Array): G1 | undefined {
  try {
    const p = new mcl.G1()
    p.deserialize(bytes)
    return p
  } catch {
    return undefined
  }
}

/** Decodes a compressed G2 point (subgroup-checked); undefined for anything else. */
export function g2FromBytes(bytes: Uint8Array): G2 | undefined {
  try {
    const p = new mcl.G2()
    p.deserialize(bytes)
    return p
  } catch {
    return undefined
  }
}

export const hashToG1 = (message: Uint8Array): G1 => mcl.hashAndMapToG1(message)
export const mulG1 = (p: G1, k: Fr): G1 => mcl.mul(p, k)
export const mulG2 = (p: G2, k: Fr): G2 => mcl.mul(p, k)
export const precompute = (q: G2): PrecomputedG2 => new mcl.PrecomputedG2(q)

/** e(sig, −G2) · e(h, pk) == 1, i.e. e(sig, G2) == e(h, pk): one two-term Miller loop, one final exponentiation. */
export function pairingCheck(sig: G1, h: G1, pkPre: PrecomputedG2): boolean {
  return mcl.finalExp(mcl.precomputedMillerLoop2(sig, NEG_G2_BASE_PRE, h, pkPre)).isOne()
}

/** f(0) from points (x_i, y_i) in G1 by Lagrange interpolation (indices distinct, non-zero). */
export function interpolateG1(indices: readonly number[], ys: readonly G1[]): G1 {
  return mcl.recoverG1(indices.map(frFromIndex), [...ys])
}

/** Σ x^j · A_j: a polynomial with G2 coefficients evaluated at x. */
export function evaluateG2(coefficients: readonly G2[], x: number): G2 {
  return mcl.shareG2([...coefficients], frFromIndex(x))
}
