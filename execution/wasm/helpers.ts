// Bodies of the functions the rewriter appends (they get the highest function indices, so no
// existing index shifts). They are written directly in bytecode and are not themselves metered.

import { Writer } from './bytes.ts'
import { I32, I64 } from './opcodes.ts'

export const TRAP_OUT_OF_INSTRUCTIONS = 1
export const TRAP_STACK_OVERFLOW = 2
/** memory.grow past the per-message Wasm memory limit (`__capsa_memory_limit`, the canister's
 *  `wasm_memory_limit` setting where it applies). */
export const TRAP_WASM_MEMORY_LIMIT = 3

export interface Layout {
  memory64: boolean
  /** Index of the dirty-page memory (the canister's memory is 0). */
  dirtyMemory: number
  /** Layout of the dirty-pages memory: the list of marked pages (u32) at listBase (0), one byte per
   *  4 KiB page at mapBase, ending exactly at the end of that memory. */
  listBase: number
  mapBase: number
  maxPages: bigint
  /** Depth (estimated stack bytes) above which a counted frame traps: maxStackBytes − LEAF_RESERVE. */
  stackLimit: number
  /** count: byte length of the dirty list (only with dirty-page tracking); memLimit: the
   *  per-message heap limit in pages (only with a memory). */
  g: { instructions: number; depth: number; reason: number; count: number; memLimit: number }
  f: { oom: number; charge32: number; charge64: number; enter: number; leave: number; guardTrap: number; grow: number; mark: number; bulk: number; collect: number }
}

/** Type signatures of the helpers, as [params, results]. */
export const helperTypes = {
  void: [[], []] as [number[], number[]],
  i32i32: [[I32], [I32]] as [number[], number[]],
  i64i64: [[I64], [I64]] as [number[], number[]],
  i64i64void: [[I64, I64], []] as [number[], number[]],
  i64i32void: [[I64, I32], []] as [number[], number[]],
  i32void: [[I32], []] as [number[], number[]],
  i64void: [[I64], []] as [number[], number[]],
  collect: [[], [I32]] as [number[], number[]],
}

const body = (locals: [number, number][], code: (w: Writer) => void): Uint8Array => {
  const w = new Writer(128)
  w.u32(locals.length)
  for (const [n, t] of locals) w.u32(n).byte(t)
  code(w)
  w.byte(0x0b)
  const out = new Writer(w.len + 5)
  out.u32(w.len).range(w.buf, 0, w.len)
  return out.result()
}

function memarg1(w: Writer, L: Layout, align: number, offset: number): void {
  w.u32(align | 0x40).u32(L.dirtyMemory).u32(offset)
}

function trapWith(L: Layout, reason: number): Uint8Array {
  return body([], (w) => w.byte(0x41).s32(reason).byte(0x24).u32(L.g.reason).byte(0x00))
}

function charge(L: Layout, is64: boolean): Uint8Array {
  return body([], (w) => {
    if (is64) {
      // A size ≥ 2^63 would add to the counter; such an operation traps anyway, so fail it here.
      w.byte(0x20).u32(0).byte(0x42).byte(0).byte(0x53).byte(0x04).byte(0x40).byte(0x10).u32(L.f.oom).byte(0x0b)
    }
    w.byte(0x23).u32(L.g.instructions).byte(0x20).u32(0)
    if (!is64) w.byte(0xad) // i64.extend_i32_u
    w.byte(0x7d).byte(0x24).u32(L.g.instructions) // i64.sub, global.set
    w.byte(0x23).u32(L.g.instructions).byte(0x42).byte(0).byte(0x53) // < 0
    w.byte(0x04).byte(0x40).byte(0x10).u32(L.f.oom).byte(0x0b)
    w.byte(0x20).u32(0)
  })
}

/**
 * enter(gas, weight): counts a frame of `weight` and traps when the depth passes the limit or the
 * counter `gas` is negative (storing it first). Used on cold paths only, where size beats speed.
 */
function enter(L: Layout): Uint8Array {
  return body([], (w) => {
    const d = L.g.depth
    w.byte(0x23).u32(d).byte(0x20).u32(1).byte(0x6a).byte(0x24).u32(d)
    w.byte(0x20).u32(0).byte(0x42).byte(0).byte(0x53)
    w.byte(0x23).u32(d).byte(0x41).s32(L.stackLimit).byte(0x4b).byte(0x72)
    w.byte(0x04).byte(0x40).byte(0x20).u32(0).byte(0x10).u32(L.f.guardTrap).byte(0x00).byte(0x0b)
  })
}

/** guardTrap(gas): stores the counter, records why the entry check failed and traps (kept out of
 *  line, where it only makes prologues smaller). */
function guardTrap(L: Layout): Uint8Array {
  return body([], (w) => {
    w.byte(0x20).u32(0).byte(0x24).u32(L.g.instructions)
    w.byte(0x41).s32(TRAP_STACK_OVERFLOW).byte(0x41).s32(TRAP_OUT_OF_INSTRUCTIONS)
    w.byte(0x23).u32(L.g.depth).byte(0x41).s32(L.stackLimit).byte(0x4b).byte(0x1b).byte(0x24).u32(L.g.reason).byte(0x00)
  })
}

/** leave(weight): uncounts a frame counted by enter. */
function leave(L: Layout): Uint8Array {
  return body([], (w) => w.byte(0x23).u32(L.g.depth).byte(0x20).u32(0).byte(0x6b).byte(0x24).u32(L.g.depth))
}

/**
 * memory.grow replacement. Past the hard page limit it fails with -1 (as the engine's own grow
 * fails past a memory's maximum). Past `__capsa_memory_limit` it stores the requested size in that
 * global, sets the trap reason and traps before growing (the IC grows, then traps; either way the
 * message's changes are discarded, and not growing spares the runtime a rebuild of the instance).
 */
function grow(L: Layout): Uint8Array {
  const size = (w: Writer): void => {
    w.byte(0x3f).byte(0) // memory.size
    if (!L.memory64) w.byte(0xad)
  }
  const delta = (w: Writer): void => {
    w.byte(0x20).u32(0)
    if (!L.memory64) w.byte(0xad)
  }
  return body([], (w) => {
    delta(w)
    w.byte(0x42).s64(L.maxPages)
    size(w)
    w.byte(0x7d).byte(0x56) // i64.sub, i64.gt_u
    w.byte(0x04).byte(0x40)
    if (L.memory64) w.byte(0x42).s64(-1n)
    else w.byte(0x41).s32(-1)
    w.byte(0x0f).byte(0x0b)
    // size + delta cannot overflow here: both are at most maxPages.
    size(w)
    delta(w)
    w.byte(0x7c) // i64.add
    w.byte(0x23).u32(L.g.memLimit).byte(0x56) // > limit (unsigned)
    w.byte(0x04).byte(0x40)
    size(w)
    delta(w)
    w.byte(0x7c).byte(0x24).u32(L.g.memLimit)
    w.byte(0x41).s32(TRAP_WASM_MEMORY_LIMIT).byte(0x24).u32(L.g.reason).byte(0x00)
    w.byte(0x0b)
    w.byte(0x20).u32(0).byte(0x40).byte(0)
  })
}

/**
 * Consumes the i32 page index on the stack (kept in local `pg`) and marks it unless its byte is
 * already set. Inline, not a call: a call in a store loop, even on a branch that is rarely taken,
 * makes V8 keep the loop's values in stack slots. An index past the map (only from a store that
 * traps anyway) reads past the end of the dirty-pages memory and traps, so it never reaches the list.
 */
export function markIfClear(w: Writer, L: Layout, pg: number): void {
  w.byte(0x22).u32(pg).byte(0x2d); memarg1(w, L, 0, L.mapBase)
  w.byte(0x45).byte(0x04).byte(0x40)
  w.byte(0x20).u32(pg).byte(0x41).byte(1).byte(0x3a); memarg1(w, L, 0, L.mapBase) // map[page] = 1
  w.byte(0x23).u32(L.g.count).byte(0x20).u32(pg).byte(0x36); memarg1(w, L, 2, L.listBase) // list[count] = page
  w.byte(0x23).u32(L.g.count).byte(0x41).byte(4).byte(0x6a).byte(0x24).u32(L.g.count) // count += 4 bytes
  w.byte(0x0b)
}

/**
 * mark(start: i64, len: i64): marks every 4 KiB page in [start, start+len). Ranges that overflow
 * or exceed the current memory are skipped: the access that follows traps.
 */
function mark(L: Layout): Uint8Array {
  // locals: 0 start, 1 len, 2 page, 3 end → last page, 4 page as i32
  return body([[2, I64], [1, I32]], (w) => {
    w.byte(0x20).u32(1).byte(0x50).byte(0x04).byte(0x40).byte(0x0f).byte(0x0b) // len == 0 → return
    w.byte(0x20).u32(0).byte(0x20).u32(1).byte(0x7c).byte(0x22).u32(3) // end = start + len
    w.byte(0x20).u32(0).byte(0x54).byte(0x04).byte(0x40).byte(0x0f).byte(0x0b) // end < start → return
    w.byte(0x20).u32(3).byte(0x3f).byte(0)
    if (!L.memory64) w.byte(0xad)
    w.byte(0x42).s32(16).byte(0x86).byte(0x56).byte(0x04).byte(0x40).byte(0x0f).byte(0x0b) // end > size → return
    w.byte(0x20).u32(0).byte(0x42).s32(12).byte(0x88).byte(0x21).u32(2) // page = start >> 12
    w.byte(0x20).u32(3).byte(0x42).byte(1).byte(0x7d).byte(0x42).s32(12).byte(0x88).byte(0x21).u32(3) // last
    w.byte(0x03).byte(0x40)
    w.byte(0x20).u32(2).byte(0xa7); markIfClear(w, L, 4)
    w.byte(0x20).u32(2).byte(0x42).byte(1).byte(0x7c).byte(0x22).u32(2).byte(0x20).u32(3).byte(0x58).byte(0x0d).byte(0) // ++page <= last
    w.byte(0x0b)
  })
}

/** bulk(dst: i64, len: i64): bulk memory writes pay one instruction per byte and dirty their range. */
function bulk(L: Layout): Uint8Array {
  return body([], (w) => {
    w.byte(0x20).u32(1).byte(0x10).u32(L.f.charge64).byte(0x1a)
    w.byte(0x20).u32(0).byte(0x20).u32(1).byte(0x10).u32(L.f.mark)
  })
}

/**
 * collect() -> n: clears the mark of every listed page, moves those below the current memory size
 * to the front of the list (in the order they were first marked), resets the list and returns n.
 * Work: a few instructions per listed page, whatever the memory size.
 */
function collect(L: Layout): Uint8Array {
  // locals: 0 i, 1 n, 2 p, 3 size (4 KiB pages in use), 4 count (i, n, count in bytes)
  return body([[5, I32]], (w) => {
    w.byte(0x3f).byte(0)
    if (L.memory64) w.byte(0xa7)
    w.byte(0x41).s32(4).byte(0x74).byte(0x21).u32(3)
    w.byte(0x23).u32(L.g.count).byte(0x21).u32(4)
    w.byte(0x02).byte(0x40).byte(0x03).byte(0x40)
    w.byte(0x20).u32(0).byte(0x20).u32(4).byte(0x4f).byte(0x0d).byte(1) // i >= count → done
    w.byte(0x20).u32(0).byte(0x28); memarg1(w, L, 2, L.listBase)
    w.byte(0x22).u32(2).byte(0x41).byte(0).byte(0x3a); memarg1(w, L, 0, L.mapBase) // map[p] = 0
    w.byte(0x20).u32(2).byte(0x20).u32(3).byte(0x49).byte(0x04).byte(0x40) // p < size
    w.byte(0x20).u32(1).byte(0x20).u32(2).byte(0x36); memarg1(w, L, 2, L.listBase) // list[n] = p
    w.byte(0x20).u32(1).byte(0x41).byte(4).byte(0x6a).byte(0x21).u32(1)
    w.byte(0x0b)
    w.byte(0x20).u32(0).byte(0x41).byte(4).byte(0x6a).byte(0x21).u32(0).byte(0x0c).byte(0)
    w.byte(0x0b).byte(0x0b)
    w.byte(0x41).byte(0).byte(0x24).u32(L.g.count)
    w.byte(0x20).u32(1).byte(0x41).byte(2).byte(0x76) // n / 4 (i32.shr_u)
  })
}

export interface HelperFunction {
  name: string
  type: keyof typeof helperTypes | 'grow'
  code: Uint8Array
}

/** Helpers in index order starting at the first appended index (matches Layout.f). */
export function helperFunctions(L: Layout, withMemory: boolean, withDirty: boolean): HelperFunction[] {
  const out: HelperFunction[] = [
    { name: '__capsa_out_of_instructions', type: 'void', code: trapWith(L, TRAP_OUT_OF_INSTRUCTIONS) },
    { name: '__capsa_charge32', type: 'i32i32', code: charge(L, false) },
    { name: '__capsa_charge64', type: 'i64i64', code: charge(L, true) },
    { name: '__capsa_enter', type: 'i64i32void', code: enter(L) },
    { name: '__capsa_leave', type: 'i32void', code: leave(L) },
    { name: '__capsa_guard_trap', type: 'i64void', code: guardTrap(L) },
  ]
  if (withMemory) out.push({ name: '__capsa_memory_grow', type: 'grow', code: grow(L) })
  if (withDirty) {
    out.push({ name: '__capsa_mark', type: 'i64i64void', code: mark(L) })
    out.push({ name: '__capsa_bulk', type: 'i64i64void', code: bulk(L) })
    out.push({ name: '__capsa_dirty_collect', type: 'collect', code: collect(L) })
  }
  return out
}
