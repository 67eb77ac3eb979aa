// Decoding a Candid message without a .did: the message's own type table (Candid.md "Binary
// Format") gives the types, which are then handed to @dfinity/candid. Field names are unknown, so
// fields keep their numeric ids (printed as numbers, as dfx does).

import type { IDL } from '@dfinity/candid'
import { decodeCandid } from '../../protocol/candid.ts'
import { CapsaError } from '../../protocol/errors.ts'
import { stackGuard } from './ast.ts'
import type { PrimName, TypeExpr, TypeField } from './ast.ts'
import { TypeEnv } from './idl-types.ts'

const PRIM_OPCODES: Record<number, PrimName> = {
  [-1]: 'null', [-2]: 'bool', [-3]: 'nat', [-4]: 'int', [-5]: 'nat8', [-6]: 'nat16', [-7]: 'nat32',
  [-8]: 'nat64', [-9]: 'int8', [-10]: 'int16', [-11]: 'int32', [-12]: 'int64', [-13]: 'float32',
  [-14]: 'float64', [-15]: 'text', [-16]: 'reserved', [-17]: 'empty', [-24]: 'principal',
}
const MODES: Record<number, string> = { 1: 'query', 2: 'oneway', 3: 'composite_query' }

function malformed(message: string, at: number): CapsaError {
  return new CapsaError('CANDID_MALFORMED', `invalid Candid type table at byte ${at}: ${message}`)
}

class Reader {
  readonly bytes: Uint8Array
  at = 0
  constructor(bytes: Uint8Array) { this.bytes = bytes }
  byte(): number {
    if (this.at >= this.bytes.length) throw malformed('truncated', this.at)
    return this.bytes[this.at++]
  }
  leb(): number {
    let value = 0n
    let shift = 0n
    for (;;) {
      const b = this.byte()
      value |= BigInt(b & 0x7f) << shift
      shift += 7n
      if ((b & 0x80) === 0) break
    }
    if (value > BigInt(Number.MAX_SAFE_INTEGER)) throw malformed('number too large', this.at)
    return Number(value)
  }
  sleb(): number {
    let value = 0n
    let shift = 0n
    let b: number
    do {
      b = this.byte()
      value |= BigInt(b & 0x7f) << shift
      shift += 7n
    } while (b & 0x80)
    if (b & 0x40) value -= 1n << shift
    return Number(value)
  }
  count(): number {
    const n = this.leb()
    // Every entry takes at least one byte, so a count beyond the remaining bytes is a lie.
    if (n > this.bytes.length - this.at) throw malformed('count exceeds message size', this.at)
    return n
  }
}

export interface WireTypes { types: IDL.Type[]; env: TypeEnv }

/** The argument types a Candid message declares in its own type table. */
export function readWireTypes(bytes: Uint8Array): WireTypes {
  return stackGuard('CANDID_MALFORMED', () => readWireTypesUnguarded(bytes))
}

function readWireTypesUnguarded(bytes: Uint8Array): WireTypes {
  const r = new Reader(bytes)
  const magic = [0x44, 0x49, 0x44, 0x4c]
  for (const m of magic) if (r.byte() !== m) throw malformed('missing DIDL magic', 0)
  const n = r.count()
  const ref = (code: number, at: number): TypeExpr => {
    if (code >= 0) {
      if (code >= n) throw malformed(`type index ${code} out of range`, at)
      return { kind: 'ref', name: `#${code}`, pos: { line: 1, column: at + 1 } }
    }
    const prim = PRIM_OPCODES[code]
    if (!prim) throw malformed(`unknown type code ${code}`, at)
    return { kind: 'prim', name: prim }
  }
  const typ = (): TypeExpr => { const at = r.at; return ref(r.sleb(), at) }
  const defs = new Map<string, TypeExpr>()
  for (let i = 0; i < n; i++) {
    const at = r.at
    const op = r.sleb()
    let def: TypeExpr
    switch (op) {
      case -18: def = { kind: 'opt', inner: typ() }; break
      case -19: def = { kind: 'vec', inner: typ() }; break
      case -20: case -21: {
        const fields: TypeField[] = []
        const k = r.count()
        for (let j = 0; j < k; j++) {
          const idAt = r.at
          const id = r.leb()
          if (id > 0xffffffff || (j > 0 && id <= fields[j - 1].id)) throw malformed('field ids not strictly increasing', idAt)
          fields.push({ id, type: typ() })
        }
        def = { kind: op === -20 ? 'record' : 'variant', fields }
        break
      }
      case -22: {
        const args = Array.from({ length: r.count() }, typ)
        const rets = Array.from({ length: r.count() }, typ)
        const modes = Array.from({ length: r.count() }, () => MODES[r.byte()] ?? 'unknown')
        def = { kind: 'func', func: { args, rets, modes: modes.filter((m) => m !== 'unknown') } }
        break
      }
      case -23: {
        const methods = []
        const k = r.count()
        for (let j = 0; j < k; j++) {
          const len = r.count()
          const name = new TextDecoder().decode(bytes.subarray(r.at, r.at + len))
          r.at += len
          methods.push({ name, type: typ() })
        }
        def = { kind: 'service', methods }
        break
      }
      default: throw malformed(`type table entry ${i} has opcode ${op}, not a constructor`, at)
    }
    defs.set(`#${i}`, def)
  }
  const argc = r.count()
  const argExprs = Array.from({ length: argc }, typ)
  const env = new TypeEnv(defs)
  const types = argExprs.map((t) => env.build(t))
  return { types, env }
}

/** Decodes a Candid message with the types from its own type table. */
export function decodeWithoutTypes(bytes: Uint8Array): { types: IDL.Type[]; values: unknown[] } {
  const { types } = readWireTypes(bytes)
  return { types, values: stackGuard('CANDID_MALFORMED', () => decodeCandid(types, bytes)) }
}
