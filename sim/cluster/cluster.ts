// N consensus nodes in one process on a virtual clock, connected by the packet simulator, with
// crash/restart, partitions and Byzantine behaviours, and the safety invariants checked after every
// step. The scenario API reads like a specification:
//   cluster.node(2).crash(); cluster.partition([0, 1], [2, 3]); cluster.heal(); cluster.runUntil(20)

import { genesisCup } from '../../consensus/genesis.ts'
import { ConsensusNode, type Outgoing } from '../../consensus/node.ts'
import { decodeMessage, encodeMessage } from '../../consensus/wire.ts'
import { CapsaError } from '../../protocol/errors.ts'
import { type CatchUpPackage, type ConsensusConfig, type ConsensusMessage, defaultConfig, faultTolerance } from '../../consensus/types.ts'
import type { Batch } from '../../protocol/consensus-types.ts'
import { sha256, toHex } from '../../protocol/hash.ts'
import { timeNs } from '../../protocol/ids.ts'
import { SimApp, batchDigest } from './app.ts'
import { OutputAudit } from './audit.ts'
import { type Behaviour, byzantineOnReceive, byzantineOutgoing } from './byzantine.ts'
import { SimCrypto, subnetKeys } from './crypto.ts'
import { EventQueue } from './events.ts'
import { DEFAULT_NETWORK, type NetworkOptions, PacketSimulator } from './network.ts'
import { SimRng } from './rng.ts'

export class InvariantViolation extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'InvariantViolation'
  }
}

export interface ClusterOptions {
  readonly n: number
  readonly seed: number
  readonly keySeed?: number
  readonly network?: Partial<NetworkOptions>
  readonly config?: Partial<ConsensusConfig>
  /** Share identical BLS operations among simulated nodes (see crypto.ts); default true. */
  readonly memoizeCrypto?: boolean
  /** Nodes process received messages on this grid (ms), which batches simultaneous arrivals. */
  readonly stepQuantumMs?: number
  /** Submit an ingress message to every node this often (ms); 0 for none. */
  readonly ingressEveryMs?: number
  /** Pass every message through the wire codec, as node/ does (default true). */
  readonly serialize?: boolean
}

const MS = 1_000_000n
export const GENESIS_TIME = 1_700_000_000_000_000_000n

/** Simulation timing: the IC's app-subnet delays, with CUPs every 10 heights so tests see several. */
export function simConfig(n: number, overrides: Partial<ConsensusConfig> = {}): ConsensusConfig {
  return defaultConfig(n, { cupInterval: 10n, keepBelowCup: 5n, statusIntervalNs: 1000n * MS, maxClockDriftNs: 2000n * MS, ...overrides })
}

export class SimNode {
  readonly index: number
  readonly cluster: Cluster
  behaviour: Behaviour = 'honest'
  crashed = false
  consensus: ConsensusNode
  app: SimApp
  readonly crypto: SimCrypto
  /** The newest CUP the node wrote to disk: what it restarts from. */
  persistedCup: CatchUpPackage
  /** The signing high-water mark on disk (ConsensusNode.signingHeight at the crash). */
  persistedSigningHeight = -1n
  restarts = 0
  syncs = 0
  skewNs = 0n
  generation = 0
  checkedFinalized = 0n
  maxValidated = 0
  private readonly scheduled = new Set<bigint>()

  constructor(cluster: Cluster, index: number, crypto: SimCrypto, cup: CatchUpPackage) {
    this.cluster = cluster
    this.index = index
    this.crypto = crypto
    this.persistedCup = cup
    this.app = this.makeApp(cup)
    this.consensus = this.makeConsensus(cup)
  }

  private makeApp(cup: CatchUpPackage): SimApp {
    const app = new SimApp(this.index, cup.content.block.height, cup.content.stateHash, this.cluster.hooks)
    app.deliveredAt = this.cluster.chainIdsUpTo(cup.content.block.height)
    return app
  }
  private makeConsensus(cup: CatchUpPackage): ConsensusNode {
    const app = this.app
    return new ConsensusNode({
      config: this.cluster.config,
      crypto: this.crypto,
      clock: { now: () => timeNs(GENESIS_TIME + this.cluster.queue.now + this.skewNs) },
      payloadBuilder: app,
      payloadValidator: app,
      delivery: app,
      stateHashes: app,
      cup,
      signedUpTo: this.persistedSigningHeight,
    })
  }

  get honest(): boolean {
    return this.behaviour === 'honest'
  }
  get delivered(): bigint {
    return this.consensus.delivered
  }

  crash(): this {
    this.crashed = true
    this.generation++
    this.persistedCup = this.consensus.cup
    this.persistedSigningHeight = this.consensus.signingHeight()
    this.scheduled.clear()
    return this
  }

  /** Restarts from the persisted CUP with an empty pool; the rest arrives from peers. */
  restart(): this {
    if (!this.crashed) return this
    this.crashed = false
    this.restarts++
    this.checkedFinalized = 0n
    this.app = this.makeApp(this.persistedCup)
    this.consensus = this.makeConsensus(this.persistedCup)
    this.scheduleStep(this.cluster.queue.now)
    return this
  }

  byzantine(b: Behaviour): this {
    this.behaviour = b
    return this
  }

  scheduleStep(at: bigint): void {
    const q = this.cluster.quantumNs
    const t = ((at + q - 1n) / q) * q
    if (this.scheduled.has(t)) return
    this.scheduled.add(t)
    const gen = this.generation
    this.cluster.queue.schedule(t, () => {
      this.scheduled.delete(t)
      if (gen === this.generation && !this.crashed) this.runStep()
    })
  }

  runStep(): void {
    const notarizedBefore = this.consensus.notarizedHeight
    const out = this.consensus.step()
    if (this.honest) {
      // One audit across restarts: the persisted signing mark must keep a restarted node consistent.
      const err = this.cluster.audit.check(this.index, 0, notarizedBefore, out, this.index)
      if (err !== undefined) this.cluster.fail(err)
    }
    this.send(out)
    this.cluster.checkNode(this)
    // Consensus speaks the node's local clock; the queue runs on virtual time since genesis.
    this.scheduleStep(this.consensus.nextWake() - GENESIS_TIME - this.skewNs)
  }

  receive(from: number, m: ConsensusMessage): void {
    if (this.crashed) return
    const replies = this.consensus.receive(from, m)
    this.send([...replies, ...byzantineOnReceive(this.behaviour, this.crypto, m)])
    this.scheduleStep(this.cluster.queue.now + 1n)
  }

  send(out: readonly Outgoing[]): void {
    const peers = this.cluster.nodes.map((n) => n.index).filter((i) => i !== this.index)
    for (const o of byzantineOutgoing(this.behaviour, this.crypto, peers, out)) {
      const wire = this.cluster.serialize ? encodeMessage(o.message) : o.message
      for (const to of o.to === undefined ? peers : [o.to]) this.cluster.transmit(this.index, to, wire)
    }
  }
}

export class Cluster {
  readonly opts: ClusterOptions
  readonly n: number
  readonly f: number
  readonly seed: number
  readonly config: ConsensusConfig
  readonly queue = new EventQueue()
  readonly rng: SimRng
  readonly network: PacketSimulator
  readonly nodes: SimNode[] = []
  readonly quantumNs: bigint
  readonly serialize: boolean
  /** Ground truth learned from honest nodes, checked against every later observation. */
  readonly finalizedBlocks = new Map<bigint, string>()
  readonly batchDigests = new Map<bigint, string>()
  readonly stateHashes = new Map<bigint, string>()
  readonly certifiedHashes = new Map<bigint, string>()
  readonly chainIds = new Map<string, bigint>()
  private readonly batchTimes = new Map<bigint, bigint>()
  private readonly explicitFinalizations = new Map<bigint, string>()
  readonly poolBound: number
  readonly audit = new OutputAudit()
  steps = 0
  private ingressCounter = 0

  readonly hooks = {
    onDeliver: (node: number, batch: Batch, stateHash: Uint8Array) => this.onDeliver(node, batch, stateHash),
    onSync: (node: number, height: bigint, stateHash: Uint8Array) => {
      this.nodes[node].syncs++
      this.agree(this.stateHashes, height, toHex(stateHash), `state hash after node ${node} synced to a CUP`)
      return this.chainIdsUpTo(height)
    },
  }

  constructor(opts: ClusterOptions) {
    this.opts = opts
    this.n = opts.n
    this.f = faultTolerance(opts.n)
    this.seed = opts.seed
    this.config = simConfig(opts.n, opts.config)
    this.rng = new SimRng(opts.seed)
    this.network = new PacketSimulator({ ...DEFAULT_NETWORK, ...opts.network }, this.rng.fork(1))
    this.quantumNs = BigInt(Math.round((opts.stepQuantumMs ?? 1) * 1e6))
    this.serialize = opts.serialize ?? true
    const keys = subnetKeys(opts.n, opts.keySeed ?? 0)
    const cup = genesisCup(GENESIS_TIME)
    this.stateHashes.set(0n, toHex(cup.content.stateHash))
    for (let i = 0; i < opts.n; i++) this.nodes.push(new SimNode(this, i, new SimCrypto(keys.publicKeys, keys.secrets[i], opts.memoizeCrypto ?? true, `${opts.n}:${opts.keySeed ?? 0}`), cup))
    const c = this.config
    const perHeight = 3 + 3 * this.n + 2 * (this.f + 1) * (2 + 2 * this.n)
    this.poolBound = Number(c.keepBelowCup + c.cupInterval + c.maxAheadOfCup + 2n) * perHeight
    for (const node of this.nodes) node.scheduleStep(0n)
    if ((opts.ingressEveryMs ?? 0) > 0) this.scheduleIngress(BigInt(Math.round(opts.ingressEveryMs! * 1e6)))
  }

  node(i: number): SimNode {
    const node = this.nodes[i]
    if (node === undefined) throw new RangeError(`no node ${i}`)
    return node
  }

  partition(...groups: number[][]): this {
    this.network.partition(groups)
    return this
  }
  heal(): this {
    this.network.heal()
    return this
  }

  /** The same ingress message reaches every live node's pool, as HTTP ingress plus gossip would. */
  submit(bytes: Uint8Array): Uint8Array {
    const id = sha256(new TextEncoder().encode(`ingress-${this.ingressCounter++}`), bytes)
    for (const node of this.nodes) if (!node.crashed) node.app.ingress.set(toHex(id), { id, bytes })
    return id
  }

  private scheduleIngress(every: bigint): void {
    this.queue.schedule(this.queue.now + every, () => {
      const b = new Uint8Array(16)
      this.rng.fill(b)
      this.submit(b)
      this.scheduleIngress(every)
    })
  }

  transmit(from: number, to: number, m: ConsensusMessage | Uint8Array): void {
    for (const delay of this.network.route(from, to)) {
      this.queue.schedule(this.queue.now + delay, () => {
        if (!(m instanceof Uint8Array)) return this.nodes[to].receive(from, m)
        let decoded: ConsensusMessage
        try {
          decoded = decodeMessage(m)
        } catch (e) {
          if (e instanceof CapsaError) return
          throw e
        }
        this.nodes[to].receive(from, decoded)
      })
    }
  }

  get nowMs(): number {
    return Number(this.queue.now / MS)
  }

  liveHonest(): SimNode[] {
    return this.nodes.filter((x) => x.honest && !x.crashed)
  }
  minDelivered(): bigint {
    let m: bigint | undefined
    for (const x of this.liveHonest()) if (m === undefined || x.delivered < m) m = x.delivered
    return m ?? 0n
  }
  maxDelivered(): bigint {
    let m = 0n
    for (const x of this.nodes) if (x.honest && x.delivered > m) m = x.delivered
    return m
  }

  /** Runs until every live honest node has executed `height`, or `maxMs` of virtual time passed. */
  runUntil(height: number | bigint, { maxMs = 600_000 }: { maxMs?: number } = {}): boolean {
    const h = BigInt(height)
    const deadline = this.queue.now + BigInt(maxMs) * MS
    while (this.minDelivered() < h) {
      const t = this.queue.peekTime()
      if (t === undefined || t > deadline) return false
      this.queue.runNext()
    }
    return true
  }

  runFor(ms: number): this {
    const deadline = this.queue.now + BigInt(ms) * MS
    for (;;) {
      const t = this.queue.peekTime()
      if (t === undefined || t > deadline) break
      this.queue.runNext()
    }
    this.queue.now = deadline > this.queue.now ? deadline : this.queue.now
    return this
  }

  chainIdsUpTo(height: bigint): Map<string, bigint> {
    const m = new Map<string, bigint>()
    for (const [id, h] of this.chainIds) if (h <= height) m.set(id, h)
    return m
  }

  fail(what: string): never {
    return this.violation(what)
  }

  private violation(what: string): never {
    throw new InvariantViolation(`seed ${this.seed}: ${what} (at ${this.nowMs} ms virtual; replay: node sim/cluster/main.ts --seed ${this.seed})`)
  }

  private agree(map: Map<bigint, string>, h: bigint, value: string, what: string): void {
    const prior = map.get(h)
    if (prior === undefined) map.set(h, value)
    else if (prior !== value) this.violation(`${what} disagree at height ${h}: ${prior.slice(0, 16)} vs ${value.slice(0, 16)}`)
  }

  private onDeliver(node: number, batch: Batch, stateHash: Uint8Array): void {
    if (!this.nodes[node].honest) return
    this.agree(this.batchDigests, batch.height, toHex(batchDigest(batch)), `batches delivered by node ${node}`)
    this.agree(this.stateHashes, batch.height, toHex(stateHash), `state hashes of node ${node}`)
    // S4: block time strictly increases along the chain.
    this.batchTimes.set(batch.height, batch.time)
    const prev = this.batchTimes.get(batch.height - 1n)
    if (prev !== undefined && batch.time <= prev) this.violation(`batch time at ${batch.height} does not increase`)
    this.batchTimes.delete(batch.height - 50n)
    for (const m of batch.messages) {
      const id = toHex(m.id)
      const at = this.chainIds.get(id)
      if (at !== undefined && at !== batch.height) this.violation(`ingress message ${id.slice(0, 16)} on the chain twice (${at} and ${batch.height})`)
      this.chainIds.set(id, batch.height)
    }
  }

  /** S1 (one finalized block per height, prefix chains), equal certified hashes, bounded pools. */
  checkNode(node: SimNode): void {
    this.steps++
    if (!node.honest) return
    const pool = node.consensus.pool
    for (let h = node.checkedFinalized + 1n; h <= pool.finalizedHeight; h++) {
      const hex = pool.finalizedBlockHash(h)
      if (hex !== undefined) this.agree(this.finalizedBlocks, h, hex, `finalized blocks of node ${node.index}`)
    }
    if (pool.finalizedHeight > node.checkedFinalized) {
      node.checkedFinalized = pool.finalizedHeight
      const top = pool.bucket(pool.finalizedHeight)?.finalization
      if (top !== undefined) this.explicitFinalizations.set(top.height, toHex(top.block))
    }
    // S2: once an honest node holds a finalization of B at h, no honest pool holds a notarization of
    // a rival at h. (A height finalized only through a descendant may have two notarized blocks.)
    for (let h = pool.finalizedHeight + 1n; h <= pool.notarizedHeight; h++) {
      const fin = this.explicitFinalizations.get(h)
      if (fin === undefined) continue
      for (const hex of pool.bucket(h)?.notarizations.keys() ?? []) {
        if (hex !== fin) this.violation(`node ${node.index} validated a notarization of ${hex.slice(0, 16)} at ${h}, where ${fin.slice(0, 16)} is finalized`)
      }
    }
    const cert = pool.bucket(pool.certifiedHeight)?.certification
    if (cert !== undefined) this.agree(this.certifiedHashes, cert.height, toHex(cert.stateHash), `certified state hashes of node ${node.index}`)
    const size = pool.validatedSize()
    if (size > node.maxValidated) node.maxValidated = size
    if (size > this.poolBound) this.violation(`node ${node.index} validated pool holds ${size} > bound ${this.poolBound}`)
    if (pool.unvalidatedSize() > this.config.maxUnvalidated) this.violation(`node ${node.index} unvalidated pool over its cap`)
  }

  summary(): string {
    return this.nodes.map((x) => `#${x.index}${x.honest ? '' : `(${x.behaviour})`}${x.crashed ? '(crashed)' : ''} ${x.consensus.debugHeights()}`).join('\n')
  }
}
