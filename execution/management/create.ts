// Creating canisters, funding them, and changing their settings.

import type { CanisterId } from '../../protocol/ids.ts'
import { decodeCandid, encodeCandid } from '../../protocol/candid.ts'
import { limits } from '../../protocol/limits.ts'
import { principalToText } from '../../protocol/principal.ts'
import { IcErrorCode } from '../../protocol/reject.ts'
import { defaultSettings } from '../canister-state.ts'
import type { CanisterSettings } from '../canister-state.ts'
import type { IncomingCall } from '../call-context.ts'
import { addCanister, allocateCanisterId, getCanister } from '../replicated-state.ts'
import { canisterOrReject, controlledCanister, ManagementReject, principalBytes, reply, toPrincipal } from './common.ts'
import type { ManagementContext, ManagementOutcome } from './common.ts'
import * as T from './types.ts'
import { recordChange } from './history.ts'
import type { SettingsArg } from './types.ts'
import { canisterCreationFee, formatCycles } from '../cycles.ts'
import { cyclesConfigOf } from '../cycles-round.ts'

/** Cycles a canister gets from provisional_create_canister_with_cycles without an `amount`. */
export const DEFAULT_PROVISIONAL_CYCLES = 100_000_000_000_000n

const MAX_WASM_MEMORY_LIMIT = 1n << 48n

/** Applies the fields present in `s`; absent fields keep their value. Validates before changing anything.
 *  `heapBytes` is the canister's current Wasm heap (a non-zero limit may not be set below it). */
export function applySettings(target: CanisterSettings, s: SettingsArg, heapBytes = 0n): void {
  const memoryLimit = s.wasm_memory_limit[0]
  if (memoryLimit !== undefined && memoryLimit > MAX_WASM_MEMORY_LIMIT) {
    throw new ManagementReject(IcErrorCode.InvalidManagementPayload, `Invalid settings: wasm_memory_limit must be at most 2^48 bytes, got ${memoryLimit}.`)
  }
  if (memoryLimit !== undefined && memoryLimit > 0n && memoryLimit < heapBytes) {
    throw new ManagementReject(IcErrorCode.InvalidManagementPayload, `Invalid settings: wasm_memory_limit ${memoryLimit} bytes is below the canister's current Wasm memory usage of ${heapBytes} bytes.`)
  }
  const controllers = s.controllers[0]
  if (controllers !== undefined && controllers.length > limits.maxControllers) {
    throw new ManagementReject(IcErrorCode.InvalidManagementPayload, `Invalid settings: at most ${limits.maxControllers} controllers are allowed, got ${controllers.length}.`)
  }
  const compute = s.compute_allocation[0]
  if (compute !== undefined && compute > 100n) {
    throw new ManagementReject(IcErrorCode.InvalidManagementPayload, `Invalid settings: compute_allocation must be at most 100, got ${compute}.`)
  }
  if (controllers !== undefined) target.controllers = controllers.map(principalBytes)
  if (compute !== undefined) target.computeAllocation = compute
  if (s.memory_allocation[0] !== undefined) target.memoryAllocation = s.memory_allocation[0]
  if (s.freezing_threshold[0] !== undefined) target.freezingThreshold = s.freezing_threshold[0]
  if (s.reserved_cycles_limit[0] !== undefined) target.reservedCyclesLimit = s.reserved_cycles_limit[0]
  // allowed_viewers lists are not kept: such logs stay visible to controllers only.
  if (s.log_visibility[0] !== undefined) target.logVisibility = 'public' in s.log_visibility[0] ? 'public' : 'controllers'
  if (s.wasm_memory_limit[0] !== undefined) target.wasmMemoryLimit = s.wasm_memory_limit[0]
  if (s.wasm_memory_threshold[0] !== undefined) target.wasmMemoryThreshold = s.wasm_memory_threshold[0]
}

function create(ctx: ManagementContext, call: IncomingCall, settings: [] | [SettingsArg], balance: bigint, specified?: Uint8Array): Uint8Array {
  let id: CanisterId | undefined
  if (specified !== undefined) {
    if (getCanister(ctx.state, specified) !== undefined) {
      throw new ManagementReject(IcErrorCode.CanisterIdAlreadyExists, `Canister ${principalToText(specified)} is already installed.`)
    }
    id = specified as CanisterId
  } else {
    id = allocateCanisterId(ctx.state)
    if (id === undefined) throw new ManagementReject(IcErrorCode.MaxNumberOfCanistersReached, 'The subnet has no canister ids left in its ranges.')
  }
  // Settings are validated before the canister exists, so a bad setting creates nothing.
  const initial = defaultSettings([call.caller])
  if (settings[0] !== undefined) applySettings(initial, settings[0])
  addCanister(ctx.state, id, [], balance).state.settings = initial
  recordChange(ctx, call, id, { kind: 'creation', controllers: initial.controllers })
  return encodeCandid([T.create_canister_result], [{ canister_id: toPrincipal(id) }])
}

/** The IC charges no creation fee here: the provisional API is for local development. */
export function provisionalCreateCanisterWithCycles(ctx: ManagementContext, call: IncomingCall): ManagementOutcome {
  const [a] = decodeCandid([T.provisional_create_canister_with_cycles_args], call.arg) as [{ amount: [] | [bigint]; settings: [] | [SettingsArg]; specified_id: [] | [{ toUint8Array(): Uint8Array }] }]
  const specified = a.specified_id[0]?.toUint8Array()
  return reply(create(ctx, call, a.settings, a.amount[0] ?? DEFAULT_PROVISIONAL_CYCLES, specified), call.cycles)
}

/** Canisters only: the attached cycles, less the creation fee, become the new canister's balance. */
export function createCanister(ctx: ManagementContext, call: IncomingCall): ManagementOutcome {
  const [a] = decodeCandid([T.create_canister_args], call.arg) as [{ settings: [] | [SettingsArg] }]
  const fee = canisterCreationFee(cyclesConfigOf(ctx.state))
  if (call.cycles < fee) {
    throw new ManagementReject(
      IcErrorCode.InsufficientCyclesForCreateCanister,
      `Creating a canister requires a fee of ${formatCycles(fee)} that is deducted from the canister's initial balance but only ${formatCycles(call.cycles)} cycles were received with the create_canister request.`,
    )
  }
  return reply(create(ctx, call, a.settings, call.cycles - fee))
}

export function updateSettings(ctx: ManagementContext, call: IncomingCall): ManagementOutcome {
  const [a] = decodeCandid([T.update_settings_args], call.arg) as [{ canister_id: { toUint8Array(): Uint8Array }; settings: SettingsArg }]
  const rt = controlledCanister(ctx, call, a.canister_id.toUint8Array())
  const next = structuredClone(rt.state.settings)
  applySettings(next, a.settings, BigInt(rt.state.heapWasmPages) * 65536n)
  rt.state.settings = next
  rt.state.version++
  if (a.settings.controllers[0] !== undefined) recordChange(ctx, call, rt.state.id, { kind: 'controllers_change', controllers: next.controllers })
  return reply(encodeCandid([], []), call.cycles)
}

export function provisionalTopUpCanister(ctx: ManagementContext, call: IncomingCall): ManagementOutcome {
  const [a] = decodeCandid([T.provisional_top_up_canister_args], call.arg) as [{ canister_id: { toUint8Array(): Uint8Array }; amount: bigint }]
  const rt = canisterOrReject(ctx, a.canister_id.toUint8Array())
  rt.state.cycles = (rt.state.cycles + a.amount) as typeof rt.state.cycles
  return reply(encodeCandid([], []), call.cycles)
}

/** Canisters only: all attached cycles go to the target. */
export function depositCycles(ctx: ManagementContext, call: IncomingCall): ManagementOutcome {
  const [a] = decodeCandid([T.deposit_cycles_args], call.arg) as [{ canister_id: { toUint8Array(): Uint8Array } }]
  const rt = canisterOrReject(ctx, a.canister_id.toUint8Array())
  rt.state.cycles = (rt.state.cycles + call.cycles) as typeof rt.state.cycles
  return reply(encodeCandid([], []))
}
