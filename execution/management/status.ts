// canister_status (the full canister_status_result of ic.did) and fetch_canister_logs.

import { decodeCandid, encodeCandid } from '../../protocol/candid.ts'
import { limits } from '../../protocol/limits.ts'
import { IcErrorCode } from '../../protocol/reject.ts'
import type { CanisterState } from '../canister-state.ts'
import type { IncomingCall } from '../call-context.ts'
import type { ReplicatedState } from '../replicated-state.ts'
import { canisterOrReject, controlledCanister, isController, ManagementReject, reply, rejectWith, toPrincipal } from './common.ts'
import type { ManagementContext, ManagementOutcome } from './common.ts'
import * as T from './types.ts'
import { chunkStoreSize } from './chunks.ts'
import { canisterMemoryUsage, idleCyclesBurnedPerDay } from '../cycles.ts'
import { cyclesConfigOf } from '../cycles-round.ts'

type Principalish = { toUint8Array(): Uint8Array }
const visibility = (v: 'controllers' | 'public') => (v === 'public' ? { public: null } : { controllers: null })

/** `idleCyclesPerDay`: what the canister burns idle (cycles.ts idleCyclesBurnedPerDay). */
export function canisterStatusRecord(s: CanisterState, chunkStoreBytes = 0n, idleCyclesPerDay = 0n): unknown {
  const wasmMemory = BigInt(s.heapWasmPages) * BigInt(limits.wasmPageBytes)
  const stableMemory = s.stableWasmPages * BigInt(limits.wasmPageBytes)
  const globals = BigInt(s.globals.length * 8)
  const binary = BigInt(s.module?.bytes.length ?? 0)
  const st = s.settings
  return {
    status: { [s.status]: null },
    ready_for_migration: false,
    version: s.version,
    settings: {
      controllers: st.controllers.map(toPrincipal),
      compute_allocation: st.computeAllocation,
      memory_allocation: st.memoryAllocation,
      freezing_threshold: st.freezingThreshold,
      reserved_cycles_limit: st.reservedCyclesLimit,
      minimum_incoming_canister_call_cycles: 0n,
      log_visibility: visibility(st.logVisibility),
      snapshot_visibility: { controllers: null },
      status_visibility: { controllers: null },
      wasm_memory_limit: st.wasmMemoryLimit,
      wasm_memory_threshold: st.wasmMemoryThreshold,
      environment_variables: [],
    },
    module_hash: s.module === undefined ? [] : [s.module.hash],
    memory_size: wasmMemory + stableMemory + globals + binary + chunkStoreBytes,
    memory_metrics: {
      wasm_memory_size: wasmMemory,
      stable_memory_size: stableMemory,
      global_memory_size: globals,
      wasm_binary_size: binary,
      custom_sections_size: 0n,
      canister_history_size: 0n,
      wasm_chunk_store_size: chunkStoreBytes,
      snapshots_size: 0n,
    },
    cycles: s.cycles,
    reserved_cycles: 0n,
    idle_cycles_burned_per_day: idleCyclesPerDay,
    query_stats: { num_calls_total: 0n, num_instructions_total: 0n, request_payload_bytes_total: 0n, response_payload_bytes_total: 0n },
  }
}

export function canisterStatus(ctx: ManagementContext, call: IncomingCall): ManagementOutcome {
  const [a] = decodeCandid([T.canister_status_args], call.arg) as [{ canister_id: Principalish }]
  const rt = controlledCanister(ctx, call, a.canister_id.toUint8Array())
  const chunks = chunkStoreSize(ctx, rt.state.id)
  const idle = idleCyclesBurnedPerDay(cyclesConfigOf(ctx.state), rt.state, canisterMemoryUsage(rt.state, chunks))
  return reply(encodeCandid([T.canister_status_result], [canisterStatusRecord(rt.state, chunks, idle)]), call.cycles)
}

/** fetch_canister_logs, a query (the HTTP layer runs it against the certified state): the log is
 *  visible to controllers, or to anyone when log_visibility is public. */
export function fetchCanisterLogs(state: ReplicatedState, caller: Uint8Array, arg: Uint8Array): ManagementOutcome {
  try {
    const [a] = decodeCandid([T.fetch_canister_logs_args], arg) as [{ canister_id: Principalish }]
    const rt = canisterOrReject({ state } as ManagementContext, a.canister_id.toUint8Array())
    if (rt.state.settings.logVisibility !== 'public' && !isController(rt, caller)) {
      throw new ManagementReject(IcErrorCode.CanisterRejectedMessage, 'Caller is not allowed to query the canister logs.')
    }
    const records = rt.state.log.records.map((r) => ({ idx: r.idx, timestamp_nanos: r.timestampNanos, content: r.content }))
    return reply(encodeCandid([T.fetch_canister_logs_result], [{ canister_log_records: records }]))
  } catch (e) {
    if (e instanceof ManagementReject) return rejectWith(e.errorCode, e.message)
    return rejectWith(IcErrorCode.InvalidManagementPayload, (e as Error).message)
  }
}
