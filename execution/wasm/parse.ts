// Structural parse of a Wasm binary: section table, types, imports, exports, memory and custom
// sections. Instruction bodies are not decoded here (instrument.ts does that); engine validation
// (WebAssembly.validate) is the rewriter's job. Sections keep their original byte ranges so the
// rewriter can copy untouched ones verbatim (Motoko pads section-size LEBs to 5 bytes).

import { Reader, invalid, rejected } from './bytes.ts'
import { EXTERNREF, F32, F64, FUNCREF, I32, I64, readValType, skipImmediates } from './opcodes.ts'

export type ValTypeName = 'i32' | 'i64' | 'f32' | 'f64' | 'funcref' | 'externref'
export interface FuncType {
  params: ValTypeName[]
  results: ValTypeName[]
}
export type ExternKind = 'func' | 'table' | 'memory' | 'global'

export interface ModuleInfo {
  /** Index type of the (single) memory: wasm64 modules use i64 pointers in ic0 calls too. */
  memory64: boolean
  memory: { initialPages: bigint; maxPages?: bigint; exportName?: string; imported: boolean; shared: boolean } | undefined
  memoryCount: number
  imports: { module: string; name: string; kind: ExternKind; type?: FuncType }[]
  exports: { name: string; kind: ExternKind; index: number; type?: FuncType }[]
  customSections: { name: string; data: Uint8Array }[]
  hasStart: boolean
  /** Functions defined in the module (not imported). */
  functionCount: number
  importedFunctionCount: number
  /** Globals defined in the module (not imported). */
  globalCount: number
  importedGlobalCount: number
  tableCount: number
  codeSectionBytes: number
  moduleBytes: number
}

export interface Section {
  id: number
  /** Offset of the id byte; [start, end) is the whole section as it appears in the file. */
  start: number
  contentStart: number
  end: number
}

/** What the rewriter needs beyond ModuleInfo. */
export interface ParsedModule {
  bytes: Uint8Array
  info: ModuleInfo
  sections: Section[]
  /** Raw type section entries as numeric value types. */
  types: { params: number[]; results: number[] }[]
  /** Type index of every function, imported first. */
  funcTypes: number[]
  startFunction: number | undefined
  nameSection: Section | undefined
  /** Per table (imported first): does it use 64-bit indices (table64)? */
  tableIs64: boolean[]
}

const valName: Record<number, ValTypeName> = { [I32]: 'i32', [I64]: 'i64', [F32]: 'f32', [F64]: 'f64', [FUNCREF]: 'funcref', [EXTERNREF]: 'externref' }
const kindName: ExternKind[] = ['func', 'table', 'memory', 'global']
// Position of each known section id in the required order (13 = tag, 12 = datacount).
const order: Record<number, number> = { 1: 1, 2: 2, 3: 3, 4: 4, 5: 5, 13: 6, 6: 7, 7: 8, 8: 9, 9: 10, 12: 11, 10: 12, 11: 13 }

function limits(r: Reader, what: string): { flags: number; min: bigint; max?: bigint } {
  const flags = r.byte()
  if (flags & ~0x07) invalid(`${what} limits flags 0x${flags.toString(16)}`)
  const is64 = (flags & 0x04) !== 0
  const min = is64 ? r.u64() : BigInt(r.u32())
  const max = flags & 0x01 ? (is64 ? r.u64() : BigInt(r.u32())) : undefined
  return { flags, min, max }
}

function skipConstExpr(r: Reader): void {
  for (;;) {
    const op = r.byte()
    if (op === 0x0b) return
    skipImmediates(r, op, false)
  }
}

export function parseSections(bytes: Uint8Array): ParsedModule {
  if (bytes.length < 8 || bytes[0] !== 0 || bytes[1] !== 0x61 || bytes[2] !== 0x73 || bytes[3] !== 0x6d) invalid('missing \\0asm magic')
  if (bytes[4] !== 1 || bytes[5] !== 0 || bytes[6] !== 0 || bytes[7] !== 0) invalid('unsupported binary version (components are not supported)')
  const r = new Reader(bytes, 8)
  const info: ModuleInfo = {
    memory64: false, memory: undefined, memoryCount: 0, imports: [], exports: [], customSections: [], hasStart: false,
    functionCount: 0, importedFunctionCount: 0, globalCount: 0, importedGlobalCount: 0, tableCount: 0, codeSectionBytes: 0, moduleBytes: bytes.length,
  }
  const sections: Section[] = []
  const types: ParsedModule['types'] = []
  const funcTypes: number[] = []
  let startFunction: number | undefined
  let nameSection: Section | undefined
  const tableIs64: boolean[] = []
  let lastOrder = 0
  let codeCount = -1
  const typeOf = (idx: number): FuncType => {
    const t = types[idx]
    if (!t) invalid(`type index ${idx} out of range`)
    return { params: t.params.map((v) => valName[v]), results: t.results.map((v) => valName[v]) }
  }
  while (!r.eof()) {
    const start = r.pos
    const id = r.byte()
    const size = r.u32()
    const contentStart = r.pos
    const end = contentStart + size
    if (end > bytes.length) invalid(`section ${id} extends past the end of the module`)
    const sec: Section = { id, start, contentStart, end }
    sections.push(sec)
    const s = new Reader(bytes, contentStart, end)
    if (id !== 0) {
      const o = order[id]
      if (o === undefined) invalid(`unknown section id ${id}`)
      if (o <= lastOrder) invalid(`section ${id} out of order or duplicated`)
      lastOrder = o
    }
    switch (id) {
      case 0: {
        const name = s.name()
        const data = bytes.subarray(s.pos, end)
        info.customSections.push({ name, data })
        if (name === 'name') nameSection = sec
        s.pos = end
        break
      }
      case 1: {
        const n = s.u32()
        for (let i = 0; i < n; i++) {
          const form = s.byte()
          if (form !== 0x60) rejected(`type form 0x${form.toString(16)} is not supported (GC proposal)`)
          const params: number[] = []
          const results: number[] = []
          for (let k = s.u32(); k > 0; k--) params.push(readValType(s))
          for (let k = s.u32(); k > 0; k--) results.push(readValType(s))
          types.push({ params, results })
        }
        break
      }
      case 2: {
        const n = s.u32()
        for (let i = 0; i < n; i++) {
          const module = s.name()
          const name = s.name()
          const kind = s.byte()
          if (kind === 0) {
            const t = s.u32()
            funcTypes.push(t)
            info.importedFunctionCount++
            info.imports.push({ module, name, kind: 'func', type: typeOf(t) })
          } else if (kind === 1) {
            readValType(s)
            tableIs64.push((limits(s, 'table').flags & 0x04) !== 0)
            info.tableCount++
            info.imports.push({ module, name, kind: 'table' })
          } else if (kind === 2) {
            const l = limits(s, 'memory')
            info.memoryCount++
            info.memory64 = (l.flags & 0x04) !== 0
            info.memory = { initialPages: l.min, maxPages: l.max, imported: true, shared: (l.flags & 0x02) !== 0 }
            info.imports.push({ module, name, kind: 'memory' })
          } else if (kind === 3) {
            readValType(s)
            s.byte()
            info.importedGlobalCount++
            info.imports.push({ module, name, kind: 'global' })
          } else if (kind === 4) {
            rejected('exception tags are not supported')
          } else invalid(`import kind 0x${kind.toString(16)}`)
        }
        break
      }
      case 3: {
        const n = s.u32()
        for (let i = 0; i < n; i++) funcTypes.push(s.u32())
        info.functionCount = n
        break
      }
      case 4: {
        const n = s.u32()
        for (let i = 0; i < n; i++) {
          if (s.bytes[s.pos] === 0x40) rejected('table initialiser expressions are not supported')
          readValType(s)
          tableIs64.push((limits(s, 'table').flags & 0x04) !== 0)
        }
        info.tableCount += n
        break
      }
      case 5: {
        const n = s.u32()
        for (let i = 0; i < n; i++) {
          const l = limits(s, 'memory')
          info.memoryCount++
          if (info.memory === undefined) {
            info.memory64 = (l.flags & 0x04) !== 0
            info.memory = { initialPages: l.min, maxPages: l.max, imported: false, shared: (l.flags & 0x02) !== 0 }
          }
        }
        break
      }
      case 13:
        rejected('exception tags are not supported')
        break
      case 6: {
        const n = s.u32()
        for (let i = 0; i < n; i++) {
          readValType(s)
          const mut = s.byte()
          if (mut > 1) invalid('global mutability flag')
          skipConstExpr(s)
        }
        info.globalCount = n
        break
      }
      case 7: {
        const n = s.u32()
        for (let i = 0; i < n; i++) {
          const name = s.name()
          const k = s.byte()
          const kind = kindName[k]
          if (kind === undefined) invalid(`export kind 0x${k.toString(16)}`)
          const index = s.u32()
          info.exports.push({ name, kind, index })
        }
        break
      }
      case 8:
        startFunction = s.u32()
        info.hasStart = true
        break
      case 10:
        codeCount = s.u32()
        info.codeSectionBytes = size
        s.pos = end
        break
      default:
        s.pos = end // element, data, datacount: copied verbatim
    }
    if (s.pos !== end) invalid(`section ${id} size mismatch`)
    r.pos = end
  }
  if (codeCount === -1 ? info.functionCount !== 0 : codeCount !== info.functionCount) invalid('function and code section counts differ')
  for (const t of funcTypes) if (types[t] === undefined) invalid(`function type index ${t} out of range`)
  for (const e of info.exports) {
    if (e.kind === 'func') {
      const t = funcTypes[e.index]
      if (t === undefined) invalid(`export ${JSON.stringify(e.name)} refers to a missing function`)
      e.type = typeOf(t)
    }
    if (e.kind === 'memory' && e.index === 0 && info.memory) info.memory.exportName = e.name
  }
  return { bytes, info, sections, types, funcTypes, startFunction, nameSection, tableIs64 }
}

/** Parses a module's structure; throws CapsaError WASM_INVALID / WASM_REJECTED. */
export function parseModule(bytes: Uint8Array): ModuleInfo {
  return parseSections(bytes).info
}
