// Principals (spec "Principals"): 0..29-byte blobs whose last byte tells their class, written as
// Grouped(Base32(CRC32·bytes)). @dfinity/principal does the textual encoding (CRC32, base32, dashes)
// so our text is byte-for-byte the agent's; this module adds what the replica needs on top: coded
// errors instead of untyped ones, the length limit, classes, and canister-id/range arithmetic.

import { Principal } from '@dfinity/principal'
import { CapsaError } from './errors.ts'
import { compareBytes, sha224 } from './hash.ts'
import type { CanisterId } from './ids.ts'
import { limits } from './limits.ts'

export type PrincipalClass = 'management' | 'opaque' | 'self-authenticating' | 'derived' | 'anonymous' | 'reserved'

export const SELF_AUTHENTICATING_SUFFIX = 0x02
export const DERIVED_SUFFIX = 0x03
export const ANONYMOUS_SUFFIX = 0x04
export const RESERVED_SUFFIX = 0x7f

/** The anonymous principal `2vxsx-fae`. */
export const ANONYMOUS_PRINCIPAL: Uint8Array = Uint8Array.of(ANONYMOUS_SUFFIX)
/** The management canister `aaaaa-aa` is the empty blob. */
export const MANAGEMENT_CANISTER_ID = new Uint8Array(0) as CanisterId

/** Throws PRINCIPAL_MALFORMED unless `bytes` is a byte string of at most 29 bytes. */
export function checkPrincipalBytes(bytes: unknown, what = 'principal'): Uint8Array {
  if (!(bytes instanceof Uint8Array)) throw new CapsaError('PRINCIPAL_MALFORMED', `${what} must be a byte string`, { field: what })
  if (bytes.length > limits.maxPrincipalBytes) {
    throw new CapsaError('PRINCIPAL_MALFORMED', `${what} is ${bytes.length} bytes, more than ${limits.maxPrincipalBytes}`, { field: what })
  }
  return bytes
}

export function principalToText(bytes: Uint8Array): string {
  return Principal.fromUint8Array(checkPrincipalBytes(bytes)).toText()
}

// Longest text: 29 + 4 bytes → 53 base32 characters + 10 dashes.
const MAX_TEXT_LENGTH = 63
const TEXT_SHAPE = /^[a-z2-7]{1,5}(-[a-z2-7]{1,5})*$/

/**
 * Parses the textual form case-insensitively (spec) and insists that re-encoding reproduces it,
 * which checks the CRC32 and the dash grouping in one step.
 */
export function principalFromText(text: string): Uint8Array {
  if (typeof text !== 'string') throw new CapsaError('PRINCIPAL_MALFORMED', 'principal text must be a string')
  const lower = text.toLowerCase()
  // The shape test comes first so nothing unexpected (JSON, padding, other alphabets) reaches the
  // library parser, which has extra conveniences we do not want on the wire.
  if (lower.length > MAX_TEXT_LENGTH || !TEXT_SHAPE.test(lower)) {
    throw new CapsaError('PRINCIPAL_MALFORMED', `not a textual principal: ${JSON.stringify(text.slice(0, 80))}`)
  }
  let bytes: Uint8Array
  try {
    bytes = Principal.fromText(lower).toUint8Array()
  } catch (e) {
    throw new CapsaError('PRINCIPAL_MALFORMED', `invalid principal ${JSON.stringify(text)}: ${(e as Error).message}`, undefined, { cause: e })
  }
  checkPrincipalBytes(bytes, `principal ${text}`)
  return bytes.slice()
}

export function principalClass(bytes: Uint8Array): PrincipalClass {
  if (bytes.length === 0) return 'management'
  const last = bytes[bytes.length - 1]
  if (last === SELF_AUTHENTICATING_SUFFIX && bytes.length === 29) return 'self-authenticating'
  if (last === DERIVED_SUFFIX && bytes.length === 29) return 'derived'
  if (last === ANONYMOUS_SUFFIX && bytes.length === 1) return 'anonymous'
  if (last === RESERVED_SUFFIX) return 'reserved'
  return 'opaque'
}

export function isAnonymous(bytes: Uint8Array): boolean {
  return bytes.length === 1 && bytes[0] === ANONYMOUS_SUFFIX
}

/** `SHA-224(der) · 0x02`: the principal a DER-encoded public key authenticates. */
export function selfAuthenticating(derPublicKey: Uint8Array): Uint8Array {
  const out = new Uint8Array(29)
  out.set(sha224(derPublicKey))
  out[28] = SELF_AUTHENTICATING_SUFFIX
  return out
}

// ---------------------------------------------------------------------------------------------
// Canister ids and ranges

const U64_MAX = (1n << 64n) - 1n

/** The IC's canister id layout: `u64_be(index) · 0x01 · 0x01` (10 bytes, an opaque id). */
export function canisterIdFromIndex(index: bigint | number): CanisterId {
  const i = BigInt(index)
  if (i < 0n || i > U64_MAX) throw new CapsaError('INVALID_ARGUMENT', `canister index out of range: ${i}`)
  const out = new Uint8Array(10)
  new DataView(out.buffer).setBigUint64(0, i)
  out[8] = 0x01
  out[9] = 0x01
  return out as CanisterId
}

/** The index of a canister id in the IC layout, or undefined if `id` does not have that layout. */
export function canisterIndexOf(id: Uint8Array): bigint | undefined {
  if (id.length !== 10 || id[8] !== 0x01 || id[9] !== 0x01) return undefined
  return new DataView(id.buffer, id.byteOffset, id.byteLength).getBigUint64(0)
}

/** An inclusive range of principals, ordered bytewise with shorter-is-smaller on a common prefix. */
export type CanisterRange = readonly [start: Uint8Array, end: Uint8Array]

export function canisterIdInRange(id: Uint8Array, [start, end]: CanisterRange): boolean {
  return compareBytes(start, id) <= 0 && compareBytes(id, end) <= 0
}

export function canisterIdInRanges(id: Uint8Array, ranges: readonly CanisterRange[]): boolean {
  for (const r of ranges) if (canisterIdInRange(id, r)) return true
  return false
}

/** Canister indices per subnet in the recommended allocation (2^20, as the IC does). */
export const CANISTERS_PER_SUBNET = 1n << 20n

/** The range subnet `k` owns: indices [k·2^20, (k+1)·2^20 − 1]. */
export function subnetCanisterRange(k: bigint | number): CanisterRange {
  const s = BigInt(k)
  if (s < 0n || (s + 1n) * CANISTERS_PER_SUBNET - 1n > U64_MAX) throw new CapsaError('INVALID_ARGUMENT', `subnet number out of range: ${s}`)
  return [canisterIdFromIndex(s * CANISTERS_PER_SUBNET), canisterIdFromIndex((s + 1n) * CANISTERS_PER_SUBNET - 1n)]
}
