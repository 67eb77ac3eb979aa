import { beforeAll, describe, expect, it } from 'vitest'
import path from 'node:path'
import { IDL } from '@dfinity/candid'
import { Principal } from '@dfinity/principal'
import { compileAssemblyScript, REPO_ROOT } from './assemblyscript.ts'
import { TestHost } from './ic0-test-host.ts'

let wasm: Uint8Array

beforeAll(async () => {
  wasm = await compileAssemblyScript(path.join(REPO_ROOT, 'canisters/tests/api_surface.ts'))
}, 180_000)

const enc = (t: IDL.Type[], v: unknown[]) => new Uint8Array(IDL.encode(t, v))

describe('the whole CDK API compiles and its host-facing parts work', () => {
  it('imports only ic0 functions that the spec defines for wasm32 with the right arity', () => {
    const m = new WebAssembly.Module(wasm as Uint8Array<ArrayBuffer>)
    const imports = WebAssembly.Module.imports(m)
    expect(imports.filter((i) => i.module !== 'ic0')).toEqual([])
    expect(imports.map((i) => i.name)).toEqual(expect.arrayContaining([
      'call_new', 'call_perform', 'call_cycles_add128', 'call_on_cleanup', 'msg_cycles_accept128',
      'canister_cycle_balance128', 'certified_data_set', 'global_timer_set', 'stable64_grow',
    ]))
  })

  it('identity, time, cycles and multi-part replies', () => {
    const host = new TestHost(wasm)
    host.caller = Principal.fromText('2vxsx-fae').toUint8Array()
    const Info = IDL.Record({ self: IDL.Principal, caller: IDL.Principal, time: IDL.Nat64, balance: IDL.Nat, hash: IDL.Nat32 })
    const [info] = IDL.decode([Info], host.run('canister_query info', enc([], [])).reply!) as [Record<string, unknown>]
    expect(info).toEqual({
      self: Principal.fromUint8Array(host.selfId), caller: Principal.fromText('2vxsx-fae'), time: host.time,
      balance: 10n ** 13n, hash: 1224700491, // idl_hash("name"), as @dfinity/candid's field ids
    })
  })

  it('certified data and stable helpers', () => {
    const host = new TestHost(wasm)
    const data = new Uint8Array(32).fill(0xab)
    expect(host.run('canister_update certify', enc([IDL.Vec(IDL.Nat8)], [data])).reply).toBeDefined()
    expect(host.certifiedData).toEqual(data)
    expect(host.logs).toEqual([`certified 32 bytes at ${(1 << 20) + 8}`])
    expect(host.stable.subarray((1 << 20) + 8, (1 << 20) + 40)).toEqual(data)
  })

  it('a raw call carries env, cycles and the argument; its callbacks see the reply or reject', () => {
    const host = new TestHost(wasm)
    const target = Principal.fromText('rrkah-fqaaa-aaaaa-aaaaq-cai')
    expect(host.run('canister_update low_call', enc([IDL.Principal, IDL.Text, IDL.Vec(IDL.Nat8)],
      [target, 'method name with spaces', Uint8Array.of(9, 8)]))).toEqual({})
    const [c] = host.calls
    expect([c.method, [...c.arg], c.cycles, c.reply[1], c.reject[1]]).toEqual(['method name with spaces', [9, 8], 1000n, 42, 42])
    const replied = host.deliver(c, { reply: Uint8Array.of(1, 2, 3) })
    expect(IDL.decode([IDL.Nat32, IDL.Vec(IDL.Nat8)], replied.reply!)).toEqual([42, Uint8Array.of(1, 2, 3)])
    expect(host.deliver(c, { rejectCode: 3, message: 'no such canister' }))
      .toEqual({ reject: 'relayed 3:no such canister env 42' })
  })
})
