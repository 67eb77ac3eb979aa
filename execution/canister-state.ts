// The replicated state of one canister. Plain data plus two page maps, so state/ can hash and persist
// it field by field; the live WebAssembly instance is a cache of (module, heap, globals), kept
// outside this type (instance.ts).

import type { CanisterId, Cycles, TimeNs } from '../protocol/ids.ts'
import { cycles } from '../protocol/ids.ts'
import { limits } from '../protocol/limits.ts'
import { sha256 } from '../protocol/hash.ts'
import { PageMap } from './page-map.ts'

export type CanisterStatus = 'running' | 'stopping' | 'stopped'
export const STATUS_CODE: Record<CanisterStatus, number> = { running: 1, stopping: 2, stopped: 3 }

export interface CanisterSettings {
  controllers: Uint8Array[]
  computeAllocation: bigint
  memoryAllocation: bigint
  freezingThreshold: bigint
  reservedCyclesLimit: bigint
  logVisibility: 'controllers' | 'public'
  wasmMemoryLimit: bigint
  wasmMemoryThreshold: bigint
}

export interface CanisterModule {
  bytes: Uint8Array
  /** SHA-256 of the module as installed (before any decompression), as canister_status reports. */
  hash: Uint8Array
  memory64: boolean
}

/** One value per mutable global the runtime tracks, in the order of `ModuleShape.globals`. */
export type GlobalValue = number | bigint

/** A canister log record, as `fetch_canister_logs` returns it. */
export interface LogRecord {
  idx: bigint
  timestampNanos: bigint
  content: Uint8Array
}

/** A ring of records bounded by total content size; the oldest records go first. */
export interface CanisterLog {
  nextIdx: bigint
  records: LogRecord[]
  bytes: number
}

export type CallOrigin =
  | { kind: 'ingress'; sender: Uint8Array; messageId: Uint8Array }
  | { kind: 'canister'; caller: CanisterId; callbackId: bigint; deadline: bigint }
  | { kind: 'system' }

export interface CallContext {
  id: bigint
  origin: CallOrigin
  responded: boolean
  availableCycles: Cycles
  /** Instructions spent in this call context so far (performance_counter 1). */
  instructions: bigint
}

export interface CallbackRef {
  fun: number | bigint
  env: number | bigint
}

/** A call this canister made and whose response it still expects. */
export interface Callback {
  id: bigint
  callContextId: bigint
  callee: Uint8Array
  reply: CallbackRef
  reject: CallbackRef
  cleanup: CallbackRef | undefined
  cyclesSent: Cycles
  deadline: bigint
}

/** An outgoing call as a message leaves the canister. */
export interface OutgoingCall {
  callee: Uint8Array
  method: string
  arg: Uint8Array
  cycles: Cycles
  reply: CallbackRef
  reject: CallbackRef
  cleanup: CallbackRef | undefined
  /** Bounded-wait timeout, undefined for a guaranteed-response call. */
  timeoutSeconds: number | undefined
}

export interface CanisterState {
  id: CanisterId
  module: CanisterModule | undefined
  heap: PageMap
  /** Size of the Wasm memory in 64 KiB pages (what memory.size returns). */
  heapWasmPages: number
  stable: PageMap
  /** Stable memory size in 64 KiB pages. */
  stableWasmPages: bigint
  globals: GlobalValue[]
  settings: CanisterSettings
  cycles: Cycles
  status: CanisterStatus
  certifiedData: Uint8Array
  /** 0 = no timer. */
  globalTimer: TimeNs
  version: bigint
  callContexts: Map<bigint, CallContext>
  nextCallContextId: bigint
  callbacks: Map<bigint, Callback>
  nextCallbackId: bigint
  outputQueue: OutgoingCall[]
  log: CanisterLog
}

export function defaultSettings(controllers: Uint8Array[]): CanisterSettings {
  return {
    controllers: controllers.map((c) => c.slice()),
    computeAllocation: 0n,
    memoryAllocation: 0n,
    freezingThreshold: 2_592_000n,
    reservedCyclesLimit: 5_000_000_000_000n,
    logVisibility: 'controllers',
    wasmMemoryLimit: 3n * 1024n * 1024n * 1024n,
    wasmMemoryThreshold: 0n,
  }
}

export function newCanisterState(id: CanisterId, controllers: Uint8Array[], balance: Cycles = cycles(0)): CanisterState {
  return {
    id,
    module: undefined,
    heap: new PageMap(),
    heapWasmPages: 0,
    stable: new PageMap(),
    stableWasmPages: 0n,
    globals: [],
    settings: defaultSettings(controllers),
    cycles: balance,
    status: 'running',
    certifiedData: new Uint8Array(0),
    globalTimer: 0n as TimeNs,
    version: 0n,
    callContexts: new Map(),
    nextCallContextId: 0n,
    callbacks: new Map(),
    nextCallbackId: 0n,
    outputQueue: [],
    log: { nextIdx: 0n, records: [], bytes: 0 },
  }
}

export function canisterModule(bytes: Uint8Array, memory64: boolean): CanisterModule {
  return { bytes, hash: sha256(bytes), memory64 }
}

/** Appends a record, dropping the oldest until the content fits the log's byte bound. A single
 *  record larger than the bound is truncated to it. */
export function appendLog(log: CanisterLog, timestampNanos: bigint, content: Uint8Array): LogRecord {
  const max = limits.maxCanisterLogBytes
  const body = content.length > max ? content.slice(0, max) : content.slice()
  const record: LogRecord = { idx: log.nextIdx, timestampNanos, content: body }
  log.nextIdx++
  log.records.push(record)
  log.bytes += body.length
  while (log.bytes > max && log.records.length > 0) log.bytes -= log.records.shift()!.content.length
  return record
}

/** Input and output queues are bounded; the scheduler rejects with IC0201 beyond this. */
export function outputQueueHasRoom(state: CanisterState, extra: number): boolean {
  return state.outputQueue.length + extra <= limits.maxOutputQueueLength
}
