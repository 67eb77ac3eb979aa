// Rewrites one function body. The body is cut into straight-line segments at every point a branch
// can land or leave (after loop, if, else, end, br, br_table, return, unreachable, tail calls, and
// br_if in exact mode); each segment is prefixed with one subtraction of its static cost from the
// counter, which lives in a local between calls (or, in functions with calls but no loops, is
// charged to the global directly). Segments that start a function or a loop iteration also check
// it, except in leaves, which check at their trap-path calls: every cycle in the control flow
// passes such a check, so overspending is bounded by one acyclic path, as on the IC. The prologue
// also maintains the stack-depth estimate, and every store marks its page(s) for dirty-page tracking.

import { Reader, Writer, asBuffer, invalid } from './bytes.ts'
import { TRAP_OUT_OF_INSTRUCTIONS, markIfClear, type Layout } from './helpers.ts'
import { F32, I32, I64, costTable, fcCost, nanResult, readMemarg, readValType, skipImmediates, storeSize, storeType } from './opcodes.ts'
import type { ParsedModule } from './parse.ts'

const MAX_LOCALS = 50_000
/** Scratch key (type × 8 + slot) of the last-marked-page local. */
const LAST_PAGE_KEY = I64 * 8 + 4
/** Scratch locals a body may get (at most 15); counted into every frame's weight up front. */
const SCRATCH_ALLOWANCE = 16
/**
 * Leaf functions (no loops, no early return, no calls but to imports or on trap paths) whose frame
 * weighs at most this skip the depth counter on entry; every other function checks against
 * maxStackBytes minus this reserve, so the bound still holds. Leaves also skip the entry check:
 * a cycle through a leaf passes one of its trap-path calls, which count its frame and check there.
 */
export const LEAF_RESERVE = 1024

export class FunctionRewriter {
  private readonly p: ParsedModule
  private readonly src: Buffer
  private readonly L: Layout
  private readonly m64: boolean
  private readonly dirty: boolean
  private readonly maxStack: number
  private readonly exact: boolean
  private readonly cost: Uint16Array
  private readonly I: number
  private readonly seg = new Writer(4096)
  private readonly body = new Writer(1 << 16)
  private readonly fn = new Writer(1 << 16)
  /** Scratch local index by key (value type × 8 + slot), −1 = not allocated in this function. */
  private readonly scratch = new Int32Array(1024).fill(-1)
  private readonly scratchKeys: number[] = []
  private scratchTypes: number[] = []
  private localBase = 0
  private segCost = 0

  constructor(p: ParsedModule, L: Layout, memory64: boolean, dirty: boolean, maxStackBytes: number, exact: boolean) {
    this.p = p
    this.src = asBuffer(p.bytes)
    this.L = L
    this.m64 = memory64
    this.dirty = dirty
    this.maxStack = maxStackBytes
    this.exact = exact
    this.cost = costTable(memory64)
    this.I = memory64 ? I64 : I32
  }

  private local(type: number, slot: number): number {
    const key = type * 8 + slot
    let idx = this.scratch[key]
    if (idx < 0) {
      idx = this.localBase + this.scratchTypes.length
      this.scratchTypes.push(type)
      this.scratch[key] = idx
      this.scratchKeys.push(key)
    }
    return idx
  }

  /** The counter lives in local `gas` inside a function; the global is current only at calls, returns and traps. */
  private gas = 0

  /**
   * Direct mode (functions without loops but with calls on the hot path): every charge updates the
   * global itself, so calls and returns need no store or reload; the local holds only the entry value.
   */
  private direct = false

  private store(w: Writer): void {
    if (this.direct) return
    w.byte(0x20).u32(this.gas).byte(0x24).u32(this.L.g.instructions)
  }

  private reload(w: Writer): void {
    if (this.direct) return
    w.byte(0x23).u32(this.L.g.instructions).byte(0x21).u32(this.gas)
  }

  /** Cost of the function's first segment, charged by the prologue together with the depth check. */
  private entryCost = -1

  /** Emits the pending segment, prefixed by its charge. */
  private flush(checked: boolean): number {
    const b = this.body
    const g = this.gas
    if (this.entryCost < 0) this.entryCost = this.segCost
    else if (this.segCost > 0) {
      const G = this.L.g.instructions
      // Direct mode has no loops, hence no checked segment after the entry (charged by the prologue).
      if (this.direct) b.byte(0x23).u32(G).byte(0x42).s32(this.segCost).byte(0x7d).byte(0x24).u32(G)
      else {
        b.byte(0x20).u32(g).byte(0x42).s32(this.segCost).byte(0x7d)
        if (checked) {
          b.byte(0x22).u32(g).byte(0x42).byte(0).byte(0x53).byte(0x04).byte(0x40)
          // Inline trap rather than a call: V8 treats a block ending in `unreachable` as cold, so
          // the check does not make it spill the loop's registers.
          this.store(b)
          b.byte(0x41).s32(TRAP_OUT_OF_INSTRUCTIONS).byte(0x24).u32(this.L.g.reason).byte(0x00).byte(0x0b)
        } else b.byte(0x21).u32(g)
      }
    }
    const base = b.len
    b.range(this.seg.buf, 0, this.seg.len)
    this.seg.len = 0
    this.segCost = 0
    return base
  }

  /**
   * depth += weight (the depth on entry kept in a local, which every exit restores: callees leave
   * the depth as they found it), then one branch traps on a stack overflow or a negative counter.
   * `gas` pushes the counter and leaves it in the gas local, which the trap stores.
   */
  private guard(w: Writer, weight: number, gas: (w: Writer) => void): void {
    const d = this.L.g.depth
    const d0 = this.local(I32, 7)
    const limit = this.maxStack - LEAF_RESERVE
    w.byte(0x23).u32(d).byte(0x22).u32(d0).byte(0x41).s32(weight).byte(0x6a).byte(0x24).u32(d)
    gas(w)
    w.byte(0x42).byte(0).byte(0x53)
    // d0 + weight > limit, as a signed compare with the constant folded (depths stay far below 2^31).
    w.byte(0x20).u32(d0).byte(0x41).s32(limit - weight).byte(0x4a).byte(0x72) // i32.gt_s, i32.or
    // The trap path calls out (prologues run outside every loop, so the call costs no unrolling).
    w.byte(0x04).byte(0x40).byte(0x20).u32(this.gas).byte(0x10).u32(this.L.f.guardTrap).byte(0x00).byte(0x0b)
  }

  private depthDec(w: Writer): void {
    w.byte(0x20).u32(this.local(I32, 7)).byte(0x24).u32(this.L.g.depth)
  }

  /** Leaves [dst, x, n] of a bulk memory op on the stack after charging n and marking [dst, dst+n). */
  private bulk(tD: number, tX: number, tN: number): void {
    const s = this.seg
    const n = this.local(tN, 2)
    const x = this.local(tX, 1)
    const d = this.local(tD, 0)
    s.byte(0x21).u32(n).byte(0x21).u32(x).byte(0x22).u32(d)
    if (tD === I32) s.byte(0xad)
    s.byte(0x20).u32(n)
    if (tN === I32) s.byte(0xad)
    this.store(s)
    s.byte(0x10).u32(this.L.f.bulk)
    this.reload(s)
    s.byte(0x20).u32(d).byte(0x20).u32(x).byte(0x20).u32(n)
  }

  /** Marks the page of the i64 address on the stack: a byte load when the message already wrote
   *  it, also a byte store and a list append when not. */
  private markTop(s: Writer): void {
    s.byte(0x42).byte(12).byte(0x88).byte(0xa7)
    markIfClear(s, this.L, this.local(I32, 5))
  }

  /**
   * The `last marked page` local, holding the base of the page this invocation marked most
   * recently; set to −2^63 on entry, a base no valid address lies in (an address ≥ 2^63 that
   * compares as inside it traps anyway), which saves an add per store over a zero sentinel.
   */
  private lastPageLocal(): number {
    return this.local(I64, 4)
  }

  private charge(t: number): void {
    this.store(this.seg)
    this.seg.byte(0x10).u32(t === I64 ? this.L.f.charge64 : this.L.f.charge32)
    this.reload(this.seg)
  }

  /** Rewrites the body at bytes[start, end) of a function with `numParams` params; appends it (size-prefixed) to `out`. */
  rewrite(start: number, end: number, numParams: number, wrap: number, out: Writer): void {
    if (!this.pass(start, end, numParams, wrap, out, false)) this.pass(start, end, numParams, wrap, out, true)
  }

  /** One rewrite of a body; returns false, emitting nothing, when direct mode suits it better. */
  private pass(start: number, end: number, numParams: number, wrap: number, out: Writer, direct: boolean): boolean {
    this.direct = direct
    const bytes = this.src
    const r = new Reader(bytes, start, end)
    const groups = r.u32()
    const groupsAt = r.pos
    let nlocals = numParams
    for (let i = 0; i < groups; i++) {
      nlocals += r.u32()
      readValType(r)
      if (nlocals > MAX_LOCALS) invalid('too many locals')
    }
    const groupsEnd = r.pos
    for (const k of this.scratchKeys) this.scratch[k] = -1
    this.scratchKeys.length = 0
    this.scratchTypes = []
    this.localBase = nlocals
    this.gas = this.local(I64, 7)
    this.entryCost = -1
    this.body.len = 0
    this.seg.len = 0
    this.segCost = 0
    const weight = 64 + 8 * (nlocals + SCRATCH_ALLOWANCE)
    const seg = this.seg
    const cost = this.cost
    const L = this.L
    const m64 = this.m64
    let checked = true
    let depth = 0
    let done = false
    let calls = false
    let loops = false
    let returns = false

    // Original bytes are copied lazily in runs: `pend` is the first byte not yet copied into the
    // segment, so plain instructions cost only a decode (the module was engine-validated first).
    let pend = r.pos
    const sync = (to: number): void => {
      if (to > pend) seg.range(bytes, pend, to)
      pend = to
    }
    // Calls to module functions in the pending segment, as [start, end) offsets in `seg`. A segment
    // that ends in `unreachable` is a trap path (Motoko's overflow checks call its runtime there):
    // such calls are cold and do not cost the function its leaf status (see the end).
    const segCalls: number[] = []
    const sites: number[] = []
    const split = (next: boolean, cold = false): void => {
      sync(r.pos)
      const base = this.flush(checked)
      if (segCalls.length > 0) {
        if (!cold) calls = true
        for (const x of segCalls) sites.push(base + x)
        segCalls.length = 0
      }
      checked = next
    }
    while (r.pos < end) {
      const at = r.pos
      const op = bytes[r.pos++]
      if (op >= 0x45 && op <= 0xc4) {
        this.segCost += cost[op]
        const t = nanResult[op]
        if (t !== 0) {
          // x != x ? canonical NaN : x
          sync(r.pos)
          const l = this.local(t, 0)
          seg.byte(0x22).u32(l)
          if (t === F32) seg.byte(0x43).byte(0).byte(0).byte(0xc0).byte(0x7f)
          else seg.byte(0x44).byte(0).byte(0).byte(0).byte(0).byte(0).byte(0).byte(0xf8).byte(0x7f)
          seg.byte(0x20).u32(l).byte(0x20).u32(l).byte(t === F32 ? 0x5b : 0x61).byte(0x1b)
        }
        continue
      }
      if ((op >= 0x20 && op <= 0x24) || op === 0x41 || op === 0x42) {
        this.segCost += cost[op]
        while (bytes[r.pos++] & 0x80);
        continue
      }
      switch (op) {
        case 0x02:
          skipImmediates(r, op, m64)
          depth++
          break
        case 0x03:
          loops = true
          skipImmediates(r, op, m64)
          depth++
          split(true)
          break
        case 0x04:
          skipImmediates(r, op, m64)
          this.segCost += cost[op]
          depth++
          split(false)
          break
        case 0x05:
          split(false)
          break
        case 0x0b:
          split(false)
          if (depth === 0) {
            this.store(this.body)
            if (calls || loops || returns || weight > LEAF_RESERVE) this.depthDec(this.body)
            this.body.byte(0x0b)
            done = true
          } else depth--
          break
        case 0x0d:
          if (!this.exact) {
            // Fast mode: the code after br_if stays in the same segment, so a taken branch has
            // paid for the rest of it (deterministic over-charge, no extra counter update).
            while (bytes[r.pos++] & 0x80);
            this.segCost += cost[op]
            break
          }
          skipImmediates(r, op, m64)
          this.segCost += cost[op]
          split(false)
          break
        case 0x0c: case 0x0e:
          skipImmediates(r, op, m64)
          this.segCost += cost[op]
          split(false)
          break
        case 0x00:
          sync(at)
          this.store(seg)
          this.segCost += cost[op]
          split(false, true)
          break
        case 0x10: case 0x11: {
          // A call to an import (ic0) cannot re-enter the module, so it neither closes a cycle nor
          // stacks a wasm frame: the caller can stay a leaf (the host's own frames live in the
          // headroom above maxStackBytes, as for any other call site).
          const imm = r.pos
          skipImmediates(r, op, m64)
          const local = op === 0x11 || new Reader(bytes, imm, r.pos).u32() >= this.p.info.importedFunctionCount
          sync(at)
          if (local) segCalls.push(seg.len)
          this.store(seg)
          sync(r.pos)
          this.reload(seg)
          if (local) segCalls.push(seg.len)
          this.segCost += cost[op]
          break
        }
        case 0x0f: case 0x12: case 0x13:
          returns = true
          skipImmediates(r, op, m64)
          sync(at)
          this.store(seg)
          this.depthDec(seg)
          this.segCost += cost[op]
          split(false)
          break
        case 0x40:
          skipImmediates(r, op, m64)
          sync(at)
          seg.byte(0x10).u32(L.f.grow)
          pend = r.pos
          this.segCost += cost[op]
          break
        case 0xfc: {
          const sub = skipImmediates(r, op, m64)
          this.segCost += fcCost(sub)
          if (sub < 8 || sub === 9 || sub === 13 || sub === 15 || sub === 16) break
          sync(at)
          const I = this.I
          if (sub === 8) this.dirty ? this.bulk(I, I32, I32) : this.charge(I32)
          else if (sub === 10) this.dirty ? this.bulk(I, I, I) : this.charge(I)
          else if (sub === 11) this.dirty ? this.bulk(I, I32, I) : this.charge(I)
          else if (sub === 12) this.charge(I32)
          else if (sub === 14 || sub === 17) {
            const imm = new Reader(bytes, at + 1, r.pos)
            imm.u32()
            const a = this.p.tableIs64[imm.u32()]
            const b = sub === 14 ? this.p.tableIs64[imm.u32()] : a
            this.charge(a && b ? I64 : I32)
          }
          break
        }
        default:
          if (this.dirty && op >= 0x36 && op <= 0x3e) {
            const offset = readMemarg(r, m64)
            sync(at)
            const v = this.local(storeType[op], 1)
            const a = this.local(this.I, 0)
            const ea = this.local(I64, 6)
            const last = this.lastPageLocal()
            const size = storeSize[op]
            seg.byte(0x21).u32(v).byte(0x22).u32(a)
            // Effective address as i64 (no wrap-around even for wasm32). `last` holds the base of
            // the page this function invocation marked most recently: a store that lies entirely
            // inside it skips marking (register compare only). Otherwise both the first and the
            // last byte's pages are checked in the map and marked if clear. For an address outside
            // the memory the check may read a stray byte (or trap): the store traps anyway, and a
            // stray mark only makes a page look dirty.
            if (!m64) seg.byte(0xad)
            if (typeof offset === 'bigint') seg.byte(0x42).s64(BigInt.asIntN(64, offset)).byte(0x7c)
            else if (offset !== 0) seg.byte(0x42).s32(offset).byte(0x7c)
            seg.byte(0x22).u32(ea).byte(0x20).u32(last).byte(0x7d).byte(0x42).s32(4097 - size).byte(0x5a) // ea − last ≥ 4097 − size
            seg.byte(0x04).byte(0x40)
            seg.byte(0x20).u32(ea)
            this.markTop(seg)
            if (size > 1) {
              seg.byte(0x20).u32(ea).byte(0x42).byte(size - 1).byte(0x7c)
              this.markTop(seg)
            }
            seg.byte(0x20).u32(ea).byte(0x42).s32(-4096).byte(0x83).byte(0x21).u32(last) // last = ea & ~0xfff
            seg.byte(0x0b)
            seg.byte(0x20).u32(a).byte(0x20).u32(v)
            this.segCost += cost[op]
            break
          }
          skipImmediates(r, op, m64)
          this.segCost += cost[op]
      }
      if (done) break
    }
    if (!done || r.pos !== end) invalid('function body does not end with its final end')

    // Without loops the local saves nothing, while every hot call pays a store and a reload.
    // (Direct mode is never a leaf, so the leaf paths below always use the local.)
    if (!direct && calls && !loops) return false

    // Assemble: locals (original groups + one group per scratch local), entry prologue, body.
    const fn = this.fn
    fn.len = 0
    fn.u32(groups + this.scratchTypes.length).range(bytes, groupsAt, groupsEnd)
    for (const t of this.scratchTypes) fn.byte(1).byte(t)
    const g = this.gas
    const leaf = !(calls || loops || returns || weight > LEAF_RESERVE)
    if (leaf) {
      // Leaf: just load the counter minus the entry cost; the caller's next check catches a deficit.
      fn.byte(0x23).u32(L.g.instructions).byte(0x42).s32(this.entryCost).byte(0x7d).byte(0x21).u32(g)
    } else if (direct) {
      this.guard(fn, weight, (w) => w.byte(0x23).u32(L.g.instructions).byte(0x42).s32(this.entryCost).byte(0x7d).byte(0x22).u32(g).byte(0x24).u32(L.g.instructions).byte(0x20).u32(g))
    } else {
      // Prologue: depth += weight; gas = counter − entry cost; one branch covers both checks.
      this.guard(fn, weight, (w) => w.byte(0x23).u32(L.g.instructions).byte(0x42).s32(this.entryCost).byte(0x7d).byte(0x22).u32(g))
    }
    const last = this.scratch[LAST_PAGE_KEY]
    if (last >= 0) fn.byte(0x42).s64(-(1n << 63n)).byte(0x21).u32(last) // no page marked yet: see lastPageLocal
    fn.byte(0x02)
    if (wrap >= 0) fn.byte(wrap)
    else fn.s64(BigInt(-1 - wrap))
    if (leaf && sites.length > 0) {
      // A leaf whose module calls are all cold pays for its frame and checks the counter at those
      // calls instead of on entry: every cycle through it passes such a call, and its frame is
      // uncounted only while it is the innermost one, which LEAF_RESERVE covers (as for any leaf).
      let at = 0
      for (let i = 0; i < sites.length; i += 2) {
        fn.range(this.body.buf, at, sites[i])
        fn.byte(0x20).u32(g).byte(0x41).s32(weight).byte(0x10).u32(L.f.enter)
        fn.range(this.body.buf, sites[i], sites[i + 1])
        fn.byte(0x41).s32(weight).byte(0x10).u32(L.f.leave)
        at = sites[i + 1]
      }
      fn.range(this.body.buf, at, this.body.len)
    } else fn.range(this.body.buf, 0, this.body.len)
    out.u32(fn.len).range(fn.buf, 0, fn.len)
    return true
  }
}

