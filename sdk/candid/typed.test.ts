import { IDL } from '@dfinity/candid'
import { Principal } from '@dfinity/principal'
import { describe, expect, it } from 'vitest'
import { decodeCandid } from '../../protocol/candid.ts'
import { isCapsaError } from '../../protocol/errors.ts'
import { parseDid } from './did.ts'
import { ICRC1_DID } from './fixtures.ts'
import { parseArgs } from './parser.ts'
import { printReply } from './print.ts'
import { encodeArgs, typeArgs } from './typed.ts'
import { readWireTypes } from './wire.ts'

const did = parseDid(ICRC1_DID)

function errorOf(f: () => unknown): { code: string; message: string } {
  try { f() } catch (e) {
    expect(isCapsaError(e)).toBe(true)
    return e as { code: string; message: string }
  }
  throw new Error('expected an error')
}

/** Text → typed → IDL.encode → IDL.decode → print must give back the same text. */
function roundTrip(types: IDL.Type[], text: string): void {
  const bytes = encodeArgs(text, types, did.env)
  expect(printReply(bytes, types)).toBe(text)
}

describe('round trips through the binary encoding', () => {
  const T = did.types
  const cases: Array<[IDL.Type[], string]> = [
    [[IDL.Nat, IDL.Int, IDL.Int], '(0 : nat, -5 : int, 123_456_789_012_345_678_901_234_567_890 : int)'],
    [[IDL.Nat8, IDL.Nat16, IDL.Nat32], '(255 : nat8, 65_535 : nat16, 4_294_967_295 : nat32)'],
    [[IDL.Nat64, IDL.Int8], '(18_446_744_073_709_551_615 : nat64, -128 : int8)'],
    [[IDL.Int16, IDL.Int32, IDL.Int64], '(32_767 : int16, -2_147_483_648 : int32, 9_223_372_036_854_775_807 : int64)'],
    [[IDL.Int64, IDL.Int64, IDL.Int32], '(\n  -9_223_372_036_854_775_808 : int64,\n  -9_223_372_036_854_775_807 : int64,\n  -1 : int32,\n)'],
    [[IDL.Float32, IDL.Float64, IDL.Float64], '(0.25 : float32, -1234.5678 : float64, 100.0 : float64)'],
    [[IDL.Bool, IDL.Null, IDL.Reserved], '(true, null : null, null : reserved)'],
    [[IDL.Text], '("tab\\tnewline\\nquote\\"backslash\\\\apos\\\'bell\\u{7} 😀 ü")'],
    [[IDL.Vec(IDL.Nat8), IDL.Vec(IDL.Nat8)], '(blob "\\de\\ad\\be\\ef", blob "plain text")'],
    [[IDL.Principal, IDL.Opt(IDL.Principal)], '(principal "ryjl3-tyaaa-aaaaa-aaaba-cai", opt principal "aaaaa-aa")'],
    [[T.Account], '(record { owner = principal "aaaaa-aa"; subaccount = opt blob "\\01\\02" })'],
    [[IDL.Opt(IDL.Opt(IDL.Opt(IDL.Nat)))], '(opt opt null)'],
    [[IDL.Vec(IDL.Opt(IDL.Vec(IDL.Int8)))], '(vec { opt vec { 1 : int8; -1 : int8 }; null; opt vec {} })'],
    [[T.TransferResult, T.TransferResult], '(variant { Ok = 7 : nat }, variant { Err = variant { TemporarilyUnavailable } })'],
    [[T.Value], '(variant { Map = vec { record { "k"; variant { Int = -1 : int } } } })'],
    [[T.Value], `(
  variant {
    Map = vec {
      record { "k"; variant { Array = vec { variant { Int = -1 : int } } } };
    }
  },
)`],
    [[T.Callback, IDL.Service({})], '(func "aaaaa-aa".go, service "aaaaa-aa")'],
    [[IDL.Record({ 'first name': IDL.Text, type: IDL.Nat })], '(record { "type" = 1 : nat; "first name" = "x" })'],
    [[T.TransferResult], `(
  variant {
    Err = variant {
      GenericError = record {
        message = "a long explanation of what went wrong in the ledger";
        error_code = 500 : nat;
      }
    }
  },
)`],
  ]
  for (const [types, text] of cases) it(text.replaceAll('\n', ' '), () => roundTrip(types, text))

  it('round-trips without a .did through the inferred and wire types', () => {
    const text = '(\n  record { 5 = vec { 1 : int; 2 : int }; 7 = opt (3.5 : float64) },\n  variant { 0 = "x" },\n  -9 : int,\n)'
    const bytes = encodeArgs(text)
    expect(printReply(bytes, undefined, 'idl')).toBe('(record { 5 = vec { 1 : int; 2 : int;}; 7 = opt (3.5 : float64);}, variant { 0 = "x" }, -9 : int)')
    expect(printReply(bytes)).toBe(text)
  })
})

describe('coercion to the expected type', () => {
  const m = did.service

  it('types number literals by the expected type and wraps plain values in opt', () => {
    const { values } = typeArgs(parseArgs('(record { owner = principal "aaaaa-aa"; subaccount = vec { 1; 2 } })'), m.icrc1_balance_of.argTypes, did.env)
    expect(values).toEqual([{ owner: Principal.fromText('aaaaa-aa'), subaccount: [new Uint8Array([1, 2])] }])
    const bytes = encodeArgs('(record { to = record { owner = principal "aaaaa-aa" }; amount = 5; fee = 10; created_at_time = 1 })', m.icrc1_transfer.argTypes, did.env)
    const [arg] = decodeCandid(m.icrc1_transfer.argTypes, bytes) as [Record<string, unknown>]
    expect(arg).toEqual({ to: { owner: Principal.fromText('aaaaa-aa'), subaccount: [] }, amount: 5n, fee: [10n], memo: [], from_subaccount: [], created_at_time: [1n] })
  })

  it('matches fields given by numeric id and by name hash, and drops unknown fields', () => {
    const t = [IDL.Record({ a: IDL.Nat, b: IDL.Text })]
    expect(typeArgs(parseArgs('(record { 97 = 1; b = "x"; extra = true })'), t).values).toEqual([{ a: 1n, b: 'x' }])
  })

  it('fills missing trailing opt arguments', () => {
    expect(typeArgs(parseArgs('(1)'), [IDL.Nat, IDL.Opt(IDL.Text), IDL.Reserved]).values).toEqual([1n, [], null])
  })

  it('infers int for unannotated number literals, as candid does without a type', () => {
    const bytes = encodeArgs('(42, 1.5, "x", vec {}, blob "a")')
    expect(readWireTypes(bytes).types.map((t) => t.display())).toEqual(['int', 'float64', 'text', 'vec null', 'vec nat8'])
  })

  it('reports type mismatches with the position of the value', () => {
    const t = [IDL.Record({ a: IDL.Nat, b: IDL.Text })]
    const cases: Array<[string, IDL.Type[], string]> = [
      ['(record {\n  a = "x";\n  b = "y" })', t, '2:7: text value where nat is expected'],
      ['(record { a = -1; b = "y" })', t, '1:15: negative number -1 where nat is expected'],
      ['(record { b = "y" })', t, '1:2: record is missing field a : nat'],
      ['(256)', [IDL.Nat8], '1:2: number 256 out of range for nat8'],
      ['(-129)', [IDL.Int8], '1:2: number -129 out of range for int8'],
      ['(variant { Nope })', [IDL.Variant({ Ok: IDL.Nat, Err: IDL.Text })], '1:12: variant variant {Ok:nat; Err:text} has no tag Nope'],
      ['(1, 2)', [IDL.Nat], '1:5: too many arguments: expected 1, found 2'],
      ['((1 : nat8))', [IDL.Nat], '1:3: value annotated nat8 where nat is expected'],
      ['(1.5)', [IDL.Int], '1:2: float 1.5 where int is expected'],
      ['("\\ff")', [IDL.Text], '1:2: text literal is not valid UTF-8'],
    ]
    for (const [src, types, message] of cases) {
      const e = errorOf(() => encodeArgs(src, types))
      expect(e.code, src).toBe('CANDID_MALFORMED')
      expect(e.message, src).toBe(message)
    }
    expect(errorOf(() => encodeArgs('()', [IDL.Nat])).message).toBe('missing argument 1 of type nat')
  })
})
