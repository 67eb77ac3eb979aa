// Consensus artifacts in the protocol's own words (IC consensus, see reference §1.2). Heights and
// times are plain bigints inside consensus; node indices (0..n-1) name signers, in the subnet's
// sorted node order.

import type { BlockPayload } from '../protocol/consensus-types.ts'

export type Hash = Uint8Array

export interface Block {
  readonly height: bigint
  readonly parent: Hash
  readonly rank: number
  /** Block time in ns: strictly greater than the parent's. */
  readonly time: bigint
  /** The maker's latest certified height; the payload is judged against the chain above it. */
  readonly certifiedHeight: bigint
  readonly payload: BlockPayload
}

export interface BlockProposal {
  readonly kind: 'proposal'
  readonly block: Block
  readonly hash: Hash
  readonly signer: number
  readonly signature: Uint8Array
}

export interface RandomBeacon {
  readonly kind: 'beacon'
  readonly height: bigint
  readonly parent: Hash
  /** Combined low-threshold BLS signature; empty only for the genesis beacon. */
  readonly signature: Uint8Array
}
export interface RandomBeaconShare {
  readonly kind: 'beaconShare'
  readonly height: bigint
  readonly parent: Hash
  readonly signer: number
  readonly signature: Uint8Array
}

/** n − f signatures on `{height, block}`; the signers list travels with them. */
export interface Notarization {
  readonly kind: 'notarization'
  readonly height: bigint
  readonly block: Hash
  readonly signers: readonly number[]
  readonly signatures: readonly Uint8Array[]
}
export interface NotarizationShare {
  readonly kind: 'notarizationShare'
  readonly height: bigint
  readonly block: Hash
  readonly signer: number
  readonly signature: Uint8Array
}
export interface Finalization {
  readonly kind: 'finalization'
  readonly height: bigint
  readonly block: Hash
  readonly signers: readonly number[]
  readonly signatures: readonly Uint8Array[]
}
export interface FinalizationShare {
  readonly kind: 'finalizationShare'
  readonly height: bigint
  readonly block: Hash
  readonly signer: number
  readonly signature: Uint8Array
}

/** The height travels beside the signed state hash, unsigned, as on the IC. */
export interface CertificationShare {
  readonly kind: 'certificationShare'
  readonly height: bigint
  readonly stateHash: Hash
  readonly signer: number
  readonly signature: Uint8Array
}
export interface Certification {
  readonly kind: 'certification'
  readonly height: bigint
  readonly stateHash: Hash
  readonly signature: Uint8Array
}

export interface CatchUpContent {
  readonly block: Block
  readonly blockHash: Hash
  readonly beacon: RandomBeacon
  readonly stateHash: Hash
}
export interface CatchUpPackage {
  readonly kind: 'cup'
  readonly content: CatchUpContent
  /** High-threshold BLS signature on the content hash; empty only for genesis. */
  readonly signature: Uint8Array
}
export interface CatchUpPackageShare {
  readonly kind: 'cupShare'
  readonly height: bigint
  readonly contentHash: Hash
  readonly signer: number
  readonly signature: Uint8Array
}

export type Artifact =
  | BlockProposal
  | RandomBeacon
  | RandomBeaconShare
  | Notarization
  | NotarizationShare
  | Finalization
  | FinalizationShare
  | CertificationShare
  | Certification
  | CatchUpPackage
  | CatchUpPackageShare

export type ArtifactKind = Artifact['kind']

/** What nodes exchange: artifacts, and a status that lets a peer that is ahead send what is missing. */
export type ConsensusMessage =
  | { readonly type: 'artifact'; readonly artifact: Artifact }
  | { readonly type: 'status'; readonly cup: bigint; readonly finalized: bigint; readonly notarized: bigint; readonly beacon: bigint; readonly certified: bigint }

export function artifactHeight(a: Artifact): bigint {
  switch (a.kind) {
    case 'proposal':
      return a.block.height
    case 'cup':
      return a.content.block.height
    default:
      return a.height
  }
}

export interface ConsensusConfig {
  /** Subnet size; f = ⌊(n − 1)/3⌋. */
  readonly n: number
  /** Δ_prop(r) = unitDelay·r. */
  readonly unitDelayNs: bigint
  /** Δ_ntry(r) = initialNotaryDelay + unitDelay·r·1.5^(notarized−finalized) + … */
  readonly initialNotaryDelayNs: bigint
  /** A CUP every this many heights (the IC's DKG interval length + 1). */
  readonly cupInterval: bigint
  /** Validated artifacts this far below the CUP stay, to help peers catch up. */
  readonly keepBelowCup: bigint
  /** Artifacts further above the next pending CUP are not accepted: the IC's hard stop. */
  readonly maxAheadOfCup: bigint
  /** A block time may be ahead of the local clock by at most this much (else it waits). */
  readonly maxClockDriftNs: bigint
  /** How often a node sends its status and re-sends its pending shares. */
  readonly statusIntervalNs: bigint
  /**
   * A block maker with nothing to propose (empty payload, no pending work) waits this much longer
   * before proposing an empty block: an idle subnet makes about one block per this interval instead of
   * spending CPU on threshold signatures at full speed. 0: never wait (the IC's behaviour).
   */
  readonly idleBlockDelayNs: bigint
  /** Cap on unvalidated artifacts held at once. */
  readonly maxUnvalidated: number
  /** Heights served to a lagging peer in one reply. */
  readonly maxCatchUpHeights: number
}

export function faultTolerance(n: number): number {
  return Math.floor((n - 1) / 3)
}

/** IC app-subnet delays (1000 ms / 600 ms), scaled by the caller for simulations. */
export function defaultConfig(n: number, overrides: Partial<ConsensusConfig> = {}): ConsensusConfig {
  return {
    n,
    unitDelayNs: 1_000_000_000n,
    initialNotaryDelayNs: 600_000_000n,
    cupInterval: 500n,
    keepBelowCup: 50n,
    maxAheadOfCup: 70n,
    maxClockDriftNs: 5_000_000_000n,
    statusIntervalNs: 1_000_000_000n,
    idleBlockDelayNs: 0n,
    maxUnvalidated: 2_000,
    maxCatchUpHeights: 20,
    ...overrides,
  }
}
