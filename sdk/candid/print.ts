// Candid text of decoded values, in the format `dfx canister call` prints: the default (`--output
// pp`) lays out at 80 columns with 2-space indentation and trailing separators when broken;
// `--output idl` is the single-line form. Conventions follow candid's value printer: numbers carry
// type suffixes and `_` thousands separators (except nat8/int8), `opt` of a number is parenthesised,
// blobs print as text when all bytes are printable ASCII and as `\xx` otherwise, numeric field ids
// print as plain numbers, and below a nesting depth of 10 (or for vecs of more than 10 elements) the
// single-line form is used.

import { IDL, idlLabelToId } from '@dfinity/candid'
import type { Principal } from '@dfinity/principal'
import { CapsaError } from '../../protocol/errors.ts'
import { decodeCandid } from '../../protocol/candid.ts'
import { cat, concat, enclose, encloseSpace, render } from './doc.ts'
import type { Doc } from './doc.ts'
import { stackGuard } from './ast.ts'
import { unwrap } from './idl-types.ts'
import { decodeWithoutTypes } from './wire.ts'

const MAX_PRETTY = 10
const WIDTH = 80

const KEYWORDS = new Set([
  'import', 'service', 'func', 'type', 'opt', 'vec', 'record', 'variant', 'blob', 'principal', 'nat', 'nat8',
  'nat16', 'nat32', 'nat64', 'int', 'int8', 'int16', 'int32', 'int64', 'float32', 'float64', 'bool', 'text',
  'null', 'reserved', 'empty', 'oneway', 'query', 'composite_query',
])

const NON_PRINTABLE = /[\p{Cc}\p{Cf}\p{Cs}\p{Co}\p{Cn}\p{Zl}\p{Zp}\p{Zs}]/u
const GRAPHEME_EXTEND = /\p{Grapheme_Extend}/u

/**
 * Rust's escaping of strings: `str::escape_debug` (singleQuote, grapheme extenders escaped only at
 * the start) for pretty output, `{:?}` (no `'` escape, all grapheme extenders) for the one-line form.
 */
export function escapeText(s: string, singleQuote: boolean): string {
  let out = ''
  let first = true
  for (const ch of s) {
    const simple: Record<string, string> = { '\0': '\\0', '\t': '\\t', '\r': '\\r', '\n': '\\n', '\\': '\\\\', '"': '\\"' }
    if (ch in simple) out += simple[ch]
    else if (ch === "'") out += singleQuote ? "\\'" : "'"
    else if ((ch !== ' ' && NON_PRINTABLE.test(ch)) || (GRAPHEME_EXTEND.test(ch) && (first || !singleQuote))) {
      out += `\\u{${ch.codePointAt(0)!.toString(16)}}`
    } else out += ch
    first = false
  }
  return out
}

export function identString(id: string): string {
  return /^[A-Za-z_][A-Za-z0-9_]*$/.test(id) && !KEYWORDS.has(id) ? id : `"${escapeText(id, true)}"`
}

/** `1234567` → `1_234_567`, sign kept in front. */
export function groupDigits(s: string): string {
  const neg = s.startsWith('-')
  const digits = neg ? s.slice(1) : s
  const groups: string[] = []
  for (let end = digits.length; end > 0; end -= 3) groups.unshift(digits.slice(Math.max(0, end - 3), end))
  return (neg ? '-' : '') + groups.join('_')
}

/** Rust's `Display` of a float: the shortest round-tripping digits, never in exponent form. */
export function rustFloat(x: number, bits: 32 | 64): string {
  if (Number.isNaN(x)) return 'NaN'
  if (!Number.isFinite(x)) return x > 0 ? 'inf' : '-inf'
  if (Object.is(x, -0)) return '-0'
  let s = String(x)
  if (bits === 32) {
    for (let p = 1; p <= 9; p++) {
      const c = x.toPrecision(p)
      if (Math.fround(Number(c)) === x) { s = c; break }
    }
  }
  const m = /^(-?)(\d+)(?:\.(\d+))?(?:e([+-]\d+))?$/.exec(s)
  if (!m) return s
  const [, sign, intPart, fracPart = '', expPart = '0'] = m
  const digits = intPart + fracPart
  const point = intPart.length + Number(expPart)
  let int: string
  let frac: string
  if (point <= 0) { int = '0'; frac = '0'.repeat(-point) + digits } else if (point >= digits.length) { int = digits + '0'.repeat(point - digits.length); frac = '' } else { int = digits.slice(0, point); frac = digits.slice(point) }
  int = int.replace(/^0+(?=\d)/, '')
  frac = frac.replace(/0+$/, '')
  return sign + int + (frac ? '.' + frac : '')
}

function floatText(x: number, bits: 32 | 64): string {
  const s = rustFloat(x, bits)
  return Number.isFinite(x) && Math.trunc(x) === x ? `${s}.0` : s
}

const hex2 = (b: number): string => b.toString(16).padStart(2, '0')

function blobText(bytes: ArrayLike<number>): string {
  const arr = Array.from(bytes)
  const ascii = arr.every((b) => (b >= 0x20 && b <= 0x7e) || b === 9 || b === 10 || b === 13)
  // Printable bytes show as themselves except the quote characters and backslash, which are escaped.
  const byte = (b: number): string => (ascii && b >= 0x20 && b <= 0x7e && !'"\'`\\'.includes(String.fromCharCode(b)) ? String.fromCharCode(b) : `\\${hex2(b)}`)
  return `blob "${arr.map(byte).join('')}"`
}

function labelText(key: string): string {
  const m = /^_(\d+)_$/.exec(key)
  return m ? m[1] : identString(key)
}

function isNat8(t: IDL.Type): boolean {
  const u = unwrap(t)
  return u instanceof IDL.FixedNatClass && u._bits === 8
}

/** Number-like values print with a type suffix, so `opt` around them adds parentheses. */
function hasAnnotation(t: IDL.Type): boolean {
  const u = unwrap(t)
  return u instanceof IDL.NatClass || u instanceof IDL.IntClass || u instanceof IDL.FixedNatClass || u instanceof IDL.FixedIntClass ||
    u instanceof IDL.FloatClass || u instanceof IDL.NullClass || u instanceof IDL.ReservedClass
}

/** @dfinity/candid decodes vecs of fixed-size numbers to typed arrays (Int8Array, BigInt64Array…). */
function items(v: unknown): unknown[] {
  return Array.from(v as ArrayLike<unknown>)
}

interface FieldValue { key: string; id: number; type: IDL.Type; value: unknown }

function recordFields(t: IDL.RecordClass, v: unknown): FieldValue[] {
  const fields = t._fields.map(([key, type], i) => ({
    key, id: idlLabelToId(key), type,
    value: t instanceof IDL.TupleClass ? (v as unknown[])[i] : (v as Record<string, unknown>)[key],
  }))
  return fields.sort((a, b) => a.id - b.id)
}

function variantField(t: IDL.VariantClass, v: unknown): FieldValue {
  const [key, value] = Object.entries(v as Record<string, unknown>)[0] ?? []
  const entry = t._fields.find(([k]) => k === key)
  if (key === undefined || !entry) throw new CapsaError('CANDID_MALFORMED', `variant value does not match ${t.display()}`)
  return { key, id: idlLabelToId(key), type: entry[1], value }
}

/** Forms shared by the pretty and one-line printers: everything that is never broken over lines. */
function scalar(t: IDL.Type, v: unknown): string | undefined {
  if (t instanceof IDL.NullClass) return 'null : null'
  if (t instanceof IDL.ReservedClass) return 'null : reserved'
  if (t instanceof IDL.BoolClass) return String(v)
  if (t instanceof IDL.NatClass) return `${groupDigits(String(v))} : nat`
  if (t instanceof IDL.IntClass) return `${groupDigits(String(v))} : int`
  if (t instanceof IDL.FixedNatClass) return `${t._bits === 8 ? String(v) : groupDigits(String(v))} : nat${t._bits}`
  if (t instanceof IDL.FixedIntClass) return `${t._bits === 8 ? String(v) : groupDigits(String(v))} : int${t._bits}`
  if (t instanceof IDL.FloatClass) return `${floatText(v as number, t._bits as 32 | 64)} : float${t._bits}`
  if (t instanceof IDL.PrincipalClass) return `principal "${(v as Principal).toText()}"`
  if (t instanceof IDL.ServiceClass) return `service "${(v as Principal).toText()}"`
  if (t instanceof IDL.FuncClass) {
    const [p, m] = v as [Principal, string]
    return `func "${p.toText()}".${identString(m)}`
  }
  if (t instanceof IDL.VecClass && isNat8(t._type)) return blobText(v as ArrayLike<number>)
  if (t instanceof IDL.EmptyClass) throw new CapsaError('CANDID_MALFORMED', 'a value of type empty cannot exist')
  return undefined
}

/** The one-line form (candid's `Debug` of a value). */
export function printValueLine(type: IDL.Type, v: unknown): string {
  const t = unwrap(type)
  const s = scalar(t, v)
  if (s !== undefined) return s
  if (t instanceof IDL.TextClass) return `"${escapeText(v as string, false)}"`
  if (t instanceof IDL.OptClass) {
    const o = v as unknown[]
    if (o.length === 0) return 'null'
    const inner = printValueLine(t._type, o[0])
    return hasAnnotation(t._type) ? `opt (${inner})` : `opt ${inner}`
  }
  if (t instanceof IDL.VecClass) return `vec {${items(v).map((x) => ` ${printValueLine(t._type, x)};`).join('')}}`
  if (t instanceof IDL.RecordClass) {
    const fs = recordFields(t, v)
    return `record {${fs.map((f, i) => (f.id === i ? ` ${printValueLine(f.type, f.value)};` : ` ${labelText(f.key)} = ${printValueLine(f.type, f.value)};`)).join('')}}`
  }
  if (t instanceof IDL.VariantClass) {
    const f = variantField(t, v)
    if (unwrap(f.type) instanceof IDL.NullClass) return `variant { ${/^_(\d+)_$/.exec(f.key)?.[1] ?? f.key} }`
    return `variant { ${labelText(f.key)} = ${printValueLine(f.type, f.value)} }`
  }
  throw new CapsaError('CANDID_MALFORMED', `cannot print a value of type ${t.display()}`)
}

function ppValue(depth: number, type: IDL.Type, v: unknown): Doc {
  if (depth === 0) return printValueLine(type, v)
  const t = unwrap(type)
  const s = scalar(t, v)
  if (s !== undefined) return s
  if (t instanceof IDL.TextClass) return `"${escapeText(v as string, true)}"`
  if (t instanceof IDL.OptClass) {
    const o = v as unknown[]
    if (o.length === 0) return 'null'
    const inner = ppValue(depth - 1, t._type, o[0])
    return cat('opt ', hasAnnotation(t._type) ? enclose('(', inner, ')') : inner)
  }
  if (t instanceof IDL.VecClass) {
    const xs = items(v)
    if (xs.length > MAX_PRETTY) return printValueLine(t, v)
    return cat('vec ', encloseSpace('{', concat(xs.map((x) => ppValue(depth - 1, t._type, x)), ';'), '}'))
  }
  if (t instanceof IDL.RecordClass) {
    const fs = recordFields(t, v)
    const tuple = fs.every((f, i) => f.id === i)
    const docs = fs.map((f) => (tuple ? ppValue(depth - 1, f.type, f.value) : cat(labelText(f.key), ' = ', ppValue(depth - 1, f.type, f.value))))
    return cat('record ', encloseSpace('{', concat(docs, ';'), '}'))
  }
  if (t instanceof IDL.VariantClass) {
    const f = variantField(t, v)
    const field = unwrap(f.type) instanceof IDL.NullClass ? labelText(f.key) : cat(labelText(f.key), ' = ', ppValue(depth - 1, f.type, f.value))
    return cat('variant ', encloseSpace('{', field, '}'))
  }
  throw new CapsaError('CANDID_MALFORMED', `cannot print a value of type ${t.display()}`)
}

export type OutputMode = 'pp' | 'idl'

/** Prints an argument or reply tuple as dfx does (`pp`: its default, `idl`: `--output idl`). */
export function printArgs(types: IDL.Type[], values: unknown[], mode: OutputMode = 'pp'): string {
  return stackGuard('CANDID_MALFORMED', () => printArgsUnguarded(types, values, mode))
}

function printArgsUnguarded(types: IDL.Type[], values: unknown[], mode: OutputMode): string {
  if (types.length !== values.length) throw new CapsaError('CANDID_MALFORMED', `${values.length} values for ${types.length} types`)
  if (mode === 'idl') {
    const parts = values.map((v, i) => printValueLine(types[i], v))
    // Rust's debug_tuple: one element is special-cased to `(x)`, none prints nothing at all.
    if (parts.length === 0) return ''
    return `(${parts.join(', ')})`
  }
  const doc = enclose('(', concat(values.map((v, i) => ppValue(MAX_PRETTY, types[i], v)), ','), ')')
  return render(doc, WIDTH)
}

/** One value in the pretty form (candid's `Display` of a value). */
export function printValue(type: IDL.Type, value: unknown): string {
  return render(ppValue(MAX_PRETTY, type, value), WIDTH)
}

/**
 * Decodes and prints a reply. With `types` (from the method's .did signature) fields get their
 * names; without, the message's own type table is used and fields print as numeric ids.
 */
export function printReply(bytes: Uint8Array, types?: IDL.Type[], mode: OutputMode = 'pp'): string {
  if (types) return printArgs(types, decodeCandid(types, bytes), mode)
  const decoded = decodeWithoutTypes(bytes)
  return printArgs(decoded.types, decoded.values, mode)
}
