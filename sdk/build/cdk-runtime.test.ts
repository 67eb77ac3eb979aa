// The CDK's canisters on Capsa's real execution runtime (instrumented module, System API,
// persistence, upgrade), not the test host.
import { beforeAll, describe, expect, it } from 'vitest'
import path from 'node:path'
import { readFileSync } from 'node:fs'
import { IDL } from '@dfinity/candid'
import { Principal } from '@dfinity/principal'
import type { CanisterId } from '../../protocol/ids.ts'
import { cycles } from '../../protocol/ids.ts'
import { newCanisterState } from '../../execution/canister-state.ts'
import { CanisterRuntime } from '../../execution/execute.ts'
import type { ExecutionResult } from '../../execution/execute.ts'
import { compileAssemblyScript, REPO_ROOT } from './assemblyscript.ts'

const ID = new Uint8Array([0, 0, 0, 0, 0, 0, 0, 1, 1, 1]) as CanisterId
const CONTROLLER = new Uint8Array([7, 7, 7])
let counter: Uint8Array
let kv: Uint8Array
let icrc1: Uint8Array
let surface: Uint8Array

beforeAll(async () => {
  counter = await compileAssemblyScript(path.join(REPO_ROOT, 'canisters/examples/counter/counter.ts'))
  kv = await compileAssemblyScript(path.join(REPO_ROOT, 'canisters/examples/kv/kv.ts'))
  icrc1 = await compileAssemblyScript(path.join(REPO_ROOT, 'canisters/examples/icrc1/icrc1.ts'))
  surface = await compileAssemblyScript(path.join(REPO_ROOT, 'canisters/tests/api_surface.ts'))
}, 300_000)

function replyBytes(r: ExecutionResult): Uint8Array {
  expect(r.error).toBeUndefined()
  expect(r.response?.kind).toBe('reply')
  return (r.response as { bytes: Uint8Array }).bytes
}

function runtime() {
  const rt = new CanisterRuntime(newCanisterState(ID, [CONTROLLER], cycles(10n ** 12n)))
  let time = 1_700_000_000_000_000_000n
  const input = (types: IDL.Type[] = [], values: unknown[] = []) =>
    ({ time: (time += 1_000_000n), caller: CONTROLLER, argData: new Uint8Array(IDL.encode(types, values)) })
  return { rt, input }
}

describe('AssemblyScript canisters on the execution runtime', () => {
  it('every ic0 declaration of the CDK matches the runtime\'s import signatures', () => {
    const names = WebAssembly.Module.imports(new WebAssembly.Module(surface as Uint8Array<ArrayBuffer>)).map((i) => i.name)
    const declared = [...readFileSync(path.join(REPO_ROOT, 'canisters/cdk/ic0.ts'), 'utf8')
      .matchAll(/@external\("ic0", "(\w+)"\)/g)].map((m) => m[1])
    expect(names.sort()).toEqual(declared.sort())
    const { rt, input } = runtime()
    expect(rt.install(surface, input()).error).toBeUndefined() // install rejects a mistyped import
  })

  it('counter: install, inc ×3, get → 3, heap persists across messages', () => {
    const { rt, input } = runtime()
    expect(rt.install(counter, input()).error).toBeUndefined()
    const nat = (r: ExecutionResult) => IDL.decode([IDL.Nat], replyBytes(r))[0]
    const incs = [1, 2, 3].map(() => nat(rt.execute({ kind: 'update', method: 'inc' }, input())))
    expect(incs).toEqual([1n, 2n, 3n])
    expect(nat(rt.execute({ kind: 'query', method: 'get', replicated: false }, input()))).toBe(3n)
  })

  it('kv: data in StableMap survives an upgrade that replaces the heap', () => {
    const { rt, input } = runtime()
    expect(rt.install(kv, input()).error).toBeUndefined()
    const Blob = IDL.Vec(IDL.Nat8)
    replyBytes(rt.execute({ kind: 'update', method: 'put' }, input([IDL.Text, Blob], ['k', Uint8Array.of(1, 2, 3)])))
    const upgraded = rt.upgrade(kv, input(), { wasmMemoryPersistence: 'replace' })
    expect(upgraded.error).toBeUndefined()
    const got = rt.execute({ kind: 'query', method: 'get', replicated: false }, input([IDL.Text], ['k']))
    expect(IDL.decode([IDL.Opt(Blob)], replyBytes(got))).toEqual([[Uint8Array.of(1, 2, 3)]])
  })

  it('icrc1: canister_init takes the init argument; a transfer moves funds', () => {
    const { rt, input } = runtime()
    const Account = IDL.Record({ owner: IDL.Principal, subaccount: IDL.Opt(IDL.Vec(IDL.Nat8)) })
    const InitArgs = IDL.Record({
      minting_account: Account, initial_balances: IDL.Vec(IDL.Tuple(Account, IDL.Nat)), transfer_fee: IDL.Nat,
      token_name: IDL.Text, token_symbol: IDL.Text, decimals: IDL.Nat8,
    })
    const me = { owner: Principal.fromUint8Array(CONTROLLER), subaccount: [] }
    const you = { owner: Principal.fromText('2vxsx-fae'), subaccount: [] }
    const init = { minting_account: { owner: Principal.fromText('aaaaa-aa'), subaccount: [] },
      initial_balances: [[me, 500n]], transfer_fee: 1n, token_name: 'T', token_symbol: 'T', decimals: 0 }
    expect(rt.install(icrc1, input([InitArgs], [init])).error).toBeUndefined()
    const TransferArg = IDL.Record({ from_subaccount: IDL.Opt(IDL.Vec(IDL.Nat8)), to: Account, amount: IDL.Nat,
      fee: IDL.Opt(IDL.Nat), memo: IDL.Opt(IDL.Vec(IDL.Nat8)), created_at_time: IDL.Opt(IDL.Nat64) })
    const Result = IDL.Variant({ Ok: IDL.Nat, Err: IDL.Reserved })
    const t = rt.execute({ kind: 'update', method: 'icrc1_transfer' },
      input([TransferArg], [{ from_subaccount: [], to: you, amount: 200n, fee: [], memo: [], created_at_time: [] }]))
    expect(IDL.decode([Result], replyBytes(t))).toEqual([{ Ok: 0n }])
    const balance = (a: unknown) => IDL.decode([IDL.Nat], replyBytes(rt.execute(
      { kind: 'query', method: 'icrc1_balance_of', replicated: false }, input([Account], [a]))))[0]
    expect([balance(me), balance(you)]).toEqual([299n, 200n])
  })

  it('an AssemblyScript abort surfaces as a canister trap with its message', () => {
    const { rt, input } = runtime()
    expect(rt.install(counter, input()).error).toBeUndefined()
    const r = rt.execute({ kind: 'update', method: 'inc' }, { ...input(), argData: Uint8Array.of(1, 2, 3, 4, 5) })
    expect(r.error?.message).toMatch(/DIDL magic/)
  })
})
