import { beforeAll, describe, expect, it } from 'vitest'
import { readFile } from 'node:fs/promises'
import path from 'node:path'
import type { Principal } from '@dfinity/principal'
import { compileAssemblyScript, REPO_ROOT } from '../../sdk/build/assemblyscript.ts'
import { CallRejectedError, CapsaTestSubnet, RejectCode } from './index.ts'
import type { IdlFactory } from './index.ts'

// The AssemblyScript examples as their authors would test them: built with the SDK, run through the
// harness, called through Candid actors.

interface Counter { inc(): Promise<bigint>; get(): Promise<bigint> }
const counterIdl: IdlFactory = ({ IDL }) => IDL.Service({
  inc: IDL.Func([], [IDL.Nat], []),
  get: IDL.Func([], [IDL.Nat], ['query']),
})

interface Kv {
  put(k: string, v: Uint8Array): Promise<void>
  get(k: string): Promise<[] | [Uint8Array]>
  delete(k: string): Promise<boolean>
  keys(): Promise<string[]>
}
const kvIdl: IdlFactory = ({ IDL }) => IDL.Service({
  put: IDL.Func([IDL.Text, IDL.Vec(IDL.Nat8)], [], []),
  get: IDL.Func([IDL.Text], [IDL.Opt(IDL.Vec(IDL.Nat8))], ['query']),
  delete: IDL.Func([IDL.Text], [IDL.Bool], []),
  keys: IDL.Func([], [IDL.Vec(IDL.Text)], ['query']),
})

interface Proxy { call_inc(c: Principal): Promise<bigint>; pending(): Promise<bigint>; arm(at: bigint): Promise<bigint>; ticks(): Promise<bigint> }
const proxyIdl: IdlFactory = ({ IDL }) => IDL.Service({
  call_inc: IDL.Func([IDL.Principal], [IDL.Nat], []),
  pending: IDL.Func([], [IDL.Nat], ['query']),
  arm: IDL.Func([IDL.Nat64], [IDL.Nat64], []),
  ticks: IDL.Func([], [IDL.Nat], ['query']),
})

const wasm: Record<string, Uint8Array> = {}
beforeAll(async () => {
  for (const name of ['counter', 'kv', 'proxy']) {
    const dir = path.join(REPO_ROOT, 'canisters/examples', name)
    wasm[name] = await compileAssemblyScript(path.join(dir, `${name}.ts`), { candidService: await readFile(path.join(dir, `${name}.did`), 'utf8') })
  }
}, 180_000)

describe('AssemblyScript examples through the harness', () => {
  it('counter: counts through ingress, reads through a query', async () => {
    const subnet = CapsaTestSubnet.create()
    const { actor } = subnet.setupCanister<Counter>({ idlFactory: counterIdl, wasm: wasm.counter })
    expect(await actor.inc()).toBe(1n)
    expect(await actor.inc()).toBe(2n)
    expect(await actor.get()).toBe(2n)
  })

  it('kv: data survives an upgrade in stable memory, and is gone after a reinstall', async () => {
    const subnet = CapsaTestSubnet.create()
    const { canisterId, actor } = subnet.setupCanister<Kv>({ idlFactory: kvIdl, wasm: wasm.kv })
    await actor.put('a', Uint8Array.of(1, 2, 3))
    await actor.put('b', Uint8Array.of(4))
    expect(await actor.delete('b')).toBe(true)
    subnet.upgradeCanister({ canisterId, wasm: wasm.kv })
    expect(await actor.keys()).toEqual(['a'])
    expect(await actor.get('a')).toEqual([Uint8Array.of(1, 2, 3)])
    subnet.reinstallCode({ canisterId, wasm: wasm.kv })
    expect(await actor.keys()).toEqual([])
  })

  it('proxy: calls the counter canister, and fires its global timer when the clock gets there', async () => {
    const subnet = CapsaTestSubnet.create()
    const counter = subnet.setupCanister<Counter>({ idlFactory: counterIdl, wasm: wasm.counter })
    const proxy = subnet.setupCanister<Proxy>({ idlFactory: proxyIdl, wasm: wasm.proxy })
    expect(await proxy.actor.call_inc(counter.canisterId)).toBe(1n)
    expect(await counter.actor.get()).toBe(1n)
    expect(await proxy.actor.pending()).toBe(0n)

    subnet.stopCanister({ canisterId: counter.canisterId })
    const refused = await proxy.actor.call_inc(counter.canisterId).catch((e: unknown) => e)
    expect(refused).toBeInstanceOf(CallRejectedError)
    expect(refused).toMatchObject({ rejectCode: RejectCode.CANISTER_REJECT })
    expect((refused as CallRejectedError).rejectMessage).toMatch(/^counter call failed: 5 .*stopped/)

    const at = subnet.time() + 10_000_000_000n
    expect(await proxy.actor.arm(at)).toBe(0n)
    subnet.tick(3)
    expect(await proxy.actor.ticks()).toBe(0n)
    subnet.advanceTime(10_000)
    subnet.tick()
    expect(await proxy.actor.ticks()).toBe(1n)
    subnet.advanceTime(60_000)
    subnet.tick(2)
    expect(await proxy.actor.ticks()).toBe(1n) // a global timer fires once
  })
})
