// One replica's consensus: the pool, the components in a fixed order, the single applier that commits
// their change sets, batch delivery, and the status/catch-up exchange. Deterministic: everything it
// knows about time comes from the injected Clock, and it performs no I/O; it returns the messages
// to send and the time it next wants to be woken.
//
// Driving it (node/ over libp2p, sim/cluster over the packet simulator):
//   on a message:   send(node.receive(from, decodeMessage(bytes))); then step
//   step:           send(node.step()); wake again at node.nextWake() (local clock)
//   before sending: persist node.signingHeight() and node.cup; pass them back as `signedUpTo`
//                   and `cup` after a restart, so a restarted node never signs twice at a height.

import type { BatchDelivery, PayloadBuilder, PayloadValidator, StateHashSource } from '../protocol/consensus-types.ts'
import { height as toHeight, timeNs } from '../protocol/ids.ts'
import type { Clock } from '../protocol/interfaces.ts'
import { aggregator } from './aggregator.ts'
import type { ChangeAction, ComponentContext } from './context.ts'
import type { ConsensusCrypto } from './crypto.ts'
import { artifactId, batchRandomness } from './encoding.ts'
import { blockMaker, certifier, cupMaker, finalizer, notary, purger, randomBeaconMaker } from './makers.ts'
import { ArtifactPool, type PoolReader } from './pool.ts'
import { type Artifact, type CatchUpPackage, type ConsensusConfig, type ConsensusMessage, artifactHeight, faultTolerance } from './types.ts'
import { validate } from './validator.ts'

export interface Outgoing {
  /** Peer index, or undefined for every peer. */
  readonly to?: number
  readonly message: ConsensusMessage
}

export interface ConsensusNodeOptions {
  readonly config: ConsensusConfig
  readonly crypto: ConsensusCrypto
  readonly clock: Clock
  readonly payloadBuilder: PayloadBuilder
  readonly payloadValidator: PayloadValidator
  readonly delivery: BatchDelivery
  readonly stateHashes: StateHashSource
  /** The CUP to start from: genesis, or the newest one the node persisted before a restart. */
  readonly cup: CatchUpPackage
  /** After a restart: the persisted `signingHeight()` of the previous run (see ComponentContext). */
  readonly signedUpTo?: bigint
  /**
   * After a restart: the validated artifacts above the CUP the previous run persisted (see
   * `takeNewArtifacts`). Without them a subnet whose nodes all restarted could not finish the heights
   * between its CUP and its signing marks: every node would refuse to sign there again.
   */
  readonly restoredArtifacts?: readonly Artifact[]
  /** Keep the artifacts validated by each step for `takeNewArtifacts` (an embedder that persists them). */
  readonly trackNewArtifacts?: boolean
}

// Order in which restored artifacts are re-added: what each kind refers to comes first.
const RESTORE_ORDER: Record<Artifact['kind'], number> = {
  beaconShare: 0, beacon: 1, proposal: 2, notarizationShare: 3, notarization: 4, finalizationShare: 5, finalization: 6,
  certificationShare: 7, certification: 8, cupShare: 9, cup: 10,
}

export interface ConsensusStats {
  invalid: number
  invalidReasons: Map<string, number>
  dropped: number
  batches: number
  /** Heights at which this node validated two proposals from one maker. */
  equivocationsSeen: number
}

type Component = (pool: PoolReader, ctx: ComponentContext) => ChangeAction[]
const COMPONENTS: readonly Component[] = [validate, aggregator, randomBeaconMaker, blockMaker, notary, finalizer, certifier, cupMaker, aggregator, purger]

export class ConsensusNode {
  readonly opts: ConsensusNodeOptions
  readonly pool: ArtifactPool
  readonly self: number
  readonly f: number
  delivered: bigint
  readonly stats: ConsensusStats = { invalid: 0, invalidReasons: new Map(), dropped: 0, batches: 0, equivocationsSeen: 0 }
  private nextStatusAt: bigint
  private wakeAt: bigint[] = []
  private readonly suspects = new Set<number>()
  private newArtifacts: Artifact[] = []
  private restoredPending = false

  constructor(opts: ConsensusNodeOptions) {
    this.opts = opts
    this.self = opts.crypto.self
    this.f = faultTolerance(opts.config.n)
    const now = opts.clock.now()
    this.pool = new ArtifactPool(opts.config, opts.cup, now)
    this.delivered = opts.cup.content.block.height
    this.nextStatusAt = now
    const cupHeight = opts.cup.content.block.height
    const restored = (opts.restoredArtifacts ?? []).filter((a) => a.kind !== 'cup' && artifactHeight(a) > cupHeight)
    restored.sort((a, b) => (artifactHeight(a) < artifactHeight(b) ? -1 : artifactHeight(a) > artifactHeight(b) ? 1 : RESTORE_ORDER[a.kind] - RESTORE_ORDER[b.kind]))
    for (const a of restored) this.pool.addValidated(a, now)
    this.restoredPending = restored.length > 0
  }

  /** Artifacts validated since the last call (own and peers'), when `trackNewArtifacts` is set. */
  takeNewArtifacts(): Artifact[] {
    const out = this.newArtifacts
    this.newArtifacts = []
    return out
  }

  get notarizedHeight(): bigint {
    return this.pool.notarizedHeight
  }
  get finalizedHeight(): bigint {
    return this.pool.finalizedHeight
  }
  get certifiedHeight(): bigint {
    return this.pool.certifiedHeight
  }
  get cup(): CatchUpPackage {
    return this.pool.cup
  }

  private context(now: bigint): ComponentContext {
    const sh = this.opts.stateHashes
    const delivered = this.delivered
    return {
      config: this.opts.config,
      crypto: this.opts.crypto,
      self: this.self,
      f: this.f,
      now,
      payloadBuilder: this.opts.payloadBuilder,
      payloadValidator: this.opts.payloadValidator,
      stateHash: (h) => (h <= delivered && h >= 0n ? sh.stateHash(toHeight(h)) : undefined),
      signedUpTo: this.opts.signedUpTo ?? -1n,
      suspects: this.suspects,
      wakeAt: this.wakeAt,
    }
  }

  /** Admits a message from a peer; returns catch-up replies for a status. Never throws on bad input. */
  receive(from: number, message: ConsensusMessage): Outgoing[] {
    if (message.type === 'status') return this.catchUpFor(from, message)
    const a = message.artifact
    let id: string
    try {
      id = artifactId(a)
      artifactHeight(a)
    } catch {
      this.stats.invalid++
      return []
    }
    if (this.pool.isStale(a) || this.pool.isTooFarAhead(a) || !this.pool.insertUnvalidated({ id, artifact: a, from, height: artifactHeight(a) })) this.stats.dropped++
    return []
  }

  /** Runs the components until nothing changes; returns what to send. */
  step(): Outgoing[] {
    const out: Outgoing[] = []
    this.wakeAt = []
    const now = this.opts.clock.now()
    if (this.restoredPending) {
      // Finalized blocks restored from disk reach execution before anything else happens.
      this.restoredPending = false
      this.deliverBatches()
    }
    let changed = true
    // Bounded passes keep one step short; unfinished work asks to be woken again right away.
    for (let pass = 0; pass < 8 && changed; pass++) {
      changed = false
      for (const component of COMPONENTS) {
        const changes = component(this.pool, this.context(now))
        if (changes.length === 0) continue
        changed = true
        this.apply(changes, now, out)
      }
    }
    if (changed) this.wakeAt.push(now + 1n)
    if (now >= this.nextStatusAt) {
      this.nextStatusAt = now + this.opts.config.statusIntervalNs
      out.push({ message: this.status() })
      for (const a of this.ownPending()) out.push({ message: { type: 'artifact', artifact: a } })
    }
    this.wakeAt.push(this.nextStatusAt)
    return out
  }

  /** The earliest time a component is waiting for (delays, status interval). */
  nextWake(): bigint {
    let m = this.wakeAt[0]
    for (const w of this.wakeAt) if (w < m) m = w
    return m
  }

  /** The only place the pool changes. */
  private apply(changes: readonly ChangeAction[], now: bigint, out: Outgoing[]): void {
    let progress = false
    for (const c of changes) {
      switch (c.type) {
        case 'add':
          progress = this.commit(c.artifact, now) || progress
          if (c.broadcast) out.push({ message: { type: 'artifact', artifact: c.artifact } })
          break
        case 'validate':
          this.pool.removeUnvalidated(c.id)
          progress = this.commit(c.artifact, now) || progress
          if (c.relay) out.push({ message: { type: 'artifact', artifact: c.artifact } })
          break
        case 'drop':
          this.pool.removeUnvalidated(c.id)
          if (c.invalid !== undefined) this.noteInvalid(c.invalid)
          break
        case 'purge':
          this.pool.purge()
          break
        case 'removeValidated':
          this.pool.removeValidated(c.artifact)
          if ('signer' in c.artifact) this.suspects.add(c.artifact.signer)
          this.noteInvalid(c.invalid)
          break
      }
    }
    if (progress) this.deliverBatches()
  }

  private noteInvalid(reason: string): void {
    this.stats.invalid++
    this.stats.invalidReasons.set(reason, (this.stats.invalidReasons.get(reason) ?? 0) + 1)
  }

  private commit(a: Artifact, now: bigint): boolean {
    const before = this.pool.finalizedHeight
    if (a.kind === 'proposal') {
      for (const q of this.pool.bucket(a.block.height)?.proposals.values() ?? []) if (q.signer === a.signer) this.stats.equivocationsSeen++
    }
    const movedCup = this.pool.addValidated(a, now)
    if (this.opts.trackNewArtifacts) this.newArtifacts.push(a)
    if (movedCup && this.delivered < this.pool.cup.content.block.height && this.pool.finalizedBlockHash(this.delivered + 1n) === undefined) this.syncToCup()
    return movedCup || this.pool.finalizedHeight !== before || a.kind === 'beacon' || a.kind === 'certification'
  }

  private syncToCup(): void {
    const cup = this.pool.cup
    this.opts.delivery.syncTo(toHeight(cup.content.block.height), cup.content.stateHash)
    this.delivered = cup.content.block.height
  }

  /** Hands finalized blocks to execution in height order, each exactly once. */
  private deliverBatches(): void {
    for (let h = this.delivered + 1n; h <= this.pool.finalizedHeight; h++) {
      const hex = this.pool.finalizedBlockHash(h)
      const block = hex === undefined ? undefined : this.pool.block(h, hex)
      const beacon = this.pool.beacon(h)
      if (block === undefined || beacon === undefined) {
        if (block === undefined && h <= this.pool.cup.content.block.height) {
          this.syncToCup()
          h = this.delivered
          continue
        }
        return
      }
      this.opts.delivery.deliver({ height: toHeight(h), time: timeNs(block.time), randomness: batchRandomness(beacon), messages: block.payload.messages })
      this.delivered = h
      this.stats.batches++
    }
  }

  /** The highest height this node may have signed a proposal or share at: persist it before sending. */
  signingHeight(): bigint {
    return this.pool.notarizedHeight + 1n
  }

  status(): ConsensusMessage {
    const p = this.pool
    return { type: 'status', cup: p.cup.content.block.height, finalized: p.finalizedHeight, notarized: p.notarizedHeight, beacon: p.beaconHeight, certified: p.certifiedHeight }
  }

  /** This node's own artifacts still needed by peers, re-sent every status interval (lossy links). */
  private ownPending(): Artifact[] {
    const p = this.pool
    const out: Artifact[] = []
    const mine = <A extends { signer: number }>(xs: Iterable<A> | undefined) => {
      for (const x of xs ?? []) if (x.signer === this.self) out.push(x as unknown as Artifact)
    }
    mine(p.bucket(p.beaconHeight + 1n)?.beaconShares.values())
    const next = p.bucket(p.notarizedHeight + 1n)
    mine(next?.proposals.values())
    mine(next?.notarizationShares.values())
    for (let h = p.finalizedHeight + 1n; h <= p.notarizedHeight; h++) mine(p.bucket(h)?.finalizationShares.values())
    for (let h = p.certifiedHeight + 1n; h <= this.delivered; h++) mine(p.bucket(h)?.certificationShares.values())
    const cupNext = (p.cup.content.block.height / this.opts.config.cupInterval + 1n) * this.opts.config.cupInterval
    mine(p.bucket(cupNext)?.cupShares.values())
    return out
  }

  /** A peer reported its heights: send what it lacks, from the newest CUP if it is below it. */
  private catchUpFor(from: number, s: Extract<ConsensusMessage, { type: 'status' }>): Outgoing[] {
    const p = this.pool
    const send: Artifact[] = []
    const cupH = p.cup.content.block.height
    let start = s.finalized + 1n
    if (s.cup < cupH) send.push(p.cup)
    if (s.finalized < cupH) start = cupH + 1n
    const end = start + BigInt(this.opts.config.maxCatchUpHeights)
    for (let h = start; h <= p.notarizedHeight && h < end; h++) {
      const b = p.bucket(h)
      if (b === undefined) continue
      const fin = p.finalizedBlockHash(h)
      for (const [hex, prop] of b.proposals) {
        if (fin !== undefined && hex !== fin) continue
        const nz = b.notarizations.get(hex)
        if (nz === undefined) continue
        send.push(prop, nz)
      }
      if (b.finalization !== undefined) send.push(b.finalization)
      // A block's context may cite the certification just below it; a catching-up node needs it.
      const cert = p.bucket(h - 1n)?.certification
      if (cert !== undefined && h - 1n > s.certified) send.push(cert)
    }
    for (let h = s.beacon + 1n; h <= p.beaconHeight && h < end + 1n; h++) {
      const bc = p.beacon(h)
      if (bc !== undefined) send.push(bc)
    }
    if (s.certified < p.certifiedHeight) {
      const c = p.bucket(p.certifiedHeight)?.certification
      if (c !== undefined) send.push(c)
    }
    // A peer stuck in the same round may lack the block this node notarization-signed: its maker may
    // have gone silent after reaching only some peers, and the one-shot relay may have been lost or cut
    // off by a partition. Without the block the peer cannot sign it, and this node will never sign the
    // peer's higher-ranked one, so the round would stall. Echoing the signed block makes honest notaries
    // converge on the lowest-ranked block any of them signed (the IC gossips its validated pool).
    if (s.notarized === p.notarizedHeight) send.push(...this.signedProposals(p.notarizedHeight + 1n))
    return send.map((artifact) => ({ to: from, message: { type: 'artifact', artifact } }))
  }

  /** Others' proposals at h this node notarization-signed (its own go out with ownPending). */
  private signedProposals(h: bigint): Artifact[] {
    const b = this.pool.bucket(h)
    if (b === undefined) return []
    const out: Artifact[] = []
    for (const [hex, prop] of b.proposals) if (prop.signer !== this.self && b.notarizationShares.has(`${this.self}:${hex}`)) out.push(prop)
    return out
  }

  /** Ids of everything in the pool's validated section (for tests). */
  validatedSize(): number {
    return this.pool.validatedSize()
  }

  debugHeights(): string {
    const p = this.pool
    return `cup=${p.cup.content.block.height} beacon=${p.beaconHeight} notarized=${p.notarizedHeight} finalized=${p.finalizedHeight} certified=${p.certifiedHeight} delivered=${this.delivered} unvalidated=${p.unvalidatedSize()} validated=${p.validatedSize()}`
  }
}
