// From an untyped Candid text value to the JS value @dfinity/candid encodes for a given IDL type,
// applying the coercions dfx applies to text arguments: a number literal becomes whichever numeric
// type is expected (range-checked), fields match by id (name hash or number), a plain value where
// `opt T` is expected is wrapped, missing opt/null/reserved fields are filled, extra fields are
// dropped (record subtyping), and `vec { 1; 2 }` is as good as `blob "\01\02"` for `vec nat8`.
//
// Without a type, the type is inferred from the literal as candid's IDLArgs::to_bytes does: an
// unannotated number literal is an `int` (not `nat`), a float literal is a `float64`, `vec {}` is a
// `vec null`, and a vec's element type is the first element's.

import { IDL, idlLabelToId } from '@dfinity/candid'
import { Principal } from '@dfinity/principal'
import { CapsaError } from '../../protocol/errors.ts'
import { stackGuard } from './ast.ts'
import type { Value, ValueField } from './ast.ts'
import { TypeEnv, fieldKey, unwrap } from './idl-types.ts'
import type { Pos } from './lexer.ts'
import { parseArgs } from './parser.ts'
import { encodeCandid } from '../../protocol/candid.ts'

const EMPTY_ENV = new TypeEnv(new Map())
const utf8 = new TextDecoder('utf-8', { fatal: true })

function mismatch(pos: Pos, message: string): CapsaError {
  return new CapsaError('CANDID_MALFORMED', `${pos.line}:${pos.column}: ${message}`, { line: pos.line, column: pos.column })
}

function describeValue(v: Value): string {
  switch (v.kind) {
    case 'number': return `number ${v.text}`
    case 'float': return `float ${v.text}`
    case 'annotated': return describeValue(v.value)
    default: return `${v.kind} value`
  }
}

/** Converts `v` to the JS representation of `type` used by IDL.encode. */
export function toJs(v: Value, type: IDL.Type, env: TypeEnv = EMPTY_ENV): unknown {
  const t = unwrap(type)
  if (v.kind === 'annotated') {
    const annotated = unwrap(env.build(v.type))
    if (t instanceof IDL.ReservedClass) return null
    if (t instanceof IDL.OptClass && !(annotated instanceof IDL.OptClass) && !(annotated instanceof IDL.NullClass)) return [toJs(v, t._type, env)]
    if (annotated.display() !== t.display()) throw mismatch(v.pos, `value annotated ${annotated.display()} where ${t.display()} is expected`)
    return toJs(v.value, annotated, env)
  }
  if (t instanceof IDL.ReservedClass) return null
  if (t instanceof IDL.OptClass) {
    if (v.kind === 'null') return []
    if (v.kind === 'opt') return [toJs(v.value, t._type, env)]
    // dfx accepts `5` for `opt nat`, meaning `opt 5`.
    const inner = unwrap(t._type)
    if (!(inner instanceof IDL.NullClass) && !(inner instanceof IDL.ReservedClass)) return [toJs(v, inner, env)]
  }
  switch (v.kind) {
    case 'number': return numberFor(v, t)
    case 'float':
      if (t instanceof IDL.FloatClass) return t._bits === 32 ? Math.fround(v.value) : v.value
      break
    case 'bool':
      if (t instanceof IDL.BoolClass) return v.value
      break
    case 'null':
      if (t instanceof IDL.NullClass) return null
      break
    case 'text':
      if (t instanceof IDL.TextClass) {
        try { return utf8.decode(v.bytes) } catch { throw mismatch(v.pos, 'text literal is not valid UTF-8') }
      }
      break
    case 'blob':
      if (t instanceof IDL.VecClass && unwrap(t._type) instanceof IDL.FixedNatClass && (unwrap(t._type) as IDL.FixedNatClass)._bits === 8) return v.bytes
      break
    case 'vec':
      if (t instanceof IDL.VecClass) {
        const items = v.items.map((item) => toJs(item, t._type, env))
        const elem = unwrap(t._type)
        return elem instanceof IDL.FixedNatClass && elem._bits === 8 ? new Uint8Array(items as number[]) : items
      }
      break
    case 'record':
      if (t instanceof IDL.RecordClass) return recordFor(v, t, env)
      break
    case 'variant':
      if (t instanceof IDL.VariantClass) {
        const entry = t._fields.find(([key]) => idlLabelToId(key) === v.field.id)
        if (!entry) throw mismatch(v.field.pos, `variant ${t.display()} has no tag ${labelOf(v.field)}`)
        return { [entry[0]]: toJs(v.field.value, entry[1], env) }
      }
      break
    case 'principal':
      if (t instanceof IDL.PrincipalClass) return Principal.fromText(v.text)
      break
    case 'service':
      if (t instanceof IDL.ServiceClass) return Principal.fromText(v.text)
      break
    case 'func':
      if (t instanceof IDL.FuncClass) return [Principal.fromText(v.principal), v.method]
      break
    case 'opt':
      break
  }
  throw mismatch(v.pos, `${describeValue(v)} where ${t.display()} is expected`)
}

function labelOf(f: ValueField): string {
  return f.name ?? String(f.id)
}

const FIXED_RANGE = (bits: number, signed: boolean): [bigint, bigint] =>
  signed ? [-(1n << BigInt(bits - 1)), (1n << BigInt(bits - 1)) - 1n] : [0n, (1n << BigInt(bits)) - 1n]

function numberFor(v: Value & { kind: 'number' }, t: IDL.Type): unknown {
  const n = v.value
  if (t instanceof IDL.NatClass) {
    if (n < 0n) throw mismatch(v.pos, `negative number ${v.text} where nat is expected`)
    return n
  }
  if (t instanceof IDL.IntClass) return n
  if (t instanceof IDL.FixedNatClass || t instanceof IDL.FixedIntClass) {
    const [lo, hi] = FIXED_RANGE(t._bits, t instanceof IDL.FixedIntClass)
    if (n < lo || n > hi) throw mismatch(v.pos, `number ${v.text} out of range for ${t.display()}`)
    return t._bits === 64 ? n : Number(n)
  }
  if (t instanceof IDL.FloatClass) return t._bits === 32 ? Math.fround(Number(n)) : Number(n)
  throw mismatch(v.pos, `${describeValue(v)} where ${t.display()} is expected`)
}

function recordFor(v: Value & { kind: 'record' }, t: IDL.RecordClass, env: TypeEnv): unknown {
  const byId = new Map(v.fields.map((f) => [f.id, f]))
  const out: Record<string, unknown> = {}
  for (const [key, ft] of t._fields) {
    const field = byId.get(idlLabelToId(key))
    if (field) { out[key] = toJs(field.value, ft, env); continue }
    const inner = unwrap(ft)
    if (inner instanceof IDL.OptClass) out[key] = []
    else if (inner instanceof IDL.NullClass || inner instanceof IDL.ReservedClass) out[key] = null
    else throw mismatch(v.pos, `record is missing field ${key.match(/^_(\d+)_$/)?.[1] ?? key} : ${inner.display()}`)
  }
  return t instanceof IDL.TupleClass ? t._fields.map(([key]) => out[key]) : out
}

/** The type candid gives an unannotated value (see the module comment). */
export function inferType(v: Value, env: TypeEnv = EMPTY_ENV): IDL.Type {
  switch (v.kind) {
    case 'number': return IDL.Int
    case 'float': return IDL.Float64
    case 'bool': return IDL.Bool
    case 'null': return IDL.Null
    case 'text': return IDL.Text
    case 'blob': return IDL.Vec(IDL.Nat8)
    case 'opt': return IDL.Opt(inferType(v.value, env))
    case 'vec': return IDL.Vec(v.items.length === 0 ? IDL.Null : inferType(v.items[0], env))
    case 'record': {
      if (v.fields.length > 0 && v.fields.every((f, i) => f.name === undefined && f.id === i)) {
        return IDL.Tuple(...v.fields.map((f) => inferType(f.value, env)))
      }
      return IDL.Record(Object.fromEntries(v.fields.map((f) => [fieldKey(f), inferType(f.value, env)])))
    }
    case 'variant': return IDL.Variant({ [fieldKey(v.field)]: inferType(v.field.value, env) })
    case 'principal': return IDL.Principal
    case 'service': return IDL.Service({})
    case 'func': return IDL.Func([], [])
    case 'annotated': return env.build(v.type)
  }
}

export interface TypedArgs { types: IDL.Type[]; values: unknown[] }

/**
 * Types an argument list. With `types` (from a .did), missing trailing opt/null/reserved arguments
 * are filled as Candid's subtyping allows; without, each argument's type is inferred.
 */
export function typeArgs(args: Value[], types?: IDL.Type[], env: TypeEnv = EMPTY_ENV): TypedArgs {
  return stackGuard('CANDID_MALFORMED', () => typeArgsUnguarded(args, types, env))
}

function typeArgsUnguarded(args: Value[], types: IDL.Type[] | undefined, env: TypeEnv): TypedArgs {
  if (!types) {
    const inferred = args.map((a) => inferType(a, env))
    return { types: inferred, values: args.map((a, i) => toJs(a, inferred[i], env)) }
  }
  if (args.length > types.length) {
    throw mismatch(args[types.length].pos, `too many arguments: expected ${types.length}, found ${args.length}`)
  }
  const values = types.map((t, i) => {
    if (i < args.length) return toJs(args[i], t, env)
    const inner = unwrap(t)
    if (inner instanceof IDL.OptClass) return []
    if (inner instanceof IDL.NullClass || inner instanceof IDL.ReservedClass) return null
    throw new CapsaError('CANDID_MALFORMED', `missing argument ${i + 1} of type ${inner.display()}`)
  })
  return { types, values }
}

/** Candid text arguments to the binary message, e.g. for `capsa canister call`. */
export function encodeArgs(text: string, types?: IDL.Type[], env?: TypeEnv): Uint8Array {
  const typed = typeArgs(parseArgs(text), types, env)
  return encodeCandid(typed.types, typed.values)
}
