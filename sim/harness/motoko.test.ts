import { beforeAll, describe, expect, it } from 'vitest'
import { Principal } from '@dfinity/principal'
import { Ed25519KeyIdentity } from '@dfinity/identity'
import { compileMotoko } from '../motoko.ts'
import { CallRejectedError, CapsaTestSubnet, IcErrorCode, RejectCode } from './index.ts'
import type { Actor, IdlFactory } from './index.ts'

// One actor exercising what canister authors test: state, callers, timers, calls to other canisters,
// randomness, rejects, traps and debug output.
const SOURCE = `
import Timer "mo:core/Timer";
import Debug "mo:core/Debug";
import Error "mo:core/Error";
import Runtime "mo:core/Runtime";
import Principal "mo:core/Principal";

persistent actor {
  var n : Nat = 0;
  var fired : Nat = 0;
  public func inc() : async Nat { n += 1; n };
  public query func get() : async Nat { n };
  public query func fired_count() : async Nat { fired };
  public shared ({ caller }) func whoami() : async Principal { caller };
  public func set_timer(seconds : Nat) : async () {
    ignore Timer.setTimer<system>(#seconds seconds, func() : async () { fired += 1; Debug.print("timer fired") });
  };
  public func fail() : async () { throw Error.reject("not today") };
  public func inc_then_trap() : async () { n += 100; Runtime.trap("boom") };
  public func say(t : Text) : async () { Debug.print("said: " # t) };
  public func inc_other(other : Principal) : async Nat {
    let o = actor (Principal.toText(other)) : actor { inc : () -> async Nat };
    let a = await o.inc();
    let b = await o.inc();
    a + b
  };
  public func fail_other(other : Principal) : async Text {
    let o = actor (Principal.toText(other)) : actor { fail : () -> async () };
    try { await o.fail(); "no error" } catch (e) { Error.message(e) }
  };
  public func rand() : async Blob {
    let ic = actor "aaaaa-aa" : actor { raw_rand : () -> async Blob };
    await ic.raw_rand()
  };
}`

interface Service {
  inc(): Promise<bigint>
  get(): Promise<bigint>
  fired_count(): Promise<bigint>
  whoami(): Promise<Principal>
  set_timer(seconds: bigint): Promise<void>
  fail(): Promise<void>
  inc_then_trap(): Promise<void>
  say(t: string): Promise<void>
  inc_other(other: Principal): Promise<bigint>
  fail_other(other: Principal): Promise<string>
  rand(): Promise<Uint8Array>
}

const idlFactory: IdlFactory = ({ IDL }) => IDL.Service({
  inc: IDL.Func([], [IDL.Nat], []),
  get: IDL.Func([], [IDL.Nat], ['query']),
  fired_count: IDL.Func([], [IDL.Nat], ['query']),
  whoami: IDL.Func([], [IDL.Principal], []),
  set_timer: IDL.Func([IDL.Nat], [], []),
  fail: IDL.Func([], [], []),
  inc_then_trap: IDL.Func([], [], []),
  say: IDL.Func([IDL.Text], [], []),
  inc_other: IDL.Func([IDL.Principal], [IDL.Nat], []),
  fail_other: IDL.Func([IDL.Principal], [IDL.Text], []),
  rand: IDL.Func([], [IDL.Vec(IDL.Nat8)], []),
})

let wasm: Uint8Array
beforeAll(() => {
  wasm = compileMotoko(SOURCE).wasm
}, 120_000)

function setup(seed = 'motoko'): { subnet: CapsaTestSubnet; canisterId: Principal; actor: Actor<Service> } {
  const subnet = CapsaTestSubnet.create({ seed })
  const { canisterId, actor } = subnet.setupCanister<Service>({ idlFactory, wasm })
  return { subnet, canisterId, actor }
}

describe('a Motoko canister through the harness', () => {
  it('counts through the actor, answers queries, and keeps its state across an EOP upgrade', async () => {
    const { subnet, canisterId, actor } = setup()
    expect(await actor.inc()).toBe(1n)
    expect(await actor.inc()).toBe(2n)
    expect(await actor.get()).toBe(2n)
    const before = subnet.canisterStatus({ canisterId })
    // The harness asks for wasm_memory_persistence = keep itself, as dfx does for EOP modules ...
    subnet.upgradeCanister({ canisterId, wasm })
    expect(await actor.get()).toBe(2n)
    // ... and the explicit upgrade mode the issue names works the same.
    subnet.upgradeCanister({ canisterId, wasm, wasmMemoryPersistence: 'keep', skipPreUpgrade: false })
    expect(await actor.inc()).toBe(3n)
    expect(subnet.canisterStatus({ canisterId }).version).toBeGreaterThan(before.version)
    // Replacing the heap of an EOP module drops its variables: why the default above must be `keep`.
    subnet.upgradeCanister({ canisterId, wasm, wasmMemoryPersistence: 'replace' })
    expect(await actor.get()).toBe(0n)
    await actor.inc()
    subnet.reinstallCode({ canisterId, wasm })
    expect(await actor.get()).toBe(0n)
  })

  it('sees the caller the actor is set to', async () => {
    const { subnet, actor } = setup()
    expect((await actor.whoami()).toText()).toBe('2vxsx-fae')
    const alice = Ed25519KeyIdentity.generate(new Uint8Array(32).fill(1))
    actor.setIdentity(alice)
    expect((await actor.whoami()).toText()).toBe(alice.getPrincipal().toText())
    const bob = Principal.fromText('aaaaa-aa')
    subnet.setIdentity(Principal.selfAuthenticating(new Uint8Array(32).fill(2)))
    actor.setPrincipal(bob)
    expect((await actor.whoami()).toText()).toBe('aaaaa-aa')
  })

  it('fires a timer only once the clock has passed it', async () => {
    const { subnet, actor } = setup()
    await actor.set_timer(60n)
    subnet.tick(5)
    expect(await actor.fired_count()).toBe(0n)
    subnet.advanceTime(59_000)
    subnet.tick(3)
    expect(await actor.fired_count()).toBe(0n)
    subnet.advanceTime(1_000)
    subnet.tick(3)
    expect(await actor.fired_count()).toBe(1n)
    expect(subnet.debugPrints(actor.canisterId)).toContain('timer fired')
  })

  it('surfaces rejects and traps with their codes, and a trap leaves the state as it was', async () => {
    const { actor } = setup()
    await actor.inc()
    const reject = await actor.fail().catch((e: unknown) => e)
    expect(reject).toBeInstanceOf(CallRejectedError)
    expect(reject).toMatchObject({ rejectCode: RejectCode.CANISTER_REJECT, errorCode: IcErrorCode.CanisterRejectedMessage, rejectMessage: 'not today' })
    const trap = await actor.inc_then_trap().catch((e: unknown) => e)
    expect(trap).toMatchObject({ rejectCode: RejectCode.CANISTER_ERROR, errorCode: IcErrorCode.CanisterCalledTrap })
    expect((trap as CallRejectedError).rejectMessage).toMatch(/boom/)
    expect(await actor.get()).toBe(1n)
  })

  it('logs debug_print output, readable through fetch_canister_logs by a controller only', async () => {
    const { subnet, canisterId, actor } = setup()
    await actor.say('hello')
    expect(subnet.debugPrints(canisterId)).toEqual(['said: hello'])
    expect(subnet.fetchCanisterLogs({ canisterId }).map((r) => r.text)).toEqual(['said: hello'])
    const stranger = Principal.selfAuthenticating(new Uint8Array(32).fill(9))
    expect(() => subnet.fetchCanisterLogs({ canisterId, sender: stranger })).toThrow(CallRejectedError)
  })

  it('two canisters call each other, with rejects passed back to the caller', async () => {
    const { subnet, actor } = setup()
    const other = subnet.setupCanister<Service>({ idlFactory, wasm })
    expect(await actor.inc_other(other.canisterId)).toBe(1n + 2n)
    expect(await other.actor.get()).toBe(2n)
    expect(await actor.get()).toBe(0n)
    expect(await actor.fail_other(other.canisterId)).toBe('not today')
  })

  it('is deterministic: the same seed and calls give the same state hashes and randomness', async () => {
    const run = async (seed: string) => {
      const { subnet, actor } = setup(seed)
      const hashes: string[] = []
      for (let i = 0; i < 3; i++) {
        await actor.inc()
        subnet.advanceTime(1_000)
        hashes.push(Buffer.from(subnet.fullStateHash()).toString('hex'))
      }
      const rand = await actor.rand()
      return { hashes, rand: Buffer.from(rand).toString('hex'), tree: Buffer.from(subnet.stateHash()).toString('hex'), full: Buffer.from(subnet.fullStateHash()).toString('hex') }
    }
    const a = await run('same')
    const b = await run('same')
    expect(b).toEqual(a)
    expect(a.rand).toHaveLength(64)
    const c = await run('other')
    expect(c.rand).not.toBe(a.rand)
    expect(c.tree).not.toBe(a.tree)
  })
})

describe('a classic-persistence (wasm32) Motoko canister through the harness', () => {
  it('keeps its stable variables across an upgrade without wasm_memory_persistence', async () => {
    const classic = compileMotoko(SOURCE, 'classic').wasm
    const subnet = CapsaTestSubnet.create()
    const { canisterId, actor } = subnet.setupCanister<Service>({ idlFactory, wasm: classic })
    expect(await actor.inc()).toBe(1n)
    expect(await actor.inc()).toBe(2n)
    subnet.upgradeCanister({ canisterId, wasm: classic })
    expect(await actor.get()).toBe(2n)
    expect(await actor.inc()).toBe(3n)
  }, 120_000)
})
