import { beforeAll, describe, expect, it } from 'vitest'
import path from 'node:path'
import { IDL } from '@dfinity/candid'
import { Principal } from '@dfinity/principal'
import { compileAssemblyScript, REPO_ROOT } from './assemblyscript.ts'
import { HostTrap, TestHost } from './ic0-test-host.ts'

let wasm: Uint8Array

beforeAll(async () => {
  wasm = await compileAssemblyScript(path.join(REPO_ROOT, 'canisters/tests/candid_probe.ts'))
}, 180_000)

const Status = IDL.Variant({ active: IDL.Null, banned: IDL.Text, pending: IDL.Record({ since: IDL.Nat64 }) })
const Profile = IDL.Record({
  id: IDL.Nat,
  name: IDL.Text,
  owner: IDL.Principal,
  tags: IDL.Vec(IDL.Text),
  avatar: IDL.Opt(IDL.Vec(IDL.Nat8)),
  score: IDL.Int,
  status: Status,
  friends: IDL.Vec(IDL.Tuple(IDL.Principal, IDL.Nat32)),
})
const empty = (): Uint8Array => new Uint8Array(IDL.encode([], []))

describe('CDK Candid codec vs @dfinity/candid', () => {
  it('CDK-encoded records, variants, opt, vec, blob, principal decode identically', () => {
    const host = new TestHost(wasm)
    host.caller = Principal.fromText('2vxsx-fae').toUint8Array()
    const out = host.run('canister_query make_profile', empty())
    const [p] = IDL.decode([Profile], out.reply!) as [Record<string, unknown>]
    expect(p).toEqual({
      id: 18446744073709551615n,
      name: 'alice',
      owner: Principal.fromText('2vxsx-fae'),
      tags: ['a', 'ünïcode ✓', ''],
      avatar: [Uint8Array.of(1, 2, 255)],
      score: -1234567890123n,
      status: { pending: { since: host.time } },
      friends: [[Principal.fromUint8Array(host.selfId), 4000000000]],
    })
  })

  it('@dfinity/candid-encoded values are read by the CDK and echoed back unchanged', () => {
    const host = new TestHost(wasm)
    const cases = [
      {
        id: 0n, name: '', owner: Principal.fromText('aaaaa-aa'), tags: [], avatar: [], score: 0n,
        status: { active: null }, friends: [],
      },
      {
        id: 300n, name: 'bob ☃', owner: Principal.fromText('rrkah-fqaaa-aaaaa-aaaaq-cai'), tags: ['x', 'y'],
        avatar: [new Uint8Array(1000).map((_, i) => i & 0xff)], score: -(2n ** 63n),
        status: { banned: 'spam' },
        friends: [[Principal.fromText('2vxsx-fae'), 0], [Principal.fromText('aaaaa-aa'), 4294967295]],
      },
      {
        id: 2n ** 64n - 1n, name: 'c', owner: Principal.fromText('2vxsx-fae'), tags: ['only'], avatar: [new Uint8Array(0)],
        score: 2n ** 63n - 1n, status: { pending: { since: 2n ** 64n - 1n } }, friends: [],
      },
    ]
    for (const c of cases) {
      const out = host.run('canister_update echo_profile', new Uint8Array(IDL.encode([Profile], [c])))
      expect(IDL.decode([Profile], out.reply!)).toEqual([c])
    }
  })

  it('numbers of every width round-trip, including extremes', () => {
    const host = new TestHost(wasm)
    const types = [IDL.Nat, IDL.Int, IDL.Nat8, IDL.Nat16, IDL.Nat32, IDL.Nat64, IDL.Int8, IDL.Int16, IDL.Int32,
      IDL.Int64, IDL.Float64, IDL.Float32, IDL.Bool, IDL.Null]
    const rows = [
      [0n, 0n, 0, 0, 0, 0n, 0, 0, 0, 0n, 0, 0, false, null],
      [2n ** 64n - 1n, -(2n ** 63n), 255, 65535, 4294967295, 2n ** 64n - 1n, -128, -32768, -2147483648, -(2n ** 63n),
        -1.5e300, 3.5, true, null],
      [128n, 2n ** 63n - 1n, 7, 300, 70000, 2n ** 40n, 127, 32767, 2147483647, 2n ** 63n - 1n, Math.PI, -0.25, true, null],
      [624485n, -123456n, 1, 2, 3, 4n, -1, -2, -3, -4n, Number.MIN_VALUE, 1e-3, false, null],
    ]
    for (const row of rows) {
      const out = host.run('canister_query numbers', new Uint8Array(IDL.encode(types, row)))
      const back = IDL.decode(types, out.reply!)
      const expected = row.map((v, i) => (types[i] === IDL.Float32 ? Math.fround(v as number) : v))
      expect(back).toEqual(expected)
    }
  })

  it('record subtyping: extra fields are skipped, an absent opt field reads as null', () => {
    const host = new TestHost(wasm)
    const greet = (t: IDL.Type, v: unknown): string =>
      IDL.decode([IDL.Text], host.run('canister_query greet', new Uint8Array(IDL.encode([t], [v]))).reply!)[0] as string
    expect(greet(IDL.Record({ name: IDL.Text }), { name: 'ann' })).toBe('hello, ann')
    expect(greet(IDL.Record({ name: IDL.Text, nick: IDL.Opt(IDL.Text) }), { name: 'ann', nick: ['a'] })).toBe('hello, a')
    expect(greet(IDL.Record({ name: IDL.Text, nick: IDL.Opt(IDL.Text) }), { name: 'ann', nick: [] })).toBe('hello, ann')
    expect(greet(IDL.Record({ age: IDL.Nat, name: IDL.Text, zz: IDL.Vec(IDL.Record({ q: IDL.Int })) }),
      { age: 3n, name: 'eve', zz: [{ q: -1n }] })).toBe('hello, eve')
    // A record lacking a required field is an error, reported through ic0.trap.
    expect(() => greet(IDL.Record({ nick: IDL.Opt(IDL.Text) }), { nick: [] })).toThrow(/missing record field name/)
  })

  it('rejects malformed messages with a trap, not a crash', () => {
    const host = new TestHost(wasm)
    const valid = new Uint8Array(IDL.encode([IDL.Record({ name: IDL.Text })], [{ name: 'ann' }]))
    const withEmptyName = new Uint8Array(IDL.encode([IDL.Record({ name: IDL.Text })], [{ name: '' }]))
    const textPrefix = withEmptyName.slice(0, withEmptyName.length - 1) // everything before the text's length
    // The same framing with valid multi-byte UTF-8 is accepted (so the cases below fail for their text only).
    const ok = [0xf0, 0x9f, 0x98, 0x80, 0xe2, 0x82, 0xac, 0xc3, 0xa9]
    const greeted = host.run('canister_query greet', Uint8Array.of(...textPrefix, ok.length, ...ok))
    expect(IDL.decode([IDL.Text], greeted.reply!)).toEqual(['hello, 😀€é'])
    for (const bad of [
      valid.slice(0, valid.length - 1), // truncated
      Uint8Array.of(...valid, 0), // trailing byte
      Uint8Array.of(0x44, 0x49, 0x44, 0x4c, 1, 0x6c, 1, 0, 0x7f, 1, 5), // type ref 5 out of range
      Uint8Array.of(0x44, 0x49, 0x44, 0x4c, 0, 1, 0x7e, 2), // bool 2
      Uint8Array.of(0x44, 0x49, 0x44, 0x4c, 0, 1, 0x7d, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f), // nat > u64
    ]) {
      expect(() => host.run('canister_query greet', bad)).toThrow(HostTrap)
    }
    // Invalid UTF-8: a lone continuation byte, an overlong "/", a surrogate, a truncated sequence, > U+10FFFF.
    for (const t of [[0x80], [0xc0, 0xaf], [0xed, 0xa0, 0x80], [0xe2, 0x82], [0xf4, 0x90, 0x80, 0x80]]) {
      expect(() => host.run('canister_query greet', Uint8Array.of(...textPrefix, t.length, ...t))).toThrow(/not valid UTF-8/)
    }
  })

  it('routes an AssemblyScript assertion through ic0.trap with its message and location', () => {
    const host = new TestHost(wasm)
    expect(() => host.run('canister_update fail', empty())).toThrow(/the probe asserted at canisters\/tests\/candid_probe\.ts:\d+:\d+/)
    expect(host.logs).toEqual(['about to fail'])
  })
})
