// The artifact pool: an unvalidated section filled by the network and a validated section the
// components read. Only the applier (node.ts) mutates it; components receive it read-only. Both
// sections are bounded: validated heights live between CUP − keepBelowCup and the notarized height
// plus a window, and the unvalidated section has a global and a per-peer cap.

import { toHex } from '../protocol/hash.ts'
import type {
  Artifact, Block, BlockProposal, CatchUpPackage, CatchUpPackageShare, Certification, CertificationShare, ConsensusConfig,
  Finalization, FinalizationShare, Notarization, NotarizationShare, RandomBeacon, RandomBeaconShare,
} from './types.ts'
import { artifactHeight } from './types.ts'

export class HeightBucket {
  beacon: RandomBeacon | undefined
  readonly beaconShares = new Map<number, RandomBeaconShare>()
  /** By block hash (hex). */
  readonly proposals = new Map<string, BlockProposal>()
  readonly notarizations = new Map<string, Notarization>()
  /** By `${signer}:${blockHex}`. */
  readonly notarizationShares = new Map<string, NotarizationShare>()
  finalization: Finalization | undefined
  readonly finalizationShares = new Map<string, FinalizationShare>()
  readonly certificationShares = new Map<number, CertificationShare>()
  certification: Certification | undefined
  readonly cupShares = new Map<number, CatchUpPackageShare>()

  size(): number {
    return (this.beacon ? 1 : 0) + this.beaconShares.size + this.proposals.size + this.notarizations.size + this.notarizationShares.size +
      (this.finalization ? 1 : 0) + this.finalizationShares.size + this.certificationShares.size + (this.certification ? 1 : 0) + this.cupShares.size
  }
}

export interface UnvalidatedEntry {
  readonly id: string
  readonly artifact: Artifact
  readonly from: number
  readonly height: bigint
}

export interface PoolReader {
  readonly cup: CatchUpPackage
  readonly notarizedHeight: bigint
  readonly finalizedHeight: bigint
  readonly beaconHeight: bigint
  readonly certifiedHeight: bigint
  bucket(h: bigint): HeightBucket | undefined
  beacon(h: bigint): RandomBeacon | undefined
  /** A validated block (or the CUP's) at h by hash. */
  block(h: bigint, hashHex: string): Block | undefined
  isNotarized(h: bigint, hashHex: string): boolean
  /** Notarized blocks at h as [hashHex, block], lowest rank first. */
  notarizedBlocks(h: bigint): [string, Block][]
  finalizedBlockHash(h: bigint): string | undefined
  roundStart(h: bigint): bigint | undefined
  unvalidated(): Iterable<UnvalidatedEntry>
  readonly purgedAt: string
  purgeMark(): string
}

export class ArtifactPool implements PoolReader {
  readonly config: ConsensusConfig
  cup: CatchUpPackage
  notarizedHeight: bigint
  finalizedHeight: bigint
  beaconHeight: bigint
  certifiedHeight: bigint
  private readonly validated = new Map<bigint, HeightBucket>()
  private readonly unvalidatedMap = new Map<string, UnvalidatedEntry>()
  private readonly perPeer = new Map<number, number>()
  private readonly finalizedChain = new Map<bigint, string>()
  private readonly notarizedAt = new Map<bigint, bigint>()
  private readonly beaconAt = new Map<bigint, bigint>()
  private cupHashHex: string

  constructor(config: ConsensusConfig, cup: CatchUpPackage, now: bigint) {
    this.config = config
    this.cup = cup
    const h = cup.content.block.height
    this.notarizedHeight = this.finalizedHeight = this.beaconHeight = this.certifiedHeight = h
    this.cupHashHex = toHex(cup.content.blockHash)
    this.rootAt(cup, now)
  }

  private rootAt(cup: CatchUpPackage, now: bigint): void {
    const h = cup.content.block.height
    this.cupHashHex = toHex(cup.content.blockHash)
    this.ensure(h).beacon = cup.content.beacon
    this.finalizedChain.set(h, this.cupHashHex)
    if (!this.notarizedAt.has(h)) this.notarizedAt.set(h, now)
    if (!this.beaconAt.has(h)) this.beaconAt.set(h, now)
  }

  private ensure(h: bigint): HeightBucket {
    let b = this.validated.get(h)
    if (b === undefined) {
      b = new HeightBucket()
      this.validated.set(h, b)
    }
    return b
  }

  bucket(h: bigint): HeightBucket | undefined {
    return this.validated.get(h)
  }
  beacon(h: bigint): RandomBeacon | undefined {
    return this.validated.get(h)?.beacon
  }
  block(h: bigint, hashHex: string): Block | undefined {
    if (h === this.cup.content.block.height && hashHex === this.cupHashHex) return this.cup.content.block
    return this.validated.get(h)?.proposals.get(hashHex)?.block
  }
  isNotarized(h: bigint, hashHex: string): boolean {
    if (h === this.cup.content.block.height && hashHex === this.cupHashHex) return true
    return this.validated.get(h)?.notarizations.has(hashHex) === true
  }
  notarizedBlocks(h: bigint): [string, Block][] {
    if (h === this.cup.content.block.height) return [[this.cupHashHex, this.cup.content.block]]
    const b = this.validated.get(h)
    if (b === undefined) return []
    const out: [string, Block][] = []
    for (const hex of b.notarizations.keys()) {
      const p = b.proposals.get(hex)
      if (p !== undefined) out.push([hex, p.block])
    }
    return out.sort((x, y) => x[1].rank - y[1].rank || (x[0] < y[0] ? -1 : 1))
  }
  finalizedBlockHash(h: bigint): string | undefined {
    return this.finalizedChain.get(h)
  }
  /** Round h starts when both a notarized block and the beacon at h − 1 entered the pool. */
  roundStart(h: bigint): bigint | undefined {
    const a = this.notarizedAt.get(h - 1n)
    const b = this.beaconAt.get(h - 1n)
    if (a === undefined || b === undefined) return undefined
    return a > b ? a : b
  }
  unvalidated(): Iterable<UnvalidatedEntry> {
    return this.unvalidatedMap.values()
  }
  hasUnvalidated(id: string): boolean {
    return this.unvalidatedMap.has(id)
  }

  /** Admits a received artifact if there is room; returns false when it was dropped. */
  insertUnvalidated(e: UnvalidatedEntry): boolean {
    if (this.unvalidatedMap.has(e.id)) return false
    const peerCount = this.perPeer.get(e.from) ?? 0
    const perPeerCap = Math.max(16, Math.floor(this.config.maxUnvalidated / this.config.n))
    if (this.unvalidatedMap.size >= this.config.maxUnvalidated || peerCount >= perPeerCap) return false
    this.unvalidatedMap.set(e.id, e)
    this.perPeer.set(e.from, peerCount + 1)
    return true
  }
  removeUnvalidated(id: string): void {
    const e = this.unvalidatedMap.get(id)
    if (e === undefined) return
    this.unvalidatedMap.delete(id)
    this.perPeer.set(e.from, (this.perPeer.get(e.from) ?? 1) - 1)
  }

  /** Adds a validated artifact and advances the heights it proves. Returns true if the CUP moved. */
  addValidated(a: Artifact, now: bigint): boolean {
    const h = artifactHeight(a)
    switch (a.kind) {
      case 'beacon':
        this.ensure(h).beacon = a
        if (h > this.beaconHeight) this.beaconHeight = h
        if (!this.beaconAt.has(h)) this.beaconAt.set(h, now)
        return false
      case 'beaconShare':
        this.ensure(h).beaconShares.set(a.signer, a)
        return false
      case 'proposal':
        this.ensure(h).proposals.set(toHex(a.hash), a)
        return false
      case 'notarization':
        this.ensure(h).notarizations.set(toHex(a.block), a)
        if (h > this.notarizedHeight) this.notarizedHeight = h
        if (!this.notarizedAt.has(h)) this.notarizedAt.set(h, now)
        return false
      case 'notarizationShare':
        this.ensure(h).notarizationShares.set(`${a.signer}:${toHex(a.block)}`, a)
        return false
      case 'finalization':
        this.ensure(h).finalization = a
        if (h > this.finalizedHeight) this.finalize(h, toHex(a.block))
        return false
      case 'finalizationShare':
        this.ensure(h).finalizationShares.set(`${a.signer}:${toHex(a.block)}`, a)
        return false
      case 'certificationShare':
        this.ensure(h).certificationShares.set(a.signer, a)
        return false
      case 'certification':
        this.ensure(h).certification = a
        if (h > this.certifiedHeight) this.certifiedHeight = h
        return false
      case 'cupShare':
        this.ensure(h).cupShares.set(a.signer, a)
        return false
      case 'cup':
        return this.adoptCup(a, now)
    }
  }

  /** Removes a provisionally accepted share that failed its individual check. */
  removeValidated(a: Artifact): void {
    const b = this.validated.get(artifactHeight(a))
    if (b === undefined) return
    if (a.kind === 'beaconShare') b.beaconShares.delete(a.signer)
    else if (a.kind === 'certificationShare') b.certificationShares.delete(a.signer)
    else if (a.kind === 'cupShare') b.cupShares.delete(a.signer)
  }

  // Finalizing B finalizes every ancestor: walk parent links down to the previous finalized height.
  private finalize(h: bigint, hex: string): void {
    const chain: [bigint, string][] = []
    let height = h
    let cur: string | undefined = hex
    while (height > this.finalizedHeight && cur !== undefined) {
      chain.push([height, cur])
      const blk = this.block(height, cur)
      if (blk === undefined) return // an ancestor is missing: wait for it (the validator prevents this)
      cur = toHex(blk.parent)
      height--
    }
    for (const [hh, x] of chain) this.finalizedChain.set(hh, x)
    this.finalizedHeight = h
    if (this.notarizedHeight < h) this.notarizedHeight = h
  }

  private adoptCup(cup: CatchUpPackage, now: bigint): boolean {
    const h = cup.content.block.height
    if (h <= this.cup.content.block.height) return false
    const jump = h > this.finalizedHeight
    this.cup = cup
    if (jump) {
      // Everything below the CUP is history this node will never need: the CUP is the new root.
      for (const k of [...this.validated.keys()]) if (k < h) this.validated.delete(k)
      for (const k of [...this.finalizedChain.keys()]) if (k < h) this.finalizedChain.delete(k)
      this.finalizedHeight = h
    }
    if (this.notarizedHeight < h) this.notarizedHeight = h
    if (this.beaconHeight < h) this.beaconHeight = h
    if (this.certifiedHeight < h) this.certifiedHeight = h
    this.rootAt(cup, now)
    return true
  }

  /** The finalized/CUP/certified heights at the last purge; the purger acts when they move. */
  purgedAt = ''
  purgeMark(): string {
    return `${this.finalizedHeight}:${this.cup.content.block.height}:${this.certifiedHeight}:${this.beaconHeight}`
  }

  /** Drops what no component will read again (the IC's purger rules, reference §5.4). */
  purge(): void {
    this.purgedAt = this.purgeMark()
    const cupH = this.cup.content.block.height
    const floor = cupH - this.config.keepBelowCup
    for (const [h, b] of this.validated) {
      if (h < floor) {
        this.validated.delete(h)
        continue
      }
      if (h <= this.finalizedHeight) {
        b.notarizationShares.clear()
        b.finalizationShares.clear()
        b.beaconShares.clear()
        const keep = this.finalizedChain.get(h)
        for (const k of [...b.proposals.keys()]) if (k !== keep) b.proposals.delete(k)
        for (const k of [...b.notarizations.keys()]) if (k !== keep) b.notarizations.delete(k)
      }
      if (h <= this.certifiedHeight) b.certificationShares.clear()
      if (h <= cupH) b.cupShares.clear()
      if (b.size() === 0) this.validated.delete(h)
    }
    for (const m of [this.finalizedChain, this.notarizedAt, this.beaconAt]) for (const k of [...m.keys()]) if (k < floor) m.delete(k)
    for (const e of [...this.unvalidatedMap.values()]) if (this.isStale(e.artifact)) this.removeUnvalidated(e.id)
  }

  /** True for artifacts no longer useful to this node, validated or not. */
  isStale(a: Artifact): boolean {
    const h = artifactHeight(a)
    switch (a.kind) {
      case 'beacon':
      case 'beaconShare':
        return h <= this.beaconHeight
      case 'certification':
      case 'certificationShare':
        return h <= this.certifiedHeight
      case 'cup':
      case 'cupShare':
        return h <= this.cup.content.block.height
      default:
        return h <= this.finalizedHeight
    }
  }

  /** Artifacts far above the next pending CUP are refused, as the IC refuses them (bounded pools). */
  isTooFarAhead(a: Artifact): boolean {
    return a.kind !== 'cup' && artifactHeight(a) > this.cup.content.block.height + this.config.cupInterval + this.config.maxAheadOfCup
  }

  validatedSize(): number {
    let s = 0
    for (const b of this.validated.values()) s += b.size()
    return s
  }
  unvalidatedSize(): number {
    return this.unvalidatedMap.size
  }
  validatedHeights(): bigint[] {
    return [...this.validated.keys()].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))
  }
}

export function cupBlockHashHex(cup: CatchUpPackage): string {
  return toHex(cup.content.blockHash)
}

