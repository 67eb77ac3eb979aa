// Certificates (spec "Certification"): a hash tree, a BLS signature on its root under the subnet's
// key, and optionally a delegation in which the root subnet certifies that key and the canister
// ranges the subnet may speak for. Capsa produces them (signing with one key or combining the
// threshold shares of the subnet's nodes) and checks them the way clients do.

import { decodeUleb128, encodeUleb128 } from './leb128.ts'
import { canisterIdInRanges, type CanisterRange } from './principal.ts'
import { blsPublicKeyFromDer, blsPublicKeyToDer, blsSign, blsVerify, combineShares, BLS_PUBLIC_KEY_BYTES, BLS_PUBLIC_KEY_DER_BYTES, type BlsSecretKey, type BlsSignature, type BlsSignatureShare } from './bls.ts'
import { asArray, asBytes, asMap, decodeCbor, encodeCbor, type CborValue } from './cbor.ts'
import { CapsaError, isCapsaError } from './errors.ts'
import { compareBytes, DOMAIN } from './hash.ts'
import { assertWellFormed, buildHashTree, flattenForks, hashTreeFromCbor, hashTreeToCbor, lookupPath, lookupSubtree, reconstruct, witness, type HashTree, type LabeledTree, type Path } from './hash-tree.ts'

export interface Delegation {
  readonly subnetId: Uint8Array
  /** An encoded certificate of the root subnet, itself without a delegation. */
  readonly certificate: Uint8Array
}

export interface Certificate {
  readonly tree: HashTree
  readonly signature: BlsSignature
  readonly delegation?: Delegation
}


const MINUTE_NS = 60_000_000_000n
/** The agent's windows: a certificate at most 5 min old or ahead; a delegation at most 30 days old. */
export const CERTIFICATE_MAX_AGE_NS = 5n * MINUTE_NS
export const CERTIFICATE_MAX_FUTURE_NS = 5n * MINUTE_NS
export const DELEGATION_MAX_AGE_NS = 30n * 24n * 60n * MINUTE_NS

function invalid(message: string, reason: string, cause?: unknown): CapsaError {
  return new CapsaError('CERTIFICATE_INVALID', message, { reason }, cause === undefined ? undefined : { cause })
}

export function encodeTime(ns: bigint): Uint8Array {
  return encodeUleb128(ns)
}

function decodeTime(bytes: Uint8Array): bigint | undefined {
  try {
    const { value, next } = decodeUleb128(bytes)
    return next === bytes.length ? value : undefined
  } catch {
    return undefined
  }
}

/** The signed message: `domain_sep("ic-state-root") · reconstruct(tree)`. */
export function stateRootMessage(treeOrRoot: HashTree | Uint8Array): Uint8Array {
  const root = treeOrRoot instanceof Uint8Array ? treeOrRoot : reconstruct(treeOrRoot)
  const m = new Uint8Array(DOMAIN.stateRoot.length + root.length)
  m.set(DOMAIN.stateRoot)
  m.set(root, DOMAIN.stateRoot.length)
  return m
}

// ---------------------------------------------------------------------------------------------
// Encoding

export function encodeCertificate(c: Certificate): Uint8Array {
  const m: { [k: string]: CborValue } = { tree: hashTreeToCbor(c.tree), signature: c.signature }
  if (c.delegation !== undefined) m.delegation = { subnet_id: c.delegation.subnetId, certificate: c.delegation.certificate }
  return encodeCbor(m)
}

/** Decodes without verifying; shape errors are CERTIFICATE_INVALID (tree shape: HASH_TREE_MALFORMED). */
export function decodeCertificate(bytes: Uint8Array): Certificate {
  let v: CborValue
  try {
    v = decodeCbor(bytes)
  } catch (e) {
    throw invalid('certificate is not valid CBOR', 'encoding', e)
  }
  try {
    const m = asMap(v, 'certificate')
    for (const k of Object.keys(m)) if (k !== 'tree' && k !== 'signature' && k !== 'delegation') throw invalid(`unknown certificate field ${k}`, 'encoding')
    const tree = hashTreeFromCbor(m.tree)
    const signature = plain(asBytes(m.signature, 'certificate.signature'))
    if (m.delegation === undefined) return { tree, signature }
    const d = asMap(m.delegation, 'certificate.delegation')
    const delegation = { subnetId: plain(asBytes(d.subnet_id, 'delegation.subnet_id')), certificate: plain(asBytes(d.certificate, 'delegation.certificate')) }
    return { tree, signature, delegation }
  } catch (e) {
    if (isCapsaError(e, 'HASH_TREE_MALFORMED') || isCapsaError(e, 'CERTIFICATE_INVALID')) throw e
    throw invalid(`malformed certificate: ${(e as Error).message}`, 'encoding', e)
  }
}

function plain(b: Uint8Array): Uint8Array {
  return b.constructor === Uint8Array ? b : new Uint8Array(b.buffer, b.byteOffset, b.length)
}

// ---------------------------------------------------------------------------------------------
// Signing

export function signCertificate(tree: HashTree, secretKey: BlsSecretKey, delegation?: Delegation): Certificate {
  return withDelegation({ tree, signature: blsSign(stateRootMessage(tree), secretKey) }, delegation)
}

/**
 * A certificate from the subnet nodes' signature shares on `stateRootMessage(tree)`. Shares are not
 * checked here; pass `publicKey` to have the combined signature verified before it is used.
 */
export function certificateFromShares(tree: HashTree, shares: readonly BlsSignatureShare[], t: number, opts: { delegation?: Delegation; publicKey?: Uint8Array } = {}): Certificate {
  const signature = combineShares(shares, t)
  if (opts.publicKey !== undefined && !blsVerify(signature, stateRootMessage(tree), opts.publicKey)) {
    throw new CapsaError('BLS_INVALID', 'combined signature does not verify under the subnet key (a share is bad)')
  }
  return withDelegation({ tree, signature }, opts.delegation)
}

function withDelegation(c: Certificate, delegation: Delegation | undefined): Certificate {
  return delegation === undefined ? c : { ...c, delegation }
}

// ---------------------------------------------------------------------------------------------
// Canister ranges and subnet delegations

/** `/subnet/<sid>/canister_ranges`: CBOR (tag 55799) of `[[lo, hi], …]` principal byte strings. */
export type { CanisterRange }

export function encodeCanisterRanges(ranges: readonly CanisterRange[]): Uint8Array {
  return encodeCbor(ranges.map(([lo, hi]) => [lo, hi]))
}

export function decodeCanisterRanges(bytes: Uint8Array): CanisterRange[] {
  try {
    return asArray(decodeCbor(bytes), 'canister ranges').map((r) => {
      const pair = asArray(r, 'canister range')
      if (pair.length !== 2) throw invalid('a canister range has two ends', 'ranges')
      return [plain(asBytes(pair[0], 'range start')), plain(asBytes(pair[1], 'range end'))] as const
    })
  } catch (e) {
    if (isCapsaError(e, 'CERTIFICATE_INVALID')) throw e
    throw invalid('malformed canister ranges', 'ranges', e)
  }
}


export interface SubnetDelegationInput {
  readonly subnetId: Uint8Array
  /** The subnet's public key, 96 bytes raw or 133 bytes DER. */
  readonly subnetPublicKey: Uint8Array
  readonly canisterRanges: readonly CanisterRange[]
  /** Root subnet time in ns since the epoch. */
  readonly time: bigint
}

/** The part of the root subnet's state tree that a delegation reveals. */
/**
 * The part of the root subnet's state tree that a delegation reveals: the legacy
 * `/subnet/<sid>/canister_ranges` (agent 3.x) and the sharded `/canister_ranges/<sid>/<first id>`
 * (newer clients try it first), here as one shard holding all ranges.
 */
export function subnetDelegationTreeData(input: SubnetDelegationInput): LabeledTree {
  const sorted = [...input.canisterRanges].sort((a, b) => compareBytes(a[0], b[0]))
  const encoded = encodeCanisterRanges(sorted)
  const data: [string, LabeledTree][] = [
    ['subnet', [[input.subnetId, [['public_key', toDer(input.subnetPublicKey)], ['canister_ranges', encoded]]]]],
    ['time', encodeTime(input.time)],
  ]
  if (sorted.length > 0) data.push(['canister_ranges', [[input.subnetId, [[sorted[0][0], encoded]]]]])
  return data
}

/** Paths a delegation reveals from the root subnet's (full) state tree. */
export function subnetDelegationPaths(subnetId: Uint8Array): Path[] {
  return [['subnet', subnetId, 'public_key'], ['subnet', subnetId, 'canister_ranges'], ['canister_ranges', subnetId], ['time']]
}

/**
 * A delegation from a certified root-subnet state: `rootTree` is the root subnet's full tree and
 * `signature` its (combined) signature; the delegation reveals only the subnet's key, its ranges and
 * the time, so its root hash, and thus the signature, stay those of the full tree.
 */
export function delegationFromRootState(rootTree: HashTree, signature: BlsSignature, subnetId: Uint8Array): Delegation {
  const tree = witness(rootTree, subnetDelegationPaths(subnetId))
  return { subnetId, certificate: encodeCertificate({ tree, signature }) }
}

/** Builds and signs a delegation with the root key directly (genesis, tests, single-key roots). */
export function buildSubnetDelegation(input: SubnetDelegationInput, rootSecretKey: BlsSecretKey): Delegation {
  const tree = buildHashTree(subnetDelegationTreeData(input))
  return { subnetId: input.subnetId, certificate: encodeCertificate(signCertificate(tree, rootSecretKey)) }
}

function toDer(key: Uint8Array): Uint8Array {
  if (key.length === BLS_PUBLIC_KEY_DER_BYTES) return blsPublicKeyToDer(blsPublicKeyFromDer(key))
  return blsPublicKeyToDer(key)
}

function toRaw(key: Uint8Array): Uint8Array {
  if (key instanceof Uint8Array && key.length === BLS_PUBLIC_KEY_BYTES) return key
  return blsPublicKeyFromDer(key)
}

// ---------------------------------------------------------------------------------------------
// Verification

export interface VerifyOptions {
  /** Checked against the delegation's canister ranges when the certificate has a delegation. */
  readonly effectiveCanisterId?: Uint8Array
  /** Current time in ns; without it no freshness check is made (replicated code has no clock). */
  readonly now?: bigint
  readonly maxAgeNs?: bigint
  readonly maxFutureNs?: bigint
}

export interface VerifiedCertificate {
  readonly certificate: Certificate
  /** `/time` of the certificate, ns. */
  readonly time: bigint
  /** The raw 96-byte key the signature verified under (root key or delegated subnet key). */
  readonly signingKey: Uint8Array
  readonly subnetId?: Uint8Array
}

/**
 * Spec `verify_cert` plus the checks clients add: `/time` present and fresh, delegation without its
 * own delegation, subnet key found, effective canister id inside the delegated ranges.
 * `rootKey` is the 133-byte DER form clients hold, or the raw 96 bytes. Throws CERTIFICATE_INVALID.
 */
export function verifyCertificate(cert: Uint8Array | Certificate, rootKey: Uint8Array, opts: VerifyOptions = {}): VerifiedCertificate {
  let root: Uint8Array
  try {
    root = toRaw(rootKey)
  } catch (e) {
    throw invalid('root key is not a BLS public key', 'root_key', e)
  }
  return verifyWith(cert, root, opts, false)
}

function verifyWith(cert: Uint8Array | Certificate, rootKey: Uint8Array, opts: VerifyOptions, isDelegation: boolean): VerifiedCertificate {
  let c: Certificate
  try {
    c = cert instanceof Uint8Array ? decodeCertificate(cert) : cert
    assertWellFormed(c.tree)
  } catch (e) {
    if (isCapsaError(e, 'CERTIFICATE_INVALID')) throw e
    throw invalid(`malformed certificate: ${(e as Error).message}`, 'encoding', e)
  }
  let signingKey = rootKey
  let subnetId: Uint8Array | undefined
  if (c.delegation !== undefined) {
    if (isDelegation) throw invalid('a delegation certificate must not itself have a delegation', 'delegation')
    subnetId = c.delegation.subnetId
    signingKey = checkDelegation(c.delegation, rootKey, opts)
  }
  const t = lookupPath(['time'], c.tree)
  const time = t.status === 'found' ? decodeTime(t.value) : undefined
  if (time === undefined) throw invalid('certificate has no valid /time', 'time')
  if (opts.now !== undefined) {
    const maxAge = isDelegation ? DELEGATION_MAX_AGE_NS : (opts.maxAgeNs ?? CERTIFICATE_MAX_AGE_NS)
    const maxFuture = opts.maxFutureNs ?? CERTIFICATE_MAX_FUTURE_NS
    if (time < opts.now - maxAge) throw invalid(`certificate time ${time} is too old`, 'time')
    if (time > opts.now + maxFuture) throw invalid(`certificate time ${time} is in the future`, 'time')
  }
  if (!blsVerify(c.signature, stateRootMessage(c.tree), signingKey)) throw invalid('certificate signature does not verify', 'signature')
  return subnetId === undefined ? { certificate: c, time, signingKey } : { certificate: c, time, signingKey, subnetId }
}

function checkDelegation(d: Delegation, rootKey: Uint8Array, opts: VerifyOptions): Uint8Array {
  const inner = verifyWith(d.certificate, rootKey, { now: opts.now }, true)
  const tree = inner.certificate.tree
  const key = lookupPath(['subnet', d.subnetId, 'public_key'], tree)
  if (key.status !== 'found') throw invalid('delegation does not reveal the subnet public key', 'delegation')
  let subnetKey: Uint8Array
  try {
    subnetKey = blsPublicKeyFromDer(key.value)
  } catch (e) {
    throw invalid('delegated subnet key is not a DER BLS key', 'delegation', e)
  }
  if (opts.effectiveCanisterId !== undefined) {
    const ranges = delegatedRanges(tree, d.subnetId)
    if (ranges === undefined) throw invalid('delegation does not reveal the subnet canister ranges', 'ranges')
    if (!canisterIdInRanges(opts.effectiveCanisterId, ranges)) throw invalid('effective canister id is outside the delegated canister ranges', 'ranges')
  }
  return subnetKey
}

/**
 * The ranges a delegation grants: the revealed shards under `/canister_ranges/<sid>` if any (a
 * revealed range is a positive proof even when other shards are pruned), else the legacy
 * `/subnet/<sid>/canister_ranges`.
 */
export function delegatedRanges(tree: HashTree, subnetId: Uint8Array): CanisterRange[] | undefined {
  const shards = lookupSubtree(['canister_ranges', subnetId], tree)
  if (shards !== undefined) {
    const out: CanisterRange[] = []
    for (const c of flattenForks(shards)) if (c.kind === 'labeled' && c.subtree.kind === 'leaf') out.push(...decodeCanisterRanges(c.subtree.value))
    if (out.length > 0) return out
  }
  const legacy = lookupPath(['subnet', subnetId, 'canister_ranges'], tree)
  return legacy.status === 'found' ? decodeCanisterRanges(legacy.value) : undefined
}
