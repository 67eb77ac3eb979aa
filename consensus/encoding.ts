// Canonical bytes for everything consensus signs or hashes: CBOR (one encoder, no JSON) behind a
// per-type domain separator, so a signature on one artifact type can never pass for another.

import { encodeCbor, type CborValue } from '../protocol/cbor.ts'
import { DOMAIN, domainSeparator, sha256, toHex } from '../protocol/hash.ts'
import type { Artifact, Block, CatchUpContent, Hash, RandomBeacon } from './types.ts'

const D = {
  block: domainSeparator('capsa-block'),
  beacon: domainSeparator('capsa-random-beacon'),
  beaconValue: domainSeparator('capsa-random-beacon-value'),
  notarization: domainSeparator('capsa-notarization'),
  finalization: domainSeparator('capsa-finalization'),
  proposal: domainSeparator('capsa-block-proposal'),
  cupContent: domainSeparator('capsa-catch-up-content'),
  cup: domainSeparator('capsa-catch-up-package'),
  ranking: domainSeparator('capsa-blockmaker-ranking'),
  tape: domainSeparator('capsa-random-tape'),
  artifact: domainSeparator('capsa-artifact'),
} as const

const cbor = (v: CborValue): Uint8Array => encodeCbor(v, { selfDescribe: false })

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length)
  out.set(a)
  out.set(b, a.length)
  return out
}

export function blockValue(b: Block): CborValue {
  return {
    height: b.height,
    parent: b.parent,
    rank: b.rank,
    time: b.time,
    certified_height: b.certifiedHeight,
    payload: b.payload.messages.map((m) => [m.id, m.bytes]),
  }
}

export function blockHash(b: Block): Hash {
  return sha256(D.block, cbor(blockValue(b)))
}

/** What a block maker signs: the block hash (the hash covers the whole block). */
export function proposalSigned(hash: Hash): Uint8Array {
  return concat(D.proposal, hash)
}

export function beaconSigned(height: bigint, parent: Hash): Uint8Array {
  return concat(D.beacon, cbor({ height, parent }))
}

/** The value the next beacon chains to and the ranking derives from. */
export function beaconHash(b: RandomBeacon): Hash {
  return sha256(D.beaconValue, cbor({ height: b.height, parent: b.parent, signature: b.signature }))
}

export function notarizationSigned(height: bigint, block: Hash): Uint8Array {
  return concat(D.notarization, cbor({ height, block }))
}

export function finalizationSigned(height: bigint, block: Hash): Uint8Array {
  return concat(D.finalization, cbor({ height, block }))
}

/** Exactly the IC's certification message, so a Capsa certification verifies like an IC certificate. */
export function certificationSigned(stateHash: Hash): Uint8Array {
  return concat(DOMAIN.stateRoot, stateHash)
}

export function cupContentHash(c: CatchUpContent): Hash {
  return sha256(
    D.cupContent,
    cbor({
      block: blockValue(c.block),
      block_hash: c.blockHash,
      beacon: { height: c.beacon.height, parent: c.beacon.parent, signature: c.beacon.signature },
      state_hash: c.stateHash,
    }),
  )
}

export function cupSigned(contentHash: Hash): Uint8Array {
  return concat(D.cup, contentHash)
}

/** 32 bytes of randomness for the batch at the beacon's height. */
export function batchRandomness(b: RandomBeacon): Uint8Array {
  return sha256(D.tape, beaconHash(b))
}

export function rankingSeed(previousBeacon: RandomBeacon): Uint8Array {
  return sha256(D.ranking, beaconHash(previousBeacon))
}

function artifactValue(a: Artifact): CborValue {
  switch (a.kind) {
    case 'proposal':
      return [a.kind, a.hash, a.signer, a.signature]
    case 'beacon':
      return [a.kind, a.height, a.parent, a.signature]
    case 'notarization':
    case 'finalization':
      return [a.kind, a.height, a.block, [...a.signers], [...a.signatures]]
    case 'certification':
      return [a.kind, a.height, a.stateHash, a.signature]
    case 'cup':
      return [a.kind, cupContentHash(a.content), a.signature]
    case 'beaconShare':
      return [a.kind, a.height, a.parent, a.signer, a.signature]
    case 'notarizationShare':
    case 'finalizationShare':
      return [a.kind, a.height, a.block, a.signer, a.signature]
    case 'certificationShare':
      return [a.kind, a.height, a.stateHash, a.signer, a.signature]
    case 'cupShare':
      return [a.kind, a.height, a.contentHash, a.signer, a.signature]
  }
}

/** Identity of an artifact in the pool (a proposal's id covers its hash, not a re-encoding of the block). */
export function artifactId(a: Artifact): string {
  return toHex(sha256(D.artifact, cbor(artifactValue(a))))
}
