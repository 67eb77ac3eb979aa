// What the runtime needs to know about a canister module before instantiating it: its function
// imports with their types (to build the ic0 import object for I = i32 or i64 and to reject wrong
// signatures), whether its memory is 64-bit, and its mutable globals (which orthogonal persistence
// must save and restore).
//
// The full parser and instrumenter live in execution/wasm/; this small reader serves the runtime's
// own rewrite (`rewriteForRuntime`), applied to the instrumented module in module-seam.ts.

import { CapsaError } from '../protocol/errors.ts'

export type ValType = 'i32' | 'i64' | 'f32' | 'f64' | 'v128' | 'funcref' | 'externref'
export interface FuncType {
  params: ValType[]
  results: ValType[]
}
export interface FunctionImport {
  module: string
  name: string
  type: FuncType
}
export interface ModuleShape {
  memory64: boolean
  hasMemory: boolean
  functionImports: FunctionImport[]
  /** Non-function imports (tables, memories, globals): canisters may import none of them. */
  otherImports: { module: string; name: string; kind: string }[]
  /** Defined globals in index order (after imported ones), with their types and mutability. */
  globals: { index: number; type: ValType; mutable: boolean }[]
  exports: { name: string; kind: number; index: number }[]
  /** Whether the module defines a table (callbacks are looked up in table 0). */
  definesTable: boolean
  /** Whether the module defines a memory (memory 0 is the canister's heap). */
  definesMemory: boolean
  /** Function index of the (start) function, if any. */
  startFunction: number | undefined
}

const VALTYPES: Record<number, ValType> = {
  0x7f: 'i32', 0x7e: 'i64', 0x7d: 'f32', 0x7c: 'f64', 0x7b: 'v128', 0x70: 'funcref', 0x6f: 'externref',
}

function malformed(msg: string): never {
  throw new CapsaError('INVALID_ARGUMENT', `Wasm module malformed: ${msg}`)
}

class Reader {
  pos: number
  readonly b: Uint8Array
  readonly end: number
  constructor(b: Uint8Array, pos = 0, end = b.length) {
    this.b = b
    this.pos = pos
    this.end = end
  }
  byte(): number {
    if (this.pos >= this.end) malformed('unexpected end')
    return this.b[this.pos++]
  }
  u32(): number {
    let result = 0
    let mul = 1
    for (let i = 0; i < 10; i++) {
      const x = this.byte()
      result += (x & 0x7f) * mul
      if ((x & 0x80) === 0) return result
      mul *= 128
    }
    return malformed('LEB128 too long')
  }
  skipLeb(): void {
    for (let i = 0; i < 10; i++) if ((this.byte() & 0x80) === 0) return
    malformed('LEB128 too long')
  }
  name(): string {
    const n = this.u32()
    if (this.pos + n > this.end) malformed('name past end')
    const s = new TextDecoder('utf-8', { fatal: true }).decode(this.b.subarray(this.pos, this.pos + n))
    this.pos += n
    return s
  }
  valtype(): ValType {
    const t = VALTYPES[this.byte()]
    return t ?? malformed('unsupported value type')
  }
  limits(): { is64: boolean } {
    const flags = this.byte()
    if (flags > 7) malformed('bad limits flags')
    this.skipLeb()
    if (flags & 1) this.skipLeb()
    return { is64: (flags & 4) !== 0 }
  }
  constExpr(): void {
    for (;;) {
      const op = this.byte()
      if (op === 0x0b) return
      if (op === 0x41 || op === 0x42 || op === 0x23 || op === 0xd2) this.skipLeb()
      else if (op === 0x43) this.pos += 4
      else if (op === 0x44) this.pos += 8
      else if (op === 0xd0) this.byte()
      else if (op === 0xfd) {
        this.skipLeb()
        this.pos += 16
      } else if (op < 0x6a || op > 0x7e) malformed(`unsupported constant expression opcode 0x${op.toString(16)}`)
    }
  }
}

const EXPORT_KIND_NAMES = ['func', 'table', 'memory', 'global', 'tag']

/** Reads the sections the runtime needs (types, imports, memories, globals, exports). */
export function readModuleShape(bytes: Uint8Array): ModuleShape {
  if (bytes.length < 8 || bytes[0] !== 0 || bytes[1] !== 0x61 || bytes[2] !== 0x73 || bytes[3] !== 0x6d) malformed('bad magic')
  const r = new Reader(bytes, 8)
  const types: FuncType[] = []
  const shape: ModuleShape = { memory64: false, hasMemory: false, functionImports: [], otherImports: [], globals: [], exports: [], definesTable: false, definesMemory: false, startFunction: undefined }
  let importedGlobals = 0
  while (r.pos < bytes.length) {
    const id = r.byte()
    const size = r.u32()
    const end = r.pos + size
    if (end > bytes.length) malformed('section past end')
    const s = new Reader(bytes, r.pos, end)
    if (id === 1) {
      for (let n = s.u32(); n > 0; n--) {
        if (s.byte() !== 0x60) malformed('only function types are supported')
        const params = Array.from({ length: s.u32() }, () => s.valtype())
        const results = Array.from({ length: s.u32() }, () => s.valtype())
        types.push({ params, results })
      }
    } else if (id === 2) {
      for (let n = s.u32(); n > 0; n--) {
        const module = s.name()
        const name = s.name()
        const kind = s.byte()
        if (kind === 0) {
          const type = types[s.u32()] ?? malformed('import type index out of range')
          shape.functionImports.push({ module, name, type })
          continue
        }
        if (kind === 1) {
          s.byte()
          s.limits()
        } else if (kind === 2) {
          shape.hasMemory = true
          shape.memory64 = s.limits().is64
        } else if (kind === 3) {
          s.valtype()
          s.byte()
          importedGlobals++
        } else s.skipLeb()
        shape.otherImports.push({ module, name, kind: EXPORT_KIND_NAMES[kind] ?? String(kind) })
      }
    } else if (id === 8) {
      shape.startFunction = s.u32()
    } else if (id === 4) {
      shape.definesTable = s.u32() > 0
    } else if (id === 5) {
      const n = s.u32()
      if (n > 0) {
        shape.definesMemory = true
        shape.hasMemory = true
        shape.memory64 = s.limits().is64
      }
    } else if (id === 6) {
      for (let n = s.u32(), i = 0; i < n; i++) {
        const type = s.valtype()
        const mutable = s.byte() === 1
        s.constExpr()
        shape.globals.push({ index: importedGlobals + i, type, mutable })
      }
    } else if (id === 7) {
      for (let n = s.u32(); n > 0; n--) {
        const name = s.name()
        const kind = s.byte()
        shape.exports.push({ name, kind, index: s.u32() })
      }
    }
    r.pos = end
  }
  return shape
}

/** The export name under which a mutable global is reached by the runtime. */
export const globalExportName = (index: number): string => `__capsa_global_${index}`

function leb(n: number): number[] {
  const out: number[] = []
  do {
    let b = n % 128
    n = Math.floor(n / 128)
    if (n > 0) b |= 0x80
    out.push(b)
  } while (n > 0)
  return out
}

// Section order of the binary format; the export section (7) must come after these.
const ORDER_BEFORE_EXPORT = new Set([1, 2, 3, 4, 5, 13, 6])

export const TABLE_EXPORT = '__capsa_table'
export const START_EXPORT = '__capsa_start'
export const MEMORY_EXPORT = '__capsa_memory'

/** Rewrites the module for the runtime: exports every defined mutable global not exported yet (v128
 *  ones excepted: JS cannot read them), and memory 0 and table 0 if defined but not exported (the
 *  runtime must reach the heap to persist it, and the table to run callbacks); and turns the
 *  (start) function into an export, so the runtime runs it after instantiation, once the memory is
 *  reachable (and, on an upgrade that keeps the heap, after the heap is in place, as on the IC). */
export function rewriteForRuntime(bytes: Uint8Array, shape: ModuleShape): Uint8Array {
  const exported = new Set(shape.exports.filter((e) => e.kind === 3).map((e) => e.index))
  const extra = shape.globals.filter((g) => g.mutable && g.type !== 'v128' && !exported.has(g.index))
  const addTable = shape.definesTable && !shape.exports.some((e) => e.kind === 1 && e.index === 0)
  const addMemory = shape.definesMemory && !shape.exports.some((e) => e.kind === 2 && e.index === 0)
  const start = shape.startFunction
  if (extra.length === 0 && !addTable && !addMemory && start === undefined) return bytes
  const entries: number[] = []
  const enc = new TextEncoder()
  for (const e of shape.exports) {
    const nb = enc.encode(e.name)
    entries.push(...leb(nb.length), ...nb, e.kind, ...leb(e.index))
  }
  for (const g of extra) {
    const nb = enc.encode(globalExportName(g.index))
    entries.push(...leb(nb.length), ...nb, 3, ...leb(g.index))
  }
  if (addTable) {
    const nb = enc.encode(TABLE_EXPORT)
    entries.push(...leb(nb.length), ...nb, 1, 0)
  }
  if (addMemory) {
    const nb = enc.encode(MEMORY_EXPORT)
    entries.push(...leb(nb.length), ...nb, 2, 0)
  }
  if (start !== undefined) {
    const nb = enc.encode(START_EXPORT)
    entries.push(...leb(nb.length), ...nb, 0, ...leb(start))
  }
  const count = shape.exports.length + extra.length + (addTable ? 1 : 0) + (addMemory ? 1 : 0) + (start !== undefined ? 1 : 0)
  const body = [...leb(count), ...entries]
  const section = new Uint8Array([7, ...leb(body.length), ...body])
  const parts: Uint8Array[] = [bytes.subarray(0, 8)]
  const r = new Reader(bytes, 8)
  let inserted = false
  while (r.pos < bytes.length) {
    const start = r.pos
    const id = r.byte()
    const size = r.u32()
    const end = r.pos + size
    if (id === 7) {
      parts.push(section)
      inserted = true
    } else if (id === 8) {
      // the (start) section is dropped: its function is exported instead
    } else {
      if (!inserted && id !== 0 && !ORDER_BEFORE_EXPORT.has(id)) {
        parts.push(section)
        inserted = true
      }
      parts.push(bytes.subarray(start, end))
    }
    r.pos = end
  }
  if (!inserted) parts.push(section)
  return new Uint8Array(Buffer.concat(parts))
}
