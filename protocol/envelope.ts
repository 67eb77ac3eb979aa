// The request envelope (spec "Authentication", requests.cddl): `{content, sender_pubkey?,
// sender_sig?, sender_delegation?}` with a call, query or read_state content map. Parsing checks
// every field's type and the size limits and keeps the decoded maps unchanged next to the typed
// view, because the request id and the delegation signatures are hashes of the maps as sent,
// unknown fields included.

import type { CborValue } from './cbor.ts'
import { CapsaError } from './errors.ts'
import { limits } from './limits.ts'

type CborMap = { [key: string]: CborValue }

export type RequestType = 'call' | 'query' | 'read_state'

interface ContentBase {
  sender: Uint8Array
  /** Nanoseconds since the epoch. */
  ingressExpiry: bigint
  nonce?: Uint8Array
  /** The content map as decoded: the request id is hash_of_map(raw). */
  raw: CborMap
}

/** Optional sender information, signed by `signer` (a canister signature); never sent by agent 3.4.3. */
export interface SenderInfo {
  info: Uint8Array
  signer: Uint8Array
  sig: Uint8Array
}

export interface CallContent extends ContentBase {
  requestType: 'call'
  canisterId: Uint8Array
  methodName: string
  arg: Uint8Array
  senderInfo?: SenderInfo
}

export interface QueryContent extends ContentBase {
  requestType: 'query'
  canisterId: Uint8Array
  methodName: string
  arg: Uint8Array
  senderInfo?: SenderInfo
}

export interface ReadStateContent extends ContentBase {
  requestType: 'read_state'
  paths: Uint8Array[][]
}

export type RequestContent = CallContent | QueryContent | ReadStateContent

export interface Delegation {
  pubkey: Uint8Array
  /** Nanoseconds since the epoch. */
  expiration: bigint
  targets?: Uint8Array[]
  permissions?: string
  /** The delegation map as decoded: the delegation signature is over hash_of_map(raw). */
  raw: CborMap
}

export interface SignedDelegation {
  delegation: Delegation
  signature: Uint8Array
}

export interface Envelope<C extends RequestContent = RequestContent> {
  content: C
  senderPubkey?: Uint8Array
  senderSig?: Uint8Array
  senderDelegation?: SignedDelegation[]
}

function malformed(field: string, message: string): CapsaError {
  return new CapsaError('REQUEST_MALFORMED', `${field}: ${message}`, { field })
}

function map(v: CborValue | undefined, field: string): CborMap {
  if (v === null || typeof v !== 'object' || Array.isArray(v) || v instanceof Uint8Array) throw malformed(field, 'must be a map')
  return v
}
function bytes(v: CborValue | undefined, field: string): Uint8Array {
  if (!(v instanceof Uint8Array)) throw malformed(field, 'must be a byte string')
  return v
}
function text(v: CborValue | undefined, field: string): string {
  if (typeof v !== 'string') throw malformed(field, 'must be a text string')
  return v
}
function nat(v: CborValue | undefined, field: string): bigint {
  if (typeof v === 'bigint' && v >= 0n) return v
  if (typeof v === 'number' && Number.isSafeInteger(v) && v >= 0) return BigInt(v)
  throw malformed(field, 'must be a natural number')
}
function array(v: CborValue | undefined, field: string): CborValue[] {
  if (!Array.isArray(v)) throw malformed(field, 'must be an array')
  return v
}
function principal(v: CborValue | undefined, field: string): Uint8Array {
  const b = bytes(v, field)
  if (b.length > limits.maxPrincipalBytes) throw malformed(field, `principal of ${b.length} bytes exceeds ${limits.maxPrincipalBytes}`)
  return b
}
function tooMany(field: string, count: number, max: number): CapsaError {
  return new CapsaError('LIMIT_EXCEEDED', `${field}: ${count} entries exceed the limit of ${max}`, { field, count, max })
}

function parseSenderInfo(v: CborValue | undefined): SenderInfo {
  const m = map(v, 'content.sender_info')
  return {
    info: bytes(m.info, 'content.sender_info.info'),
    signer: principal(m.signer, 'content.sender_info.signer'),
    sig: bytes(m.sig, 'content.sender_info.sig'),
  }
}

/** Parses the content map of a call, query or read_state request. */
export function parseContent(v: CborValue | undefined): RequestContent {
  const raw = map(v, 'content')
  const requestType = text(raw.request_type, 'content.request_type')
  const base: ContentBase = {
    sender: principal(raw.sender, 'content.sender'),
    ingressExpiry: nat(raw.ingress_expiry, 'content.ingress_expiry'),
    raw,
  }
  if (raw.nonce !== undefined) {
    const nonce = bytes(raw.nonce, 'content.nonce')
    if (nonce.length > limits.maxNonceBytes) throw malformed('content.nonce', `${nonce.length} bytes exceed ${limits.maxNonceBytes}`)
    base.nonce = nonce
  }
  switch (requestType) {
    case 'call':
    case 'query': {
      const methodName = text(raw.method_name, 'content.method_name')
      // The limit is on the name's size in bytes; UTF-8 takes at most 3 bytes per UTF-16 unit.
      if (methodName.length * 3 > limits.maxMethodNameBytes && Buffer.byteLength(methodName) > limits.maxMethodNameBytes) {
        throw new CapsaError('LIMIT_EXCEEDED', `content.method_name: longer than ${limits.maxMethodNameBytes} bytes`, { field: 'content.method_name' })
      }
      const c = {
        ...base,
        requestType,
        canisterId: principal(raw.canister_id, 'content.canister_id'),
        methodName,
        arg: bytes(raw.arg, 'content.arg'),
      } satisfies CallContent | QueryContent
      if (raw.sender_info !== undefined) return { ...c, senderInfo: parseSenderInfo(raw.sender_info) }
      return c
    }
    case 'read_state':
      return { ...base, requestType, paths: parsePaths(raw.paths) }
    default:
      throw malformed('content.request_type', `unknown request type ${JSON.stringify(requestType.slice(0, 40))}`)
  }
}

function parsePaths(v: CborValue | undefined): Uint8Array[][] {
  const paths = array(v, 'content.paths')
  if (paths.length > limits.maxReadStatePaths) throw tooMany('content.paths', paths.length, limits.maxReadStatePaths)
  return paths.map((p, i) => {
    const labels = array(p, `content.paths[${i}]`)
    if (labels.length > limits.maxReadStatePathLabels) throw tooMany(`content.paths[${i}]`, labels.length, limits.maxReadStatePathLabels)
    return labels.map((l, j) => bytes(l, `content.paths[${i}][${j}]`))
  })
}

function parseSignedDelegation(v: CborValue, i: number): SignedDelegation {
  const field = `sender_delegation[${i}]`
  const m = map(v, field)
  const raw = map(m.delegation, `${field}.delegation`)
  const delegation: Delegation = {
    pubkey: bytes(raw.pubkey, `${field}.delegation.pubkey`),
    expiration: nat(raw.expiration, `${field}.delegation.expiration`),
    raw,
  }
  if (raw.targets !== undefined) {
    const targets = array(raw.targets, `${field}.delegation.targets`)
    if (targets.length > limits.maxDelegationTargets) {
      throw new CapsaError('DELEGATION_INVALID', `${field}.delegation.targets: ${targets.length} targets exceed ${limits.maxDelegationTargets}`, { field: `${field}.delegation.targets` })
    }
    delegation.targets = targets.map((t, j) => principal(t, `${field}.delegation.targets[${j}]`))
  }
  if (raw.permissions !== undefined) delegation.permissions = text(raw.permissions, `${field}.delegation.permissions`)
  return { delegation, signature: bytes(m.signature, `${field}.signature`) }
}

/**
 * Parses a decoded request body. `expected`, when given, is the request type the endpoint serves
 * (a query body posted to /call is malformed). Unknown envelope keys are ignored, as the IC does.
 */
export function parseEnvelope(body: CborValue, expected?: RequestType): Envelope {
  const m = map(body, 'envelope')
  const content = parseContent(m.content)
  if (expected !== undefined && content.requestType !== expected) {
    throw malformed('content.request_type', `expected ${expected}, got ${content.requestType}`)
  }
  const env: Envelope = { content }
  if (m.sender_pubkey !== undefined) env.senderPubkey = bytes(m.sender_pubkey, 'sender_pubkey')
  if (m.sender_sig !== undefined) env.senderSig = bytes(m.sender_sig, 'sender_sig')
  if (m.sender_delegation !== undefined) {
    const chain = array(m.sender_delegation, 'sender_delegation')
    if (chain.length > limits.maxDelegations) {
      throw new CapsaError('DELEGATION_TOO_LONG', `sender_delegation: ${chain.length} delegations exceed ${limits.maxDelegations}`, { field: 'sender_delegation' })
    }
    env.senderDelegation = chain.map(parseSignedDelegation)
  }
  return env
}
