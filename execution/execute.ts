// Message execution against one canister: picks the entry point, runs it on the live instance with
// the System API in the right context, and then either commits (heap pages, globals, stable memory,
// effects) or rolls everything back. Queries never persist and never leave writes in the instance.

import { CapsaError } from '../protocol/errors.ts'
import { IcErrorCode, RejectCode, rejectCodeOfErrorCode } from '../protocol/reject.ts'
import type { TimeNs } from '../protocol/ids.ts'
import { appendLog, canisterModule } from './canister-state.ts'
import type { CanisterState, LogRecord, OutgoingCall } from './canister-state.ts'
export type { EntryPoint } from './entry-points.ts'
import { LiveInstance } from './instance.ts'
import { InstanceSlot, sharedInstanceCache } from './instance-cache.ts'
import type { InstanceCache } from './instance-cache.ts'
import { exportsFunction, prepareModule } from './module-seam.ts'
import type { PreparedModule } from './module-seam.ts'
import { messageEnv } from './system-api-env.ts'
import type { Effects, MessageEnv, Response } from './system-api-env.ts'
import { budgetOf, contextOf, exportOf, PERSISTENT } from './entry-points.ts'
import type { EntryPoint } from './entry-points.ts'
import type { CanisterTrap } from './trap.ts'
import type { CyclesConfig } from './cycles.ts'

/** An execution error as the caller sees it: reject code, IC error code and message text. The
 *  message lacks the "Error from Canister <id>: " prefix (trap.ts `errorFromCanister`), since the
 *  textual canister id is the HTTP layer's business. */
export interface ExecutionError {
  rejectCode: RejectCode
  errorCode: IcErrorCode
  message: string
}

export interface ExecutionResult {
  /** The reply or reject produced (reject code 4, IC0406), absent if the message did not respond. */
  response: Response | undefined
  /** Set when the entry point trapped or could not run; nothing of the message was kept. */
  error: ExecutionError | undefined
  instructions: bigint
  /** Calls made by a successful message, in order (also appended to the output queue). */
  calls: OutgoingCall[]
  /** Debug output of this execution (kept in the canister log in replicated mode, even on a trap). */
  logs: LogRecord[]
  /** Cycles moved from the call context into the balance (kept only if the message succeeded). */
  cyclesAccepted: bigint
  /** canister_inspect_message only: whether ic0.accept_message was called. */
  acceptedMessage: boolean
  dirtyHeapPages: number
  dirtyStablePages: number
}

/** Per-message inputs; everything not given takes the neutral value. */
export type MessageInput = Partial<Omit<MessageEnv, 'context' | 'replicated' | 'time'>> & {
  time: TimeNs | bigint
  /** Instruction budget; defaults to the limit of the entry point's kind (limits.ts). */
  instructionLimit?: bigint
}

interface Saved {
  stableWasmPages: bigint
  module: CanisterState['module']
  prepared: PreparedModule | undefined
  live: LiveInstance | undefined
}

export interface UpgradeOptions {
  skipPreUpgrade?: boolean
  wasmMemoryPersistence?: 'keep' | 'replace'
}

export interface RuntimeOptions {
  /** false: run modules uninstrumented (no metering; dirty pages by comparing the heap). */
  instrument?: boolean
  /** The subnet's cost table (cycles.ts); absent: the IC's 13-node application subnet. */
  cycles?: CyclesConfig
  /** Where live instances are kept and evicted; default the process-wide `sharedInstanceCache`. */
  instanceCache?: InstanceCache
}

const COMPOSITE = new Set(['CQ', 'CRy', 'CRt', 'CC'])

/** One canister: its state and the live instance that caches its module, heap and globals. */
export class CanisterRuntime {
  readonly state: CanisterState
  #prepared: PreparedModule | undefined
  readonly #options: RuntimeOptions
  /** Heap pages written so far by the running composite query session. */
  #session: Set<number> | undefined

  // --- instance cache (instance-cache.ts): the live instance may be evicted between messages and
  // is rebuilt from the committed state when next read; each read of #live counts as a use. A
  // composite query session pins it (its writes live only in the instance until the session ends).
  readonly #slot: InstanceSlot
  get #live(): LiveInstance | undefined {
    return this.#slot.get()
  }
  set #live(live: LiveInstance | undefined) {
    this.#slot.set(live)
  }
  #rebuildInstance(): LiveInstance | undefined {
    if (this.state.module === undefined || this.#prepared === undefined) return undefined
    return LiveInstance.restore(this.#prepared, this.state)
  }
  /** Gives the live instance back to the cache (the canister leaves the subnet). */
  releaseInstance(): void {
    this.#slot.set(undefined)
  }
  // --- end instance cache

  constructor(state: CanisterState, options: RuntimeOptions = {}) {
    this.state = state
    this.#options = options
    this.#slot = new InstanceSlot(options.instanceCache ?? sharedInstanceCache, {
      rebuild: () => this.#rebuildInstance(), pinned: () => this.#session !== undefined, owner: this,
    })
  }

  get hasModule(): boolean {
    return this.state.module !== undefined
  }

  /** Whether the installed module exports `name` (e.g. `canister_heartbeat`). */
  hasExport(name: string): boolean {
    // From the compiled module, so asking never rebuilds an evicted instance.
    return this.#prepared !== undefined && exportsFunction(this.#prepared, name)
  }

  /** install_code mode `install`: the canister must be empty. Runs (start) and canister_init(arg)
   *  atomically: on a trap the canister stays empty. Throws CapsaError for an invalid module. */
  install(wasm: Uint8Array, input: MessageInput): ExecutionResult {
    if (this.state.module !== undefined) throw new CapsaError('INVALID_ARGUMENT', 'Canister already has a Wasm module installed')
    const prepared = prepareModule(wasm, this.#options)
    const saved = this.#save()
    const outcome = this.#startAndRun(prepared, { kind: 'init' }, input, [])
    if (outcome.live === undefined || outcome.inv.trap !== undefined) {
      this.#restore(saved)
      return outcome.result
    }
    this.#commitInstalled(prepared, outcome.live, wasm, [outcome.inv.fx])
    return outcome.result
  }

  /** A runtime for a canister loaded from persisted state (a checkpoint): the module is compiled
   *  now; the live instance is rebuilt from it, the committed heap pages and the globals on first
   *  use (so loading thousands of canisters holds no instances). */
  static load(state: CanisterState, options: RuntimeOptions = {}): CanisterRuntime {
    const rt = new CanisterRuntime(state, options)
    if (state.module !== undefined) rt.#prepared = prepareModule(state.module.bytes, options)
    return rt
  }

  /** install_code mode `reinstall`: like `install` on a wiped canister (heap, stable memory,
   *  certified data); atomic, so a trap in (start) or canister_init keeps the old canister. */
  reinstall(wasm: Uint8Array, input: MessageInput): ExecutionResult {
    const prepared = prepareModule(wasm, this.#options)
    const state = this.state
    const saved = this.#save()
    const kept = { heapWasmPages: state.heapWasmPages, globals: state.globals, certifiedData: state.certifiedData }
    state.heap.truncate(0)
    state.stable.truncate(0)
    state.stableWasmPages = 0n
    const outcome = this.#startAndRun(prepared, { kind: 'init' }, input, [])
    if (outcome.live === undefined || outcome.inv.trap !== undefined) {
      this.#restore(saved)
      state.heap.rollback()
      Object.assign(state, kept)
      return outcome.result
    }
    state.certifiedData = new Uint8Array(0)
    this.#commitInstalled(prepared, outcome.live, wasm, [outcome.inv.fx])
    return outcome.result
  }

  /** uninstall_code: the canister keeps its id, cycles, settings and log, and loses its code and
   *  memories. Open call contexts are the scheduler's to reject. */
  uninstall(): void {
    const state = this.state
    state.module = undefined
    state.heap.truncate(0)
    state.heap.commit()
    state.stable.truncate(0)
    state.stable.commit()
    state.heapWasmPages = 0
    state.stableWasmPages = 0n
    state.globals = []
    state.certifiedData = new Uint8Array(0)
    state.globalTimer = 0n as TimeNs
    state.version++
    this.#prepared = undefined
    this.#live = undefined
  }

  /** install_code mode `upgrade`: canister_pre_upgrade on the old instance (unless skipped), a new
   *  instance, canister_post_upgrade(arg) on it. Stable memory is kept; the heap only with
   *  `wasmMemoryPersistence: 'keep'`. Atomic: any trap leaves the old canister as it was. */
  upgrade(wasm: Uint8Array, input: MessageInput, opts: UpgradeOptions = {}): ExecutionResult {
    const old = this.#live
    const oldModule = this.state.module
    if (old === undefined || oldModule === undefined || this.#prepared === undefined) {
      return this.#failed({ errorCode: IcErrorCode.CanisterWasmModuleNotFound, message: 'Attempted to upgrade a canister that contains no Wasm module.' }, [])
    }
    const prepared = prepareModule(wasm, this.#options)
    const keep = opts.wasmMemoryPersistence === 'keep'
    if (this.#prepared.enhancedOrthogonalPersistence && opts.wasmMemoryPersistence === undefined) {
      return this.#failed({ errorCode: IcErrorCode.CanisterContractViolation, message: 'Missing upgrade option: Enhanced orthogonal persistence requires the `wasm_memory_persistence` upgrade option.' }, [])
    }
    if (keep && !prepared.enhancedOrthogonalPersistence) {
      return this.#failed({ errorCode: IcErrorCode.CanisterContractViolation, message: 'Invalid upgrade option: The `wasm_memory_persistence: opt Keep` upgrade option requires that the new canister module supports enhanced orthogonal persistence.' }, [])
    }
    const saved = this.#save()
    const fxs: Effects[] = []
    const logs: LogRecord[] = []
    let instructions = 0n
    if (!opts.skipPreUpgrade && old.hasExport('canister_pre_upgrade')) {
      const pre = this.#invoke(old, { kind: 'pre_upgrade' }, input, [])
      logs.push(...pre.logs)
      instructions += pre.instructions
      if (pre.trap !== undefined) {
        this.#rollback()
        return { ...this.#failed(pre.trap, logs), instructions }
      }
      fxs.push(pre.fx)
      this.state.stableWasmPages = pre.fx.stableWasmPages
    }
    const oldHeap = keep && old.memory !== undefined ? new Uint8Array(old.memory.buffer) : undefined
    const outcome = this.#startAndRun(prepared, { kind: 'post_upgrade' }, input, logs, oldHeap)
    outcome.result.instructions += instructions
    if (outcome.live === undefined || outcome.inv.trap !== undefined) {
      this.#restore(saved)
      this.#rollback()
      return outcome.result
    }
    fxs.push(outcome.inv.fx)
    this.#commitInstalled(prepared, outcome.live, wasm, fxs)
    return outcome.result
  }

  /** Instantiates (running (start)), optionally copies a kept heap in, then runs `entry`. */
  #startAndRun(prepared: PreparedModule, entry: EntryPoint, input: MessageInput, logs: LogRecord[], keptHeap?: Uint8Array) {
    let live: LiveInstance
    try {
      live = new LiveInstance(prepared, this.state, BigInt(input.time), keptHeap)
    } catch (e) {
      return { live: undefined, result: this.#failed(e as CanisterTrap, logs) }
    }
    this.state.stableWasmPages = live.api.fx.stableWasmPages
    const startLogs = live.api.fx.logs
    const inv = this.#invoke(live, entry, input, startLogs, live.hasExport(exportOf(entry)!))
    const all = [...logs, ...inv.logs]
    const instructions = inv.instructions + live.startInstructions
    if (inv.trap !== undefined) return { live, inv, result: { ...this.#failed(inv.trap, all), instructions } }
    return { live, inv, result: { ...this.#emptyResult(false), logs: all, instructions, calls: inv.fx.calls } }
  }

  #commitInstalled(prepared: PreparedModule, live: LiveInstance, wasm: Uint8Array, fxs: Effects[]): void {
    const state = this.state
    state.stable.commit()
    live.commitTo(state, true)
    state.globalTimer = 0n as TimeNs
    for (const fx of fxs) this.#applyEffects(fx)
    state.module = canisterModule(wasm, prepared.shape.memory64)
    state.version++
    this.#prepared = prepared
    this.#live = live
  }

  #save(): Saved {
    const s = this.state
    return { stableWasmPages: s.stableWasmPages, module: s.module, prepared: this.#prepared, live: this.#live }
  }

  #restore(saved: Saved): void {
    this.state.stable.rollback()
    this.state.stableWasmPages = saved.stableWasmPages
    this.state.module = saved.module
    this.#prepared = saved.prepared
    this.#live = saved.live
  }

  /** Runs one entry point. Missing optional system entry points succeed without running. */
  execute(entry: EntryPoint, input: MessageInput): ExecutionResult {
    const live = this.#live
    if (live === undefined || this.state.module === undefined) {
      return this.#failed({ errorCode: IcErrorCode.CanisterWasmModuleNotFound, message: 'Attempted to execute a message, but the canister contains no Wasm module.' }, [])
    }
    const context = contextOf(entry)
    const name = exportOf(entry)
    if (name !== undefined && !live.hasExport(name)) {
      if (entry.kind === 'update' || entry.kind === 'query' || entry.kind === 'composite_query') {
        const kind = entry.kind === 'composite_query' ? 'composite query' : entry.kind
        return this.#failed({ errorCode: IcErrorCode.CanisterMethodNotFound, message: `Canister has no ${kind} method '${entry.method}'` }, [])
      }
      return this.#emptyResult(entry.kind === 'inspect_message')
    }
    // A scheduled timer is deactivated whether or not its handler succeeds (the spec's rule).
    if (entry.kind === 'global_timer') this.state.globalTimer = 0n as TimeNs
    const inv = this.#invoke(live, entry, input, [])
    const { fx, instructions, logs } = inv
    if (inv.trap !== undefined) {
      this.#rollback()
      return { ...this.#failed(inv.trap, logs), instructions }
    }
    if (!PERSISTENT.has(context)) {
      if (this.#session !== undefined && COMPOSITE.has(context)) {
        for (const p of live.dirtyHeapPages(this.state.heap)) this.#session.add(p)
      } else this.#rollback()
      if (context === 'RQ') this.state.version++
      // Composite queries' calls go to the query-call machinery; they never enter the output queue.
      return {
        response: fx.response, error: undefined, instructions, calls: fx.calls, logs,
        acceptedMessage: fx.acceptedMessage, dirtyHeapPages: 0, dirtyStablePages: 0, cyclesAccepted: 0n,
      }
    }
    const state = this.state
    const dirtyStablePages = state.stable.dirtyPages().length
    state.stable.commit()
    const dirtyHeapPages = live.commitTo(state)
    this.#applyEffects(fx)
    state.version++
    return {
      response: fx.response, error: undefined, instructions, calls: fx.calls, logs,
      acceptedMessage: fx.acceptedMessage, dirtyHeapPages, dirtyStablePages, cyclesAccepted: fx.cyclesAccepted,
    }
  }

  /** Calls the entry point (if `run`) with a fresh System API environment; changes nothing else. */
  #invoke(live: LiveInstance, entry: EntryPoint, input: MessageInput, extraLogs: Uint8Array[], run = true) {
    const context = contextOf(entry)
    const name = exportOf(entry)
    const { instructionLimit, ...rest } = input
    const env = messageEnv(context, { ...rest, time: BigInt(input.time) })
    if (entry.kind === 'inspect_message') env.methodName = entry.method
    live.api.begin(env)
    live.beginMessage(instructionLimit ?? budgetOf(context))
    let trap: CanisterTrap | undefined
    if (!run) trap = undefined
    else if (name !== undefined) trap = live.callExport(name)
    else if ('callback' in entry) trap = live.callTable(entry.callback.fun, entry.callback.env)
    trap = live.meterTrap(trap)
    const fx = live.api.fx
    live.api.env = undefined
    return { trap, fx, instructions: live.instructionsUsed(), logs: this.#logs([...extraLogs, ...fx.logs], env) }
  }

  #applyEffects(fx: Effects): void {
    const state = this.state
    state.stableWasmPages = fx.stableWasmPages
    state.cycles = (state.cycles + fx.cyclesAccepted - fx.cyclesBurned - fx.cyclesOnCalls - fx.cyclesForCallFees + (fx.pendingCall?.cycles ?? 0n)) as typeof state.cycles
    if (fx.certifiedData !== undefined) state.certifiedData = fx.certifiedData
    if (fx.globalTimer !== undefined) state.globalTimer = fx.globalTimer as TimeNs
    state.outputQueue.push(...fx.calls)
  }

  #logs(contents: Uint8Array[], env: MessageEnv): LogRecord[] {
    if (env.replicated) return contents.map((c) => appendLog(this.state.log, env.time, c))
    return contents.map((c, i) => ({ idx: BigInt(i), timestampNanos: env.time, content: c }))
  }

  /** Starts a composite query: the method and its callbacks then see each other's writes (heap,
   *  globals, stable memory) until `endQuerySession` discards them all. A trap inside the session
   *  discards the whole session's writes (simplification: the IC discards only the trapping step's). */
  beginQuerySession(): void {
    this.#session = new Set()
  }

  endQuerySession(): void {
    this.#rollback()
    this.#session = undefined
  }

  #rollback(): void {
    this.state.stable.rollback()
    const live = this.#live
    const session = this.#session ?? []
    if (this.#session !== undefined) this.#session = new Set()
    if (live !== undefined && !live.rollbackTo(this.state, session)) {
      this.#live = LiveInstance.restore(this.#prepared!, this.state)
    }
  }

  #emptyResult(acceptedMessage: boolean): ExecutionResult {
    return { response: undefined, error: undefined, instructions: 0n, calls: [], logs: [], acceptedMessage, dirtyHeapPages: 0, dirtyStablePages: 0, cyclesAccepted: 0n }
  }

  #failed(error: { errorCode: IcErrorCode; message: string }, logs: LogRecord[]): ExecutionResult {
    const rejectCode = rejectCodeOfErrorCode(error.errorCode) ?? RejectCode.CANISTER_ERROR
    return { ...this.#emptyResult(false), error: { rejectCode, errorCode: error.errorCode, message: error.message }, logs }
  }
}
