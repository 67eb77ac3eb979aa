// The replicated state of one subnet as execution sees it: canisters, their input queues, the
// management canister's queue, the ingress statuses that state/ certifies under /request_status,
// and the subnet's id and canister ranges. Everything that is iterated is iterated in canonical
// order (principal bytes, which hex keys preserve), never in insertion order.

import type { CanisterId, Cycles, Height, TimeNs } from '../protocol/ids.ts'
import { cycles } from '../protocol/ids.ts'
import { toHex } from '../protocol/hash.ts'
import { limits } from '../protocol/limits.ts'
import { canisterIdFromIndex, canisterIdInRanges, canisterIndexOf } from '../protocol/principal.ts'
import type { CanisterRange } from '../protocol/principal.ts'
import { newCanisterState } from './canister-state.ts'
import type { CallOrigin, CanisterState } from './canister-state.ts'
import { CanisterRuntime } from './execute.ts'
import type { RuntimeOptions } from './execute.ts'
import type { IncomingCall, IncomingResponse } from './call-context.ts'

/** The status of an update call, shaped as /request_status/<id> certifies it. */
export type IngressStatus =
  | { status: 'received' | 'processing' | 'done' }
  | { status: 'replied'; reply: Uint8Array }
  | { status: 'rejected'; rejectCode: number; rejectMessage: string; errorCode?: string }

export interface IngressStatusRecord {
  requestId: Uint8Array
  sender: Uint8Array
  effectiveCanisterId: Uint8Array
  /** ingress_expiry of the call, ns. */
  expiry: bigint
  status: IngressStatus
}

/** A message waiting in a canister's input queue (or the management canister's). */
export type InputMessage =
  | { kind: 'call'; call: IncomingCall }
  | { kind: 'response'; callbackId: bigint; response: IncomingResponse }

/** A stop_canister call waiting for its canister to reach `stopped`. */
export interface PendingStop {
  origin: CallOrigin
  cycles: Cycles
}

export type ChangeDetails =
  | { kind: 'creation'; controllers: Uint8Array[] }
  | { kind: 'code_uninstall' }
  | { kind: 'code_deployment'; mode: 'install' | 'reinstall' | 'upgrade'; moduleHash: Uint8Array }
  | { kind: 'controllers_change'; controllers: Uint8Array[] }

/** One entry of a canister's history (canister_info). */
export interface CanisterChange {
  timestampNanos: bigint
  /** The canister's version after the change. */
  canisterVersion: bigint
  origin: { kind: 'user' | 'canister'; id: Uint8Array }
  details: ChangeDetails
}

export interface CanisterHistory {
  /** Changes ever recorded, including dropped ones. */
  total: bigint
  changes: CanisterChange[]
}

export interface ReplicatedState {
  readonly subnetId: Uint8Array
  readonly canisterRanges: readonly CanisterRange[]
  /** Key: hex of the canister id. */
  readonly canisters: Map<string, CanisterRuntime>
  /** Input queues by canister hex key; a missing key is an empty queue. */
  readonly inputQueues: Map<string, InputMessage[]>
  /** Calls to the management canister, in arrival order. */
  readonly subnetQueue: IncomingCall[]
  readonly pendingStops: Map<string, PendingStop[]>
  /** Wasm chunk stores by canister hex key: chunk hash (hex) → chunk. */
  readonly chunkStores: Map<string, Map<string, Uint8Array>>
  readonly histories: Map<string, CanisterHistory>
  /** Key: hex of the request id. */
  readonly ingress: Map<string, IngressStatusRecord>
  /** Completed calls ordered by (expiry, request id hex), for pruning. */
  readonly ingressCompleted: { expiry: bigint; key: string }[]
  /** Index (in the IC canister id layout) of the next canister id to hand out. */
  nextCanisterIndex: bigint
  /** raw_rand draws so far: each draw hashes the batch randomness with this counter. */
  randomnessCounter: bigint
  height: Height
  time: TimeNs
  readonly runtimeOptions: RuntimeOptions
}

export interface ReplicatedStateInit {
  subnetId: Uint8Array
  canisterRanges: readonly CanisterRange[]
  runtimeOptions?: RuntimeOptions
}

export function newReplicatedState(init: ReplicatedStateInit): ReplicatedState {
  const first = init.canisterRanges[0]
  const start = first === undefined ? 0n : (canisterIndexOf(first[0]) ?? 0n)
  return {
    subnetId: init.subnetId,
    canisterRanges: init.canisterRanges,
    canisters: new Map(),
    inputQueues: new Map(),
    subnetQueue: [],
    pendingStops: new Map(),
    chunkStores: new Map(),
    histories: new Map(),
    ingress: new Map(),
    ingressCompleted: [],
    nextCanisterIndex: start,
    randomnessCounter: 0n,
    height: 0n as Height,
    time: 0n as TimeNs,
    runtimeOptions: init.runtimeOptions ?? {},
  }
}

export const canisterKey = (id: Uint8Array): string => toHex(id)

export function getCanister(state: ReplicatedState, id: Uint8Array): CanisterRuntime | undefined {
  return state.canisters.get(canisterKey(id))
}

/** Canister keys in principal order. */
export function sortedCanisterKeys(state: ReplicatedState): string[] {
  return [...state.canisters.keys()].sort()
}

/** Ingress records in request id order (what state/ writes into the tree). */
export function sortedIngress(state: ReplicatedState): IngressStatusRecord[] {
  return [...state.ingress.keys()].sort().map((k) => state.ingress.get(k)!)
}

export function enqueueInput(state: ReplicatedState, id: Uint8Array, msg: InputMessage): void {
  const key = canisterKey(id)
  let q = state.inputQueues.get(key)
  if (q === undefined) state.inputQueues.set(key, (q = []))
  q.push(msg)
}

/** Messages waiting for a round: the management canister's queue and every canister's input queue. */
export function queuedMessages(state: ReplicatedState): number {
  let n = state.subnetQueue.length
  for (const q of state.inputQueues.values()) n += q.length
  return n
}

export function inputQueueLength(state: ReplicatedState, id: Uint8Array): number {
  return state.inputQueues.get(canisterKey(id))?.length ?? 0
}

/** The next unused canister id of the subnet's ranges, or undefined when they are exhausted. */
export function allocateCanisterId(state: ReplicatedState): CanisterId | undefined {
  for (;;) {
    const id = canisterIdFromIndex(state.nextCanisterIndex)
    if (!canisterIdInRanges(id, state.canisterRanges)) return undefined
    state.nextCanisterIndex++
    if (!state.canisters.has(canisterKey(id))) return id
  }
}

/** Adds an empty, running canister. The caller checked that `id` is free. */
export function addCanister(state: ReplicatedState, id: CanisterId, controllers: Uint8Array[], balance: bigint): CanisterRuntime {
  const rt = new CanisterRuntime(newCanisterState(id, controllers, cycles(balance)), state.runtimeOptions)
  state.canisters.set(canisterKey(id), rt)
  return rt
}

/** Puts a canister loaded from persisted state (a checkpoint) back into the subnet. */
export function loadCanister(state: ReplicatedState, canister: CanisterState): CanisterRuntime {
  const rt = CanisterRuntime.load(canister, state.runtimeOptions)
  state.canisters.set(canisterKey(canister.id), rt)
  return rt
}

export function removeCanister(state: ReplicatedState, id: Uint8Array): void {
  const key = canisterKey(id)
  state.canisters.get(key)?.releaseInstance()
  state.canisters.delete(key)
  state.inputQueues.delete(key)
  state.pendingStops.delete(key)
  state.chunkStores.delete(key)
  state.histories.delete(key)
}

export function setIngressStatus(state: ReplicatedState, record: IngressStatusRecord, changed: IngressStatusRecord[]): void {
  const key = toHex(record.requestId)
  state.ingress.set(key, record)
  changed.push(record)
  if (record.status.status === 'replied' || record.status.status === 'rejected') {
    const q = state.ingressCompleted
    const after = (e: { expiry: bigint; key: string }) => e.expiry > record.expiry || (e.expiry === record.expiry && e.key > key)
    let lo = 0
    let hi = q.length
    while (lo < hi) {
      const mid = (lo + hi) >>> 1
      if (after(q[mid])) hi = mid
      else lo = mid + 1
    }
    q.splice(lo, 0, { expiry: record.expiry, key })
  }
}

/** Forgets completed calls whose expiry lies more than `marginNs` before `now`: consensus no longer
 *  admits them, so they need no duplicate guard, and state/ keeps the certified history. */
export function pruneIngress(state: ReplicatedState, now: bigint, marginNs: bigint = limits.ingressHistoryMarginNs): number {
  const q = state.ingressCompleted
  let n = 0
  while (n < q.length && q[n].expiry + marginNs < now) state.ingress.delete(q[n++].key)
  q.splice(0, n)
  return n
}
