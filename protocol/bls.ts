// BLS12-381 as the IC certifies state: "minimal-signature-size" variant, signatures are compressed G1
// points (48 B), public keys compressed G2 points (96 B), messages hashed to G1 with the DST below.
// A subnet's key is Shamir-shared over Fr among its nodes; t signature shares combine by Lagrange
// interpolation in G1 into the ordinary signature of the master key, so clients cannot tell.
//
// Library choice: noble-curves 2 (pure JS, audited, the same family the agent verifies with). Faster
// alternatives were weighed: @chainsafe/blst (native blst) ships only the min-pk variant (signatures
// in G2, Ethereum DST), so it can neither produce nor check IC certificates, and blst's own min-sig
// API has no well-kept npm binding; bls-eth-wasm is min-pk too. mcl-wasm (herumi's mcl, WASM, well
// kept) exposes raw G1/G2 arithmetic, pairings and RFC 9380 hash-to-G1 with a settable DST and ZCash
// serialization, so it could plausibly give identical bytes several times faster; it is not a
// dependency, and adopting it needs a byte-for-byte cross-check against noble on many vectors first.
// Until then noble backs the hot path, and the costs it leaves are attacked here: the hash-to-curve of
// a message and the pairing precomputation of a public key are cached (consensus signs and verifies
// one message per height with many shares under a fixed set of keys), public-data scalar
// multiplications use the variable-time path, and `combineAndVerify` checks shares optimistically
// (one pairing check for the combined signature; per-share checks only when that fails).

import { bls12_381 as bls } from 'noble-curves-v2/bls12-381.js'
import { CapsaError } from './errors.ts'
import { bytesEqual, fromHex, sha256, toHex } from './hash.ts'

export const BLS_DST = 'BLS_SIG_BLS12381G1_XMD:SHA-256_SSWU_RO_NUL_'
/** SubjectPublicKeyInfo prefix with the IC's BLS OIDs (1.3.6.1.4.1.44668.5.3.1.2.1 / .5.3.2.1). */
export const BLS_PUBLIC_KEY_DER_PREFIX = fromHex('308182301d060d2b0601040182dc7c0503010201060c2b0601040182dc7c05030201036100')
export const BLS_SECRET_KEY_BYTES = 32
export const BLS_PUBLIC_KEY_BYTES = 96
export const BLS_SIGNATURE_BYTES = 48
export const BLS_PUBLIC_KEY_DER_BYTES = BLS_PUBLIC_KEY_DER_PREFIX.length + BLS_PUBLIC_KEY_BYTES

/** 32-byte big-endian scalar in [1, r). */
export type BlsSecretKey = Uint8Array
/** 96-byte compressed G2 point. */
export type BlsPublicKey = Uint8Array
/** 48-byte compressed G1 point. */
export type BlsSignature = Uint8Array

const S = bls.shortSignatures
const Fr = bls.fields.Fr
const G1 = bls.G1.Point
const G2 = bls.G2.Point
type G1Point = ReturnType<typeof G1.fromBytes>
type G2Point = ReturnType<typeof G2.fromBytes>
type Precompute = ReturnType<typeof bls.utils.calcPairingPrecomputes>

/** A message already hashed to G1; sign and verify accept it in place of the bytes. */
export interface BlsHashedMessage {
  readonly message: Uint8Array
  readonly point: G1Point
}

// Small insertion-ordered LRU: Map keeps order, a hit is moved to the end, the oldest is evicted.
class Lru<V> {
  readonly max: number
  readonly map = new Map<string, V>()
  constructor(max: number) {
    this.max = max
  }
  get(key: string): V | undefined {
    const v = this.map.get(key)
    if (v !== undefined) {
      this.map.delete(key)
      this.map.set(key, v)
    }
    return v
  }
  set(key: string, v: V): void {
    if (this.map.size >= this.max) this.map.delete(this.map.keys().next().value as string)
    this.map.set(key, v)
  }
}

const hashCache = new Lru<BlsHashedMessage>(64)
// Verification needs the G2 side of both pairings precomputed; for a fixed key that is done once.
interface PreparedKey {
  readonly point: G2Point
  /** Filled on the first verification under this key (decoding alone does not need it). */
  negPrecompute?: Precompute
}
const keyCache = new Lru<PreparedKey>(256)
let basePrecompute: Precompute | undefined

function blsError(message: string, cause?: unknown): CapsaError {
  return new CapsaError('BLS_INVALID', message, undefined, cause === undefined ? undefined : { cause })
}

/** Hashes a message to G1 under the IC's DST (about 6 ms); results for recent messages are cached. */
export function blsHashMessage(message: Uint8Array): BlsHashedMessage {
  if (!(message instanceof Uint8Array)) throw blsError('message must be bytes')
  const key = toHex(message)
  const hit = hashCache.get(key)
  if (hit !== undefined) return hit
  const point = S.hash(message, BLS_DST) as G1Point
  const h: BlsHashedMessage = Object.freeze({ message: message.slice(), point })
  hashCache.set(key, h)
  return h
}

function hashed(message: Uint8Array | BlsHashedMessage): G1Point {
  return message instanceof Uint8Array ? blsHashMessage(message).point : message.point
}

// 512 bits reduced mod r: the bias (< 2^-256) is irrelevant, and only sha256 is needed.
function scalarFromSeed(tag: string, counter: number, seed: Uint8Array): bigint {
  const t = new TextEncoder().encode(tag)
  for (let attempt = 0; ; attempt++) {
    const ctr = new Uint8Array(9)
    new DataView(ctr.buffer).setUint32(0, counter)
    new DataView(ctr.buffer).setUint32(4, attempt)
    const lo = sha256(t, ctr, new Uint8Array([0]), seed)
    const hi = sha256(t, ctr, new Uint8Array([1]), seed)
    const x = BigInt('0x' + toHex(lo) + toHex(hi)) % Fr.ORDER
    if (x !== 0n) return x
  }
}

function secretScalar(sk: BlsSecretKey): bigint {
  if (!(sk instanceof Uint8Array) || sk.length !== BLS_SECRET_KEY_BYTES) throw blsError('secret key must be 32 bytes')
  const x = BigInt('0x' + toHex(sk))
  if (x === 0n || x >= Fr.ORDER) throw blsError('secret key out of range')
  return x
}

/** Deterministic secret key from seed bytes of any length (genesis and tests must be reproducible). */
export function blsKeyFromSeed(seed: Uint8Array): BlsSecretKey {
  return Fr.toBytes(scalarFromSeed('capsa-bls-keygen', 0, seed))
}

export function blsPublicKey(sk: BlsSecretKey): BlsPublicKey {
  return G2.BASE.multiply(secretScalar(sk)).toBytes(true)
}

/** Signs with a full key or a secret share (the operation is the same: sk · H(m)). */
export function blsSign(message: Uint8Array | BlsHashedMessage, sk: BlsSecretKey): BlsSignature {
  return hashed(message).multiply(secretScalar(sk)).toBytes(true)
}

function decodePublicKey(pk: Uint8Array): PreparedKey | undefined {
  if (!(pk instanceof Uint8Array) || pk.length !== BLS_PUBLIC_KEY_BYTES) return undefined
  const key = toHex(pk)
  const hit = keyCache.get(key)
  if (hit !== undefined) return hit
  let point: G2Point
  try {
    point = G2.fromBytes(pk)
    point.assertValidity()
  } catch {
    return undefined
  }
  // The identity key would accept the identity signature for every message.
  if (point.is0()) return undefined
  const prepared: PreparedKey = { point }
  keyCache.set(key, prepared)
  return prepared
}

function decodeSignature(sig: Uint8Array): G1Point | undefined {
  if (!(sig instanceof Uint8Array) || sig.length !== BLS_SIGNATURE_BYTES) return undefined
  try {
    const p = S.Signature.fromBytes(sig) as G1Point
    p.assertValidity()
    return p.is0() ? undefined : p
  } catch {
    return undefined
  }
}

/** True iff the bytes are a valid, non-identity public key in the prime-order subgroup. */
export function isValidBlsPublicKey(pk: Uint8Array): boolean {
  return decodePublicKey(pk) !== undefined
}

/**
 * e(sig, G2) == e(H(m), pk), checked as one Miller loop over two precomputed G2 lines and one final
 * exponentiation. Never throws: garbage in any argument gives false.
 */
export function blsVerify(sig: Uint8Array, message: Uint8Array | BlsHashedMessage, pk: Uint8Array): boolean {
  try {
    const key = decodePublicKey(pk)
    const s = decodeSignature(sig)
    if (key === undefined || s === undefined) return false
    const h = hashed(message)
    if (h.is0()) return false
    basePrecompute ??= bls.utils.calcPairingPrecomputes(G2.BASE)
    key.negPrecompute ??= bls.utils.calcPairingPrecomputes(key.point.negate())
    const ha = h.toAffine()
    const sa = s.toAffine()
    const f = bls.millerLoopBatch([
      [key.negPrecompute, ha.x, ha.y],
      [basePrecompute, sa.x, sa.y],
    ])
    return bls.fields.Fp12.eql(bls.fields.Fp12.finalExponentiate(f), bls.fields.Fp12.ONE)
  } catch {
    return false
  }
}

/** Wraps a 96-byte key into the 133-byte DER form clients receive as `root_key` / subnet key. */
export function blsPublicKeyToDer(pk: BlsPublicKey): Uint8Array {
  if (!(pk instanceof Uint8Array) || pk.length !== BLS_PUBLIC_KEY_BYTES) {
    throw new CapsaError('PUBLIC_KEY_INVALID', 'BLS public key must be 96 bytes')
  }
  const out = new Uint8Array(BLS_PUBLIC_KEY_DER_BYTES)
  out.set(BLS_PUBLIC_KEY_DER_PREFIX)
  out.set(pk, BLS_PUBLIC_KEY_DER_PREFIX.length)
  return out
}

/** Unwraps the DER form; any other length or prefix is rejected, as the agent does. */
export function blsPublicKeyFromDer(der: Uint8Array): BlsPublicKey {
  if (!(der instanceof Uint8Array) || der.length !== BLS_PUBLIC_KEY_DER_BYTES || !bytesEqual(der.subarray(0, BLS_PUBLIC_KEY_DER_PREFIX.length), BLS_PUBLIC_KEY_DER_PREFIX)) {
    throw new CapsaError('PUBLIC_KEY_INVALID', `BLS public key DER must be ${BLS_PUBLIC_KEY_DER_BYTES} bytes with the IC prefix`)
  }
  return der.slice(BLS_PUBLIC_KEY_DER_PREFIX.length)
}

// ---------------------------------------------------------------------------------------------
// Threshold keys

export interface BlsKeyShare {
  /** Evaluation point of the sharing polynomial, 1..n. */
  readonly index: number
  readonly secretShare: BlsSecretKey
  readonly publicShare: BlsPublicKey
}

export interface ThresholdKey {
  readonly t: number
  readonly n: number
  readonly publicKey: BlsPublicKey
  /** Commitments a_j · G2 to the polynomial's coefficients; [0] is the public key. */
  readonly publicCoefficients: BlsPublicKey[]
  readonly shares: BlsKeyShare[]
  /** The dealer's master secret: genesis discards it, tests compare against it. */
  readonly masterSecret: BlsSecretKey
}

export interface BlsSignatureShare {
  readonly index: number
  readonly signature: BlsSignature
}

function checkIndex(index: number): void {
  if (!Number.isSafeInteger(index) || index < 1 || index > 0xffff_ffff) throw blsError(`share index ${index} must be an integer in 1..2^32-1`)
}

/**
 * Shamir-shares a fresh master key with threshold t among n holders; everything is derived from the
 * seed so every node of a genesis computes the same key set.
 */
export function dealThresholdKey({ t, n, seed }: { t: number; n: number; seed: Uint8Array }): ThresholdKey {
  if (!Number.isSafeInteger(t) || !Number.isSafeInteger(n) || t < 1 || n < t || n > 0xffff) throw blsError(`invalid threshold ${t} of ${n}`)
  if (!(seed instanceof Uint8Array)) throw blsError('seed must be bytes')
  const coeffs: bigint[] = []
  for (let j = 0; j < t; j++) coeffs.push(scalarFromSeed('capsa-bls-deal', j, seed))
  const publicCoefficients = coeffs.map((a) => G2.BASE.multiply(a).toBytes(true))
  const shares: BlsKeyShare[] = []
  for (let i = 1; i <= n; i++) {
    const x = BigInt(i)
    let y = 0n
    for (let j = t - 1; j >= 0; j--) y = Fr.add(Fr.mul(y, x), coeffs[j])
    // A zero share has no valid encoding as a secret key; the chance is 2^-255 per share.
    if (y === 0n) throw blsError('degenerate share; choose another seed')
    shares.push({ index: i, secretShare: Fr.toBytes(y), publicShare: G2.BASE.multiply(y).toBytes(true) })
  }
  return { t, n, publicKey: publicCoefficients[0], publicCoefficients, shares, masterSecret: Fr.toBytes(coeffs[0]) }
}

/** The public share of holder `index`, from the public coefficients alone (Σ index^j · A_j). */
export function publicShareFromCoefficients(coeffs: BlsPublicKey[], index: number): BlsPublicKey {
  checkIndex(index)
  if (coeffs.length === 0) throw blsError('no public coefficients')
  const x = BigInt(index)
  let acc = G2.ZERO
  for (let j = coeffs.length - 1; j >= 0; j--) {
    const key = decodePublicKey(coeffs[j])
    if (key === undefined) throw blsError(`public coefficient ${j} is not a valid key`)
    acc = (acc.is0() ? acc : acc.multiplyUnsafe(x)).add(key.point)
  }
  if (acc.is0()) throw blsError('public share is the identity')
  return acc.toBytes(true)
}

export function signShare(message: Uint8Array | BlsHashedMessage, secretShare: BlsSecretKey): BlsSignature {
  return blsSign(message, secretShare)
}

export function verifyShare(sigShare: Uint8Array, message: Uint8Array | BlsHashedMessage, publicShare: Uint8Array): boolean {
  return blsVerify(sigShare, message, publicShare)
}

/** λ_i = Π_{j≠i} x_j / (x_j − x_i) mod r: the weights that interpolate f(0) from the points x. */
export function lagrangeCoefficientsAtZero(indices: number[]): bigint[] {
  const xs = indices.map(BigInt)
  return xs.map((xi, i) => {
    let num = 1n
    let den = 1n
    for (let j = 0; j < xs.length; j++) {
      if (j === i) continue
      num = Fr.mul(num, xs[j])
      den = Fr.mul(den, Fr.sub(xs[j], xi))
    }
    return Fr.div(num, den)
  })
}

/**
 * Combines signature shares into the master key's signature. Uses the first t shares (after
 * validation of all indices); shares are not verified here: combining a bad share yields a signature
 * that fails verification, so callers verify shares (or the result) first.
 */
export function combineShares(shares: readonly BlsSignatureShare[], t: number): BlsSignature {
  checkShareSet(shares, t)
  const r = interpolate(shares.slice(0, t))
  if (typeof r === 'string') throw blsError(r)
  return r
}

// Parameter errors: always the caller's fault, never a reason to search for bad shares.
function checkShareSet(shares: readonly BlsSignatureShare[], t: number): void {
  if (!Number.isSafeInteger(t) || t < 1) throw blsError(`invalid threshold ${t}`)
  if (!Array.isArray(shares) || shares.length < t) throw blsError(`need ${t} signature shares, got ${Array.isArray(shares) ? shares.length : 0}`)
  const seen = new Set<number>()
  for (const s of shares) {
    checkIndex(s.index)
    if (seen.has(s.index)) throw blsError(`duplicate signature share for index ${s.index}`)
    seen.add(s.index)
  }
}

/** Σ λ_i · σ_i, or the reason it cannot be formed from these share bytes. */
function interpolate(used: readonly BlsSignatureShare[]): BlsSignature | string {
  const points: G1Point[] = []
  for (const s of used) {
    const p = decodeSignature(s.signature)
    if (p === undefined) return `signature share ${s.index} is not a valid G1 point`
    points.push(p)
  }
  const lambdas = lagrangeCoefficientsAtZero(used.map((s) => s.index))
  let acc = G1.ZERO
  // Shares and weights are public, so the variable-time multiplication is safe here.
  for (let i = 0; i < points.length; i++) acc = acc.add(points[i].multiplyUnsafe(lambdas[i]))
  if (acc.is0()) return 'combined signature is the identity'
  return acc.toBytes(true)
}

export interface CombineResult {
  readonly signature: BlsSignature
  /** Indices of shares found invalid on the way (only searched for when the optimistic try failed). */
  readonly invalidShares: number[]
}

/**
 * Combines shares into a verified signature with as few pairings as possible: the first t shares are
 * combined and the result checked once; only if that fails is every share checked, the bad ones
 * dropped, and the combination redone. Throws BLS_INVALID when fewer than t valid shares remain.
 */
export function combineAndVerify(args: {
  message: Uint8Array | BlsHashedMessage
  shares: readonly BlsSignatureShare[]
  t: number
  publicKey: BlsPublicKey
  publicShare: (index: number) => BlsPublicKey | undefined
}): CombineResult {
  const { shares, t, publicKey } = args
  const message = args.message instanceof Uint8Array ? blsHashMessage(args.message) : args.message
  checkShareSet(shares, t)
  const first = interpolate(shares.slice(0, t))
  if (typeof first !== 'string' && blsVerify(first, message, publicKey)) return { signature: first, invalidShares: [] }
  const valid: BlsSignatureShare[] = []
  const invalidShares: number[] = []
  for (const s of shares) {
    const pk = args.publicShare(s.index)
    if (pk !== undefined && verifyShare(s.signature, message, pk)) valid.push(s)
    else invalidShares.push(s.index)
  }
  if (valid.length < t) throw new CapsaError('BLS_INVALID', `only ${valid.length} valid signature shares, need ${t}`, { invalidShares })
  const signature = combineShares(valid, t)
  if (!blsVerify(signature, message, publicKey)) throw new CapsaError('BLS_INVALID', 'valid shares do not combine under the public key (wrong key set)', { invalidShares })
  return { signature, invalidShares }
}
