import { describe, expect, it } from 'vitest'
import { isCapsaError } from '../../protocol/errors.ts'
import { parseArgs, parseType, parseValue } from './parser.ts'
import type { Value } from './ast.ts'
import { idlHash } from './ast.ts'

function syntaxErrorOf(f: () => unknown): { message: string; detail: unknown } {
  try { f() } catch (e) {
    expect(isCapsaError(e, 'CANDID_SYNTAX')).toBe(true)
    const err = e as Error & { detail: unknown }
    return { message: err.message, detail: err.detail }
  }
  throw new Error('expected a CANDID_SYNTAX error')
}

const text = (v: Value): string => {
  if (v.kind !== 'text') throw new Error(`not text: ${v.kind}`)
  return new TextDecoder().decode(v.bytes)
}

describe('number literals', () => {
  it('reads decimal, hex, underscores and signs', () => {
    const args = parseArgs('(0, 1_000_000, 0xff, 0xDEAD_beef, -42, +7, -0x10)')
    expect(args.map((a) => (a.kind === 'number' ? a.value : a.kind))).toEqual([0n, 1000000n, 255n, 0xdeadbeefn, -42n, 7n, -16n])
  })
  it('reads floats in decimal and hex notation', () => {
    const args = parseArgs('(1.5, -2., 1e3, 2.5E-2, +1_0.2_5, 0x1.8p1)')
    expect(args.map((a) => (a.kind === 'float' ? a.value : a.kind))).toEqual([1.5, -2, 1000, 0.025, 10.25, 3])
  })
  it('reads integers far beyond 2^64 exactly', () => {
    const v = parseValue('340_282_366_920_938_463_463_374_607_431_768_211_456')
    expect(v.kind === 'number' && v.value).toBe(2n ** 128n)
  })
})

describe('text literals', () => {
  it('decodes every escape form', () => {
    expect(text(parseValue(String.raw`"a\nb\tc\rd\\e\"f\'g"`))).toBe('a\nb\tc\rd\\e"f\'g')
    expect(text(parseValue(String.raw`"\u{48}\u{1F600}\u{e9}"`))).toBe('H😀é')
    expect(text(parseValue(String.raw`"\e2\82\ac"`))).toBe('€')
    expect(text(parseValue('"raw ünïcödé"'))).toBe('raw ünïcödé')
  })
  it('keeps byte escapes that are not UTF-8 for blobs', () => {
    const v = parseValue(String.raw`blob "\00\ff\de\adAB"`)
    expect(v.kind === 'blob' && [...v.bytes]).toEqual([0, 0xff, 0xde, 0xad, 0x41, 0x42])
  })
  it('reports an unterminated text literal at its opening quote', () => {
    const e = syntaxErrorOf(() => parseArgs('(1,\n  "abc'))
    expect(e.message).toBe('2:3: unterminated text literal')
    expect(e.detail).toEqual({ line: 2, column: 3 })
  })
  it('reports an unknown escape at the backslash', () => {
    expect(syntaxErrorOf(() => parseArgs('("ok",\n "bad \\q")')).message).toBe('2:7: unknown escape \\q')
    expect(syntaxErrorOf(() => parseValue('"\\u{d800}"')).message).toBe('1:2: invalid unicode escape')
  })
  it('counts lines inside multi-line text literals', () => {
    expect(syntaxErrorOf(() => parseArgs('("a\nb", ]')).message).toBe('2:5: unexpected character "]"')
  })
})

describe('constructed values', () => {
  it('parses records with names, numeric ids, quoted names and tuple shorthand', () => {
    const v = parseValue('record { a = 1; 5 = true; "first name" = "x"; }')
    expect(v.kind === 'record' && v.fields.map((f) => [f.id, f.name])).toEqual([
      [idlHash('a'), 'a'], [5, undefined], [idlHash('first name'), 'first name'],
    ])
    const tuple = parseValue('record { "x"; 2; 5 = null; opt 1 }')
    expect(tuple.kind === 'record' && tuple.fields.map((f) => f.id)).toEqual([0, 1, 5, 6])
  })
  it('parses variants with and without a value', () => {
    const a = parseValue('variant { ok = 5 }')
    const b = parseValue('variant { none }')
    expect(a.kind === 'variant' && a.field.value.kind).toBe('number')
    expect(b.kind === 'variant' && [b.field.name, b.field.value.kind]).toEqual(['none', 'null'])
  })
  it('parses references, opt, vec, annotations and comments', () => {
    const args = parseArgs(`( // a comment
      principal "aaaaa-aa", service "ryjl3-tyaaa-aaaaa-aaaba-cai", func "aaaaa-aa".create_canister,
      /* block /* nested */ comment */ opt vec { 1; 2; }, (3 : nat8), 4 : int16 )`)
    expect(args.map((a) => a.kind)).toEqual(['principal', 'service', 'func', 'opt', 'annotated', 'annotated'])
    expect(args[2].kind === 'func' && args[2].method).toBe('create_canister')
  })
  it('accepts a bare value as a one-element argument list', () => {
    expect(parseArgs('record { a = 1 }').map((a) => a.kind)).toEqual(['record'])
    expect(parseArgs('()')).toEqual([])
  })
  it('rejects malformed input with positions', () => {
    expect(syntaxErrorOf(() => parseArgs('(record { a = 1 b = 2 })')).message).toBe("1:17: expected ';', found 'b'")
    expect(syntaxErrorOf(() => parseArgs('(principal "not a principal")')).message).toBe('1:12: invalid principal "not a principal"')
    expect(syntaxErrorOf(() => parseArgs('(record { a = 1; a = 2 })')).message).toBe('1:18: duplicate field id 97')
    expect(syntaxErrorOf(() => parseArgs('(variant { a = 1; b = 2 })')).message).toBe('1:2: a variant value has exactly one field')
    expect(syntaxErrorOf(() => parseArgs('(1) 2')).message).toBe('1:5: unexpected number 2 after the end of input')
    expect(syntaxErrorOf(() => parseArgs('(12abc)')).message).toBe('1:2: malformed number literal')
  })
})

describe('type expressions', () => {
  it('parses primitives, constructors, funcs and services', () => {
    expect(parseType('vec record { nat8; text }')).toEqual({
      kind: 'vec', inner: { kind: 'record', fields: [{ id: 0, type: { kind: 'prim', name: 'nat8' } }, { id: 1, type: { kind: 'prim', name: 'text' } }] },
    })
    expect(parseType('blob')).toEqual({ kind: 'vec', inner: { kind: 'prim', name: 'nat8' } })
    const f = parseType('func (to : principal, nat) -> (opt Account) query')
    expect(f.kind === 'func' && f.func.modes).toEqual(['query'])
    expect(f.kind === 'func' && f.func.rets[0]).toEqual({ kind: 'opt', inner: { kind: 'ref', name: 'Account', pos: { line: 1, column: 36 } } })
    const s = parseType('service { go : (nat) -> (); "quoted name" : Callback }')
    expect(s.kind === 'service' && s.methods.map((m) => m.name)).toEqual(['go', 'quoted name'])
    const v = parseType('variant { ok; err : text; 3 }')
    expect(v.kind === 'variant' && v.fields.map((x) => x.type)).toEqual([{ kind: 'prim', name: 'null' }, { kind: 'prim', name: 'text' }, { kind: 'prim', name: 'null' }])
  })
})
