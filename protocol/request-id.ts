// Representation-independent hashing (spec "hash-of-map"), computed generically over decoded CBOR
// so that fields this replica does not model still count in the request id, exactly as the signer
// hashed them. The request id is hash_of_map(content).

import type { CborValue } from './cbor.ts'
import { CapsaError } from './errors.ts'
import { compareBytes, sha256 } from './hash.ts'
import type { RequestId } from './ids.ts'
import { encodeSleb128, encodeUleb128 } from './leb128.ts'

const textEncoder = new TextEncoder()

type CborMap = { [key: string]: CborValue }

// Field names of the interface's maps: their hashes are fixed, and hashing them afresh would be
// about half the SHA-256 calls of a request id. Other keys are hashed as they come.
const KNOWN_KEY_HASHES = new Map<string, Uint8Array>(
  [
    'request_type', 'sender', 'ingress_expiry', 'canister_id', 'method_name', 'arg', 'nonce', 'paths', 'sender_info',
    'info', 'signer', 'sig', 'pubkey', 'expiration', 'targets', 'permissions', 'status', 'reply', 'timestamp', 'request_id',
    'reject_code', 'reject_message', 'error_code',
  ].map((k) => [k, sha256(textEncoder.encode(k))]),
)

function keyHash(k: string): Uint8Array {
  return KNOWN_KEY_HASHES.get(k) ?? sha256(textEncoder.encode(k))
}

/**
 * Hash of one value: blob and text hash their bytes, a non-negative integer its unsigned LEB128
 * (CBOR cannot tell a nat from a non-negative int, and every integer field of the interface is a
 * nat), a negative integer its signed LEB128, an array the concatenation of its elements' hashes,
 * a map its hash_of_map. Booleans, null and floats have no defined hash.
 */
export function hashValue(value: CborValue, path = 'value'): Uint8Array {
  if (value instanceof Uint8Array) return sha256(value)
  switch (typeof value) {
    case 'string':
      return sha256(textEncoder.encode(value))
    case 'bigint':
      return sha256(value >= 0n ? encodeUleb128(value) : encodeSleb128(value))
    case 'number':
      if (!Number.isSafeInteger(value)) throw unhashable(path, 'a non-integer or unsafe number')
      return sha256(value >= 0 ? encodeUleb128(value) : encodeSleb128(value))
    case 'object':
      if (value === null) throw unhashable(path, 'null')
      if (Array.isArray(value)) return sha256(...value.map((v, i) => hashValue(v, `${path}[${i}]`)))
      return hashOfMap(value, path)
    default:
      throw unhashable(path, `a ${typeof value}`)
  }
}

function unhashable(path: string, what: string): CapsaError {
  return new CapsaError('REQUEST_MALFORMED', `${path} is ${what}, which has no representation-independent hash`, { field: path })
}

/** hash_of_map: SHA-256 over the sorted concatenations H(key)·H(value) of the present fields. */
export function hashOfMap(map: CborMap, path = 'map'): Uint8Array {
  const keys = Object.keys(map)
  const pairs: Uint8Array[] = new Array(keys.length)
  for (let i = 0; i < keys.length; i++) {
    const k = keys[i]
    const pair = new Uint8Array(64)
    pair.set(keyHash(k))
    pair.set(hashValue(map[k], `${path}.${k}`), 32)
    pairs[i] = pair
  }
  // Keys are distinct, so their hashes are (barring a SHA-256 collision): sorting on the whole pair
  // equals sorting on the key hash, as the spec's "sort the concatenations" reads.
  pairs.sort(compareBytes)
  return sha256(...pairs)
}

/** The 32-byte request id of a request's decoded `content` map. */
export function requestId(content: CborMap): RequestId {
  return hashOfMap(content, 'content') as RequestId
}
