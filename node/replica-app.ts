// The replica's application behind consensus: blocks carry ingress messages from the node's pool;
// each finalized batch runs through execution (`executeRound`), the certified state tree is updated
// from the round's result, and its root hash is the state hash consensus certifies. At every CUP
// height the full state is snapshotted, its checkpoint manifest hash goes into that height's tree (so
// a node that jumps to the CUP can verify a checkpoint fetched from peers), and the checkpoint is
// written to LevelDB. A restarted node starts from the checkpoint of its CUP; a node without one
// (or one that jumps to a newer CUP) state-syncs it from peers and replays the batches that arrived
// meanwhile. A clean shutdown also writes a checkpoint of the executed height (see close()), and the
// next start resumes from it when it lies above the CUP: consensus still hands over the finalized
// batches from the CUP on, and those the checkpoint already holds are skipped.

import type { ConsensusCrypto } from '../consensus/crypto.ts'
import { genesisCup } from '../consensus/genesis.ts'
import type { CatchUpPackage } from '../consensus/types.ts'
import { loadConsensusState } from './consensus-driver.ts'
import type { KvStore } from '../protocol/interfaces.ts'
import { ingressPayloadBuilder, ingressPayloadValidator } from '../consensus/ingress-payload.ts'
import { defaultSchedulerConfig, executeRound, newReplicatedState, queuedMessages } from '../execution/index.ts'
import type { ReplicatedState, ReplicatedStateInit, RoundResult, SchedulerConfig } from '../execution/index.ts'
import type { Batch, BatchDelivery, BlockPayload, PayloadBuilder, PayloadValidator, StateHashSource } from '../protocol/consensus-types.ts'
import { CapsaError } from '../protocol/errors.ts'
import { bytesEqual, toHex } from '../protocol/hash.ts'
import type { Height, TimeNs } from '../protocol/ids.ts'
import { limits } from '../protocol/limits.ts'
import { CertifiedState } from '../state/certified-state.ts'
import type { CheckpointStore } from '../state/checkpoint.ts'
import { IngressHistory } from '../state/ingress-history.ts'
import type { StateSnapshot } from '../state/manifest.ts'
import { restoreReplicatedState, snapshotReplicatedState } from '../state/replicated-snapshot.ts'
import type { SubnetTreeInfo } from '../state/state-tree.ts'
import type { MapNode } from '../state/tree.ts'
import { IngressPool } from './ingress-pool.ts'

const HISTORY_BLOB = 'certified/ingress_history'
// Only in shutdown checkpoints: the root hash of the height's certified tree (checked after restoring),
// and the manifest hash that tree certifies, the one of the last CUP checkpoint (absent before the
// first): restoring puts that one back, not the shutdown checkpoint's own, so the tree is the one
// every other node has at that height.
const STATE_HASH_BLOB = 'certified/state_hash'
const CUP_MANIFEST_BLOB = 'certified/checkpoint_manifest'
// Also only there: u64 height ‖ root hash of each recent height below it. Consensus certifies heights
// in order and needs this node's hash of each (to sign shares and accept certifications); without
// them the resumed node could not certify again until the next CUP.
const RECENT_HASHES_BLOB = 'certified/recent_state_hashes'
/** Batches finalized while a state sync runs wait here; beyond this the node cannot keep up. */
const MAX_PENDING_BATCHES = 10_000
const SYNC_RETRY_MS = 1_000

export interface ReplicaAppOptions {
  init: ReplicatedStateInit
  /** Every subnet of the network, as /subnet certifies it. */
  subnets: readonly { id: Uint8Array; info: SubnetTreeInfo }[]
  checkpoints: CheckpointStore
  /** Heights that are multiples of this get a checkpoint (consensus makes its CUPs there). */
  cupInterval: bigint
  ingress?: IngressPool
  scheduler?: SchedulerConfig
  /** Trees kept for certification and read_state (heights below the newest minus this are dropped). */
  keepTrees?: number
  /** Fetches the checkpoint at `height` whose tree hashes to `stateHash` into `checkpoints` (from peers). */
  stateSync?: (height: bigint, stateHash: Uint8Array, signal: AbortSignal) => Promise<void>
  onDeliver?: (batch: Batch, result: RoundResult, tree: MapNode) => void
  /** The app cannot continue (a checkpoint write failed): the node must stop. */
  onFatal?: (error: unknown) => void
  log?: (line: string) => void
}

interface SyncJob {
  height: bigint
  stateHash: Uint8Array
  abort: AbortController
  pending: Batch[]
}

interface Execution {
  state: ReplicatedState
  certified: CertifiedState
}

export class ReplicaApp implements PayloadBuilder, PayloadValidator, BatchDelivery, StateHashSource {
  readonly ingress: IngressPool
  lastHeight: bigint
  syncs = 0
  #exec: Execution
  readonly #opts: ReplicaAppOptions
  readonly #trees = new Map<bigint, MapNode>()
  // Trees of the last checkpoint heights, kept beyond `keepTrees`: peers that state-sync ask for a
  // witness of the checkpoint manifest hash at a CUP height.
  readonly #checkpointTrees = new Map<bigint, MapNode>()
  readonly #keep: bigint
  // Delivered message ids with their batch time, for payload validation of blocks above the state:
  // an id leaves once no block can carry it any more (derived from batch times, so every node agrees).
  readonly #recent = new Map<string, bigint>()
  readonly #builder: PayloadBuilder
  readonly #validator: PayloadValidator
  #writes: Promise<unknown> = Promise.resolve()
  #work: { queued: number; heartbeat: boolean; nextTimer: bigint | undefined } = { queued: 0, heartbeat: false, nextTimer: undefined }
  #sync: SyncJob | undefined
  /** Resumed from a shutdown checkpoint: batches up to this height come again and are skipped. */
  #resumedAt = -1n
  /** Root hashes of heights below #resumedAt, from the shutdown checkpoint (their trees are gone). */
  #resumedHashes = new Map<bigint, Uint8Array>()

  private constructor(opts: ReplicaAppOptions, exec: Execution, height: bigint) {
    this.#opts = opts
    this.ingress = opts.ingress ?? new IngressPool()
    this.#exec = exec
    this.lastHeight = height
    this.#trees.set(height, exec.certified.tree)
    if (height > 0n) this.#keepCheckpointTree(height, exec.certified.tree)
    this.#keep = BigInt(opts.keepTrees ?? 200)
    const seen = (id: Uint8Array) => this.#recent.has(toHex(id)) || this.#exec.state.ingress.has(toHex(id))
    this.#noteWork()
    this.#builder = ingressPayloadBuilder(this.ingress, seen)
    this.#validator = ingressPayloadValidator(seen)
  }

  /** The state at genesis: no canisters, the subnets certified; its tree hash goes into the genesis CUP. */
  static genesis(opts: ReplicaAppOptions): ReplicaApp {
    const state = newReplicatedState(opts.init)
    const certified = new CertifiedState({ subnets: opts.subnets })
    certified.load(state)
    return new ReplicaApp(opts, { state, certified }, 0n)
  }

  /**
   * The app at a CUP: genesis, the local checkpoint of the CUP's height, or (neither present, or the
   * checkpoint does not reproduce the CUP's state hash) a state sync from peers started right away.
   */
  static async open(opts: ReplicaAppOptions, cupHeight: bigint, cupStateHash: Uint8Array): Promise<ReplicaApp> {
    const resumed = await ReplicaApp.#resume(opts, cupHeight)
    if (resumed !== undefined) return resumed
    const genesis = ReplicaApp.genesis(opts)
    if (cupHeight === 0n) return genesis
    const loaded = await opts.checkpoints.load(cupHeight).catch((e: unknown) => {
      opts.log?.(`checkpoint at height ${cupHeight} is unusable (${(e as Error).message}); fetching it from peers`)
      return undefined
    })
    if (loaded !== undefined) {
      const exec = ReplicaApp.restore(opts, loaded.snapshot, loaded.info.hash)
      if (bytesEqual(exec.certified.tree.hash, cupStateHash)) return new ReplicaApp(opts, exec, cupHeight)
      opts.log?.(`checkpoint at height ${cupHeight} does not reproduce the CUP's state hash; fetching it from peers`)
    }
    genesis.syncTo(cupHeight as Height, cupStateHash)
    return genesis
  }

  /** The app at the latest checkpoint if a clean shutdown wrote it above the CUP and it restores intact. */
  static async #resume(opts: ReplicaAppOptions, cupHeight: bigint): Promise<ReplicaApp | undefined> {
    // Damage found opening the store is reported by the CUP path below, as before.
    const latest = await opts.checkpoints.open().then(() => opts.checkpoints.latest(), () => undefined)
    if (latest === undefined || latest.height <= cupHeight || !latest.manifest.files.some((f) => f.name === `blob/${STATE_HASH_BLOB}`)) return undefined
    try {
      const loaded = await opts.checkpoints.load(latest.height)
      if (loaded === undefined) return undefined
      const { snapshot } = loaded
      const exec = ReplicaApp.restore(opts, snapshot, snapshot.blobs.get(CUP_MANIFEST_BLOB))
      if (!bytesEqual(exec.certified.tree.hash, snapshot.blobs.get(STATE_HASH_BLOB) ?? new Uint8Array(0))) {
        opts.log?.(`the shutdown checkpoint at height ${latest.height} does not reproduce its state hash; starting from the CUP at ${cupHeight}`)
        return undefined
      }
      const recent = snapshot.blobs.get(RECENT_HASHES_BLOB) ?? new Uint8Array(0)
      if (recent.length % 40 !== 0) throw new CapsaError('STATE_CORRUPT', `${RECENT_HASHES_BLOB} is ${recent.length} bytes long`)
      const app = new ReplicaApp(opts, exec, latest.height)
      app.#resumedAt = latest.height
      for (let o = 0; o < recent.length; o += 40) {
        const h = new DataView(recent.buffer, recent.byteOffset + o, 8).getBigUint64(0)
        if (h >= cupHeight && h < latest.height) app.#resumedHashes.set(h, recent.slice(o + 8, o + 40))
      }
      opts.log?.(`resuming from the shutdown checkpoint at height ${latest.height} (CUP at ${cupHeight})`)
      return app
    } catch (e) {
      opts.log?.(`the shutdown checkpoint at height ${latest.height} is unusable (${(e as Error).message}); starting from the CUP at ${cupHeight}`)
      return undefined
    }
  }

  /** `manifestHash`: what the tree certifies under /capsa/checkpoint_manifest (none: nothing). */
  static restore(opts: ReplicaAppOptions, snapshot: StateSnapshot, manifestHash: Uint8Array | undefined): Execution {
    const state = restoreReplicatedState(snapshot, opts.init)
    const historyBytes = snapshot.blobs.get(HISTORY_BLOB)
    if (historyBytes === undefined) throw new CapsaError('STATE_CORRUPT', `checkpoint at height ${snapshot.height} has no ${HISTORY_BLOB}`)
    const certified = new CertifiedState({ subnets: opts.subnets, history: IngressHistory.decode(historyBytes) })
    certified.load(state)
    if (manifestHash !== undefined) certified.setCheckpointManifest(manifestHash)
    return { state, certified }
  }

  get state(): ReplicatedState {
    return this.#exec.state
  }
  get certified(): CertifiedState {
    return this.#exec.certified
  }
  get syncing(): boolean {
    return this.#sync !== undefined
  }

  build(height: Height, time: TimeNs, past: readonly BlockPayload[]): BlockPayload {
    return this.#builder.build(height, time, past)
  }

  /** Execution wants a round even without ingress: messages still queued, a global timer due, or a
   *  canister with a heartbeat (which runs every round). */
  pendingWork(time: TimeNs): boolean {
    const w = this.#work
    return w.queued > 0 || w.heartbeat || (w.nextTimer !== undefined && w.nextTimer <= time)
  }

  // Derived once per executed round (only rounds change queues, timers and installed modules), not
  // on every consensus step that asks.
  #noteWork(): void {
    let heartbeat = false
    let nextTimer: bigint | undefined
    for (const rt of this.#exec.state.canisters.values()) {
      const t = rt.state.globalTimer
      if (t > 0n && (nextTimer === undefined || t < nextTimer)) nextTimer = t
      if (!heartbeat && rt.hasExport('canister_heartbeat')) heartbeat = true
    }
    this.#work = { queued: queuedMessages(this.#exec.state), heartbeat, nextTimer }
  }

  validate(payload: BlockPayload, height: Height, time: TimeNs, past: readonly BlockPayload[]): string | undefined {
    return this.#validator.validate(payload, height, time, past)
  }

  deliver(batch: Batch): void {
    this.#remember(batch)
    // Consensus restarts delivery at its CUP; a shutdown checkpoint already holds these heights.
    if (batch.height <= this.#resumedAt && batch.height <= this.lastHeight && this.#sync === undefined) return
    if (this.#sync !== undefined) {
      if (this.#sync.pending.length >= MAX_PENDING_BATCHES) throw new CapsaError('OVERLOADED', `state sync to height ${this.#sync.height} is too slow: ${MAX_PENDING_BATCHES} batches wait`)
      this.#sync.pending.push(batch)
      return
    }
    this.#execute(batch)
  }

  #execute(batch: Batch): void {
    if (batch.height !== this.lastHeight + 1n) throw new Error(`batch ${batch.height} delivered out of order (last ${this.lastHeight})`)
    const { state, certified } = this.#exec
    const result = executeRound(state, batch, this.#opts.scheduler ?? defaultSchedulerConfig)
    let tree = certified.commit(state, result)
    if (batch.height % this.#opts.cupInterval === 0n) {
      tree = this.#checkpoint(batch.height)
      this.#keepCheckpointTree(batch.height, tree)
    }
    this.#trees.set(batch.height, tree)
    this.#trees.delete(batch.height - this.#keep)
    this.lastHeight = batch.height
    this.#noteWork()
    this.#opts.onDeliver?.(batch, result, tree)
  }

  // The snapshot and its manifest hash are taken now (the tree of this height certifies the hash);
  // the write itself goes to disk in the background, in height order.
  #checkpoint(height: bigint): MapNode {
    const { state, certified } = this.#exec
    const snapshot = snapshotReplicatedState(state, new Map([[HISTORY_BLOB, certified.history.encode()]]))
    const prepared = this.#opts.checkpoints.prepare(snapshot)
    this.#writes = this.#writes
      .then(() => this.#opts.checkpoints.writePrepared(prepared))
      .catch((e: unknown) => this.#opts.onFatal?.(new CapsaError('STATE_CORRUPT', `writing the checkpoint at height ${height} failed: ${(e as Error).message}`, undefined, { cause: e })))
    return certified.setCheckpointManifest(prepared.hash)
  }

  #remember(batch: Batch): void {
    for (const m of batch.messages) this.#recent.set(toHex(m.id), batch.time)
    const horizon = batch.time - limits.maxIngressTtlNs - limits.ingressExpiryDriftNs
    for (const [id, t] of this.#recent) {
      if (t >= horizon) break // insertion order is batch order, so the rest is newer
      this.#recent.delete(id)
    }
    this.ingress.purge(batch.time, batch.messages.map((m) => m.id))
  }

  /** Consensus jumped to a CUP above the executed height: fetch its checkpoint, then replay. */
  syncTo(height: Height, stateHash: Uint8Array): void {
    this.#sync?.abort.abort()
    const sync: SyncJob = { height, stateHash, abort: new AbortController(), pending: [] }
    this.#sync = sync
    this.#resumedAt = -1n
    this.#resumedHashes.clear()
    this.#trees.clear()
    this.lastHeight = height
    this.syncs++
    void this.#runSync(sync)
  }

  async #runSync(sync: SyncJob): Promise<void> {
    const { height, stateHash, abort } = sync
    for (let attempt = 1; !abort.signal.aborted; attempt++) {
      try {
        let loaded = await this.#opts.checkpoints.load(height).catch(() => undefined)
        if (loaded === undefined) {
          if (this.#opts.stateSync === undefined) throw new CapsaError('UNAVAILABLE', 'no state sync configured')
          this.#opts.log?.(`state sync: fetching the checkpoint at height ${height} from peers (attempt ${attempt})`)
          await this.#opts.stateSync(height, stateHash, abort.signal)
          loaded = await this.#opts.checkpoints.load(height)
          if (loaded === undefined) throw new CapsaError('STATE_SYNC_INVALID', `state sync finished without a checkpoint at height ${height}`)
        }
        const exec = ReplicaApp.restore(this.#opts, loaded.snapshot, loaded.info.hash)
        if (!bytesEqual(exec.certified.tree.hash, stateHash)) throw new CapsaError('STATE_SYNC_INVALID', `the checkpoint at height ${height} does not reproduce the certified state hash`)
        if (abort.signal.aborted) return
        this.#exec = exec
        this.#noteWork()
        this.#trees.set(height, exec.certified.tree)
        this.#keepCheckpointTree(height, exec.certified.tree)
        this.#sync = undefined
        this.#opts.log?.(`state sync: at height ${height}; replaying ${sync.pending.length} batches`)
        for (const b of sync.pending) this.#execute(b)
        return
      } catch (e) {
        if (abort.signal.aborted) return
        this.#opts.log?.(`state sync to height ${height} failed: ${(e as Error).message}; retrying`)
        await new Promise((r) => setTimeout(r, SYNC_RETRY_MS))
      }
    }
  }

  stateHash(height: Height): Uint8Array | undefined {
    return this.#trees.get(height)?.hash ?? this.#resumedHashes.get(height)
  }

  /** The certified tree of an executed height still kept. */
  tree(height: bigint): MapNode | undefined {
    return this.#trees.get(height)
  }

  #keepCheckpointTree(height: bigint, tree: MapNode): void {
    this.#checkpointTrees.set(height, tree)
    for (const h of this.#checkpointTrees.keys()) if (this.#checkpointTrees.size > 2 && h < height) this.#checkpointTrees.delete(h)
  }

  /** The tree of a recent checkpoint height (it certifies that checkpoint's manifest hash). */
  checkpointTree(height: bigint): MapNode | undefined {
    return this.#checkpointTrees.get(height)
  }

  /** Resolves once every checkpoint write started so far is on disk. */
  async flush(): Promise<void> {
    await this.#writes
  }

  /**
   * The node is shutting down (consensus stopped, nothing more is delivered): stops a state sync and
   * starts a checkpoint of the executed height unless one exists there already, so the next start
   * resumes here rather than replaying from the CUP. flush() waits for it; a write cut short (the
   * process exits first) leaves no checkpoint, and the next start replays from the CUP as before.
   */
  close(): void {
    this.#sync?.abort.abort()
    if (this.#sync !== undefined || this.lastHeight % this.#opts.cupInterval === 0n || this.lastHeight === this.#resumedAt) return
    const { state, certified } = this.#exec
    const height = this.lastHeight
    const recent: Uint8Array[] = []
    for (let h = height - this.#keep + 1n > 0n ? height - this.#keep + 1n : 1n; h < height; h++) {
      const hash = this.stateHash(h as Height)
      if (hash === undefined) continue
      const entry = new Uint8Array(40)
      new DataView(entry.buffer).setBigUint64(0, h)
      entry.set(hash, 8)
      recent.push(entry)
    }
    const blobs = new Map([[HISTORY_BLOB, certified.history.encode()], [STATE_HASH_BLOB, certified.tree.hash], [RECENT_HASHES_BLOB, Buffer.concat(recent)]])
    const cupManifest = CertifiedState.checkpointManifestOf(certified.tree)
    if (cupManifest !== undefined) blobs.set(CUP_MANIFEST_BLOB, cupManifest)
    const prepared = this.#opts.checkpoints.prepare(snapshotReplicatedState(state, blobs))
    this.#writes = this.#writes
      .then(() => this.#opts.checkpoints.writePrepared(prepared))
      .catch((e: unknown) => this.#opts.log?.(`the shutdown checkpoint at height ${height} was not written: ${(e as Error).message}`))
  }
}

/**
 * The app a replica starts with, and the genesis CUP (whose state hash is the genesis tree's): at
 * genesis on a fresh store, else at the CUP consensus persisted in `consensusStore`.
 */
export async function openReplicaApp(opts: ReplicaAppOptions, consensusStore: KvStore, crypto: ConsensusCrypto): Promise<{ app: ReplicaApp; genesis: CatchUpPackage; cupHeight: bigint }> {
  const genesisApp = ReplicaApp.genesis(opts)
  const genesis = genesisCup(0n, genesisApp.stateHash(0n as Height)!)
  const { cup } = await loadConsensusState(consensusStore, genesis, crypto)
  const cupHeight = cup.content.block.height
  const app = await ReplicaApp.open(opts, cupHeight, cup.content.stateHash)
  return { app, genesis, cupHeight }
}
