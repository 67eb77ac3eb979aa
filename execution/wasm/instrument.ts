// The rewriter: metering, deterministic stack depth, NaN canonicalisation, the memory.grow hook
// and dirty-page marking, in one pass over the code section. Only appends (types, functions,
// globals, one memory, exports), so no index in the original module shifts and every section the
// rewriter does not touch is copied byte for byte. index.ts documents the runtime contract.

import { limits } from '../../protocol/limits.ts'
import { Reader, Writer, asBuffer, invalid, rejected } from './bytes.ts'
import { helperFunctions, helperTypes, type Layout } from './helpers.ts'
import { I32, I64 } from './opcodes.ts'
import { parseSections, type ModuleInfo, type ParsedModule } from './parse.ts'
import { FunctionRewriter, LEAF_RESERVE } from './body.ts'

export interface InstrumentOptions {
  /**
   * Budget of the deterministic stack counter, in estimated bytes: each call adds
   * 64 + 8 × (params + locals + 16 scratch) of the callee. Default 512 KiB, about half of what V8's 984 KiB
   * main-thread stack holds with Liftoff frames; raise it when canisters run on a bigger stack.
   */
  maxStackBytes?: number
  /** Largest canister memory in 64 KiB pages; memory.grow past it returns -1. Default: the IC's heap limit. */
  maxMemoryPages?: bigint
  /** Counter value at instantiation, i.e. the budget of the start function. */
  initialInstructions?: bigint
  /**
   * Split metering segments at br_if too, so the counter reflects exactly the instructions
   * executed (as the IC does). Default false: the fall-through code after a br_if is charged
   * with the code before it, which over-charges a taken branch by at most the rest of its
   * segment but removes one counter update from the dependency chain of every such loop.
   */
  exactMetering?: boolean
  /** Mark written 4 KiB pages (default true). */
  dirtyPages?: boolean
}

export const exportNames = {
  instructions: '__capsa_instructions',
  stackDepth: '__capsa_stack_depth',
  trapReason: '__capsa_trap_reason',
  dirtyMemory: '__capsa_dirty_pages',
  dirtyCollect: '__capsa_dirty_collect',
  /** Length of the dirty list (an i32 global); exported so the runtime does not take it for canister state. */
  dirtyCount: '__capsa_dirty_count',
  /** Heap limit of the running message in 64 KiB pages (i64, compared unsigned); memory.grow past
   *  it traps with reason 3 and leaves the requested size here. Only with a memory. */
  memoryLimit: '__capsa_memory_limit',
  /** The canister's memory 0 and table 0 under fixed names (modules name their own exports freely, or not at all). */
  memory: '__capsa_memory',
  table: '__capsa_table',
} as const

export interface InstrumentResult {
  bytes: Uint8Array
  /** ModuleInfo of the original module. */
  info: ModuleInfo
  exports: typeof exportNames
  /** Whether dirty-page tracking was injected (needs a memory). */
  dirtyPages: boolean
  /** Byte offset, in the dirty-pages memory, of the u32 list of marked pages (`__capsa_dirty_collect` compacts it). */
  dirtyListOffset: number
  /** Number of 4 KiB pages the byte map covers. */
  dirtyPageCapacity: number
  maxMemoryPages: bigint
  maxStackBytes: number
}

export const defaultMaxStackBytes = 512 * 1024
const WASM_PAGE = BigInt(limits.wasmPageBytes)
const sectionRank: Record<number, number> = { 1: 1, 2: 2, 3: 3, 4: 4, 5: 5, 13: 6, 6: 7, 7: 8, 8: 9, 9: 10, 12: 11, 10: 12, 11: 13 }

function typeKey(params: number[], results: number[]): string {
  return `${params.join(',')}>${results.join(',')}`
}

function section(out: Writer, id: number, content: Writer | Uint8Array): void {
  const bytes = content instanceof Writer ? content.view() : content
  out.byte(id).u32(bytes.length).bytes(bytes)
}

/** Original entries of a vector section (count re-encoded) followed by appended ones. */
function extendVector(p: ParsedModule, id: number, added: number, appendEntries: (w: Writer) => void): Writer {
  const w = new Writer(1024)
  const sec = p.sections.find((s) => s.id === id)
  if (sec) {
    const r = new Reader(p.bytes, sec.contentStart, sec.end)
    const n = r.u32()
    w.u32(n + added).range(p.bytes, r.pos, sec.end)
  } else {
    w.u32(added)
  }
  appendEntries(w)
  return w
}

export function instrument(bytes: Uint8Array, opts: InstrumentOptions = {}): InstrumentResult {
  if (!WebAssembly.validate(bytes as Uint8Array<ArrayBuffer>)) {
    // Parse first for a precise message; fall back to the engine's verdict.
    parseSections(bytes)
    invalid('the engine rejected the module (WebAssembly.validate)')
  }
  const p = parseSections(bytes)
  const src = asBuffer(bytes)
  const info = p.info
  if (info.memoryCount > 1) rejected('more than one memory')
  if (info.memory?.shared) rejected('shared memory (threads) is not allowed')
  for (const e of info.exports) if (e.name.startsWith('__capsa_')) rejected(`export name ${JSON.stringify(e.name)} uses the reserved prefix __capsa_`)
  const memory64 = info.memory64
  const hasMemory = info.memory !== undefined
  const withDirty = hasMemory && opts.dirtyPages !== false

  const defaultMax = BigInt(memory64 ? limits.maxHeap64Bytes : limits.maxHeap32Bytes) / WASM_PAGE
  let maxPages = opts.maxMemoryPages ?? defaultMax
  if (info.memory?.maxPages !== undefined && info.memory.maxPages < maxPages) maxPages = info.memory.maxPages
  if (info.memory && info.memory.initialPages > maxPages) rejected(`memory starts at ${info.memory.initialPages} pages, above the limit of ${maxPages}`)
  const maxStackBytes = opts.maxStackBytes ?? defaultMaxStackBytes

  // --- appended types
  const typeIndex = new Map<string, number>()
  p.types.forEach((t, i) => {
    const k = typeKey(t.params, t.results)
    if (!typeIndex.has(k)) typeIndex.set(k, i)
  })
  const newTypes: [number[], number[]][] = []
  const ensureType = (params: number[], results: number[]): number => {
    const k = typeKey(params, results)
    let idx = typeIndex.get(k)
    if (idx === undefined) {
      idx = p.types.length + newTypes.length
      newTypes.push([params, results])
      typeIndex.set(k, idx)
    }
    return idx
  }
  const I = memory64 ? I64 : I32
  const helperTypeIdx = {
    void: ensureType(...helperTypes.void),
    i32i32: ensureType(...helperTypes.i32i32),
    i64i64: ensureType(...helperTypes.i64i64),
    i64i64void: ensureType(...helperTypes.i64i64void),
    i64i32void: ensureType(...helperTypes.i64i32void),
    i32void: ensureType(...helperTypes.i32void),
    i64void: ensureType(...helperTypes.i64void),
    grow: ensureType([I], [I]),
    collect: ensureType(...helperTypes.collect),
  }
  // Block type wrapping each function body (so a branch to the function label still decrements the depth).
  const wrapType = p.types.map((t) => (t.results.length === 0 ? 0x40 : t.results.length === 1 ? t.results[0] : -1 - ensureType([], t.results)))

  // --- appended globals and functions
  const importedFuncs = info.importedFunctionCount
  const firstHelper = importedFuncs + info.functionCount
  const g0 = info.importedGlobalCount + info.globalCount
  const L: Layout = {
    memory64,
    dirtyMemory: info.memoryCount,
    listBase: 0,
    mapBase: 0,
    maxPages,
    stackLimit: maxStackBytes - LEAF_RESERVE,
    g: { instructions: g0, depth: g0 + 1, reason: g0 + 2, count: withDirty ? g0 + 3 : -1, memLimit: hasMemory ? g0 + (withDirty ? 4 : 3) : -1 },
    f: { oom: firstHelper, charge32: firstHelper + 1, charge64: firstHelper + 2, enter: firstHelper + 3, leave: firstHelper + 4, guardTrap: firstHelper + 5, grow: -1, mark: -1, bulk: -1, collect: -1 },
  }
  let next = firstHelper + 6
  if (hasMemory) L.f.grow = next++
  if (withDirty) {
    L.f.mark = next++
    L.f.bulk = next++
    L.f.collect = next++
  }
  const dirtyPageCapacity = withDirty ? Number(maxPages) * (limits.wasmPageBytes / limits.pageBytes) : 0
  // The list comes first, with room for every page of the map (a page enters it only when its byte
  // goes from 0 to 1); the map ends exactly at the end of the memory, so checking a page index past
  // it traps instead of reading other state.
  const dirtyMemPages = withDirty ? Math.ceil((5 * dirtyPageCapacity) / limits.wasmPageBytes) : 0
  L.mapBase = dirtyMemPages * limits.wasmPageBytes - dirtyPageCapacity
  const helpers = helperFunctions(L, hasMemory, withDirty)

  // --- code section
  const codeSec = p.sections.find((s) => s.id === 10)
  const code = new Writer(codeSec ? Math.ceil((codeSec.end - codeSec.contentStart) * 1.5) + 1024 : 1024)
  code.u32(info.functionCount + helpers.length)
  if (codeSec) {
    const r = new Reader(bytes, codeSec.contentStart, codeSec.end)
    const n = r.u32()
    const fb = new FunctionRewriter(p, L, memory64, withDirty, maxStackBytes, opts.exactMetering === true)
    for (let i = 0; i < n; i++) {
      const size = r.u32()
      const end = r.pos + size
      if (end > codeSec.end) invalid(`function body ${i} extends past the code section`)
      const t = p.types[p.funcTypes[importedFuncs + i]]
      fb.rewrite(r.pos, end, t.params.length, wrapType[p.funcTypes[importedFuncs + i]], code)
      r.pos = end
    }
  }
  for (const h of helpers) code.bytes(h.code)

  // --- assemble
  const out = new Writer(bytes.length + code.len + 4096)
  out.bytes(bytes.subarray(0, 8))
  const emitted = new Set<number>()
  const synth: Record<number, () => void> = {
    1: () => section(out, 1, extendVector(p, 1, newTypes.length, (w) => {
      for (const [ps, rs] of newTypes) {
        w.byte(0x60).u32(ps.length)
        for (const v of ps) w.byte(v)
        w.u32(rs.length)
        for (const v of rs) w.byte(v)
      }
    })),
    3: () => section(out, 3, extendVector(p, 3, helpers.length, (w) => {
      for (const h of helpers) w.u32(helperTypeIdx[h.type])
    })),
    5: () => {
      if (!withDirty) return copyOriginal(5)
      section(out, 5, extendVector(p, 5, 1, (w) => w.byte(0x01).u32(dirtyMemPages).u32(dirtyMemPages)))
    },
    6: () => section(out, 6, extendVector(p, 6, 3 + (withDirty ? 1 : 0) + (hasMemory ? 1 : 0), (w) => {
      w.byte(I64).byte(1).byte(0x42).s64(opts.initialInstructions ?? limits.maxInstructionsPerInstall).byte(0x0b)
      w.byte(I32).byte(1).byte(0x41).byte(0).byte(0x0b)
      w.byte(I32).byte(1).byte(0x41).byte(0).byte(0x0b)
      if (withDirty) w.byte(I32).byte(1).byte(0x41).byte(0).byte(0x0b) // dirty list length
      if (hasMemory) w.byte(I64).byte(1).byte(0x42).s64(maxPages).byte(0x0b) // memory limit: none below the hard one
    })),
    7: () => {
      const extra: [string, number, number][] = [
        [exportNames.instructions, 3, L.g.instructions],
        [exportNames.stackDepth, 3, L.g.depth],
        [exportNames.trapReason, 3, L.g.reason],
      ]
      if (hasMemory) extra.push([exportNames.memory, 2, 0], [exportNames.memoryLimit, 3, L.g.memLimit])
      if (info.tableCount > 0) extra.push([exportNames.table, 1, 0])
      if (withDirty) extra.push([exportNames.dirtyMemory, 2, L.dirtyMemory], [exportNames.dirtyCollect, 0, L.f.collect], [exportNames.dirtyCount, 3, L.g.count])
      section(out, 7, extendVector(p, 7, extra.length, (w) => {
        for (const [name, kind, idx] of extra) w.name(name).byte(kind).u32(idx)
      }))
    },
    10: () => section(out, 10, code),
  }
  const copyOriginal = (id: number): void => {
    const sec = p.sections.find((s) => s.id === id)
    if (sec) out.range(src, sec.start, sec.end)
  }
  const emitUpTo = (rank: number): void => {
    for (const id of [1, 3, 5, 6, 7, 10]) {
      if (sectionRank[id] <= rank && !emitted.has(id)) {
        emitted.add(id)
        synth[id]()
      }
    }
  }
  for (const sec of p.sections) {
    if (sec.id === 0) {
      if (sec === p.nameSection) out.bytes(rewriteNames(p, sec, firstHelper, helpers.map((h) => h.name)))
      else out.range(src, sec.start, sec.end)
      continue
    }
    const rank = sectionRank[sec.id]
    emitUpTo(rank - 1)
    if (synth[sec.id]) emitUpTo(rank)
    else out.range(src, sec.start, sec.end)
  }
  emitUpTo(99)

  return {
    bytes: out.detach(),
    info,
    exports: exportNames,
    dirtyPages: withDirty,
    dirtyListOffset: L.listBase,
    dirtyPageCapacity,
    maxMemoryPages: maxPages,
    maxStackBytes,
  }
}

/** Appends the helpers' names to the function-names subsection; other subsections are copied. */
function rewriteNames(p: ParsedModule, sec: { start: number; contentStart: number; end: number }, first: number, names: string[]): Uint8Array {
  const r = new Reader(p.bytes, sec.contentStart, sec.end)
  r.name()
  const content = new Writer(sec.end - sec.start + 256)
  content.range(p.bytes, sec.contentStart, r.pos)
  let sawFunctions = false
  while (!r.eof()) {
    const id = r.byte()
    const size = r.u32()
    const start = r.pos
    const end = start + size
    if (end > sec.end) return p.bytes.subarray(sec.start, sec.end) // malformed names are not our concern
    if (id === 1) {
      sawFunctions = true
      const sub = new Reader(p.bytes, start, end)
      const n = sub.u32()
      const w = new Writer(size + 256)
      w.u32(n + names.length).range(p.bytes, sub.pos, end)
      names.forEach((name, i) => w.u32(first + i).name(name))
      content.byte(1).u32(w.len).range(w.buf, 0, w.len)
    } else {
      content.byte(id).u32(size).range(p.bytes, start, end)
    }
    r.pos = end
  }
  if (!sawFunctions) return p.bytes.subarray(sec.start, sec.end)
  const out = new Writer(content.len + 8)
  out.byte(0).u32(content.len).range(content.buf, 0, content.len)
  return out.result()
}
