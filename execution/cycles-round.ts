// Cycles as the round moves them: the ingress induction fee, execution prepaid for the instruction
// limit and the unused part refunded, the response reservations settled, and storage charged for the
// batch time that passed since the previous round. The cost table is the subnet's (RuntimeOptions.cycles).

import type { Cycles } from '../protocol/ids.ts'
import { bytesEqual } from '../protocol/hash.ts'
import { limits } from '../protocol/limits.ts'
import { IcErrorCode, RejectCode } from '../protocol/reject.ts'
import type { CallOrigin } from './canister-state.ts'
import type { ContextResponse, ExecutionExtras, IncomingResponse } from './call-context.ts'
import {
  canisterMemoryUsage, DEFAULT_CYCLES_CONFIG, executionCost, freezingLimit, ingressInductionCost, resourceCost,
  responseExecutionPrepayment, responseTransmissionRefund, unusedExecutionRefund, withdrawAbove,
} from './cycles.ts'
import type { CyclesConfig } from './cycles.ts'
import type { CanisterRuntime } from './execute.ts'
import { canisterKey, getCanister, sortedCanisterKeys } from './replicated-state.ts'
import type { ReplicatedState } from './replicated-state.ts'

export function cyclesConfigOf(state: ReplicatedState): CyclesConfig {
  return state.runtimeOptions.cycles ?? DEFAULT_CYCLES_CONFIG
}

/** Bytes the canister pays storage for: memories, module, globals and its chunk store. */
export function memoryUsageOf(state: ReplicatedState, rt: CanisterRuntime): bigint {
  let chunks = 0
  for (const c of state.chunkStores.get(canisterKey(rt.state.id))?.values() ?? []) chunks += c.length
  return canisterMemoryUsage(rt.state, BigInt(chunks))
}

export function freezingLimitOf(state: ReplicatedState, rt: CanisterRuntime): bigint {
  return freezingLimit(cyclesConfigOf(state), rt.state, memoryUsageOf(state, rt))
}

/** The spec's "frozen": the balance is below the freezing limit. */
export function isFrozen(state: ReplicatedState, rt: CanisterRuntime): boolean {
  return rt.state.cycles < freezingLimitOf(state, rt)
}

export function isControllerOf(rt: CanisterRuntime, principal: Uint8Array): boolean {
  return rt.state.settings.controllers.some((c) => bytesEqual(c, principal))
}

const wasm64Of = (rt: CanisterRuntime): boolean => rt.state.module?.memory64 ?? false

/** An execution prepaid for its instruction limit. */
export interface Prepaid {
  extras: ExecutionExtras
  limit: bigint
  cycles: bigint
}

/** Withdraws the cost of `limit` instructions above the freezing limit before a call or task runs;
 *  the IC's out-of-cycles text when the canister cannot pay (then nothing changed). */
export function prepayExecution(state: ReplicatedState, rt: CanisterRuntime, caller: Uint8Array | undefined, limit: bigint): Prepaid | string {
  const config = cyclesConfigOf(state)
  const threshold = freezingLimitOf(state, rt)
  const cost = executionCost(config, limit, wasm64Of(rt))
  const error = withdrawAbove(rt.state, cost, threshold, caller !== undefined && isControllerOf(rt, caller))
  if (error !== undefined) return error
  return { extras: { cycles: config, freezingLimit: threshold, instructionLimit: limit }, limit, cycles: cost }
}

/** Gives back what the instructions that did not run were prepaid. */
export function refundExecution(state: ReplicatedState, rt: CanisterRuntime, prepaid: Prepaid, used: bigint): void {
  const refund = unusedExecutionRefund(cyclesConfigOf(state), prepaid.limit, used, wasm64Of(rt), prepaid.cycles)
  rt.state.cycles = (rt.state.cycles + refund) as Cycles
}

/** Instruction limit of a call: a query method called in replicated mode keeps the query limit. */
export function callInstructionLimit(state: ReplicatedState, asQuery: boolean): bigint {
  const max = cyclesConfigOf(state).maxInstructionsPerMessage
  return asQuery && limits.maxInstructionsPerQuery < max ? limits.maxInstructionsPerQuery : max
}

/** Before a response callback runs: returns the unused response-transmission reservation, and the
 *  execution the call already prepaid (no freezing limit applies: the canister committed to it). */
export function settleResponse(state: ReplicatedState, rt: CanisterRuntime, response: IncomingResponse): Prepaid {
  const config = cyclesConfigOf(state)
  const bytes = response.kind === 'reply' ? response.bytes.length : new TextEncoder().encode(response.message).length
  rt.state.cycles = (rt.state.cycles + responseTransmissionRefund(config, bytes)) as Cycles
  const limit = config.maxInstructionsPerMessage
  return {
    extras: { cycles: config, freezingLimit: freezingLimitOf(state, rt), instructionLimit: limit },
    limit,
    cycles: responseExecutionPrepayment(config, wasm64Of(rt)),
  }
}

/** Who pays the induction of an ingress call to the management canister: the canister it is about,
 *  except for the provisional methods (free, so an empty canister can always be topped up) and a
 *  small update_settings (the IC delays its fee so a canister frozen by a too-high threshold can be
 *  unfrozen; Capsa waives it). */
export function managementIngressPayer(method: string, arg: Uint8Array, effective: Uint8Array): Uint8Array | undefined {
  if (method === 'provisional_create_canister_with_cycles' || method === 'provisional_top_up_canister') return undefined
  if (method === 'update_settings' && arg.length <= 366) return undefined
  return effective.length === 0 ? undefined : effective
}

/** Charges the ingress induction fee to `payer`; the IC's error text if it cannot pay above its
 *  freezing limit. A payer that does not exist here pays nothing (the call is rejected later). */
export function chargeIngress(state: ReplicatedState, payer: Uint8Array, bytes: number, sender: Uint8Array): string | undefined {
  const rt = getCanister(state, payer)
  if (rt === undefined) return undefined
  const cost = ingressInductionCost(cyclesConfigOf(state), bytes)
  return withdrawAbove(rt.state, cost, freezingLimitOf(state, rt), isControllerOf(rt, sender))
}

export type Respond = (origin: CallOrigin, value: ContextResponse) => void

/** Storage and compute allocation for the `ns` of batch time since the previous round, canister by
 *  canister in id order. A canister that cannot pay loses its remaining cycles and, as on the IC, its
 *  code. Returns the ids of the canisters uninstalled. */
export function chargeResources(state: ReplicatedState, ns: bigint, respond: Respond): Uint8Array[] {
  const uninstalled: Uint8Array[] = []
  if (ns <= 0n) return uninstalled
  const config = cyclesConfigOf(state)
  for (const key of sortedCanisterKeys(state)) {
    const rt = state.canisters.get(key)!
    const cost = resourceCost(config, rt.state, memoryUsageOf(state, rt), ns)
    if (cost === 0n) continue
    if (cost <= rt.state.cycles) {
      rt.state.cycles = (rt.state.cycles - cost) as Cycles
      continue
    }
    rt.state.cycles = 0n as Cycles
    if (rt.hasModule) {
      uninstallOutOfCycles(state, rt, respond)
      uninstalled.push(rt.state.id)
    }
  }
  return uninstalled
}

/** The spec's "Canister out of cycles": code and memories go, open calls are rejected, the history
 *  keeps only its count, the log empties. Settings and the chunk store stay. */
function uninstallOutOfCycles(state: ReplicatedState, rt: CanisterRuntime, respond: Respond): void {
  rt.uninstall()
  const s = rt.state
  for (const id of [...s.callContexts.keys()].sort((x, y) => (x < y ? -1 : x > y ? 1 : 0))) {
    const c = s.callContexts.get(id)!
    if (!c.responded) respond(c.origin, { kind: 'reject', rejectCode: RejectCode.CANISTER_REJECT, errorCode: IcErrorCode.CanisterRejectedMessage, message: 'Canister has been uninstalled.', refund: c.availableCycles })
  }
  s.callContexts.clear()
  s.callbacks.clear()
  s.log = { nextIdx: s.log.nextIdx, records: [], bytes: 0 }
  const history = state.histories.get(canisterKey(s.id))
  if (history !== undefined) history.changes = []
}
