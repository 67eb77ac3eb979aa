import { describe, expect, it } from 'vitest'
import { IDL } from '@dfinity/candid'
import type { CanisterId } from '../protocol/ids.ts'
import { cycles } from '../protocol/ids.ts'
import { newCanisterState } from './canister-state.ts'
import { CanisterRuntime } from './execute.ts'
import type { ExecutionResult } from './execute.ts'
import { compileMotoko, MOTOKO_COUNTER as COUNTER } from '../sim/motoko.ts'
import type { MotokoMode } from '../sim/motoko.ts'

const ID = new Uint8Array([0, 0, 0, 0, 0, 0, 0, 1, 1, 1]) as CanisterId
const CONTROLLER = new Uint8Array([7, 7, 7])
const EMPTY_ARGS = new Uint8Array([0x44, 0x49, 0x44, 0x4c, 0, 0])

function nat(r: ExecutionResult): bigint {
  expect(r.error).toBeUndefined()
  expect(r.response?.kind).toBe('reply')
  const bytes = (r.response as { bytes: Uint8Array }).bytes
  return IDL.decode([IDL.Nat], bytes)[0] as bigint
}

describe.each<[MotokoMode, boolean]>([
  ['classic', false],
  ['eop', true],
])('Motoko counter (%s)', (mode, memory64) => {
  it('installs, counts, and survives queries interleaved with updates', () => {
    const { wasm } = compileMotoko(COUNTER, mode)
    const rt = new CanisterRuntime(newCanisterState(ID, [CONTROLLER], cycles(10n ** 12n)))
    let time = 1_700_000_000_000_000_000n
    const input = () => ({ time: (time += 1_000_000n), caller: CONTROLLER, argData: EMPTY_ARGS })
    const installed = rt.install(wasm, input())
    expect(installed.error).toBeUndefined()
    expect(rt.state.module?.memory64).toBe(memory64)

    const inc = () => nat(rt.execute({ kind: 'update', method: 'inc' }, input()))
    const get = () => nat(rt.execute({ kind: 'query', method: 'get', replicated: false }, input()))
    expect([inc(), inc(), inc()]).toEqual([1n, 2n, 3n])
    expect(get()).toBe(3n)
    const heapHash = rt.state.heap.hash()
    expect(get()).toBe(3n)
    expect(rt.state.heap.hash()).toEqual(heapHash)
    expect(inc()).toBe(4n)
    expect(get()).toBe(4n)
    expect(inc()).toBe(5n)
    expect(rt.execute({ kind: 'query', method: 'get', replicated: true }, input()).error).toBeUndefined()
    expect(inc()).toBe(6n)

    if (memory64) {
      expect(rt.upgrade(wasm, input()).error?.message).toMatch(/wasm_memory_persistence/)
      expect(get()).toBe(6n)
    }
    const upgraded = rt.upgrade(wasm, input(), { wasmMemoryPersistence: memory64 ? 'keep' : 'replace' })
    expect(upgraded.error).toBeUndefined()
    expect(get()).toBe(6n)
    expect(inc()).toBe(7n)
  })
})

const CALLER_ACTOR = `persistent actor Self {
  var n : Nat = 0;
  public func inc() : async Nat { n += 1; n };
  public func twice() : async Nat { let a = await Self.inc(); let b = await Self.inc(); a + b };
}`

describe.each(['classic', 'eop'] as const)('Motoko inter-canister calls (%s)', (mode) => {
  it('an await on a self-call runs through call_perform and the reply callback in the table', () => {
    const { wasm } = compileMotoko(CALLER_ACTOR, mode)
    const rt = new CanisterRuntime(newCanisterState(ID, [CONTROLLER], cycles(10n ** 12n)))
    let time = 1_700_000_000_000_000_000n
    const input = (extra = {}) => ({ time: (time += 1_000_000n), caller: CONTROLLER, argData: EMPTY_ARGS, ...extra })
    expect(rt.install(wasm, input()).error).toBeUndefined()
    // Deliver calls by hand, as the scheduler will: run the callee, then the caller's callback.
    let pending = rt.execute({ kind: 'update', method: 'twice' }, input())
    let final: ExecutionResult | undefined
    for (let hops = 0; hops < 10 && final === undefined; hops++) {
      expect(pending.error).toBeUndefined()
      if (pending.response !== undefined && pending.calls.length === 0) {
        final = pending
        break
      }
      expect(pending.calls).toHaveLength(1)
      const [call] = pending.calls
      expect(call.callee).toEqual(ID)
      const answer = rt.execute({ kind: 'update', method: call.method }, input({ caller: ID, argData: call.arg }))
      expect(answer.response?.kind).toBe('reply')
      const bytes = (answer.response as { bytes: Uint8Array }).bytes
      rt.state.outputQueue.length = 0
      pending = rt.execute({ kind: 'reply_callback', callback: call.reply }, input({ caller: ID, argData: bytes }))
    }
    expect(final).toBeDefined()
    expect(nat(final!)).toBe(3n)
  })
})
