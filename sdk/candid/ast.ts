// Untyped syntax trees of Candid text: values as written (a number literal is not yet nat or int8),
// and type expressions whose named references are resolved later against a .did environment.

import { CapsaError } from '../../protocol/errors.ts'
import type { ErrorCode } from '../../protocol/errors.ts'
import type { Pos } from './lexer.ts'

/** Every walk here is recursive; input nested deeper than the JS stack allows fails with a code. */
export function stackGuard<T>(code: ErrorCode, f: () => T): T {
  try {
    return f()
  } catch (e) {
    if (e instanceof RangeError) throw new CapsaError(code, 'Candid input nested too deeply', undefined, { cause: e })
    throw e
  }
}

export type Value =
  | { kind: 'number'; value: bigint; text: string; pos: Pos }
  | { kind: 'float'; value: number; text: string; pos: Pos }
  | { kind: 'bool'; value: boolean; pos: Pos }
  | { kind: 'null'; pos: Pos }
  | { kind: 'text'; bytes: Uint8Array; pos: Pos }
  | { kind: 'blob'; bytes: Uint8Array; pos: Pos }
  | { kind: 'opt'; value: Value; pos: Pos }
  | { kind: 'vec'; items: Value[]; pos: Pos }
  | { kind: 'record'; fields: ValueField[]; pos: Pos }
  | { kind: 'variant'; field: ValueField; pos: Pos }
  | { kind: 'principal'; text: string; pos: Pos }
  | { kind: 'service'; text: string; pos: Pos }
  | { kind: 'func'; principal: string; method: string; pos: Pos }
  | { kind: 'annotated'; value: Value; type: TypeExpr; pos: Pos }

/** `name` is absent when the field was written as a number or by tuple position. */
export interface ValueField { id: number; name?: string; value: Value; pos: Pos }

export const PRIM_TYPES = [
  'nat', 'nat8', 'nat16', 'nat32', 'nat64', 'int', 'int8', 'int16', 'int32', 'int64',
  'float32', 'float64', 'bool', 'text', 'null', 'reserved', 'empty', 'principal',
] as const
export type PrimName = (typeof PRIM_TYPES)[number]

export type TypeExpr =
  | { kind: 'prim'; name: PrimName }
  | { kind: 'ref'; name: string; pos: Pos }
  | { kind: 'opt'; inner: TypeExpr }
  | { kind: 'vec'; inner: TypeExpr }
  | { kind: 'record'; fields: TypeField[] }
  | { kind: 'variant'; fields: TypeField[] }
  | { kind: 'func'; func: FuncTypeExpr }
  | { kind: 'service'; methods: MethodExpr[] }

export interface TypeField { id: number; name?: string; type: TypeExpr }
export interface FuncTypeExpr { args: TypeExpr[]; rets: TypeExpr[]; modes: string[] }
/** A method's type is a func type or a reference to a named func type. */
export interface MethodExpr { name: string; type: TypeExpr }

/** Candid's field-name hash: h = h * 223 + byte over the UTF-8 bytes, mod 2^32. */
export function idlHash(name: string): number {
  let h = 0
  for (const b of new TextEncoder().encode(name)) h = (Math.imul(h, 223) + b) >>> 0
  return h
}
