// A live WebAssembly instance per canister: the working copy of the heap and globals, kept across
// messages (orthogonal persistence). The committed truth is the canister state (heap page map,
// globals); after each message the instance is either committed into it or rolled back to it.

import type { CanisterState, GlobalValue } from './canister-state.ts'
import { PAGE_SIZE } from './page-map.ts'
import type { PageMap } from './page-map.ts'
import type { PreparedModule } from './module-seam.ts'
import { SystemApi } from './system-api.ts'
import { MEMORY_EXPORT, START_EXPORT, TABLE_EXPORT } from './module-shape.ts'
import { limits } from '../protocol/limits.ts'
import { instructionLimitExceeded, trapped, wasmMemoryLimitExceeded } from './trap.ts'
import { TRAP_OUT_OF_INSTRUCTIONS, TRAP_STACK_OVERFLOW, TRAP_WASM_MEMORY_LIMIT } from './wasm/index.ts'
import { messageEnv } from './system-api-env.ts'
import { toTrap } from './trap.ts'
import type { CanisterTrap } from './trap.ts'
import type { ApiContext } from './system-api-table.ts'

const WASM_PAGE = 65536
const NO_PAGE_LIMIT = (1n << 63n) - 1n

// Where the canister's wasm_memory_limit applies (the IC's effective_wasm_memory_limit): (start),
// init and post_upgrade, and update methods. Queries, callbacks, system tasks and pre_upgrade are
// exempt, so a canister over its limit can still be read, finish its calls and be upgraded.
const LIMITED: ReadonlySet<ApiContext> = new Set<ApiContext>(['s', 'I', 'U'])
// Where the heap size after a successful run is checked too (install_code checks it after init or
// post_upgrade, which catches an initial memory above the limit; without the instrumentation's grow
// hook this is also what stops an update).
const CHECKED_AFTER: ReadonlySet<ApiContext> = new Set<ApiContext>(['I', 'U'])

export class LiveInstance {
  readonly prepared: PreparedModule
  readonly api: SystemApi
  readonly instance: WebAssembly.Instance
  readonly memory: WebAssembly.Memory | undefined
  readonly table: WebAssembly.Table | undefined
  readonly globals: WebAssembly.Global[]
  /** Instructions the (start) function used at instantiation. */
  readonly startInstructions: bigint
  #budget: bigint = limits.maxInstructionsPerInstall
  #meter: { counter: WebAssembly.Global; depth: WebAssembly.Global; reason: WebAssembly.Global; memoryLimit: WebAssembly.Global | undefined } | undefined
  #dirty: { memory: WebAssembly.Memory; listOffset: number; collect: () => number } | undefined
  /** Whether the canister's wasm_memory_limit applies (not to the (start) run of a rebuild). */
  #enforceMemoryLimit: boolean
  /** The limit of the running message in bytes, undefined where it does not apply. */
  #memoryLimit: bigint | undefined
  /** Set when the running message must fail before it starts (an update while the heap is over the limit). */
  #refusal: CanisterTrap | undefined

  /** Instantiates, puts a kept heap in place (upgrades with `keep`), then runs the module's (start)
   *  function with the System API in start mode. Throws a CanisterTrap if (start) traps.
   *  `enforceMemoryLimit: false` ignores the canister's wasm_memory_limit (rebuilding an instance
   *  whose committed heap may lawfully exceed it). */
  constructor(prepared: PreparedModule, state: CanisterState, time: bigint, keptHeap?: Uint8Array, enforceMemoryLimit = true) {
    this.prepared = prepared
    this.#enforceMemoryLimit = enforceMemoryLimit
    this.api = new SystemApi(state, prepared.shape.memory64)
    this.api.begin(messageEnv('s', { time }))
    try {
      this.instance = new WebAssembly.Instance(prepared.module, this.api.importObject(prepared.shape))
    } catch (e) {
      throw toTrap(e)
    }
    const ins = prepared.instrumentation
    const byName = this.instance.exports
    const exports = Object.entries(byName).filter(([name]) => name !== ins?.exports.dirtyMemory).map(([, v]) => v)
    this.memory = (byName[MEMORY_EXPORT] ?? exports.find((x) => x instanceof WebAssembly.Memory)) as WebAssembly.Memory | undefined
    this.table = (this.instance.exports[TABLE_EXPORT] ?? exports.find((x) => x instanceof WebAssembly.Table)) as WebAssembly.Table | undefined
    this.globals = prepared.globalExports.map((name) => this.instance.exports[name] as WebAssembly.Global)
    this.api.setMemory(this.memory)
    if (ins !== undefined) {
      const g = (name: string) => byName[name] as WebAssembly.Global
      const limit = byName[ins.exports.memoryLimit] as WebAssembly.Global | undefined
      this.#meter = { counter: g(ins.exports.instructions), depth: g(ins.exports.stackDepth), reason: g(ins.exports.trapReason), memoryLimit: limit }
      if (ins.dirtyPages) {
        this.#dirty = {
          memory: byName[ins.exports.dirtyMemory] as WebAssembly.Memory,
          listOffset: ins.dirtyListOffset,
          collect: byName[ins.exports.dirtyCollect] as () => number,
        }
      }
    }
    this.api.instructionsUsed = () => this.instructionsUsed()
    if (keptHeap !== undefined) this.loadHeap(keptHeap)
    this.beginMessage(limits.maxInstructionsPerInstall)
    const trap = this.meterTrap(this.hasExport(START_EXPORT) ? this.callExport(START_EXPORT) : undefined)
    if (trap !== undefined) throw trap
    this.startInstructions = this.instructionsUsed()
    this.#enforceMemoryLimit = true
  }

  get metered(): boolean {
    return this.#meter !== undefined
  }

  /** Arms the meter for one message with `budget` instructions, and the heap limit for the context
   *  the System API was begun with (`api.begin`, which therefore comes first). */
  beginMessage(budget: bigint): void {
    this.#budget = budget
    this.#armMemoryLimit()
    if (this.#meter === undefined) return
    this.#meter.counter.value = budget
    this.#meter.depth.value = 0
    this.#meter.reason.value = 0
  }

  #armMemoryLimit(): void {
    const context = this.api.env?.context
    const setting = this.api.state.settings.wasmMemoryLimit
    // 0 means no limit (the spec's reading of the setting).
    const applies = this.#enforceMemoryLimit && setting > 0n && context !== undefined && LIMITED.has(context)
    this.#memoryLimit = applies ? setting : undefined
    const global = this.#meter?.memoryLimit
    if (global !== undefined) global.value = applies ? setting / BigInt(WASM_PAGE) : NO_PAGE_LIMIT
    // The IC refuses an update before running it when the heap is already over the limit (it got
    // there in a callback, a timer or pre_upgrade, where the limit does not apply).
    const heap = BigInt(this.heapBytes())
    this.#refusal = applies && context === 'U' && heap > setting ? wasmMemoryLimitExceeded(heap, setting) : undefined
  }

  instructionsUsed(): bigint {
    if (this.#meter === undefined) return 0n
    return this.#budget - (this.#meter.counter.value as bigint)
  }

  /** The trap the instrumentation caused, replacing the engine's generic `unreachable`; or an
   *  overrun detected after a normal return: instructions, or a heap over the message's limit. */
  meterTrap(trap: CanisterTrap | undefined): CanisterTrap | undefined {
    const m = this.#meter
    if (m !== undefined && trap !== undefined && trap.errorCode === 'IC0502') {
      if (m.reason.value === TRAP_OUT_OF_INSTRUCTIONS) return instructionLimitExceeded(this.#budget)
      if (m.reason.value === TRAP_STACK_OVERFLOW) return trapped('stack overflow')
      if (m.reason.value === TRAP_WASM_MEMORY_LIMIT && m.memoryLimit !== undefined) {
        return wasmMemoryLimitExceeded((m.memoryLimit.value as bigint) * BigInt(WASM_PAGE), this.#memoryLimit ?? 0n)
      }
    }
    if (trap !== undefined) return trap
    if (m !== undefined && (m.counter.value as bigint) < 0n) return instructionLimitExceeded(this.#budget)
    const context = this.api.env?.context
    const heap = BigInt(this.heapBytes())
    const limit = this.#memoryLimit
    if (limit !== undefined && context !== undefined && CHECKED_AFTER.has(context) && heap > limit) return wasmMemoryLimitExceeded(heap, limit)
    return undefined
  }

  hasExport(name: string): boolean {
    return typeof this.instance.exports[name] === 'function'
  }

  /** Runs an exported `() -> ()` entry point; returns the trap, if any. */
  callExport(name: string): CanisterTrap | undefined {
    if (this.#refusal !== undefined) return this.#refusal
    return this.#run(() => (this.instance.exports[name] as () => void)())
  }

  /** Runs a callback `(env: I) -> ()` found in the module's table. */
  callTable(fun: number | bigint, env: number | bigint): CanisterTrap | undefined {
    if (this.#refusal !== undefined) return this.#refusal
    return this.#run(() => {
      const f = this.#tableEntry(fun)
      if (typeof f !== 'function') throw new WebAssembly.RuntimeError('table index is out of bounds')
      f(env)
    })
  }

  // A 64-bit table takes bigint indices, a 32-bit one numbers; the module's pointer width says
  // nothing about its table's, so try the index as given first.
  #tableEntry(fun: number | bigint): unknown {
    const t = this.table
    if (t === undefined) return undefined
    const idx = typeof fun === 'bigint' ? fun : fun >>> 0
    try {
      return t.get(idx as number)
    } catch (e) {
      if (!(e instanceof TypeError)) return undefined
      const other = typeof idx === 'bigint' ? Number(BigInt.asUintN(64, idx)) : BigInt(idx)
      try {
        return t.get(other as number)
      } catch {
        return undefined
      }
    }
  }

  #run(f: () => void): CanisterTrap | undefined {
    try {
      f()
    } catch (e) {
      return toTrap(e)
    }
    return this.api.fx.trap as CanisterTrap | undefined
  }

  heapBytes(): number {
    return this.memory?.buffer.byteLength ?? 0
  }

  /** Bytes of Wasm memory this instance holds: the heap and the instrumentation's dirty-page memory
   *  (what evicting it gives back; instance-cache.ts). */
  liveBytes(): number {
    return this.heapBytes() + (this.#dirty?.memory.buffer.byteLength ?? 0)
  }

  readGlobals(): GlobalValue[] {
    return this.globals.map((g) => g.value as GlobalValue)
  }

  writeGlobals(values: GlobalValue[]): void {
    this.globals.forEach((g, i) => {
      g.value = values[i]
    })
  }

  /** Pages written since the last call: the instrumentation's list (cost O(pages written));
   *  without it, or with `full` (after instantiation, whose data segments the instrumentation does
   *  not see), the pages that differ from the committed heap (cost O(heap)). Either way the
   *  instrumentation's marks are cleared, so each call starts a new message's set. */
  dirtyHeapPages(heap: PageMap, full = false): number[] {
    if (this.memory === undefined) return []
    const host = [...this.api.hostWrites]
    this.api.hostWrites.clear()
    const d = this.#dirty
    if (d !== undefined) {
      const count = d.collect()
      // The list is in first-write order; ascending keeps commits and rollbacks in page order.
      if (!full) return [...new Set([...new Uint32Array(d.memory.buffer, d.listOffset, count), ...host])].sort((a, b) => a - b)
    }
    const live = new Uint8Array(this.memory.buffer)
    const out: number[] = []
    for (let p = 0, n = live.length / PAGE_SIZE; p < n; p++) {
      const page = live.subarray(p * PAGE_SIZE, (p + 1) * PAGE_SIZE)
      if (Buffer.compare(page, heap.read(p)) !== 0) out.push(p)
    }
    return out
  }

  /** Copies the dirty live pages and the globals into the state; returns the dirty page count. */
  commitTo(state: CanisterState, full = false): number {
    const dirty = this.dirtyHeapPages(state.heap, full)
    const live = new Uint8Array(this.memory?.buffer ?? new ArrayBuffer(0))
    if (full) state.heap.truncate(live.length / PAGE_SIZE)
    for (const p of dirty) if ((p + 1) * PAGE_SIZE <= live.length) state.heap.write(p, live.subarray(p * PAGE_SIZE, (p + 1) * PAGE_SIZE))
    state.heap.commit()
    state.heapWasmPages = this.heapBytes() / WASM_PAGE
    state.globals = this.readGlobals()
    return dirty.length
  }

  /** Replaces the heap with `bytes` (an upgrade that keeps the Wasm memory), growing it as needed. */
  loadHeap(bytes: Uint8Array): void {
    const mem = this.memory
    if (mem === undefined) return
    this.#growTo(mem, bytes.length / WASM_PAGE)
    const live = new Uint8Array(mem.buffer)
    live.set(bytes)
    live.fill(0, bytes.length)
  }

  #growTo(mem: WebAssembly.Memory, pages: number): void {
    const have = mem.buffer.byteLength / WASM_PAGE
    if (have >= pages) return
    if (this.prepared.shape.memory64) mem.grow(BigInt(pages - have) as unknown as number)
    else mem.grow(pages - have)
  }

  /** Restores the committed heap pages and globals. Returns false when the memory grew meanwhile:
   *  Wasm memories cannot shrink, so the caller must rebuild the instance (`LiveInstance.restore`). */
  rollbackTo(state: CanisterState, alsoPages: Iterable<number> = []): boolean {
    if (this.heapBytes() !== state.heapWasmPages * WASM_PAGE) return false
    const live = new Uint8Array(this.memory?.buffer ?? new ArrayBuffer(0))
    const pages = new Set([...this.dirtyHeapPages(state.heap), ...alsoPages])
    for (const p of pages) if ((p + 1) * PAGE_SIZE <= live.length) live.set(state.heap.read(p), p * PAGE_SIZE)
    this.writeGlobals(state.globals)
    return true
  }

  /** A fresh instance holding exactly the committed heap and globals (after a rollback that cannot
   *  shrink memory, or when a canister is loaded from a checkpoint). The (start) function runs
   *  again; its effects on memory and globals are overwritten and its stable writes dropped. */
  static restore(prepared: PreparedModule, state: CanisterState): LiveInstance {
    state.stable.rollback()
    const inst = new LiveInstance(prepared, state, 0n, undefined, false)
    state.stable.rollback()
    const mem = inst.memory
    if (mem !== undefined) {
      inst.#growTo(mem, state.heapWasmPages)
      const live = new Uint8Array(mem.buffer)
      for (const p of inst.dirtyHeapPages(state.heap, true)) live.set(state.heap.read(p), p * PAGE_SIZE)
    }
    inst.writeGlobals(state.globals)
    return inst
  }
}
