// `--output json`: decoded Candid values as plain JSON. Choices where JSON has no native form:
// nat/int/nat64/int64 are decimal strings (they exceed 2^53), smaller integers and floats are numbers
// (non-finite floats are the strings "NaN"/"inf"/"-inf"), blobs are lowercase hex strings, `opt` is
// null or the value (so `opt null` and `null` coincide), tuples are arrays, records are objects keyed by
// field name (numeric ids as their decimal string), variants are `{ "tag": value }`, principals and
// services are their text form and funcs `{ "principal": …, "method": … }`.

import { IDL, idlLabelToId } from '@dfinity/candid'
import type { Principal } from '@dfinity/principal'
import { toHex } from '../../protocol/hash.ts'
import { CapsaError } from '../../protocol/errors.ts'
import { stackGuard } from './ast.ts'
import { unwrap } from './idl-types.ts'

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json }

function keyText(key: string): string {
  return /^_(\d+)_$/.exec(key)?.[1] ?? key
}

export function toJson(value: unknown, type: IDL.Type): Json {
  const t = unwrap(type)
  if (t instanceof IDL.NullClass || t instanceof IDL.ReservedClass) return null
  if (t instanceof IDL.BoolClass) return value as boolean
  if (t instanceof IDL.NatClass || t instanceof IDL.IntClass) return String(value)
  if (t instanceof IDL.FixedNatClass || t instanceof IDL.FixedIntClass) return t._bits === 64 ? String(value) : Number(value)
  if (t instanceof IDL.FloatClass) {
    const x = value as number
    if (Number.isFinite(x)) return x
    return Number.isNaN(x) ? 'NaN' : x > 0 ? 'inf' : '-inf'
  }
  if (t instanceof IDL.TextClass) return value as string
  if (t instanceof IDL.PrincipalClass || t instanceof IDL.ServiceClass) return (value as Principal).toText()
  if (t instanceof IDL.FuncClass) {
    const [p, method] = value as [Principal, string]
    return { principal: p.toText(), method }
  }
  if (t instanceof IDL.OptClass) {
    const o = value as unknown[]
    return o.length === 0 ? null : toJson(o[0], t._type)
  }
  if (t instanceof IDL.VecClass) {
    const elem = unwrap(t._type)
    if (elem instanceof IDL.FixedNatClass && elem._bits === 8) return toHex(Uint8Array.from(value as ArrayLike<number>))
    // Vecs of fixed-size numbers decode to typed arrays, whose map would coerce back to numbers.
    return Array.from(value as ArrayLike<unknown>, (x) => toJson(x, t._type))
  }
  if (t instanceof IDL.TupleClass) return t._fields.map(([, ft], i) => toJson((value as unknown[])[i], ft))
  if (t instanceof IDL.RecordClass) {
    const out: Record<string, Json> = {}
    const fields = [...t._fields].sort((a, b) => idlLabelToId(a[0]) - idlLabelToId(b[0]))
    for (const [key, ft] of fields) out[keyText(key)] = toJson((value as Record<string, unknown>)[key], ft)
    return out
  }
  if (t instanceof IDL.VariantClass) {
    const [key, inner] = Object.entries(value as Record<string, unknown>)[0] ?? []
    const entry = t._fields.find(([k]) => k === key)
    if (key === undefined || !entry) throw new CapsaError('CANDID_MALFORMED', `variant value does not match ${t.display()}`)
    return { [keyText(key)]: toJson(inner, entry[1]) }
  }
  throw new CapsaError('CANDID_MALFORMED', `no JSON form for type ${t.display()}`)
}

/** A reply tuple as a JSON array, one element per value. */
export function argsToJson(types: IDL.Type[], values: unknown[]): Json[] {
  if (types.length !== values.length) throw new CapsaError('CANDID_MALFORMED', `${values.length} values for ${types.length} types`)
  return stackGuard('CANDID_MALFORMED', () => values.map((v, i) => toJson(v, types[i])))
}
