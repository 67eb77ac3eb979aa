// Opcode knowledge shared by the parser and the rewriter: immediates to skip, which features we
// refuse, and the instruction cost table. Costs follow the IC's published weights (dfinity/ic
// rs/embedders/src/wasm_utils/instrumentation.rs, `instruction_to_cost`) so canisters see similar
// instruction counts here and there; anything not listed there costs 1.

import { Reader, invalid, rejected } from './bytes.ts'

export const I32 = 0x7f
export const I64 = 0x7e
export const F32 = 0x7d
export const F64 = 0x7c
export const V128 = 0x7b
export const FUNCREF = 0x70
export const EXTERNREF = 0x6f

export function isValType(b: number): boolean {
  return b === I32 || b === I64 || b === F32 || b === F64 || b === FUNCREF || b === EXTERNREF
}

export function readValType(r: Reader): number {
  const t = r.byte()
  if (t === V128) rejected('SIMD (v128) is not supported')
  if (!isValType(t)) rejected(`value type 0x${t.toString(16)} is not supported (GC / typed function references)`)
  return t
}

const cost32 = new Uint16Array(256).fill(1)
{
  const set = (v: number, ...ops: number[]): void => {
    for (const o of ops) cost32[o] = v
  }
  set(0, 0x02, 0x03, 0x05, 0x0b) // block, loop, else, end: markers
  set(2, 0x04, 0x0c, 0x0d, 0x0e) // if, br, br_if, br_table
  set(5, 0x10) // call
  set(10, 0x11) // call_indirect
  set(3, 0x12) // return_call
  set(60, 0x13) // return_call_indirect
  set(2, 0x23, 0x24) // global.get/set
  set(5, 0x25, 0x26) // table.get/set
  set(20, 0x3f) // memory.size
  set(300, 0x40) // memory.grow
  set(10, 0x6d, 0x6e, 0x6f, 0x70, 0x7f, 0x80, 0x81, 0x82) // integer div/rem
  set(3, 0x5b, 0x5c, 0x5d, 0x5e, 0x5f, 0x60, 0x61, 0x62, 0x63, 0x64, 0x65, 0x66) // float comparisons
  set(2, 0x8d, 0x8e, 0x8f, 0x90, 0x92, 0x93, 0x94, 0x9b, 0x9c, 0x9d, 0x9e, 0xa0, 0xa1, 0xa2) // f add/sub/mul/round
  set(3, 0x95) // f32.div
  set(5, 0xa3) // f64.div
  set(18, 0x96, 0x97, 0xa4, 0xa5) // min/max
  set(2, 0x98) // f32.copysign
  set(3, 0xa6) // f64.copysign
  set(5, 0x91) // f32.sqrt
  set(8, 0x9f) // f64.sqrt
  set(20, 0xa8, 0xa9, 0xaa, 0xab, 0xae, 0xaf, 0xb0, 0xb1) // trapping float->int
  set(3, 0xb2, 0xb4, 0xb7, 0xb9) // signed int->float
  set(16, 0xb3, 0xb5, 0xb8, 0xba) // unsigned int->float
  set(5, 0xd1) // ref.is_null
  set(130, 0xd2) // ref.func
}

const cost64 = cost32.slice()
for (let op = 0x28; op <= 0x3e; op++) cost64[op] = 2 // loads/stores cost 2 on wasm64

export function costTable(memory64: boolean): Uint16Array {
  return memory64 ? cost64 : cost32
}

/** Static part of 0xFC-prefixed instructions; bulk ops also pay their size dynamically. */
export function fcCost(sub: number): number {
  if (sub <= 7) return 20
  if (sub === 9 || sub === 13) return 300
  if (sub === 15) return 300
  if (sub === 16) return 100
  return 100
}

/** Float result type an opcode canonicalises: 0 = none, F32, F64. Sign ops (abs/neg/copysign) keep payloads by spec. */
export const nanResult = new Uint8Array(256)
for (const op of [0x8d, 0x8e, 0x8f, 0x90, 0x91, 0x92, 0x93, 0x94, 0x95, 0x96, 0x97, 0xb6]) nanResult[op] = F32
for (const op of [0x9b, 0x9c, 0x9d, 0x9e, 0x9f, 0xa0, 0xa1, 0xa2, 0xa3, 0xa4, 0xa5, 0xbb]) nanResult[op] = F64

/** Store opcodes: [bytes written, value type]. */
export const storeSize = new Uint8Array(256)
export const storeType = new Uint8Array(256)
for (const [op, n, t] of [
  [0x36, 4, I32], [0x37, 8, I64], [0x38, 4, F32], [0x39, 8, F64], [0x3a, 1, I32],
  [0x3b, 2, I32], [0x3c, 1, I64], [0x3d, 2, I64], [0x3e, 4, I64],
] as const) {
  storeSize[op] = n
  storeType[op] = t
}

export function readBlockType(r: Reader): number {
  const b = r.bytes[r.pos]
  if (b === 0x40 || isValType(b)) {
    r.pos++
    return b === 0x40 ? -64 : -(0x80 - b)
  }
  if (b === V128) rejected('SIMD (v128) is not supported')
  const idx = r.s33()
  if (idx < 0) rejected(`block type 0x${b.toString(16)} is not supported`)
  return idx
}

/** Reads a memarg; returns the offset (number when < 2^53). Multi-memory accesses are rejected. */
export function readMemarg(r: Reader, memory64: boolean): number | bigint {
  const align = r.u32()
  if (align & 0x40 && r.u32() !== 0) rejected('multiple memories are not supported')
  return memory64 ? r.u64n() : r.u32()
}

function reject(op: number, sub?: number): never {
  if (op === 0xfd) rejected('SIMD instructions are not supported')
  if (op === 0xfe) rejected('threads/atomics instructions are not supported')
  if (op === 0xfb) rejected('GC instructions are not supported')
  if ((op >= 0x06 && op <= 0x0a) || op === 0x18 || op === 0x19 || op === 0x1f) rejected('exception handling is not supported')
  if (op === 0x14 || op === 0x15 || (op >= 0xd3 && op <= 0xd6)) rejected('typed function references are not supported')
  return invalid(`unknown opcode 0x${op.toString(16)}${sub === undefined ? '' : ` ${sub}`}`)
}

/**
 * Skips the immediates of `op` (already consumed). Used for constant expressions and for the
 * instructions the rewriter copies unchanged. Returns the 0xFC sub-opcode, or -1.
 */
export function skipImmediates(r: Reader, op: number, memory64: boolean): number {
  if (op >= 0x45 && op <= 0xc4) return -1 // numeric, no immediates
  switch (op) {
    case 0x00: case 0x01: case 0x05: case 0x0b: case 0x0f: case 0x1a: case 0x1b: case 0xd1:
      return -1
    case 0x02: case 0x03: case 0x04:
      readBlockType(r)
      return -1
    case 0x0c: case 0x0d: case 0x10: case 0x12: case 0xd2:
    case 0x20: case 0x21: case 0x22: case 0x23: case 0x24: case 0x25: case 0x26:
      r.u32()
      return -1
    case 0x0e: {
      const n = r.u32()
      for (let i = 0; i <= n; i++) r.u32()
      return -1
    }
    case 0x11: case 0x13:
      r.u32()
      r.u32()
      return -1
    case 0x1c: {
      const n = r.u32()
      for (let i = 0; i < n; i++) readValType(r)
      return -1
    }
    case 0x3f: case 0x40:
      if (r.u32() !== 0) rejected('multiple memories are not supported')
      return -1
    case 0x41: r.skipLeb(5); return -1
    case 0x42: r.skipLeb(10); return -1
    case 0x43: r.take(4); return -1
    case 0x44: r.take(8); return -1
    case 0xd0: {
      const t = r.byte()
      if (t !== FUNCREF && t !== EXTERNREF) rejected('typed references are not supported')
      return -1
    }
    case 0xfc: {
      const sub = r.u32()
      switch (sub) {
        case 0: case 1: case 2: case 3: case 4: case 5: case 6: case 7: break
        case 8: r.u32(); if (r.u32() !== 0) rejected('multiple memories are not supported'); break
        case 9: case 13: case 15: case 16: case 17: r.u32(); break
        case 10: if (r.u32() !== 0 || r.u32() !== 0) rejected('multiple memories are not supported'); break
        case 11: if (r.u32() !== 0) rejected('multiple memories are not supported'); break
        case 12: case 14: r.u32(); r.u32(); break
        default: reject(op, sub)
      }
      return sub
    }
  }
  if (op >= 0x28 && op <= 0x3e) {
    readMemarg(r, memory64)
    return -1
  }
  return reject(op)
}
