// BLS12-381 as the IC certifies state: "minimal-signature-size" variant, signatures are compressed G1
// points (48 B), public keys compressed G2 points (96 B), messages hashed to G1 with the DST below.
// A subnet's key is Shamir-shared over Fr among its nodes; t signature shares combine by Lagrange
// interpolation in G1 into the ordinary signature of the master key, so clients cannot tell.
//
// The curve arithmetic is mcl's (protocol/bls-curve.ts says why); noble stays as the reference the
// tests cross-check against and as what the agents use. Costs left after the library switch are
// attacked here: the hash-to-curve of a message and the pairing precomputation of a public key are
// cached (consensus signs and verifies one message per height with many shares under a fixed set of
// keys), and `combineAndVerify` checks shares optimistically (one pairing check for the combined
// signature; per-share checks only when that fails).

import { CapsaError } from './errors.ts'
import { bytesEqual, fromHex, sha256, toHex } from './hash.ts'
import {
  BLS_DST,
  evaluateG2,
  FR_ORDER,
  frFromBigint,
  g1FromBytes,
  g2FromBytes,
  G2_BASE,
  hashToG1,
  interpolateG1,
  mulG1,
  mulG2,
  pairingCheck,
  precompute,
  type G1,
  type G2,
  type PrecomputedG2,
} from './bls-curve.ts'

export { BLS_DST }
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

/** A message already hashed to G1; sign and verify accept it in place of the bytes. */
export interface BlsHashedMessage {
  readonly message: Uint8Array
  readonly point: G1
}

// Small insertion-ordered LRU: Map keeps order, a hit is moved to the end, the oldest is evicted.
class Lru<V> {
  readonly max: number
  readonly map = new Map<string, V>()
  readonly onEvict: ((v: V) => void) | undefined
  constructor(max: number, onEvict?: (v: V) => void) {
    this.max = max
    this.onEvict = onEvict
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
    if (this.map.size >= this.max) {
      const oldest = this.map.keys().next().value as string
      this.onEvict?.(this.map.get(oldest) as V)
      this.map.delete(oldest)
    }
    this.map.set(key, v)
  }
}

const hashCache = new Lru<BlsHashedMessage>(64)
// Verification needs the key's side of the pairing precomputed; for a fixed key that is done once.
// The precomputation lives in mcl's WebAssembly heap, so an evicted key frees it.
interface PreparedKey {
  readonly point: G2
  /** Filled on the first verification under this key (decoding alone does not need it). */
  pre?: PrecomputedG2
}
const keyCache = new Lru<PreparedKey>(256, (k) => k.pre?.destroy())

function blsError(message: string, cause?: unknown): CapsaError {
  return new CapsaError('BLS_INVALID', message, undefined, cause === undefined ? undefined : { cause })
}

/** Hashes a message to G1 under the IC's DST; results for recent messages are cached. */
export function blsHashMessage(message: Uint8Array): BlsHashedMessage {
  if (!(message instanceof Uint8Array)) throw blsError('message must be bytes')
  const key = toHex(message)
  const hit = hashCache.get(key)
  if (hit !== undefined) return hit
  const h: BlsHashedMessage = Object.freeze({ message: message.slice(), point: hashToG1(message) })
  hashCache.set(key, h)
  return h
}

function hashed(message: Uint8Array | BlsHashedMessage): G1 {
  return message instanceof Uint8Array ? blsHashMessage(message).point : message.point
}

const frAdd = (a: bigint, b: bigint) => (a + b) % FR_ORDER
const frMul = (a: bigint, b: bigint) => (a * b) % FR_ORDER

function scalarToBytes(x: bigint): Uint8Array {
  return fromHex(x.toString(16).padStart(64, '0'))
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
    const x = BigInt('0x' + toHex(lo) + toHex(hi)) % FR_ORDER
    if (x !== 0n) return x
  }
}

function secretScalar(sk: BlsSecretKey): bigint {
  if (!(sk instanceof Uint8Array) || sk.length !== BLS_SECRET_KEY_BYTES) throw blsError('secret key must be 32 bytes')
  const x = BigInt('0x' + toHex(sk))
  if (x === 0n || x >= FR_ORDER) throw blsError('secret key out of range')
  return x
}

/** Deterministic secret key from seed bytes of any length (genesis and tests must be reproducible). */
export function blsKeyFromSeed(seed: Uint8Array): BlsSecretKey {
  return scalarToBytes(scalarFromSeed('capsa-bls-keygen', 0, seed))
}

const publicKeyOf = (x: bigint): BlsPublicKey => mulG2(G2_BASE, frFromBigint(x)).serialize()

export function blsPublicKey(sk: BlsSecretKey): BlsPublicKey {
  return publicKeyOf(secretScalar(sk))
}

/** Signs with a full key or a secret share (the operation is the same: sk · H(m)). */
export function blsSign(message: Uint8Array | BlsHashedMessage, sk: BlsSecretKey): BlsSignature {
  return mulG1(hashed(message), frFromBigint(secretScalar(sk))).serialize()
}

function decodePublicKey(pk: Uint8Array): PreparedKey | undefined {
  if (!(pk instanceof Uint8Array) || pk.length !== BLS_PUBLIC_KEY_BYTES) return undefined
  const key = toHex(pk)
  const hit = keyCache.get(key)
  if (hit !== undefined) return hit
  const point = g2FromBytes(pk)
  // The identity key would accept the identity signature for every message.
  if (point === undefined || point.isZero()) return undefined
  const prepared: PreparedKey = { point }
  keyCache.set(key, prepared)
  return prepared
}

function decodeSignature(sig: Uint8Array): G1 | undefined {
  if (!(sig instanceof Uint8Array) || sig.length !== BLS_SIGNATURE_BYTES) return undefined
  const p = g1FromBytes(sig)
  return p === undefined || p.isZero() ? undefined : p
}

/** True iff the bytes are a valid, non-identity public key in the prime-order subgroup. */
export function isValidBlsPublicKey(pk: Uint8Array): boolean {
  return decodePublicKey(pk) !== undefined
}

/** e(sig, G2) == e(H(m), pk). Never throws: garbage in any argument gives false. */
export function blsVerify(sig: Uint8Array, message: Uint8Array | BlsHashedMessage, pk: Uint8Array): boolean {
  try {
    const key = decodePublicKey(pk)
    const s = decodeSignature(sig)
    if (key === undefined || s === undefined) return false
    const h = hashed(message)
    if (h.isZero()) return false
    key.pre ??= precompute(key.point)
    return pairingCheck(s, h, key.pre)
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
  const publicCoefficients = coeffs.map(publicKeyOf)
  const shares: BlsKeyShare[] = []
  for (let i = 1; i <= n; i++) {
    const x = BigInt(i)
    let y = 0n
    for (let j = t - 1; j >= 0; j--) y = frAdd(frMul(y, x), coeffs[j])
    // A zero share has no valid encoding as a secret key; the chance is 2^-255 per share.
    if (y === 0n) throw blsError('degenerate share; choose another seed')
    shares.push({ index: i, secretShare: scalarToBytes(y), publicShare: publicKeyOf(y) })
  }
  return { t, n, publicKey: publicCoefficients[0], publicCoefficients, shares, masterSecret: scalarToBytes(coeffs[0]) }
}

/** The public share of holder `index`, from the public coefficients alone (Σ index^j · A_j). */
export function publicShareFromCoefficients(coeffs: BlsPublicKey[], index: number): BlsPublicKey {
  checkIndex(index)
  if (coeffs.length === 0) throw blsError('no public coefficients')
  const points: G2[] = []
  for (let j = 0; j < coeffs.length; j++) {
    const key = decodePublicKey(coeffs[j])
    if (key === undefined) throw blsError(`public coefficient ${j} is not a valid key`)
    points.push(key.point)
  }
  const acc = evaluateG2(points, index)
  if (acc.isZero()) throw blsError('public share is the identity')
  return acc.serialize()
}

export function signShare(message: Uint8Array | BlsHashedMessage, secretShare: BlsSecretKey): BlsSignature {
  return blsSign(message, secretShare)
}

export function verifyShare(sigShare: Uint8Array, message: Uint8Array | BlsHashedMessage, publicShare: Uint8Array): boolean {
  return blsVerify(sigShare, message, publicShare)
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
  const points: G1[] = []
  for (const s of used) {
    const p = decodeSignature(s.signature)
    if (p === undefined) return `signature share ${s.index} is not a valid G1 point`
    points.push(p)
  }
  const acc = interpolateG1(used.map((s) => s.index), points)
  if (acc.isZero()) return 'combined signature is the identity'
  return acc.serialize()
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
