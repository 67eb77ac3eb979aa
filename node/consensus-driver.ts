// Drives one ConsensusNode in real time over a real transport. Consensus is a pure state machine; this
// is its embedder: the system clock, timers at nextWake(), a bounded inbox of wire messages, and the
// restart-safety rule of consensus/node.ts: the current CUP and the signing mark reach disk (fsync)
// before any message produced by the same step leaves the node, and come back as `cup` and
// `signedUpTo` after a restart, so a restarted node never signs twice at a height.

import { artifactId, cupContentHash, cupSigned } from '../consensus/encoding.ts'
import { ConsensusNode, type Outgoing } from '../consensus/node.ts'
import type { ConsensusCrypto } from '../consensus/crypto.ts'
import { artifactHeight, type Artifact, type CatchUpPackage, type ConsensusConfig, type ConsensusMessage } from '../consensus/types.ts'
import { decodeMessage, encodeMessage } from '../consensus/wire.ts'
import type { BatchDelivery, PayloadBuilder, PayloadValidator, StateHashSource } from '../protocol/consensus-types.ts'
import { CapsaError } from '../protocol/errors.ts'
import { timeNs, type TimeNs } from '../protocol/ids.ts'
import type { Clock, KvOp, KvStore, Transport } from '../protocol/interfaces.ts'

/** Wall-clock time that never goes backwards: the epoch time at start plus the monotonic timer since. */
export function systemClock(): Clock {
  const baseWall = BigInt(Date.now()) * 1_000_000n
  const baseMono = process.hrtime.bigint()
  return { now: (): TimeNs => timeNs(baseWall + (process.hrtime.bigint() - baseMono)) }
}

export type ReplicaApplication = PayloadBuilder & PayloadValidator & BatchDelivery & StateHashSource

export interface ConsensusDriverOptions<A extends ReplicaApplication> {
  config: ConsensusConfig
  crypto: ConsensusCrypto
  network: Transport<Uint8Array>
  store: KvStore
  /** The subnet's genesis CUP, used when the store holds none. */
  genesis: CatchUpPackage
  /** Builds the application at the CUP the node starts from. */
  createApp(cup: CatchUpPackage): A
  clock?: Clock
  signal?: AbortSignal
  /** Wire messages (and their bytes) waiting to be processed; beyond either, new ones are dropped (peers re-send). */
  maxInbox?: number
  maxInboxBytes?: number
  /** Called after every step (metrics, tests). */
  onStep?(driver: ConsensusDriver<A>): void
  /** Called when the driver stops because it cannot continue safely (the store failed). */
  onFatal?(error: unknown): void
}

export interface DriverStats {
  steps: number
  received: number
  malformed: number
  inboxDropped: number
  sent: number
  persists: number
}

const KEY_CUP = new TextEncoder().encode('consensus/cup')
const KEY_SIGNED_UP_TO = new TextEncoder().encode('consensus/signed_up_to')
// Present once this store keeps every artifact the node signed (fsynced before it was sent): the pool
// restored from it then knows exactly what the node signed above the CUP, so the coarse signing mark
// (no signature at all up to the notarized height + 1) is not needed to stay safe after a restart.
const KEY_POOL_PERSISTED = new TextEncoder().encode('consensus/pool_persisted')
const SIGNED_KINDS = new Set(['proposal', 'notarizationShare', 'finalizationShare'])
/** Messages handled before the next step, so a flood cannot postpone the node's own work. */
const MESSAGES_PER_STEP = 500
/** setTimeout's limit (2^31 − 1 ms); a later wake simply wakes early and re-arms. */
const MAX_TIMER_MS = 2_147_483_647

function u64(v: bigint): Uint8Array {
  const b = new Uint8Array(8)
  new DataView(b.buffer).setBigUint64(0, v)
  return b
}

// Validated artifacts above the CUP: 'consensus/pool/' ‖ u64 height ‖ artifact id.
const POOL_PREFIX = new TextEncoder().encode('consensus/pool/')
function poolKey(height: bigint, id?: string): Uint8Array {
  const idBytes = id === undefined ? new Uint8Array(0) : new TextEncoder().encode(id)
  const k = new Uint8Array(POOL_PREFIX.length + 8 + idBytes.length)
  k.set(POOL_PREFIX)
  k.set(u64(height), POOL_PREFIX.length)
  k.set(idBytes, POOL_PREFIX.length + 8)
  return k
}

/** The CUP and signing mark a previous run persisted, or the genesis CUP on a fresh data directory. */
export async function loadConsensusState(store: KvStore, genesis: CatchUpPackage, crypto: ConsensusCrypto): Promise<{ cup: CatchUpPackage; signedUpTo: bigint; artifacts: Artifact[] }> {
  let cup = genesis
  const cupBytes = await store.get(KEY_CUP)
  if (cupBytes !== undefined) {
    let m: ConsensusMessage
    try {
      m = decodeMessage(cupBytes)
    } catch (e) {
      throw new CapsaError('STATE_CORRUPT', `the stored catch-up package cannot be decoded: ${(e as Error).message}`)
    }
    if (m.type !== 'artifact' || m.artifact.kind !== 'cup') throw new CapsaError('STATE_CORRUPT', 'the stored catch-up package is not a CUP')
    const stored = m.artifact
    // A data directory from another network would otherwise start consensus on a foreign chain.
    if (stored.content.block.height > 0n && !crypto.verifyHigh(cupSigned(cupContentHash(stored.content)), stored.signature)) {
      throw new CapsaError('STATE_CORRUPT', 'the stored catch-up package is not signed by this subnet: is the data directory from another network?')
    }
    if (stored.content.block.height > 0n) cup = stored
  }
  const mark = await store.get(KEY_SIGNED_UP_TO)
  const persisted = (await store.get(KEY_POOL_PERSISTED)) !== undefined
  const signedUpTo = !persisted && mark !== undefined && mark.length === 8 ? new DataView(mark.buffer, mark.byteOffset, 8).getBigUint64(0) : -1n
  // Every artifact here was validated before it was written (in the batch with the signing mark that
  // let anything it caused leave the node); one that does not decode means damaged storage.
  const artifacts: Artifact[] = []
  for await (const [k, v] of store.iterate({ gte: poolKey(cup.content.block.height + 1n), lt: poolKey(1n << 63n) })) {
    let m: ConsensusMessage
    try {
      m = decodeMessage(v)
    } catch (e) {
      throw new CapsaError('STATE_CORRUPT', `a stored consensus artifact (key ${new TextDecoder().decode(k.subarray(POOL_PREFIX.length + 8))}) cannot be decoded: ${(e as Error).message}. Move the data directory aside to resync the node from its peers.`)
    }
    if (m.type === 'artifact') artifacts.push(m.artifact)
  }
  return { cup, signedUpTo, artifacts }
}

export class ConsensusDriver<A extends ReplicaApplication = ReplicaApplication> {
  readonly node: ConsensusNode
  readonly app: A
  readonly clock: Clock
  readonly stats: DriverStats = { steps: 0, received: 0, malformed: 0, inboxDropped: 0, sent: 0, persists: 0 }
  readonly #opts: ConsensusDriverOptions<A>
  readonly #maxInbox: number
  // A ring of pending wire messages: O(1) at both ends, fixed size.
  readonly #inbox: ({ from: number; bytes: Uint8Array } | undefined)[]
  #head = 0
  #count = 0
  #bytes = 0
  readonly #maxInboxBytes: number
  #persistedCupHeight: bigint
  #persistedSignedUpTo: bigint
  #poolMarked = false
  #timer: NodeJS.Timeout | undefined
  #immediate: NodeJS.Immediate | undefined
  #running: Promise<void> | undefined
  #again = false
  #stopped = false
  #started = false

  private constructor(opts: ConsensusDriverOptions<A>, cup: CatchUpPackage, signedUpTo: bigint, artifacts: readonly Artifact[]) {
    this.#opts = opts
    this.#maxInbox = opts.maxInbox ?? 20_000
    this.#inbox = new Array(this.#maxInbox)
    this.#maxInboxBytes = opts.maxInboxBytes ?? 64 * 1024 * 1024
    this.clock = opts.clock ?? systemClock()
    this.app = opts.createApp(cup)
    this.node = new ConsensusNode({
      config: opts.config,
      crypto: opts.crypto,
      clock: this.clock,
      payloadBuilder: this.app,
      payloadValidator: this.app,
      delivery: this.app,
      stateHashes: this.app,
      cup,
      signedUpTo,
      restoredArtifacts: artifacts,
      trackNewArtifacts: true,
    })
    this.#persistedCupHeight = cup.content.block.height
    this.#persistedSignedUpTo = signedUpTo
  }

  /** Loads the persisted CUP and signing mark (or genesis) and builds the node; `start()` runs it. */
  static async open<A extends ReplicaApplication>(opts: ConsensusDriverOptions<A>): Promise<ConsensusDriver<A>> {
    const { cup, signedUpTo, artifacts } = await loadConsensusState(opts.store, opts.genesis, opts.crypto)
    return new ConsensusDriver(opts, cup, signedUpTo, artifacts)
  }

  get stopped(): boolean {
    return this.#stopped
  }
  get inboxSize(): number {
    return this.#count
  }

  start(): void {
    if (this.#started) return
    this.#started = true
    const signal = this.#opts.signal
    if (signal?.aborted) return void this.#halt()
    signal?.addEventListener('abort', () => void this.stop(), { once: true })
    this.#opts.network.onMessage((from, bytes) => this.#enqueue(from, bytes))
    this.#kick()
  }

  /** Stops stepping and waits for a step in progress (and its persistence) to finish. */
  async stop(): Promise<void> {
    this.#halt()
    await this.#running
  }

  #halt(): void {
    this.#stopped = true
    clearTimeout(this.#timer)
    if (this.#immediate !== undefined) clearImmediate(this.#immediate)
    this.#opts.network.onMessage(() => {})
    this.#inbox.fill(undefined)
    this.#count = 0
    this.#bytes = 0
  }

  #enqueue(from: number, bytes: Uint8Array): void {
    if (this.#stopped) return
    if (this.#count >= this.#maxInbox || this.#bytes + bytes.length > this.#maxInboxBytes) {
      this.stats.inboxDropped++
      return
    }
    this.#inbox[(this.#head + this.#count) % this.#maxInbox] = { from, bytes }
    this.#count++
    this.#bytes += bytes.length
    this.#kick()
  }

  #dequeue(): { from: number; bytes: Uint8Array } | undefined {
    if (this.#count === 0) return undefined
    const m = this.#inbox[this.#head]
    this.#inbox[this.#head] = undefined
    this.#head = (this.#head + 1) % this.#maxInbox
    this.#count--
    if (m !== undefined) this.#bytes -= m.bytes.length
    return m
  }

  /** Something outside consensus changed what a step would do (ingress arrived): step soon. */
  poke(): void {
    if (this.#started) this.#kick()
  }

  /** Runs a step soon, after the I/O callbacks already queued (so arrivals batch into one step). */
  #kick(): void {
    if (this.#stopped) return
    if (this.#running !== undefined) {
      this.#again = true
      return
    }
    if (this.#immediate !== undefined) return
    this.#immediate = setImmediate(() => {
      this.#immediate = undefined
      this.#running = this.#run().catch((e: unknown) => this.#fail(e)).finally(() => {
        this.#running = undefined
        if (this.#again) {
          this.#again = false
          this.#kick()
        } else this.#arm()
      })
    })
  }

  #arm(): void {
    if (this.#stopped) return
    clearTimeout(this.#timer)
    const waitNs = this.node.nextWake() - this.clock.now()
    const ms = waitNs <= 0n ? 0 : Math.min(MAX_TIMER_MS, Number((waitNs + 999_999n) / 1_000_000n))
    this.#timer = setTimeout(() => this.#kick(), ms)
  }

  async #run(): Promise<void> {
    if (this.#stopped) return
    clearTimeout(this.#timer)
    const out: Outgoing[] = []
    for (let k = 0; k < MESSAGES_PER_STEP; k++) {
      const m = this.#dequeue()
      if (m === undefined) break
      this.stats.received++
      let message: ConsensusMessage
      try {
        message = decodeMessage(m.bytes)
      } catch {
        // A malformed message from a peer is counted and dropped, whatever the decoder threw.
        this.stats.malformed++
        continue
      }
      for (const o of this.node.receive(m.from, message)) out.push(o)
    }
    if (this.#count > 0) this.#again = true
    for (const o of this.node.step()) out.push(o)
    this.stats.steps++
    // Sending without the mark on disk could make this node equivocate after a crash: a failed write
    // rejects here and stops the driver before anything is sent.
    await this.#persist()
    if (this.#stopped) return
    this.#send(out)
    this.#opts.onStep?.(this)
  }

  #fail(e: unknown): void {
    this.#halt()
    this.#opts.onFatal?.(e)
  }

  async #persist(): Promise<void> {
    const cup = this.node.cup
    const cupHeight = cup.content.block.height
    const mark = this.node.signingHeight()
    const ops: KvOp[] = []
    if (cupHeight > this.#persistedCupHeight) {
      ops.push({ type: 'put', key: KEY_CUP, value: encodeMessage({ type: 'artifact', artifact: cup }) })
      for await (const [k] of this.#opts.store.iterate({ gte: poolKey(0n), lt: poolKey(cupHeight + 1n) })) ops.push({ type: 'del', key: k.slice() })
    }
    if (mark > this.#persistedSignedUpTo) ops.push({ type: 'put', key: KEY_SIGNED_UP_TO, value: u64(mark) })
    if (!this.#poolMarked) ops.push({ type: 'put', key: KEY_POOL_PERSISTED, value: Uint8Array.of(1) })
    let ownSigned = false
    for (const a of this.node.takeNewArtifacts()) {
      const h = artifactHeight(a)
      if (a.kind === 'cup' || h <= cupHeight) continue
      if (SIGNED_KINDS.has(a.kind) && 'signer' in a && a.signer === this.node.self) ownSigned = true
      ops.push({ type: 'put', key: poolKey(h, artifactId(a)), value: encodeMessage({ type: 'artifact', artifact: a }) })
    }
    if (ops.length === 0) return
    // What this node signed, its signing mark and its CUP must be on disk before anything is sent
    // (restart safety); other artifacts serve liveness after a restart, and LevelDB's log keeps them in
    // order ahead of the next synced batch.
    const mustSync = cupHeight > this.#persistedCupHeight || mark > this.#persistedSignedUpTo || ownSigned || !this.#poolMarked
    await this.#opts.store.batch(ops, { sync: mustSync })
    this.stats.persists++
    this.#poolMarked = true
    if (cupHeight > this.#persistedCupHeight) this.#persistedCupHeight = cupHeight
    if (mark > this.#persistedSignedUpTo) this.#persistedSignedUpTo = mark
  }

  #send(out: readonly Outgoing[]): void {
    for (const o of out) {
      this.#opts.network.send(encodeMessage(o.message), o.to)
      this.stats.sent++
    }
  }
}
