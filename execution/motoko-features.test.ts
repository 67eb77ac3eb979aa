import { describe, expect, it } from 'vitest'
import { IDL } from '@dfinity/candid'
import type { CanisterId } from '../protocol/ids.ts'
import { cycles } from '../protocol/ids.ts'
import { newCanisterState } from './canister-state.ts'
import { CanisterRuntime } from './execute.ts'
import type { ExecutionResult, MessageInput } from './execute.ts'
import { compileMotoko } from '../sim/motoko.ts'

const SINK = `
import Debug "mo:core/Debug";
import Runtime "mo:core/Runtime";
import Time "mo:core/Time";
import CertifiedData "mo:core/CertifiedData";
import Cycles "mo:core/Cycles";
import Principal "mo:core/Principal";
import Region "mo:core/Region";
persistent actor Sink {
  var calls : Nat = 0;
  public shared(msg) func hello(name : Text) : async Text { calls += 1; Debug.print("hi " # name); "hello " # name };
  public func now() : async Int { Time.now() };
  public func certify() : async () { CertifiedData.set("abc") };
  public query func cert() : async ?Blob { CertifiedData.getCertificate() };
  public func balance() : async Nat { Cycles.balance() };
  public shared(msg) func amController() : async Bool { Principal.isController(msg.caller) };
  public func region() : async Nat64 { let r = Region.new(); ignore Region.grow(r, 1); Region.storeNat64(r, 8, 42); Region.loadNat64(r, 8) };
  public func fail() : async () { Runtime.trap("oops") };
}`

const ID = new Uint8Array([0, 0, 0, 0, 0, 0, 0, 1, 1, 1]) as CanisterId
const CONTROLLER = new Uint8Array([7, 7, 7])
const OTHER = new Uint8Array([4])

function decode<T>(types: IDL.Type[], r: ExecutionResult): T {
  expect(r.error).toBeUndefined()
  expect(r.response?.kind).toBe('reply')
  return IDL.decode(types, (r.response as { bytes: Uint8Array }).bytes) as T
}

describe.each(['classic', 'eop'] as const)('Motoko System API coverage (%s)', (mode) => {
  it('text, logs, time, certified data, cycles, controllers, regions and traps', () => {
    const { wasm } = compileMotoko(SINK, mode)
    const rt = new CanisterRuntime(newCanisterState(ID, [CONTROLLER], cycles(123_456_789n)))
    let time = 1_700_000_000_000_000_000n
    const input = (extra: Partial<MessageInput> = {}): MessageInput => ({
      time: (time += 1_000_000n), caller: CONTROLLER, argData: new Uint8Array(IDL.encode([], [])), ...extra,
    })
    expect(rt.install(wasm, input()).error).toBeUndefined()
    const call = (method: string, extra: Partial<MessageInput> = {}) => rt.execute({ kind: 'update', method }, input(extra))

    const hello = call('hello', { argData: new Uint8Array(IDL.encode([IDL.Text], ['bob'])) })
    expect(decode<[string]>([IDL.Text], hello)).toEqual(['hello bob'])
    expect(hello.logs.map((l) => new TextDecoder().decode(l.content))).toContain('hi bob')

    const at = time + 1_000_000n
    expect(decode<[bigint]>([IDL.Int], call('now'))).toEqual([at])

    decode([], call('certify'))
    expect(new TextDecoder().decode(rt.state.certifiedData)).toBe('abc')
    const certificate = new Uint8Array([0xd9, 0xd9, 0xf7, 1, 2, 3])
    const withCert = rt.execute({ kind: 'query', method: 'cert', replicated: false }, input({ dataCertificate: certificate }))
    expect(decode<[Uint8Array[]]>([IDL.Opt(IDL.Vec(IDL.Nat8))], withCert)[0].map((b) => [...b])).toEqual([[...certificate]])
    const replicated = rt.execute({ kind: 'query', method: 'cert', replicated: true }, input())
    expect(decode<[Uint8Array[]]>([IDL.Opt(IDL.Vec(IDL.Nat8))], replicated)).toEqual([[]])

    expect(decode<[bigint]>([IDL.Nat], call('balance'))).toEqual([123_456_789n])
    expect(decode<[boolean]>([IDL.Bool], call('amController'))).toEqual([true])
    expect(decode<[boolean]>([IDL.Bool], call('amController', { caller: OTHER }))).toEqual([false])

    expect(decode<[bigint]>([IDL.Nat64], call('region'))).toEqual([42n])
    expect(rt.state.stableWasmPages).toBeGreaterThan(0n)

    const heap = rt.state.heap.hash()
    const failed = call('fail')
    expect(failed.error?.errorCode).toBe('IC0503')
    expect(failed.error?.message).toBe("Canister called `ic0.trap` with message: 'oops'")
    expect(rt.state.heap.hash()).toEqual(heap)
    expect(decode<[string]>([IDL.Text], call('hello', { argData: new Uint8Array(IDL.encode([IDL.Text], ['again'])) }))).toEqual(['hello again'])
  })
})
