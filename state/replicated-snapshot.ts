// The complete replicated state of a subnet as a checkpoint snapshot, and back. Canister heaps and
// stable memories become page maps (`canister/<hex id>/heap|stable`), so a checkpoint rewrites only
// the chunks holding dirty pages; everything else becomes blobs under `replicated/`:
//   replicated/subnet            ids, height, time, counters, the management queue, ingress statuses,
//                                and the keys of the per-canister blobs (so a lost one is detected)
//   replicated/queues            input queues and pending stop_canister calls
//   replicated/histories         canister histories (canister_info)
//   replicated/chunks/<hex id>   one Wasm chunk store (large, and rarely changed: a blob of its own)
//   replicated/canister/<hex id> every other field of one CanisterState
// Per-canister blobs keep an unchanged canister's chunks identical between checkpoints, so the store
// deduplicates them. Blobs outside `replicated/` belong to the node (the certified ingress history,
// ...): they are written as given and left in the snapshot on restore (`extraBlobsOf`).
// Every blob starts with a version byte; a blob that does not decode is STATE_CORRUPT naming it.

import { CapsaError } from '../protocol/errors.ts'
import { bytesEqual, toHex } from '../protocol/hash.ts'
import type { Height, TimeNs } from '../protocol/ids.ts'
import type { CanisterRange } from '../protocol/principal.ts'
import { loadCanister, newReplicatedState } from '../execution/replicated-state.ts'
import type {
  CanisterChange, CanisterHistory, ChangeDetails, IngressStatus, IngressStatusRecord, InputMessage, PendingStop, ReplicatedState, ReplicatedStateInit,
} from '../execution/replicated-state.ts'
import type { RejectCode } from '../protocol/reject.ts'
import type { Cycles } from '../protocol/ids.ts'
import { canisterPageMaps, pageMapFromSnapshot } from './execution-adapter.ts'
import type { PageMapSnapshot, StateSnapshot } from './manifest.ts'
import { Dec, Enc, decCanister, decIncomingCall, decOrigin, encCanister, encIncomingCall, encOrigin, sortedEntries } from './replicated-codec.ts'

export const REPLICATED_SNAPSHOT_VERSION = 1
export const REPLICATED_PREFIX = 'replicated/'
const SUBNET = 'replicated/subnet'
const QUEUES = 'replicated/queues'
const HISTORIES = 'replicated/histories'
const CHUNKS = 'replicated/chunks/'
const CANISTER = 'replicated/canister/'

const begin = (): Enc => new Enc().u8(REPLICATED_SNAPSHOT_VERSION)
function open(name: string, bytes: Uint8Array): Dec {
  const d = new Dec(bytes, name)
  const v = d.u8()
  if (v !== REPLICATED_SNAPSHOT_VERSION) d.fail(`unsupported version ${v}`)
  return d
}
function done<T>(d: Dec, v: T): T {
  d.end()
  return v
}

// ----------------------------------------------------------------------------------------------
// Subnet-level records

const INGRESS_PHASES = ['received', 'processing', 'done'] as const
function encStatus(e: Enc, s: IngressStatus): void {
  if (s.status === 'replied') e.u8(3).bytes(s.reply)
  else if (s.status === 'rejected') e.u8(4).small(s.rejectCode).text(s.rejectMessage).opt(s.errorCode, (c) => e.text(c))
  else e.u8(INGRESS_PHASES.indexOf(s.status))
}
function decStatus(d: Dec): IngressStatus {
  const t = d.tag(4, 'ingress status')
  if (t === 3) return { status: 'replied', reply: d.bytes() }
  if (t === 4) {
    const r: IngressStatus = { status: 'rejected', rejectCode: d.small(), rejectMessage: d.text() }
    const code = d.opt(() => d.text())
    // an absent errorCode stays absent (not `undefined`), as the scheduler builds it
    return code === undefined ? r : { ...r, errorCode: code }
  }
  return { status: INGRESS_PHASES[t] }
}

function encSubnet(s: ReplicatedState): Uint8Array {
  const e = begin().bytes(s.subnetId)
  e.list(s.canisterRanges, ([a, b]) => e.bytes(a).bytes(b))
  e.int(s.height).int(s.time).int(s.nextCanisterIndex).int(s.randomnessCounter)
  e.list(s.subnetQueue, (c) => encIncomingCall(e, c))
  e.list(sortedEntries(s.ingress), ([k, r]) => {
    e.text(k).bytes(r.requestId).bytes(r.sender).bytes(r.effectiveCanisterId).int(r.expiry)
    encStatus(e, r.status)
  })
  e.list(s.ingressCompleted, (c) => e.int(c.expiry).text(c.key))
  // the per-key blobs that must be present: a lost canister or chunk store blob is then detected
  e.list([...s.canisters.keys()].sort(), (k) => e.text(k))
  return e.list([...s.chunkStores.keys()].sort(), (k) => e.text(k)).finish()
}

/** Decodes the subnet blob into `state`; returns the keys of the canister and chunk store blobs. */
function decSubnet(bytes: Uint8Array, init: ReplicatedStateInit, state: ReplicatedState): { canisters: string[]; chunks: string[] } {
  const d = open(SUBNET, bytes)
  const subnetId = d.bytes()
  const ranges = d.list((): CanisterRange => [d.bytes(), d.bytes()])
  const sameRanges = ranges.length === init.canisterRanges.length &&
    ranges.every(([a, b], i) => bytesEqual(a, init.canisterRanges[i][0]) && bytesEqual(b, init.canisterRanges[i][1]))
  if (!bytesEqual(subnetId, init.subnetId) || !sameRanges) d.fail(`the snapshot belongs to subnet ${toHex(subnetId)} with other canister ranges than this node's`)
  state.height = d.nat() as Height
  state.time = d.nat() as TimeNs
  state.nextCanisterIndex = d.nat()
  state.randomnessCounter = d.nat()
  state.subnetQueue.push(...d.list(() => decIncomingCall(d)))
  const ingress = d.sorted(() => d.text(), (): IngressStatusRecord => ({
    requestId: d.bytes(), sender: d.bytes(), effectiveCanisterId: d.bytes(), expiry: d.int(), status: decStatus(d),
  }))
  for (const [k, r] of ingress) state.ingress.set(k, r)
  state.ingressCompleted.push(...d.list(() => ({ expiry: d.int(), key: d.text() })))
  const keys = () => [...d.sorted(() => d.text(), () => null).keys()]
  return done(d, { canisters: keys(), chunks: keys() })
}

function encInput(e: Enc, m: InputMessage): void {
  if (m.kind === 'call') return void encIncomingCall(e.u8(0), m.call)
  const r = m.response
  e.u8(1).int(m.callbackId)
  if (r.kind === 'reply') e.u8(0).bytes(r.bytes).int(r.refund)
  else e.u8(1).small(r.rejectCode).text(r.message).int(r.refund)
}
function decInput(d: Dec): InputMessage {
  if (d.tag(1, 'input message') === 0) return { kind: 'call', call: decIncomingCall(d) }
  const callbackId = d.int()
  if (d.tag(1, 'response') === 0) return { kind: 'response', callbackId, response: { kind: 'reply', bytes: d.bytes(), refund: d.int() as Cycles } }
  return { kind: 'response', callbackId, response: { kind: 'reject', rejectCode: d.small() as RejectCode, message: d.text(), refund: d.int() as Cycles } }
}

function encQueues(s: ReplicatedState): Uint8Array {
  const e = begin()
  e.list(sortedEntries(s.inputQueues), ([k, q]) => e.text(k).list(q, (m) => encInput(e, m)))
  return e.list(sortedEntries(s.pendingStops), ([k, q]) => e.text(k).list(q, (p) => {
    encOrigin(e, p.origin)
    e.int(p.cycles)
  })).finish()
}
function decQueues(bytes: Uint8Array, state: ReplicatedState): void {
  const d = open(QUEUES, bytes)
  for (const [k, q] of d.sorted(() => d.text(), () => d.list(() => decInput(d)))) state.inputQueues.set(k, q)
  const stops = d.sorted(() => d.text(), () => d.list((): PendingStop => ({ origin: decOrigin(d), cycles: d.int() as Cycles })))
  for (const [k, q] of stops) state.pendingStops.set(k, q)
  d.end()
}

const DEPLOY_MODES = ['install', 'reinstall', 'upgrade'] as const
function encChange(e: Enc, c: CanisterChange): void {
  e.int(c.timestampNanos).int(c.canisterVersion).u8(c.origin.kind === 'canister' ? 1 : 0).bytes(c.origin.id)
  const x = c.details
  if (x.kind === 'creation') e.u8(0).list(x.controllers, (p) => e.bytes(p))
  else if (x.kind === 'code_uninstall') e.u8(1)
  else if (x.kind === 'code_deployment') e.u8(2).u8(DEPLOY_MODES.indexOf(x.mode)).bytes(x.moduleHash)
  else e.u8(3).list(x.controllers, (p) => e.bytes(p))
}
function decChange(d: Dec): CanisterChange {
  const timestampNanos = d.int()
  const canisterVersion = d.int()
  const origin = { kind: d.tag(1, 'change origin') === 1 ? 'canister' as const : 'user' as const, id: d.bytes() }
  const t = d.tag(3, 'change details')
  const details: ChangeDetails = t === 0 ? { kind: 'creation', controllers: d.list(() => d.bytes()) }
    : t === 1 ? { kind: 'code_uninstall' }
    : t === 2 ? { kind: 'code_deployment', mode: DEPLOY_MODES[d.tag(2, 'deployment mode')], moduleHash: d.bytes() }
    : { kind: 'controllers_change', controllers: d.list(() => d.bytes()) }
  return { timestampNanos, canisterVersion, origin, details }
}

// ----------------------------------------------------------------------------------------------

/** The complete state as a checkpoint snapshot at `state.height`; `extraBlobs` are added as given
 *  (names must lie outside `replicated/`). Deterministic: equal states give equal snapshots. */
export function snapshotReplicatedState(state: ReplicatedState, extraBlobs?: ReadonlyMap<string, Uint8Array>): StateSnapshot {
  const blobs = new Map<string, Uint8Array>()
  for (const [name, blob] of extraBlobs ?? []) {
    if (name.startsWith(REPLICATED_PREFIX)) throw new CapsaError('INVALID_ARGUMENT', `extra blob ${name}: the prefix ${REPLICATED_PREFIX} is reserved`)
    blobs.set(name, blob)
  }
  blobs.set(SUBNET, encSubnet(state))
  blobs.set(QUEUES, encQueues(state))
  const hist = begin()
  hist.list(sortedEntries(state.histories), ([k, h]) => hist.text(k).int(h.total).list(h.changes, (c) => encChange(hist, c)))
  blobs.set(HISTORIES, hist.finish())
  for (const [k, store] of sortedEntries(state.chunkStores)) {
    const e = begin()
    blobs.set(CHUNKS + k, e.list(sortedEntries(store), ([h, c]) => e.text(h).bytes(c)).finish())
  }
  const pageMaps = new Map<string, PageMapSnapshot>()
  for (const [k, rt] of sortedEntries(state.canisters)) {
    const e = begin()
    encCanister(e, rt.state)
    blobs.set(CANISTER + k, e.finish())
    for (const [name, pm] of canisterPageMaps(rt.state, k)) pageMaps.set(name, pm)
  }
  return { height: state.height, pageMaps, blobs }
}

/** The node's own blobs of a snapshot: those outside `replicated/`, which restore leaves alone. */
export function extraBlobsOf(snapshot: StateSnapshot): Map<string, Uint8Array> {
  return new Map([...snapshot.blobs].filter(([name]) => !name.startsWith(REPLICATED_PREFIX)))
}

/**
 * Rebuilds the state of `snapshotReplicatedState`, with a live instance per installed canister
 * (module compiled, heap and globals restored), for the subnet `init` describes. Throws CapsaError
 * STATE_CORRUPT naming the blob or page map that is missing, malformed or inconsistent.
 */
export function restoreReplicatedState(snapshot: StateSnapshot, init: ReplicatedStateInit): ReplicatedState {
  const state = newReplicatedState(init)
  const corrupt = (name: string, what: string): never => {
    throw new CapsaError('STATE_CORRUPT', `replicated state blob ${name}: ${what}`, { blob: name })
  }
  const need = (name: string): Uint8Array => snapshot.blobs.get(name) ?? corrupt(name, 'missing from the snapshot')
  const keys = decSubnet(need(SUBNET), init, state)
  if (state.height !== snapshot.height) corrupt(SUBNET, `height ${state.height} differs from the snapshot's ${snapshot.height}`)
  decQueues(need(QUEUES), state)
  const hd = open(HISTORIES, need(HISTORIES))
  const histories = hd.sorted(() => hd.text(), (): CanisterHistory => ({ total: hd.nat(), changes: hd.list(() => decChange(hd)) }))
  for (const [k, h] of done(hd, histories)) state.histories.set(k, h)
  for (const key of keys.chunks) {
    const d = open(CHUNKS + key, need(CHUNKS + key))
    state.chunkStores.set(key, done(d, d.sorted(() => d.text(), () => d.bytes())))
  }
  const expected = new Set([SUBNET, QUEUES, HISTORIES, ...keys.chunks.map((k) => CHUNKS + k), ...keys.canisters.map((k) => CANISTER + k)])
  for (const name of snapshot.blobs.keys()) if (name.startsWith(REPLICATED_PREFIX) && !expected.has(name)) corrupt(name, `not listed in ${SUBNET}`)
  const used = new Set<string>()
  for (const key of keys.canisters) {
    const name = CANISTER + key
    const pages = (kind: 'heap' | 'stable') => {
      const pm = `canister/${key}/${kind}`
      used.add(pm)
      return pageMapFromSnapshot(snapshot.pageMaps.get(pm) ?? corrupt(pm, 'page map missing from the snapshot'))
    }
    const d = open(name, need(name))
    const canister = done(d, decCanister(d, pages('heap'), pages('stable')))
    if (toHex(canister.id) !== key) d.fail(`holds canister ${toHex(canister.id)}`)
    try {
      loadCanister(state, canister)
    } catch (e) {
      // a module that no longer compiles or a (start) that traps: the stored state cannot be run
      throw new CapsaError('STATE_CORRUPT', `replicated state blob ${name}: the canister cannot be loaded: ${(e as Error).message}`, { blob: name }, { cause: e })
    }
  }
  for (const pm of snapshot.pageMaps.keys()) if (pm.startsWith('canister/') && !used.has(pm)) corrupt(pm, 'page map of no canister')
  return state
}
