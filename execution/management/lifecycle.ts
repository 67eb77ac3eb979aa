// Code installation and the running → stopping → stopped → deleted lifecycle.

import { decodeCandid, encodeCandid } from '../../protocol/candid.ts'
import { isCapsaError } from '../../protocol/errors.ts'
import { principalToText } from '../../protocol/principal.ts'
import { IcErrorCode, RejectCode } from '../../protocol/reject.ts'
import type { IncomingCall } from '../call-context.ts'
import type { CanisterRuntime, ExecutionResult, MessageInput } from '../execute.ts'
import { errorFromCanister } from '../trap.ts'
import { canisterKey, removeCanister } from '../replicated-state.ts'
import type { ReplicatedState } from '../replicated-state.ts'
import { controlledCanister, ManagementReject, reply, rejectWith } from './common.ts'
import type { ManagementContext, ManagementOutcome } from './common.ts'
import * as T from './types.ts'
import { recordChange } from './history.ts'
import { prepayExecution, refundExecution, cyclesConfigOf } from '../cycles-round.ts'
import type { Prepaid } from '../cycles-round.ts'

type Principalish = { toUint8Array(): Uint8Array }
export type InstallMode =
  | { install: null }
  | { reinstall: null }
  | { upgrade: [] | [{ skip_pre_upgrade: [] | [boolean]; wasm_memory_persistence: [] | [{ keep: null } | { replace: null }] }] }

interface InstallArgs {
  mode: InstallMode
  canister_id: Principalish
  wasm_module: Uint8Array
  arg: Uint8Array
}

/** install_code: atomic in every mode (the runtime restores the old canister on any failure). */
export function installCode(ctx: ManagementContext, call: IncomingCall): ManagementOutcome {
  const [a] = decodeCandid([T.install_code_args], call.arg) as [InstallArgs]
  const rt = controlledCanister(ctx, call, a.canister_id.toUint8Array())
  return installModule(ctx, call, rt, a.mode, a.wasm_module, a.arg)
}

/** Installs `wasm` on a canister the caller controls (install_code and install_chunked_code). */
export function installModule(ctx: ManagementContext, call: IncomingCall, rt: CanisterRuntime, mode: InstallMode, wasm: Uint8Array, arg: Uint8Array): ManagementOutcome {
  const id = rt.state.id
  const text = principalToText(id)
  if ('install' in mode && rt.hasModule) {
    return rejectWith(IcErrorCode.CanisterAlreadyInstalled, `Canister ${text} cannot be installed because the canister is not empty. Try installing with mode='reinstall' instead.`, call.cycles)
  }
  // The canister prepays the install's instruction limit above its freezing limit; the rest comes back.
  const prepaid = prepayExecution(ctx.state, rt, call.caller, cyclesConfigOf(ctx.state).maxInstructionsPerInstall)
  if (typeof prepaid === 'string') return rejectWith(IcErrorCode.CanisterOutOfCycles, `Canister installation failed with \`${prepaid}\`.`, call.cycles)
  const input = { ...prepaid.extras, instructionLimit: undefined, time: ctx.time, caller: call.caller, argData: new Uint8Array(arg) }
  const result = runInstall(rt, mode, wasm, input, prepaid, ctx.state)
  if (typeof result === 'string') return rejectWith(IcErrorCode.CanisterInvalidWasm, errorFromCanister(text, `Canister's Wasm module is not valid: ${result}`), call.cycles)
  // Install-time entry points cannot make calls; anything queued belongs to no call context.
  rt.state.outputQueue.length = 0
  ctx.instructions += result.instructions
  for (const record of result.logs) ctx.logs.push({ canisterId: id, record })
  if (result.error !== undefined) {
    return rejectWith(result.error.errorCode, errorFromCanister(text, result.error.message), call.cycles)
  }
  const deployed = 'install' in mode ? 'install' : 'reinstall' in mode ? 'reinstall' : 'upgrade'
  recordChange(ctx, call, id, { kind: 'code_deployment', mode: deployed, moduleHash: rt.state.module!.hash })
  return reply(encodeCandid([], []), call.cycles)
}

/** Runs the mode's entry points and refunds the unused prepayment; an invalid module's reason as text. */
function runInstall(rt: CanisterRuntime, mode: InstallMode, wasm: Uint8Array, input: MessageInput, prepaid: Prepaid, state: ReplicatedState): ExecutionResult | string {
  let result: ExecutionResult
  try {
    if ('install' in mode) {
      result = rt.install(wasm, input)
    } else if ('reinstall' in mode) {
      result = rt.reinstall(wasm, input)
    } else {
      const opts = mode.upgrade[0]
      const persistence = opts?.wasm_memory_persistence[0]
      result = rt.upgrade(wasm, input, {
        skipPreUpgrade: opts?.skip_pre_upgrade[0] ?? false,
        wasmMemoryPersistence: persistence === undefined ? undefined : 'keep' in persistence ? 'keep' : 'replace',
      })
    }
  } catch (e) {
    if (!isCapsaError(e)) throw e
    refundExecution(state, rt, prepaid, 0n)
    return e.message
  }
  refundExecution(state, rt, prepaid, result.instructions)
  return result
}

/** uninstall_code: the code and memories go; every open call context is rejected, since no
 *  callback can run any more, and the canister forgets its callbacks. */
export function uninstallCode(ctx: ManagementContext, call: IncomingCall): ManagementOutcome {
  const [a] = decodeCandid([T.uninstall_code_args], call.arg) as [{ canister_id: Principalish }]
  const rt = controlledCanister(ctx, call, a.canister_id.toUint8Array())
  rt.uninstall()
  const s = rt.state
  for (const id of [...s.callContexts.keys()].sort((x, y) => (x < y ? -1 : x > y ? 1 : 0))) {
    const c = s.callContexts.get(id)!
    if (!c.responded) ctx.respond(c.origin, { kind: 'reject', rejectCode: RejectCode.CANISTER_REJECT, errorCode: IcErrorCode.CanisterRejectedMessage, message: 'Canister has been uninstalled.', refund: c.availableCycles })
  }
  s.callContexts.clear()
  s.callbacks.clear()
  recordChange(ctx, call, s.id, { kind: 'code_uninstall' })
  return reply(encodeCandid([], []), call.cycles)
}

export function startCanister(ctx: ManagementContext, call: IncomingCall): ManagementOutcome {
  const [a] = decodeCandid([T.start_canister_args], call.arg) as [{ canister_id: Principalish }]
  const rt = controlledCanister(ctx, call, a.canister_id.toUint8Array())
  const key = canisterKey(rt.state.id)
  for (const stop of ctx.state.pendingStops.get(key) ?? []) {
    ctx.respond(stop.origin, { kind: 'reject', rejectCode: RejectCode.CANISTER_ERROR, errorCode: IcErrorCode.CanisterStoppingCancelled, message: 'Canister start request cancelled the stop request', refund: stop.cycles })
  }
  ctx.state.pendingStops.delete(key)
  rt.state.status = 'running'
  return reply(encodeCandid([], []), call.cycles)
}

/** Answered at once when the canister is already stopped; otherwise when it reaches `stopped`. */
export function stopCanister(ctx: ManagementContext, call: IncomingCall): ManagementOutcome {
  const [a] = decodeCandid([T.stop_canister_args], call.arg) as [{ canister_id: Principalish }]
  const rt = controlledCanister(ctx, call, a.canister_id.toUint8Array())
  if (rt.state.status === 'stopped') return reply(encodeCandid([], []), call.cycles)
  rt.state.status = 'stopping'
  const key = canisterKey(rt.state.id)
  const list = ctx.state.pendingStops.get(key) ?? []
  list.push({ origin: call.origin, cycles: call.cycles })
  ctx.state.pendingStops.set(key, list)
  return { kind: 'deferred' }
}

export function deleteCanister(ctx: ManagementContext, call: IncomingCall): ManagementOutcome {
  const [a] = decodeCandid([T.delete_canister_args], call.arg) as [{ canister_id: Principalish }]
  const id = a.canister_id.toUint8Array()
  const rt = controlledCanister(ctx, call, id)
  if (rt.state.status !== 'stopped') {
    throw new ManagementReject(IcErrorCode.CanisterNotStopped, `Canister ${principalToText(id)} must be stopped before it is deleted.`)
  }
  const text = principalToText(id)
  for (const msg of ctx.state.inputQueues.get(canisterKey(id)) ?? []) {
    if (msg.kind === 'call') ctx.respond(msg.call.origin, { kind: 'reject', rejectCode: RejectCode.DESTINATION_INVALID, errorCode: IcErrorCode.CanisterNotFound, message: `Canister ${text} not found`, refund: msg.call.cycles })
  }
  removeCanister(ctx.state, id)
  return reply(encodeCandid([], []), call.cycles)
}
