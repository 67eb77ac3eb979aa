// Consensus messages on the wire (for node/'s transport): CBOR maps with short keys. Decoding checks
// every field's type and size and throws a coded CapsaError, so a malformed message from a peer can
// never reach the pool as a half-typed object.

import { type CborValue, asArray, asBytes, asMap, asNat, asText, decodeCbor, encodeCbor } from '../protocol/cbor.ts'
import { CapsaError } from '../protocol/errors.ts'
import { limits } from '../protocol/limits.ts'
import { blockValue } from './encoding.ts'
import type { Artifact, Block, ConsensusMessage, RandomBeacon } from './types.ts'

const MAX_MESSAGE_BYTES = limits.maxBlockPayloadBytes + 64 * 1024
const MAX_SIGNERS = 1024

function shape(what: string): CapsaError {
  return new CapsaError('CBOR_UNEXPECTED_SHAPE', `consensus message: ${what}`)
}

function beaconValue(b: RandomBeacon): CborValue {
  return { height: b.height, parent: b.parent, sig: b.signature }
}

function artifactToCbor(a: Artifact): CborValue {
  switch (a.kind) {
    case 'proposal':
      return { k: a.kind, block: blockValue(a.block), hash: a.hash, signer: a.signer, sig: a.signature }
    case 'beacon':
      return { k: a.kind, ...(beaconValue(a) as { [key: string]: CborValue }) }
    case 'beaconShare':
      return { k: a.kind, height: a.height, parent: a.parent, signer: a.signer, sig: a.signature }
    case 'notarization':
    case 'finalization':
      return { k: a.kind, height: a.height, block: a.block, signers: [...a.signers], sigs: [...a.signatures] }
    case 'notarizationShare':
    case 'finalizationShare':
      return { k: a.kind, height: a.height, block: a.block, signer: a.signer, sig: a.signature }
    case 'certificationShare':
      return { k: a.kind, height: a.height, state_hash: a.stateHash, signer: a.signer, sig: a.signature }
    case 'certification':
      return { k: a.kind, height: a.height, state_hash: a.stateHash, sig: a.signature }
    case 'cup':
      return { k: a.kind, block: blockValue(a.content.block), block_hash: a.content.blockHash, beacon: beaconValue(a.content.beacon), state_hash: a.content.stateHash, sig: a.signature }
    case 'cupShare':
      return { k: a.kind, height: a.height, content_hash: a.contentHash, signer: a.signer, sig: a.signature }
  }
}

export function encodeMessage(m: ConsensusMessage): Uint8Array {
  const v: CborValue = m.type === 'status'
    ? { t: 'status', cup: m.cup, finalized: m.finalized, notarized: m.notarized, beacon: m.beacon, certified: m.certified }
    : { t: 'artifact', a: artifactToCbor(m.artifact) }
  return encodeCbor(v, { selfDescribe: false })
}

const hash32 = (v: CborValue | undefined, what: string): Uint8Array => {
  const b = asBytes(v, what)
  if (b.length !== 32) throw shape(`${what} must be 32 bytes`)
  return b
}
const sig = (v: CborValue | undefined, what: string): Uint8Array => {
  const b = asBytes(v, what)
  if (b.length > 128) throw shape(`${what} too long`)
  return b
}
const index = (v: CborValue | undefined, what: string): number => {
  const x = asNat(v, what)
  if (x > 0xffffn) throw shape(`${what} out of range`)
  return Number(x)
}
const u64 = (v: CborValue | undefined, what: string): bigint => {
  const x = asNat(v, what)
  if (x >= 1n << 64n) throw shape(`${what} out of range`)
  return x
}

function decodeBlock(v: CborValue | undefined): Block {
  const m = asMap(v, 'block')
  const payload = asArray(m.payload, 'block.payload')
  if (payload.length > limits.maxIngressPerBlock) throw new CapsaError('LIMIT_EXCEEDED', 'too many messages in a block')
  return {
    height: u64(m.height, 'block.height'),
    parent: hash32(m.parent, 'block.parent'),
    rank: index(m.rank, 'block.rank'),
    time: u64(m.time, 'block.time'),
    certifiedHeight: u64(m.certified_height, 'block.certified_height'),
    payload: {
      messages: payload.map((x) => {
        const pair = asArray(x, 'payload message')
        if (pair.length !== 2) throw shape('payload message must be [id, bytes]')
        return { id: asBytes(pair[0], 'message id'), bytes: asBytes(pair[1], 'message bytes') }
      }),
    },
  }
}

function decodeBeacon(m: { [key: string]: CborValue }): RandomBeacon {
  return { kind: 'beacon', height: u64(m.height, 'beacon.height'), parent: hash32(m.parent, 'beacon.parent'), signature: sig(m.sig, 'beacon.sig') }
}

function decodeArtifact(v: CborValue | undefined): Artifact {
  const m = asMap(v, 'artifact')
  const kind = asText(m.k, 'artifact kind')
  switch (kind) {
    case 'proposal':
      return { kind, block: decodeBlock(m.block), hash: hash32(m.hash, 'hash'), signer: index(m.signer, 'signer'), signature: sig(m.sig, 'sig') }
    case 'beacon':
      return decodeBeacon(m)
    case 'beaconShare':
      return { kind, height: u64(m.height, 'height'), parent: hash32(m.parent, 'parent'), signer: index(m.signer, 'signer'), signature: sig(m.sig, 'sig') }
    case 'notarization':
    case 'finalization': {
      const signers = asArray(m.signers, 'signers')
      const sigs = asArray(m.sigs, 'sigs')
      if (signers.length > MAX_SIGNERS || signers.length !== sigs.length) throw shape('signers and signatures must pair up')
      return { kind, height: u64(m.height, 'height'), block: hash32(m.block, 'block'), signers: signers.map((s) => index(s, 'signer')), signatures: sigs.map((s) => sig(s, 'sig')) }
    }
    case 'notarizationShare':
    case 'finalizationShare':
      return { kind, height: u64(m.height, 'height'), block: hash32(m.block, 'block'), signer: index(m.signer, 'signer'), signature: sig(m.sig, 'sig') }
    case 'certificationShare':
      return { kind, height: u64(m.height, 'height'), stateHash: hash32(m.state_hash, 'state_hash'), signer: index(m.signer, 'signer'), signature: sig(m.sig, 'sig') }
    case 'certification':
      return { kind, height: u64(m.height, 'height'), stateHash: hash32(m.state_hash, 'state_hash'), signature: sig(m.sig, 'sig') }
    case 'cup':
      return {
        kind,
        content: { block: decodeBlock(m.block), blockHash: hash32(m.block_hash, 'block_hash'), beacon: decodeBeacon(asMap(m.beacon, 'beacon')), stateHash: hash32(m.state_hash, 'state_hash') },
        signature: sig(m.sig, 'sig'),
      }
    case 'cupShare':
      return { kind, height: u64(m.height, 'height'), contentHash: hash32(m.content_hash, 'content_hash'), signer: index(m.signer, 'signer'), signature: sig(m.sig, 'sig') }
    default:
      throw shape(`unknown artifact kind ${kind.slice(0, 32)}`)
  }
}

export function decodeMessage(bytes: Uint8Array): ConsensusMessage {
  if (bytes.length > MAX_MESSAGE_BYTES) throw new CapsaError('LIMIT_EXCEEDED', 'consensus message too large')
  const m = asMap(decodeCbor(bytes), 'consensus message')
  const t = asText(m.t, 'message type')
  if (t === 'status') {
    return { type: 'status', cup: u64(m.cup, 'cup'), finalized: u64(m.finalized, 'finalized'), notarized: u64(m.notarized, 'notarized'), beacon: u64(m.beacon, 'beacon'), certified: u64(m.certified, 'certified') }
  }
  if (t === 'artifact') return { type: 'artifact', artifact: decodeArtifact(m.a) }
  throw shape(`unknown message type ${t.slice(0, 32)}`)
}
