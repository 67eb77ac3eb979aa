// The networkless subnet: one ReplicatedState driven by the real scheduler, one CertifiedState committed
// after every round, and a clock the test controls. No consensus and no network: a round is a Batch
// built here (height + 1, the clock's time, randomness derived from the seed and the height, the
// ingress messages submitted since the last round). Two harnesses with the same seed that receive the
// same calls at the same times reach the same state hash at every height.

import { Principal } from '@dfinity/principal'
import type { Batch, IngressMessage } from '../../protocol/consensus-types.ts'
import { blsKeyFromSeed, blsPublicKey, blsPublicKeyToDer } from '../../protocol/bls.ts'
import type { BlsSecretKey } from '../../protocol/bls.ts'
import { encodeCertificate, signCertificate } from '../../protocol/certificate.ts'
import { CapsaError } from '../../protocol/errors.ts'
import { sha256, toHex } from '../../protocol/hash.ts'
import type { Height, TimeNs } from '../../protocol/ids.ts'
import { ANONYMOUS_PRINCIPAL, subnetCanisterRange } from '../../protocol/principal.ts'
import { newReplicatedState } from '../../execution/replicated-state.ts'
import type { IngressStatus, ReplicatedState } from '../../execution/replicated-state.ts'
import type { CyclesConfig } from '../../execution/cycles.ts'
import { defaultSchedulerConfig, executeRound } from '../../execution/scheduler.ts'
import type { RoundResult, SchedulerConfig } from '../../execution/scheduler.ts'
import { executeQuery } from '../../execution/query.ts'
import { START_TIME, SUBNET_ID, unsignedIngress } from '../../execution/scheduler-testing.ts'
import { CertifiedState } from '../../state/certified-state.ts'
import { LABEL } from '../../state/state-tree.ts'
import type { MapNode, Path } from '../../state/tree.ts'
import { lookupValue } from '../../state/tree.ts'
import { buildWitness } from '../../state/witness.ts'
import { buildManifest, encodeManifest, manifestHash } from '../../state/manifest.ts'
import { snapshotReplicatedState } from '../../state/replicated-snapshot.ts'
import { CallRejectedError, notFinal } from './errors.ts'

export type PrincipalLike = Principal | Uint8Array | string | { getPrincipal(): Principal }

export function principalBytes(p: PrincipalLike): Uint8Array {
  if (p instanceof Uint8Array) return p
  if (typeof p === 'string') return Principal.fromText(p).toUint8Array()
  if (p instanceof Principal || (typeof p === 'object' && '_isPrincipal' in p)) return (p as Principal).toUint8Array()
  return p.getPrincipal().toUint8Array()
}

export interface SubnetOptions {
  /** Derives the round randomness and the subnet's key; equal seeds give equal runs. */
  seed?: string
  /** Start time in ns since the epoch (default 2023-11-14). */
  startTimeNs?: bigint
  /** false: run modules uninstrumented (no metering); faster, but instruction limits do not apply. */
  instrument?: boolean
  scheduler?: Partial<SchedulerConfig>
  /** Rounds an update call may take before `awaitCall` gives up (default 100). */
  maxRoundsPerCall?: number
  /** Called for every canister log record (debug_print, traps) as its round runs. */
  onLog?: (log: HarnessLog) => void
  /** The cost table (execution/cycles.ts): `cyclesConfig(FREE_FEES)` makes everything free; default:
   *  the IC's 13-node application subnet. */
  cycles?: CyclesConfig
}

export interface HarnessLog {
  canisterId: Principal
  height: bigint
  idx: bigint
  timestampNanos: bigint
  content: Uint8Array
  /** The content as UTF-8 (what debug_print printed). */
  text: string
}

export interface CallOptions {
  /** The caller; the harness identity (anonymous unless set) when absent. */
  sender?: PrincipalLike
}

/** A submitted update call, to `awaitCall` later. */
export interface SubmittedCall {
  readonly messageId: Uint8Array
  readonly canisterId: Uint8Array
  readonly method: string
}

const MINUTE_NS = 60_000_000_000n
const BEACON_DOMAIN = new TextEncoder().encode('capsa-harness-beacon')

export class SubnetCore {
  readonly state: ReplicatedState
  readonly certified: CertifiedState
  readonly logs: HarnessLog[] = []
  lastRound: RoundResult | undefined
  readonly #seed: Uint8Array
  readonly #config: SchedulerConfig
  readonly #maxRounds: number
  readonly #onLog: ((log: HarnessLog) => void) | undefined
  readonly #secretKey: BlsSecretKey
  readonly #rootKey: Uint8Array
  #time: bigint
  #lastRoundTime = 0n
  #nonce = 0
  #queue: IngressMessage[] = []
  /** Final statuses of calls submitted through the harness, kept until awaited (the state prunes them). */
  readonly #outcomes = new Map<string, IngressStatus>()
  readonly #awaiting = new Set<string>()
  #certificates = new Map<string, Uint8Array>()
  #sender: Uint8Array = ANONYMOUS_PRINCIPAL

  constructor(opts: SubnetOptions = {}) {
    this.#seed = new TextEncoder().encode(opts.seed ?? 'capsa')
    this.#config = { ...defaultSchedulerConfig, ...opts.scheduler }
    this.#maxRounds = opts.maxRoundsPerCall ?? 100
    this.#onLog = opts.onLog
    this.#time = opts.startTimeNs ?? START_TIME
    this.#secretKey = blsKeyFromSeed(sha256(new TextEncoder().encode('capsa-harness-key'), this.#seed))
    this.#rootKey = blsPublicKeyToDer(blsPublicKey(this.#secretKey))
    const canisterRanges = [subnetCanisterRange(0)]
    this.state = newReplicatedState({ subnetId: SUBNET_ID, canisterRanges, runtimeOptions: { instrument: opts.instrument ?? true, cycles: opts.cycles } })
    this.certified = new CertifiedState({ subnets: [{ id: SUBNET_ID, info: { publicKeyDer: this.#rootKey, canisterRanges, nodes: [] } }] })
    this.certified.load(this.state)
  }

  // ------------------------------------------------------------------------------------------
  // Identity and clock

  /** The default caller of every call that names no sender; anonymous at first. */
  setIdentity(who: PrincipalLike): void {
    this.#sender = principalBytes(who)
  }

  get identity(): Principal {
    return Principal.fromUint8Array(this.#sender)
  }

  /** The time the next round will run at, ns since the epoch. */
  time(): bigint {
    return this.#time
  }

  /** The same in ms, as PocketIC's `getTime`. */
  getTime(): number {
    return Number(this.#time / 1_000_000n)
  }

  setTimeNs(ns: bigint): void {
    if (ns < this.#lastRoundTime) throw new CapsaError('INVALID_ARGUMENT', `time cannot go back before the last round (${this.#lastRoundTime} ns)`)
    this.#time = ns
  }

  setTime(ms: number): void {
    this.setTimeNs(BigInt(Math.round(ms)) * 1_000_000n)
  }

  advanceTimeNs(ns: bigint): void {
    this.setTimeNs(this.#time + ns)
  }

  /** Moves the clock forward by `ms` (PocketIC's unit); the next `tick` runs at the new time. */
  advanceTime(ms: number): void {
    this.advanceTimeNs(BigInt(Math.round(ms * 1_000_000)))
  }

  height(): bigint {
    return this.state.height
  }

  // ------------------------------------------------------------------------------------------
  // Rounds

  /** Runs `rounds` rounds; each takes the messages submitted so far and commits the state tree. */
  tick(rounds = 1): RoundResult {
    if (!Number.isInteger(rounds) || rounds < 1) throw new CapsaError('INVALID_ARGUMENT', `tick runs at least one round, got ${rounds}`)
    let result = this.#round()
    for (let i = 1; i < rounds; i++) result = this.#round()
    return result
  }

  #round(): RoundResult {
    // Batch times strictly increase, as consensus guarantees; an unmoved clock creeps by 1 ns.
    const time = this.#time > this.#lastRoundTime ? this.#time : this.#lastRoundTime + 1n
    const height = this.state.height + 1n
    const h = new Uint8Array(8)
    new DataView(h.buffer).setBigUint64(0, height)
    const batch: Batch = { height: height as Height, time: time as TimeNs, randomness: sha256(BEACON_DOMAIN, this.#seed, h), messages: this.#queue }
    this.#queue = []
    const result = executeRound(this.state, batch, this.#config)
    this.certified.commit(this.state, result)
    this.#certificates = new Map()
    this.#lastRoundTime = this.#time = time
    for (const s of result.ingressStatuses) {
      const key = toHex(s.requestId)
      if (this.#awaiting.has(key) && (s.status.status === 'replied' || s.status.status === 'rejected')) this.#outcomes.set(key, s.status)
    }
    for (const { canisterId, record } of result.logs) {
      const log: HarnessLog = {
        canisterId: Principal.fromUint8Array(canisterId), height, idx: record.idx, timestampNanos: record.timestampNanos,
        content: record.content, text: new TextDecoder().decode(record.content),
      }
      this.logs.push(log)
      this.#onLog?.(log)
    }
    this.lastRound = result
    return result
  }

  // ------------------------------------------------------------------------------------------
  // Calls

  /** Queues an update call for the next round (several submitted calls share one round). */
  submitCall(canisterId: PrincipalLike, method: string, arg: Uint8Array, opts: CallOptions = {}): SubmittedCall {
    const id = principalBytes(canisterId)
    const sender = opts.sender === undefined ? this.#sender : principalBytes(opts.sender)
    const msg = unsignedIngress({ canisterId: id, method, arg, sender, nonce: this.#nonce++, expiry: this.#time + 5n * MINUTE_NS })
    this.#queue.push(msg)
    this.#awaiting.add(toHex(msg.id))
    return { messageId: msg.id, canisterId: id, method }
  }

  /** Ticks until the call is answered (at most `maxRounds`); the reply, or a CallRejectedError. */
  awaitCall(call: SubmittedCall, maxRounds = this.#maxRounds): Uint8Array {
    const key = toHex(call.messageId)
    if (!this.#awaiting.has(key)) throw new CapsaError('INVALID_ARGUMENT', `call to ${call.method} was not submitted through this harness or was awaited already`)
    let rounds = 0
    while (!this.#outcomes.has(key) && rounds < maxRounds) {
      this.tick()
      rounds++
    }
    const status = this.#outcomes.get(key)
    if (status === undefined) throw notFinal(call.method, rounds, this.state.ingress.get(key)?.status.status ?? 'unknown')
    this.#outcomes.delete(key)
    this.#awaiting.delete(key)
    if (status.status === 'replied') return status.reply
    if (status.status !== 'rejected') throw new Error('unreachable: only final statuses are kept')
    throw new CallRejectedError(call.canisterId, call.method, status.rejectCode, status.errorCode, status.rejectMessage)
  }

  /** An update call as ingress: submitted, then ticked until final. */
  updateCall(canisterId: PrincipalLike, method: string, arg: Uint8Array, opts: CallOptions = {}): Uint8Array {
    return this.awaitCall(this.submitCall(canisterId, method, arg, opts))
  }

  /** A query against the last committed state (non-replicated: nothing persists). */
  queryCall(canisterId: PrincipalLike, method: string, arg: Uint8Array, opts: CallOptions = {}): Uint8Array {
    const id = principalBytes(canisterId)
    const sender = opts.sender === undefined ? this.#sender : principalBytes(opts.sender)
    const time = this.state.height === 0n ? this.#time : this.state.time
    const dataCertificate = id.length === 0 ? undefined : this.#dataCertificate(id)
    const r = executeQuery(this.state, { canisterId: id, method, arg, sender }, time, { dataCertificate })
    if (r.status === 'replied') return r.reply
    throw new CallRejectedError(id, method, r.rejectCode, r.errorCode, r.rejectMessage)
  }

  // ------------------------------------------------------------------------------------------
  // Certified state

  /** The root hash of the certified state tree at the current height. */
  stateHash(): Uint8Array {
    return this.certified.tree.hash
  }

  /** A hash over the whole replicated state (heaps, stable memory, queues, ...) and the tree root:
   *  what a checkpoint's manifest certifies. Costs a full snapshot; for determinism tests. */
  fullStateHash(): Uint8Array {
    const { manifest } = buildManifest(snapshotReplicatedState(this.state), 16)
    return sha256(this.certified.tree.hash, manifestHash(encodeManifest(manifest)))
  }

  tree(): MapNode {
    return this.certified.tree
  }

  /** The subnet's public key (DER), which is the root key of this one-subnet network. */
  rootKey(): Uint8Array {
    return this.#rootKey.slice()
  }

  /** What the canister last set with ic0.certified_data_set, as the state tree certifies it. */
  certifiedData(canisterId: PrincipalLike): Uint8Array | undefined {
    return lookupValue(this.certified.tree, [LABEL.canister, principalBytes(canisterId), LABEL.certifiedData])
  }

  /** A certificate (CBOR) of `paths` and /time in the current tree, signed with the subnet key. */
  readState(paths: readonly Path[]): Uint8Array {
    return encodeCertificate(signCertificate(buildWitness(this.certified.tree, paths), this.#secretKey))
  }

  // A query sees the certificate of its canister's certified data; one signature per canister and
  // height, and none for a canister that certified nothing (a signature costs milliseconds, and such a
  // canister has nothing to prove), so there data_certificate_present is 0.
  #dataCertificate(id: Uint8Array): Uint8Array | undefined {
    if ((this.certifiedData(id)?.length ?? 0) === 0) return undefined
    const key = toHex(id)
    let cert = this.#certificates.get(key)
    if (cert === undefined) this.#certificates.set(key, (cert = this.readState([[LABEL.canister, id, LABEL.certifiedData]])))
    return cert
  }
}
