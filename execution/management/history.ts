// Canister history (the changes canister_info reports): creation, code deployments and
// uninstalls, controller changes. The newest MAX_CHANGES are kept; the total keeps counting.

import { decodeCandid, encodeCandid } from '../../protocol/candid.ts'
import type { IncomingCall } from '../call-context.ts'
import { canisterKey } from '../replicated-state.ts'
import type { CanisterChange, ChangeDetails } from '../replicated-state.ts'
import { canisterOrReject, reply, toPrincipal } from './common.ts'
import type { ManagementContext, ManagementOutcome } from './common.ts'
import * as T from './types.ts'

/** The spec guarantees at least 20 changes remain. */
export const MAX_CHANGES = 20

export function recordChange(ctx: ManagementContext, call: IncomingCall, id: Uint8Array, details: ChangeDetails): void {
  const rt = canisterOrReject(ctx, id)
  const key = canisterKey(id)
  let h = ctx.state.histories.get(key)
  if (h === undefined) ctx.state.histories.set(key, (h = { total: 0n, changes: [] }))
  const change: CanisterChange = {
    timestampNanos: ctx.time,
    canisterVersion: rt.state.version,
    origin: { kind: call.origin.kind === 'canister' ? 'canister' : 'user', id: call.caller.slice() },
    details,
  }
  h.total++
  h.changes.push(change)
  if (h.changes.length > MAX_CHANGES) h.changes.splice(0, h.changes.length - MAX_CHANGES)
}

function changeValue(c: CanisterChange): unknown {
  const d = c.details
  let details: unknown
  if (d.kind === 'creation') details = { creation: { controllers: d.controllers.map(toPrincipal), environment_variables_hash: [] } }
  else if (d.kind === 'code_uninstall') details = { code_uninstall: null }
  else if (d.kind === 'code_deployment') details = { code_deployment: { mode: { [d.mode]: null }, module_hash: d.moduleHash } }
  else details = { controllers_change: { controllers: d.controllers.map(toPrincipal) } }
  return {
    timestamp_nanos: c.timestampNanos,
    canister_version: c.canisterVersion,
    origin: c.origin.kind === 'user' ? { from_user: { user_id: toPrincipal(c.origin.id) } } : { from_canister: { canister_id: toPrincipal(c.origin.id), canister_version: [] } },
    details,
  }
}

/** canister_info (canisters only): any canister may ask about any canister. */
export function canisterInfo(ctx: ManagementContext, call: IncomingCall): ManagementOutcome {
  const [a] = decodeCandid([T.canister_info_args], call.arg) as [{ canister_id: { toUint8Array(): Uint8Array }; num_requested_changes: [] | [bigint] }]
  const rt = canisterOrReject(ctx, a.canister_id.toUint8Array())
  const h = ctx.state.histories.get(canisterKey(rt.state.id)) ?? { total: 0n, changes: [] }
  const n = Number(a.num_requested_changes[0] ?? 0n)
  const recent = n === 0 ? [] : h.changes.slice(-Math.min(n, h.changes.length))
  return reply(encodeCandid([T.canister_info_result], [{
    total_num_changes: h.total,
    recent_changes: recent.map(changeValue),
    module_hash: rt.state.module === undefined ? [] : [rt.state.module.hash],
    controllers: rt.state.settings.controllers.map(toPrincipal),
  }]), call.cycles)
}
