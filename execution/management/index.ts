// The management canister `aaaaa-aa`: dispatch by method name, the rules on who may call what
// (canister-only methods refuse ingress), and raw_rand. Each method decodes its Candid argument with
// the ic.did types; a malformed argument is rejected, never thrown.

import { decodeCandid, encodeCandid } from '../../protocol/candid.ts'
import { isCapsaError } from '../../protocol/errors.ts'
import { sha256 } from '../../protocol/hash.ts'
import { IcErrorCode } from '../../protocol/reject.ts'
import type { IncomingCall } from '../call-context.ts'
import { ManagementReject, rejectWith, reply } from './common.ts'
import type { ManagementContext, ManagementOutcome } from './common.ts'
import { createCanister, depositCycles, provisionalCreateCanisterWithCycles, provisionalTopUpCanister, updateSettings } from './create.ts'
import { deleteCanister, installCode, startCanister, stopCanister, uninstallCode } from './lifecycle.ts'
import { canisterStatus, fetchCanisterLogs } from './status.ts'
import type { ReplicatedState } from '../replicated-state.ts'
import type { Cycles } from '../../protocol/ids.ts'
import { canisterInfo } from './history.ts'
import { clearChunkStore, installChunkedCode, storedChunks, uploadChunk } from './chunks.ts'
import * as T from './types.ts'

export type { ManagementContext, ManagementOutcome } from './common.ts'
export { canisterStatusRecord } from './status.ts'
export { fetchCanisterLogs }
export { DEFAULT_PROVISIONAL_CYCLES } from './create.ts'
export * as ManagementTypes from './types.ts'

const RAW_RAND_DOMAIN = new TextEncoder().encode('capsa-raw-rand')

/** 32 bytes derived from the batch randomness and a per-subnet draw counter. */
function rawRand(ctx: ManagementContext, call: IncomingCall): ManagementOutcome {
  const counter = new Uint8Array(8)
  new DataView(counter.buffer).setBigUint64(0, ctx.state.randomnessCounter++)
  return reply(encodeCandid([T.raw_rand_result], [sha256(RAW_RAND_DOMAIN, ctx.randomness, counter)]), call.cycles)
}

type Method = (ctx: ManagementContext, call: IncomingCall) => ManagementOutcome

const METHODS: Record<string, Method> = {
  provisional_create_canister_with_cycles: provisionalCreateCanisterWithCycles,
  provisional_top_up_canister: provisionalTopUpCanister,
  create_canister: createCanister,
  install_code: installCode,
  uninstall_code: uninstallCode,
  update_settings: updateSettings,
  canister_status: canisterStatus,
  stop_canister: stopCanister,
  start_canister: startCanister,
  delete_canister: deleteCanister,
  deposit_cycles: depositCycles,
  raw_rand: rawRand,
  upload_chunk: uploadChunk,
  clear_chunk_store: clearChunkStore,
  stored_chunks: storedChunks,
  install_chunked_code: installChunkedCode,
  canister_info: canisterInfo,
}

/** Methods the spec says only canisters may call (never accepted as ingress). */
const CANISTERS_ONLY = new Set(['raw_rand', 'deposit_cycles', 'create_canister', 'canister_info'])
/** Replicated-mode calls to these are refused: they are queries. */
const QUERY_ONLY = new Set(['fetch_canister_logs'])

export function executeManagement(ctx: ManagementContext, call: IncomingCall): ManagementOutcome {
  const refund = call.cycles
  if (call.origin.kind === 'ingress' && CANISTERS_ONLY.has(call.method)) {
    return rejectWith(IcErrorCode.CanisterRejectedMessage, `Only canisters can call ic00 method ${call.method}`, refund)
  }
  if (QUERY_ONLY.has(call.method)) {
    return rejectWith(IcErrorCode.CanisterContractViolation, `${call.method} API is only accessible in non-replicated mode`, refund)
  }
  try {
    const method = Object.hasOwn(METHODS, call.method) ? METHODS[call.method] : undefined
    if (method === undefined) {
      return rejectWith(IcErrorCode.CanisterMethodNotFound, `Management canister has no method '${call.method}'`, refund)
    }
    return method(ctx, call)
  } catch (e) {
    if (e instanceof ManagementReject) return rejectWith(e.errorCode, e.message, refund)
    if (isCapsaError(e, 'CANDID_MALFORMED')) {
      return rejectWith(IcErrorCode.InvalidManagementPayload, `Error decoding candid: ${e.message}`, refund)
    }
    throw e
  }
}

/** The effective canister id of an ingress call to the management canister (ic-compat §13): the
 *  target named in the argument, or the management canister itself when there is none. */
export function effectiveCanisterId(method: string, arg: Uint8Array): Uint8Array {
  const field = method === 'install_chunked_code' ? 'target_canister' : 'canister_id'
  try {
    const [a] = decodeCandid([T.IDL.Record({ [field]: T.IDL.Principal })], arg) as [Record<string, { toUint8Array(): Uint8Array }>]
    return a[field].toUint8Array()
  } catch {
    return new Uint8Array(0)
  }
}

/** The management canister's query methods (canister_status, fetch_canister_logs), run by the HTTP
 *  layer against a state it does not change. */
export function queryManagement(state: ReplicatedState, caller: Uint8Array, method: string, arg: Uint8Array): ManagementOutcome {
  if (method === 'fetch_canister_logs') return fetchCanisterLogs(state, caller, arg)
  if (method !== 'canister_status') return rejectWith(IcErrorCode.CanisterMethodNotFound, `Management canister has no query method '${method}'`)
  const ctx: ManagementContext = { state, time: state.time, randomness: new Uint8Array(0), instructions: 0n, logs: [], respond: () => {} }
  const call: IncomingCall = { origin: { kind: 'system' }, caller, method, arg, cycles: 0n as Cycles, deadline: 0n }
  try {
    return canisterStatus(ctx, call)
  } catch (e) {
    if (e instanceof ManagementReject) return rejectWith(e.errorCode, e.message)
    if (isCapsaError(e, 'CANDID_MALFORMED')) return rejectWith(IcErrorCode.InvalidManagementPayload, `Error decoding candid: ${e.message}`)
    throw e
  }
}
