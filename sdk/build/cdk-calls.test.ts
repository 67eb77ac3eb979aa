import { beforeAll, describe, expect, it } from 'vitest'
import path from 'node:path'
import { IDL } from '@dfinity/candid'
import { Principal } from '@dfinity/principal'
import { compileAssemblyScript, REPO_ROOT } from './assemblyscript.ts'
import { TestHost } from './ic0-test-host.ts'

let proxy: Uint8Array
let counter: Uint8Array

beforeAll(async () => {
  proxy = await compileAssemblyScript(path.join(REPO_ROOT, 'canisters/examples/proxy/proxy.ts'))
  counter = await compileAssemblyScript(path.join(REPO_ROOT, 'canisters/examples/counter/counter.ts'))
}, 240_000)

const empty = (): Uint8Array => new Uint8Array(IDL.encode([], []))
const nat = (o: { reply?: Uint8Array }): bigint => IDL.decode([IDL.Nat], o.reply!)[0] as bigint
const COUNTER_ID = Principal.fromText('rrkah-fqaaa-aaaaa-aaaaq-cai')

describe('inter-canister calls from AssemblyScript (two canisters, host-relayed)', () => {
  it('calls the counter, relays its reply to the original caller', () => {
    const p = new TestHost(proxy)
    const c = new TestHost(counter)
    c.run('canister_update inc', empty()) // the counter is at 1 before the proxy calls it
    const first = p.run('canister_update call_inc', new Uint8Array(IDL.encode([IDL.Principal], [COUNTER_ID])))
    expect(first).toEqual({}) // no reply yet: the call is in flight
    expect(p.calls).toHaveLength(1)
    const call = p.calls[0]
    expect(Principal.fromUint8Array(call.callee).toText()).toBe(COUNTER_ID.toText())
    expect(call.method).toBe('inc')
    expect(IDL.decode([], call.arg)).toEqual([])
    expect(call.cleanup).toBeDefined()
    expect(nat(p.run('canister_query pending', empty()))).toBe(1n)

    // The "replica" runs the call on the counter and delivers the reply to the proxy's callback.
    const calleeOutcome = c.run(`canister_update ${call.method}`, call.arg)
    const relayed = p.deliver(call, { reply: calleeOutcome.reply! })
    expect(nat(relayed)).toBe(2n)
    expect(nat(p.run('canister_query pending', empty()))).toBe(0n)
  })

  it('turns a reject from the callee into a reject of the original call', () => {
    const p = new TestHost(proxy)
    p.run('canister_update call_inc', new Uint8Array(IDL.encode([IDL.Principal], [COUNTER_ID])))
    const out = p.deliver(p.calls[0], { rejectCode: 5, message: 'canister trapped' })
    expect(out).toEqual({ reject: 'counter call failed: 5 canister trapped' })
    expect(nat(p.run('canister_query pending', empty()))).toBe(0n)
  })

  it('arms the global timer and counts canister_global_timer runs', () => {
    const p = new TestHost(proxy)
    const arm = (t: bigint): bigint =>
      IDL.decode([IDL.Nat64], p.run('canister_update arm', new Uint8Array(IDL.encode([IDL.Nat64], [t]))).reply!)[0] as bigint
    const at = p.time + 5_000_000_000n
    expect(arm(at)).toBe(0n)
    expect(p.timer).toBe(at)
    expect(arm(at + 1n)).toBe(at)
    p.run('canister_global_timer')
    p.run('canister_global_timer')
    expect(nat(p.run('canister_query ticks', empty()))).toBe(2n)
  })
})
