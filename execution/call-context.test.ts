import { describe, expect, it } from 'vitest'
import { IDL } from '@dfinity/candid'
import type { CanisterId } from '../protocol/ids.ts'
import { cycles } from '../protocol/ids.ts'
import { newCanisterState } from './canister-state.ts'
import type { OutgoingCall } from './canister-state.ts'
import { CanisterRuntime } from './execute.ts'
import { executeCall, executeResponse } from './call-context.ts'
import type { IncomingCall, StepResult } from './call-context.ts'
import { testCanisterWat, wat } from './test-canister.ts'
import { compileMotoko } from '../sim/motoko.ts'

const ID = new Uint8Array([0, 0, 0, 0, 0, 0, 0, 1, 1, 1]) as CanisterId
const USER = new Uint8Array([4])
const ingress = (method: string, arg = new Uint8Array(0), amount = 0n): IncomingCall => ({
  origin: { kind: 'ingress', sender: USER, messageId: new Uint8Array(32) },
  caller: USER, method, arg, cycles: cycles(amount), deadline: 0n,
})

describe('call contexts', () => {
  it('a call that neither replies nor calls is rejected with IC0506; a trap rejects with the trap', async () => {
    const rt = new CanisterRuntime(newCanisterState(ID, []))
    rt.install(await wat(testCanisterWat()), { time: 1n })
    const silent = executeCall(rt, ingress('silent'), 2n)
    expect(silent.response?.value).toEqual({ kind: 'reject', rejectCode: 5, errorCode: 'IC0506', message: 'Canister did not reply to the call', refund: 0n })
    const trapped = executeCall(rt, ingress('bump_then_trap', new Uint8Array(0), 50n), 3n)
    expect(trapped.response?.value).toMatchObject({ kind: 'reject', rejectCode: 5, errorCode: 'IC0503', refund: 50n })
    expect(rt.state.callContexts.size).toBe(0)
  })

  it('refunds unaccepted cycles with the reply', async () => {
    const rt = new CanisterRuntime(newCanisterState(ID, [], cycles(1000)))
    rt.install(await wat(testCanisterWat()), { time: 1n })
    const r = executeCall(rt, ingress('cycles', new Uint8Array(0), 8n), 2n)
    expect(r.response?.value).toMatchObject({ kind: 'reply', refund: 3n })
    expect(rt.state.cycles).toBe(1005n)
  })

  it('a context that replied stays open while its calls are outstanding; late callbacks cannot respond', async () => {
    const rt = new CanisterRuntime(newCanisterState(ID, [], cycles(1000)))
    rt.install(await wat(testCanisterWat()), { time: 1n })
    const step = executeCall(rt, ingress('call', new Uint8Array([9])), 2n)
    expect(step.response?.value.kind).toBe('reply')
    expect(step.callbacks).toHaveLength(1)
    expect(rt.state.callContexts.size).toBe(1)
    const late = executeResponse(rt, step.callbacks[0], { kind: 'reply', bytes: new Uint8Array([1]), refund: cycles(10) }, 3n)!
    expect(late.execution.error?.message).toMatch(/does not need a response/)
    expect(late.response).toBeUndefined()
    expect(rt.state.callContexts.size).toBe(0)
    expect(rt.state.cycles).toBe(1000n)
    expect(executeResponse(rt, step.callbacks[0], { kind: 'reply', bytes: new Uint8Array(0), refund: cycles(0) }, 4n)).toBeUndefined()
  })
})

const SELF_CALLER = `persistent actor Self {
  var n : Nat = 0;
  public func inc() : async Nat { n += 1; n };
  public func twice() : async Nat { let a = await Self.inc(); let b = await Self.inc(); a + b };
}`

describe.each(['classic', 'eop'] as const)('Motoko awaits through call contexts (%s)', (mode) => {
  it('twice() answers its caller after two self-calls', () => {
    const rt = new CanisterRuntime(newCanisterState(ID, [], cycles(10n ** 12n)))
    const empty = new Uint8Array(IDL.encode([], []))
    expect(rt.install(compileMotoko(SELF_CALLER, mode).wasm, { time: 1n, argData: empty }).error).toBeUndefined()
    let time = 10n
    // A tiny scheduler: deliver each outgoing call to this canister, then its response.
    const queue: { call: OutgoingCall; callbackId: bigint }[] = []
    const enqueue = (s: StepResult) => s.execution.calls.forEach((call, i) => queue.push({ call, callbackId: s.callbacks[i] }))
    const first = executeCall(rt, ingress('twice', empty), time++)
    enqueue(first)
    let final = first.response
    while (queue.length > 0) {
      const { call, callbackId } = queue.shift()!
      const callee = executeCall(rt, { origin: { kind: 'canister', caller: ID, callbackId, deadline: 0n }, caller: ID, method: call.method, arg: call.arg, cycles: call.cycles, deadline: 0n }, time++)
      enqueue(callee)
      const answer = callee.response!.value
      expect(answer.kind).toBe('reply')
      const back = executeResponse(rt, callbackId, { kind: 'reply', bytes: (answer as { bytes: Uint8Array }).bytes, refund: cycles(answer.refund) }, time++)!
      enqueue(back)
      if (back.response?.origin.kind === 'ingress') final = back.response
    }
    expect(final?.value.kind).toBe('reply')
    expect(IDL.decode([IDL.Nat], (final!.value as { bytes: Uint8Array }).bytes)).toEqual([3n])
    expect(rt.state.callContexts.size).toBe(0)
    expect(rt.state.callbacks.size).toBe(0)
  })
})
