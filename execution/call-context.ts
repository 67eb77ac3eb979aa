// Call contexts: an incoming call opens one; the calls its executions make become callbacks that
// keep it open; it closes when it has responded and nothing is outstanding. A context that can no
// longer respond (no reply, no callback left) is rejected for the canister (IC0506), and a trap
// before any response rejects it with the trap's error.

import type { Cycles, TimeNs } from '../protocol/ids.ts'
import { IcErrorCode, RejectCode } from '../protocol/reject.ts'
import type { CallContext, CallOrigin, Callback } from './canister-state.ts'
import type { CanisterRuntime, ExecutionResult, MessageInput } from './execute.ts'

/** Inputs the scheduler adds to every execution: the cost table and the freezing limit. */
export type ExecutionExtras = Partial<Omit<MessageInput, 'time'>>

/** A call arriving at a canister (from a user through ingress, or from a canister). */
export interface IncomingCall {
  origin: CallOrigin
  caller: Uint8Array
  method: string
  arg: Uint8Array
  cycles: Cycles
  deadline: bigint
}

/** The response to a call this canister made. */
export type IncomingResponse =
  | { kind: 'reply'; bytes: Uint8Array; refund: Cycles }
  | { kind: 'reject'; rejectCode: RejectCode; message: string; refund: Cycles }

/** What a call context answers its caller, once it does. */
export type ContextResponse =
  | { kind: 'reply'; bytes: Uint8Array; refund: bigint }
  | { kind: 'reject'; rejectCode: RejectCode; errorCode: IcErrorCode; message: string; refund: bigint }

export interface StepResult {
  execution: ExecutionResult
  callContextId: bigint
  /** Callback ids registered for `execution.calls`, in the same order. */
  callbacks: bigint[]
  /** Set when this step gave the call context its response. */
  response: { origin: CallOrigin; value: ContextResponse } | undefined
}

/** Executes an update call in a new call context. `asQuery`: the method is a query called in
 *  replicated mode (as an update call may do); its heap changes are discarded. */
export function executeCall(rt: CanisterRuntime, call: IncomingCall, time: TimeNs | bigint, asQuery = false, extras: ExecutionExtras = {}): StepResult {
  const state = rt.state
  const ctx: CallContext = {
    id: state.nextCallContextId++,
    origin: call.origin,
    responded: false,
    availableCycles: call.cycles,
    instructions: 0n,
  }
  state.callContexts.set(ctx.id, ctx)
  const entry = asQuery ? { kind: 'query' as const, method: call.method, replicated: true } : { kind: 'update' as const, method: call.method }
  const execution = rt.execute(entry, {
    ...extras, time, caller: call.caller, argData: call.arg, cyclesAvailable: call.cycles, deadline: call.deadline, canRespond: true,
  })
  return settle(rt, ctx, execution, BigInt(time))
}

/** Runs a system task (heartbeat, global timer) in a call context of origin `system`, so the calls
 *  it makes (Motoko's timer self-calls) have a context to return to; nobody awaits its response. */
export function executeTask(rt: CanisterRuntime, kind: 'heartbeat' | 'global_timer', time: TimeNs | bigint, extras: ExecutionExtras = {}): StepResult {
  const state = rt.state
  const ctx: CallContext = { id: state.nextCallContextId++, origin: { kind: 'system' }, responded: false, availableCycles: 0n as Cycles, instructions: 0n }
  state.callContexts.set(ctx.id, ctx)
  const execution = rt.execute({ kind }, { ...extras, time })
  return settle(rt, ctx, execution, BigInt(time))
}

/** Executes the reply or reject callback for a response; runs the cleanup callback if it traps. */
export function executeResponse(rt: CanisterRuntime, callbackId: bigint, response: IncomingResponse, time: TimeNs | bigint, extras: ExecutionExtras = {}): StepResult | undefined {
  const state = rt.state
  const cb = state.callbacks.get(callbackId)
  if (cb === undefined) return undefined
  state.callbacks.delete(callbackId)
  const ctx = state.callContexts.get(cb.callContextId)!
  state.cycles = (state.cycles + response.refund) as Cycles
  const common = {
    ...extras, time, caller: cb.callee, cyclesAvailable: ctx.availableCycles, cyclesRefunded: response.refund as bigint,
    canRespond: !ctx.responded, deadline: cb.deadline, callContextInstructions: ctx.instructions,
  }
  let execution = response.kind === 'reply'
    ? rt.execute({ kind: 'reply_callback', callback: cb.reply }, { ...common, argData: response.bytes })
    : rt.execute({ kind: 'reject_callback', callback: cb.reject }, { ...common, rejectCode: response.rejectCode, rejectMessage: response.message })
  if (execution.error !== undefined && cb.cleanup !== undefined) {
    const cleanup = rt.execute({ kind: 'cleanup', callback: cb.cleanup }, {
      ...common, canRespond: false, rejectCode: response.kind === 'reply' ? 0 : response.rejectCode,
      rejectMessage: response.kind === 'reply' ? '' : response.message,
    })
    execution = { ...execution, logs: [...execution.logs, ...cleanup.logs], instructions: execution.instructions + cleanup.instructions }
  }
  return settle(rt, ctx, execution, BigInt(time))
}

function settle(rt: CanisterRuntime, ctx: CallContext, execution: ExecutionResult, time: bigint): StepResult {
  const state = rt.state
  ctx.instructions += execution.instructions
  let response: StepResult['response']
  const callbacks: bigint[] = []
  if (execution.error === undefined) {
    ctx.availableCycles = (ctx.availableCycles - execution.cyclesAccepted) as Cycles
    for (const call of execution.calls) {
      const cb: Callback = {
        id: state.nextCallbackId++,
        callContextId: ctx.id,
        callee: call.callee,
        reply: call.reply,
        reject: call.reject,
        cleanup: call.cleanup,
        cyclesSent: call.cycles,
        deadline: call.timeoutSeconds === undefined ? 0n : time + BigInt(call.timeoutSeconds) * 1_000_000_000n,
      }
      state.callbacks.set(cb.id, cb)
      callbacks.push(cb.id)
    }
    if (execution.response !== undefined && !ctx.responded) {
      ctx.responded = true
      const refund = ctx.availableCycles
      ctx.availableCycles = 0n as Cycles
      const r = execution.response
      response = {
        origin: ctx.origin,
        value: r.kind === 'reply'
          ? { kind: 'reply', bytes: r.bytes, refund }
          : { kind: 'reject', rejectCode: r.rejectCode, errorCode: r.errorCode, message: r.message, refund },
      }
    }
  }
  const outstanding = [...state.callbacks.values()].some((c) => c.callContextId === ctx.id)
  if (!ctx.responded && !outstanding) {
    ctx.responded = true
    const refund = ctx.availableCycles
    ctx.availableCycles = 0n as Cycles
    response = {
      origin: ctx.origin,
      value: execution.error !== undefined
        ? { kind: 'reject', rejectCode: execution.error.rejectCode, errorCode: execution.error.errorCode, message: execution.error.message, refund }
        : { kind: 'reject', rejectCode: RejectCode.CANISTER_ERROR, errorCode: IcErrorCode.CanisterDidNotReply, message: 'Canister did not reply to the call', refund },
    }
  }
  if (ctx.responded && !outstanding) state.callContexts.delete(ctx.id)
  return { execution, callContextId: ctx.id, callbacks, response }
}
