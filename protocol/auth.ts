// Request authentication (spec "Authentication" and "Signatures", ic-compat §3.4): anonymous
// requests, or a self-authenticating sender whose key (directly or through a delegation chain)
// signed `\x0Aic-request · request_id`.
//
// Verification uses node:crypto (OpenSSL) rather than noble-curves 2: bench/crypto/auth.bench.ts
// measured about 14× more Ed25519 verifications per second (7,700 vs 560), 4× more for secp256k1
// (2,300 vs 520) and 20× more for P-256 (5,500 vs 270), and OpenSSL takes the DER
// SubjectPublicKeyInfo the agent sends as is. Both are deterministic; only the speed differs.
// OpenSSL, like the IC, does not insist on low-s ECDSA signatures (WebCrypto P-256 does not produce them).

import { createPublicKey, verify, type KeyObject } from 'node:crypto'
import type { Envelope, SignedDelegation } from './envelope.ts'
import { CapsaError } from './errors.ts'
import { bytesEqual, DOMAIN, toHex } from './hash.ts'
import type { RequestId } from './ids.ts'
import { limits } from './limits.ts'
import { isAnonymous, selfAuthenticating } from './principal.ts'
import { hashOfMap, requestId as computeRequestId } from './request-id.ts'

export type SignatureScheme = 'ed25519' | 'ecdsa-secp256k1' | 'ecdsa-p256'

/** A parsed key; shared through the import cache, so never mutate it. */
export interface PublicKey {
  readonly scheme: SignatureScheme
  readonly der: Uint8Array
  readonly key: KeyObject
}

// The exact DER SubjectPublicKeyInfo prefixes the agent's identities produce (RFC 8410 / RFC 5480,
// uncompressed points). Anything else is refused before OpenSSL sees it, so no alternative DER
// spelling of the same key can yield a second self-authenticating principal.
/** The SubjectPublicKeyInfo prefix of a raw 32-byte Ed25519 key (RFC 8410). */
export const ED25519_DER_PREFIX: Uint8Array = hex('302a300506032b6570032100')

/** A raw Ed25519 public key as the 44-byte DER the IC uses (node ids, /subnet/<id>/node keys). */
export function ed25519PublicKeyDer(raw: Uint8Array): Uint8Array {
  const der = new Uint8Array(ED25519_DER_PREFIX.length + raw.length)
  der.set(ED25519_DER_PREFIX)
  der.set(raw, ED25519_DER_PREFIX.length)
  return der
}

const DER_PREFIXES: readonly { scheme: SignatureScheme; prefix: Uint8Array; length: number }[] = [
  { scheme: 'ed25519', prefix: ED25519_DER_PREFIX, length: 44 },
  { scheme: 'ecdsa-secp256k1', prefix: hex('3056301006072a8648ce3d020106052b8104000a034200'), length: 88 },
  { scheme: 'ecdsa-p256', prefix: hex('3059301306072a8648ce3d020106082a8648ce3d030107034200'), length: 91 },
]
// OIDs 1.3.6.1.4.1.56387.1.1 (DER-wrapped COSE, WebAuthn) and .1.2 (canister signatures).
const WEBAUTHN_OID = hex('060a2b0601040183b8430101')
const CANISTER_SIG_OID = hex('060a2b0601040183b8430102')

function hex(h: string): Uint8Array {
  return Uint8Array.from(Buffer.from(h, 'hex'))
}

function startsWith(b: Uint8Array, prefix: Uint8Array): boolean {
  if (b.length < prefix.length) return false
  for (let i = 0; i < prefix.length; i++) if (b[i] !== prefix[i]) return false
  return true
}

function containsAt(b: Uint8Array, needle: Uint8Array, maxOffset: number): boolean {
  for (let o = 0; o <= maxOffset && o + needle.length <= b.length; o++) {
    if (startsWith(b.subarray(o), needle)) return true
  }
  return false
}

// Importing a key into OpenSSL costs a third of an Ed25519 verification, and a client signs many
// requests with one key: keep the most recently used imports. Keyed by the DER bytes, so a hit
// returns exactly what a fresh import would; only valid keys are cached.
const KEY_CACHE_SIZE = 1024
const keyCache = new Map<string, PublicKey>()

/** Parses a DER public key of a supported scheme; throws PUBLIC_KEY_INVALID naming `field`. */
export function parsePublicKey(der: Uint8Array, field = 'sender_pubkey'): PublicKey {
  const cacheKey = toHex(der)
  const hit = keyCache.get(cacheKey)
  if (hit !== undefined) {
    keyCache.delete(cacheKey)
    keyCache.set(cacheKey, hit)
    return hit
  }
  for (const { scheme, prefix, length } of DER_PREFIXES) {
    if (der.length === length && startsWith(der, prefix)) {
      let key: KeyObject
      try {
        key = createPublicKey({ key: Buffer.from(der.buffer, der.byteOffset, der.byteLength), format: 'der', type: 'spki' })
      } catch (e) {
        // e.g. an ECDSA point that is not on the curve
        throw new CapsaError('PUBLIC_KEY_INVALID', `${field}: invalid ${scheme} public key`, { field }, { cause: e })
      }
      const pk: PublicKey = { scheme, der: der.slice(), key }
      if (keyCache.size >= KEY_CACHE_SIZE) keyCache.delete(keyCache.keys().next().value!)
      keyCache.set(cacheKey, pk)
      return pk
    }
  }
  // The OID sits right after the outer and algorithm SEQUENCE headers (offset 4 to 8 with long-form lengths).
  if (containsAt(der, WEBAUTHN_OID, 8)) {
    throw new CapsaError('PUBLIC_KEY_INVALID', `${field}: WebAuthn public keys (DER-wrapped COSE) are not supported yet`, { field, scheme: 'webauthn' })
  }
  if (containsAt(der, CANISTER_SIG_OID, 8)) {
    throw new CapsaError('PUBLIC_KEY_INVALID', `${field}: canister signature public keys are not supported yet`, { field, scheme: 'canister-signature' })
  }
  throw new CapsaError('PUBLIC_KEY_INVALID', `${field}: not a DER-encoded Ed25519, ECDSA secp256k1 or ECDSA P-256 public key`, { field })
}

/** Verifies `signature` on `domain · message`. Signatures are 64 bytes for all supported schemes. */
export function verifySignature(pk: PublicKey, domain: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean {
  if (signature.length !== 64) return false
  const payload = new Uint8Array(domain.length + message.length)
  payload.set(domain)
  payload.set(message, domain.length)
  try {
    return pk.scheme === 'ed25519'
      ? verify(null, payload, pk.key, signature)
      : verify('sha256', payload, { key: pk.key, dsaEncoding: 'ieee-p1363' }, signature)
  } catch {
    return false
  }
}

export interface AuthContext {
  /** Current time in ns since the epoch (delegation expiry); never read from a clock here. */
  now: bigint
  /**
   * The effective canister id of the HTTP request; delegation targets of read_state are checked
   * against it, those of call and query against the content's canister_id (also for aaaaa-aa).
   */
  effectiveCanisterId?: Uint8Array
  /** The request id if the caller already computed it. */
  requestId?: RequestId
}

export interface AuthResult {
  sender: Uint8Array
  requestId: RequestId
  scheme: SignatureScheme | 'anonymous'
  /** Intersection of all delegation targets; undefined when the chain does not restrict targets. */
  targets?: Uint8Array[]
  /** 'queries' when some delegation restricts the chain to queries and read_state. */
  permissions: 'all' | 'queries'
}

function fail(code: 'REQUEST_MALFORMED' | 'SIGNATURE_INVALID' | 'SENDER_MISMATCH' | 'DELEGATION_INVALID' | 'DELEGATION_EXPIRED' | 'DELEGATION_TOO_LONG' | 'DELEGATION_TARGET', message: string, detail?: Record<string, unknown>): never {
  throw new CapsaError(code, message, detail)
}

/**
 * Authenticates a parsed envelope. Returns the sender and what the delegation chain permits, or
 * throws a CapsaError: REQUEST_MALFORMED (fields present/absent against the spec's rules),
 * PUBLIC_KEY_INVALID, SENDER_MISMATCH, SIGNATURE_INVALID, DELEGATION_INVALID, DELEGATION_EXPIRED,
 * DELEGATION_TOO_LONG, DELEGATION_TARGET. Ingress expiry is a separate check (expiry.ts).
 */
export function authenticate(env: Envelope, ctx: AuthContext): AuthResult {
  const { content } = env
  const rid = ctx.requestId ?? computeRequestId(content.raw)
  if (isAnonymous(content.sender)) {
    if (env.senderPubkey !== undefined || env.senderSig !== undefined || env.senderDelegation !== undefined) {
      fail('REQUEST_MALFORMED', 'anonymous requests must not carry sender_pubkey, sender_sig or sender_delegation', { field: 'sender_pubkey' })
    }
    return { sender: content.sender, requestId: rid, scheme: 'anonymous', permissions: 'all' }
  }
  if (env.senderPubkey === undefined) fail('REQUEST_MALFORMED', 'sender_pubkey is required for a non-anonymous sender', { field: 'sender_pubkey' })
  if (env.senderSig === undefined) fail('REQUEST_MALFORMED', 'sender_sig is required for a non-anonymous sender', { field: 'sender_sig' })
  const root = parsePublicKey(env.senderPubkey, 'sender_pubkey')
  if (!bytesEqual(content.sender, selfAuthenticating(env.senderPubkey))) {
    fail('SENDER_MISMATCH', 'sender is not the self-authenticating principal of sender_pubkey', { field: 'content.sender' })
  }
  const chain = verifyDelegationChain(root, env.senderDelegation ?? [], ctx.now)
  if (chain.permissions === 'queries' && content.requestType === 'call') {
    fail('DELEGATION_INVALID', 'the delegation chain only permits queries and read_state, not calls', { field: 'sender_delegation' })
  }
  if (chain.targets !== undefined) {
    const target = content.requestType === 'read_state' ? ctx.effectiveCanisterId : content.canisterId
    if (target === undefined) fail('DELEGATION_TARGET', 'delegation targets are restricted but the request has no effective canister id')
    if (!chain.targets.some((t) => bytesEqual(t, target))) {
      fail('DELEGATION_TARGET', `canister ${toHex(target)} is not among the delegation targets`, { field: 'sender_delegation' })
    }
  }
  if (!verifySignature(chain.signer, DOMAIN.request, rid, env.senderSig)) {
    fail('SIGNATURE_INVALID', `sender_sig is not a valid ${chain.signer.scheme} signature on the request id`, { field: 'sender_sig' })
  }
  return { sender: content.sender, requestId: rid, scheme: chain.signer.scheme, targets: chain.targets, permissions: chain.permissions }
}

export interface VerifiedChain {
  /** The key that must have made `sender_sig`: the last delegation's, or the root key. */
  signer: PublicKey
  targets?: Uint8Array[]
  permissions: 'all' | 'queries'
}

/**
 * Verifies a delegation chain starting at `root` (sender_pubkey): each delegation signed by the
 * previous key over `\x1Aic-request-auth-delegation · hash_of_map(delegation)`, unexpired at `now`,
 * no key appearing twice, at most 20 long. Targets are intersected along the chain.
 */
export function verifyDelegationChain(root: PublicKey, chain: readonly SignedDelegation[], now: bigint): VerifiedChain {
  if (chain.length > limits.maxDelegations) {
    fail('DELEGATION_TOO_LONG', `${chain.length} delegations exceed the limit of ${limits.maxDelegations}`, { field: 'sender_delegation' })
  }
  let signer = root
  let targets: Uint8Array[] | undefined
  let permissions: 'all' | 'queries' = 'all'
  const seen = new Set<string>([toHex(root.der)])
  for (let i = 0; i < chain.length; i++) {
    const { delegation, signature } = chain[i]
    const field = `sender_delegation[${i}]`
    const keyHex = toHex(delegation.pubkey)
    if (seen.has(keyHex)) fail('DELEGATION_INVALID', `${field}: public key already appears earlier in the chain`, { field })
    seen.add(keyHex)
    if (!verifySignature(signer, DOMAIN.requestAuthDelegation, hashOfMap(delegation.raw, `${field}.delegation`), signature)) {
      fail('DELEGATION_INVALID', `${field}: signature is not valid for the delegating key`, { field })
    }
    if (delegation.expiration < now) {
      fail('DELEGATION_EXPIRED', `${field}: delegation expired at ${delegation.expiration} ns (now ${now} ns)`, { field })
    }
    if (delegation.permissions !== undefined) {
      if (delegation.permissions === 'queries') permissions = 'queries'
      else if (delegation.permissions !== 'all') fail('DELEGATION_INVALID', `${field}: unknown permissions ${JSON.stringify(delegation.permissions.slice(0, 40))}`, { field })
    }
    if (delegation.targets !== undefined) {
      // Hex sets keep the intersection linear: 20 delegations × 1000 targets each is allowed.
      const next = new Set(delegation.targets.map(toHex))
      targets = targets === undefined ? delegation.targets.slice() : targets.filter((t) => next.has(toHex(t)))
    }
    signer = parsePublicKey(delegation.pubkey, `${field}.delegation.pubkey`)
  }
  return { signer, targets, permissions }
}
