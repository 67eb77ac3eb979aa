import { IDL } from '@dfinity/candid'
import { Principal } from '@dfinity/principal'
import { describe, expect, it } from 'vitest'
import { encodeCandid } from '../../protocol/candid.ts'
import { isCapsaError } from '../../protocol/errors.ts'
import { parseDid } from './did.ts'
import { ICRC1_DID } from './fixtures.ts'
import { argsToJson } from './json.ts'
import { formatReply, isReplyFormat } from './format.ts'
import { escapeText, groupDigits, printArgs, printReply, rustFloat } from './print.ts'
import { encodeArgs } from './typed.ts'
import { decodeWithoutTypes, readWireTypes } from './wire.ts'

const did = parseDid(ICRC1_DID)
const m = did.service

describe('dfx output format', () => {
  it('prints an icrc1_metadata reply broken over lines with trailing separators', () => {
    const reply = encodeCandid(m.icrc1_metadata.retTypes, [[
      ['icrc1:name', { Text: 'Capsa Token' }],
      ['icrc1:symbol', { Text: 'CAP' }],
      ['icrc1:decimals', { Nat: 8n }],
      ['icrc1:fee', { Nat: 10_000n }],
      ['icrc1:logo', { Blob: new Uint8Array([0x89, 0x50, 0x4e, 0x47]) }],
    ]])
    expect(printReply(reply, m.icrc1_metadata.retTypes)).toBe(`(
  vec {
    record { "icrc1:name"; variant { Text = "Capsa Token" } };
    record { "icrc1:symbol"; variant { Text = "CAP" } };
    record { "icrc1:decimals"; variant { Nat = 8 : nat } };
    record { "icrc1:fee"; variant { Nat = 10_000 : nat } };
    record { "icrc1:logo"; variant { Blob = blob "\\89\\50\\4e\\47" } };
  },
)`)
    // Without the .did the tags are unknown and print as their numeric ids.
    expect(printReply(reply).split('\n')[2]).toBe('    record { "icrc1:name"; variant { 936573133 = "Capsa Token" } };')
  })

  it('keeps short replies on one line and sorts record fields by id', () => {
    const t = IDL.Record({ owner: IDL.Principal, balance: IDL.Nat })
    const bytes = encodeCandid([t], [{ owner: Principal.fromText('aaaaa-aa'), balance: 1000n }])
    expect(printReply(bytes, [t])).toBe('(record { balance = 1_000 : nat; owner = principal "aaaaa-aa" })')
    expect(printReply(encodeCandid([IDL.Nat], [1_000_000n]), [IDL.Nat])).toBe('(1_000_000 : nat)')
    expect(printReply(encodeCandid([], []), [])).toBe('()')
  })

  it('breaks only the groups that do not fit in 80 columns', () => {
    const bytes = encodeArgs(
      '(record { to = record { owner = principal "aaaaa-aa" }; fee = null; memo = opt blob "hi"; created_at_time = opt 1_700_000_000_000_000_000; amount = 100_000_000 })',
      m.icrc1_transfer.argTypes, did.env)
    expect(printReply(bytes, m.icrc1_transfer.argTypes)).toBe(`(
  record {
    to = record { owner = principal "aaaaa-aa"; subaccount = null };
    fee = null;
    memo = opt blob "hi";
    from_subaccount = null;
    created_at_time = opt (1_700_000_000_000_000_000 : nat64);
    amount = 100_000_000 : nat;
  },
)`)
  })

  it('prints variants, opts and every numeric type with its suffix', () => {
    const result = m.icrc1_transfer.retTypes[0] as IDL.Type
    const types = [result, result, IDL.Opt(IDL.Opt(IDL.Nat)), IDL.Opt(IDL.Text)]
    const values = [{ Err: { TooOld: null } }, { Ok: 42n }, [[]], ['x']]
    expect(printArgs(types, values, 'idl')).toBe('(variant { Err = variant { TooOld } }, variant { Ok = 42 : nat }, opt null, opt "x")')
    // 84 columns flat: the pretty form puts each argument on its own line.
    expect(printArgs(types, values)).toBe('(\n  variant { Err = variant { TooOld } },\n  variant { Ok = 42 : nat },\n  opt null,\n  opt "x",\n)')
    const nums = [IDL.Nat8, IDL.Nat16, IDL.Nat32, IDL.Nat64, IDL.Int8, IDL.Int16, IDL.Int32, IDL.Int64, IDL.Int]
    const vals = [255, 65535, 4294967295, 18446744073709551615n, -128, -32768, -2147483648, -9223372036854775808n, -1234n]
    expect(printArgs(nums, vals, 'idl')).toBe(
      '(255 : nat8, 65_535 : nat16, 4_294_967_295 : nat32, 18_446_744_073_709_551_615 : nat64, -128 : int8, -32_768 : int16, ' +
      '-2_147_483_648 : int32, -9_223_372_036_854_775_808 : int64, -1_234 : int)')
  })

  it('prints floats as Rust does', () => {
    const t = [IDL.Float64, IDL.Float32, IDL.Float64, IDL.Float64, IDL.Float32, IDL.Float64]
    expect(printArgs(t, [1.5, 0.1, 3, 1e21, NaN, -Infinity], 'idl'))
      .toBe('(1.5 : float64, 0.1 : float32, 3.0 : float64, 1000000000000000000000.0 : float64, NaN : float32, -inf : float64)')
    expect(rustFloat(1.5e-7, 64)).toBe('0.00000015')
    expect(rustFloat(-0, 64)).toBe('-0')
    expect(rustFloat(Math.fround(3.4028235e38), 32)).toBe('340282350000000000000000000000000000000')
  })

  it('prints blobs as text when printable and as hex escapes otherwise', () => {
    const b = IDL.Vec(IDL.Nat8)
    const out = printArgs([b, b, b, b], [new TextEncoder().encode('hello world'), new Uint8Array([0x68, 0x00]), new TextEncoder().encode('a"b\'c\\d\n'), new Uint8Array()], 'idl')
    expect(out).toBe('(blob "hello world", blob "\\68\\00", blob "a\\22b\\27c\\5cd\\0a", blob "")')
  })

  it('escapes text as Rust escape_debug (pretty) and Debug (idl)', () => {
    const s = "it's \"q\" \\ \n\t\x07 é 😀 \u200b"
    expect(printArgs([IDL.Text], [s])).toBe('("it\\\'s \\"q\\" \\\\ \\n\\t\\u{7} é 😀 \\u{200b}")')
    expect(printArgs([IDL.Text], [s], 'idl')).toBe('("it\'s \\"q\\" \\\\ \\n\\t\\u{7} é 😀 \\u{200b}")')
    expect(escapeText('\u0301a\u0301', true)).toBe('\\u{301}a\u0301')
  })

  it('switches to the one-line form past 10 elements or 10 levels of nesting', () => {
    const many = Array.from({ length: 11 }, (_, i) => BigInt(i))
    const out = printArgs([IDL.Vec(IDL.Nat)], [many])
    expect(out).toBe(`(\n  vec { ${many.map((n) => `${n} : nat;`).join(' ')}},\n)`)
    let t: IDL.Type = IDL.Nat
    let v: unknown = 1n
    for (let i = 0; i < 11; i++) { t = IDL.Opt(t); v = [v] }
    expect(printArgs([t], [v])).toBe('(opt opt opt opt opt opt opt opt opt opt opt (1 : nat))')
    const rec = IDL.Record({ a: IDL.Nat, b: IDL.Vec(IDL.Text) })
    expect(printArgs([rec], [{ a: 1n, b: ['x'] }], 'idl')).toBe('(record { a = 1 : nat; b = vec { "x";};})')
  })

  it('groups digits in threes', () => {
    expect(['0', '999', '1000', '-100', '-1000', '123456789'].map(groupDigits)).toEqual(['0', '999', '1_000', '-100', '-1_000', '123_456_789'])
  })
})

describe('decoding without a .did', () => {
  it('reads the type table, including recursive and reference types', () => {
    const tree = { value: 1n, children: [[{ value: 2n, children: [] }]] }
    const fn = [Principal.fromText('aaaaa-aa'), 'go']
    const bytes = encodeCandid([did.types.Tree, did.types.Callback, IDL.Service({ f: did.types.Callback as IDL.FuncClass })], [tree, fn, Principal.fromText('aaaaa-aa')])
    const { types } = readWireTypes(bytes)
    expect(types.length).toBe(3)
    const { values } = decodeWithoutTypes(bytes)
    expect(printArgs(types, values, 'idl')).toBe(
      '(record { 834174833 = 1 : nat; 1886001471 = vec { opt record { 834174833 = 2 : nat; 1886001471 = vec {};};};}, ' +
      'func "aaaaa-aa".go, service "aaaaa-aa")')
  })

  it('rejects malformed type tables with CANDID_MALFORMED', () => {
    for (const hex of ['4449444c', '4449444c01', '4449444c016c', '4449444c016e05', '4449444c00017f00', '58494c44000100']) {
      const bytes = Uint8Array.from(hex.match(/../g)!.map((h) => parseInt(h, 16)))
      let err: unknown
      try { printReply(bytes) } catch (e) { err = e }
      expect(isCapsaError(err, 'CANDID_MALFORMED'), hex).toBe(true)
    }
  })
})

describe('JSON output', () => {
  it('renders big numbers as strings and blobs as hex', () => {
    const bytes = encodeArgs('(record { balance = 12345678901234567890; owner = principal "aaaaa-aa" }, blob "\\de\\ad", opt (3 : nat8), vec { variant { ok }; variant { err = 1.5 } })',
      [IDL.Record({ owner: IDL.Principal, balance: IDL.Nat }), IDL.Vec(IDL.Nat8), IDL.Opt(IDL.Nat8), IDL.Vec(IDL.Variant({ ok: IDL.Null, err: IDL.Float64 }))])
    const types = readWireTypes(bytes).types
    const { values } = decodeWithoutTypes(bytes)
    expect(argsToJson(types, values)).toEqual([
      { 947296307: 'aaaaa-aa', 596483356: '12345678901234567890' }, 'dead', 3, [{ 24860: null }, { 5048165: 1.5 }],
    ])
  })
})

describe('formatReply', () => {
  it('serves each --output format from the same reply', () => {
    const types = [IDL.Record({ balance: IDL.Nat }), IDL.Vec(IDL.Nat8)]
    const bytes = encodeArgs('(record { balance = 1_000 }, blob "\\01")', types)
    expect(formatReply(bytes, 'pp', types)).toBe('(record { balance = 1_000 : nat }, blob "\\01")')
    expect(formatReply(bytes, 'idl', types)).toBe('(record { balance = 1_000 : nat;}, blob "\\01")')
    expect(JSON.parse(formatReply(bytes, 'json', types))).toEqual([{ balance: '1000' }, '01'])
    expect(formatReply(bytes, 'raw')).toBe(Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join(''))
    expect(['pp', 'json', 'yaml'].map(isReplyFormat)).toEqual([true, true, false])
  })
})
