// What every management method shares: the context it runs in, the outcome it returns, and the
// checks (canister exists, caller controls it) whose reject texts follow the IC replica's.

import { Principal } from '@dfinity/principal'
import type { TimeNs } from '../../protocol/ids.ts'
import { principalToText } from '../../protocol/principal.ts'
import { bytesEqual } from '../../protocol/hash.ts'
import { IcErrorCode, RejectCode, rejectCodeOfErrorCode } from '../../protocol/reject.ts'
import type { CallOrigin, LogRecord } from '../canister-state.ts'
import type { ContextResponse, IncomingCall } from '../call-context.ts'
import type { CanisterRuntime } from '../execute.ts'
import { getCanister } from '../replicated-state.ts'
import type { ReplicatedState } from '../replicated-state.ts'

export interface ManagementContext {
  state: ReplicatedState
  time: TimeNs
  /** The batch's randomness, the seed of raw_rand. */
  randomness: Uint8Array
  /** Instructions and debug output of code run on behalf of the call (install_code). */
  instructions: bigint
  logs: { canisterId: Uint8Array; record: LogRecord }[]
  /** Answers a call other than the one being executed (cancelled stops, contexts of an uninstalled
   *  canister, calls queued at a deleted canister). */
  respond: (origin: CallOrigin, value: ContextResponse) => void
}

export type ManagementOutcome =
  | { kind: 'reply'; bytes: Uint8Array; refund: bigint }
  | { kind: 'reject'; rejectCode: RejectCode; errorCode: IcErrorCode; message: string; refund: bigint }
  /** Answered later (stop_canister waits for the canister to stop). */
  | { kind: 'deferred' }

export function reply(bytes: Uint8Array, refund = 0n): ManagementOutcome {
  return { kind: 'reply', bytes, refund }
}

export function rejectWith(errorCode: IcErrorCode, message: string, refund = 0n): ManagementOutcome {
  return { kind: 'reject', rejectCode: rejectCodeOfErrorCode(errorCode) ?? RejectCode.CANISTER_ERROR, errorCode, message, refund }
}

/** Raised inside a method to end it with a reject; the dispatcher turns it into an outcome. */
export class ManagementReject extends Error {
  readonly errorCode: IcErrorCode
  constructor(errorCode: IcErrorCode, message: string) {
    super(message)
    this.errorCode = errorCode
  }
}

export const principalBytes = (p: { toUint8Array(): Uint8Array }): Uint8Array => p.toUint8Array()
export const toPrincipal = (b: Uint8Array): Principal => Principal.fromUint8Array(b)

export function canisterOrReject(ctx: ManagementContext, id: Uint8Array): CanisterRuntime {
  const rt = getCanister(ctx.state, id)
  if (rt === undefined) throw new ManagementReject(IcErrorCode.CanisterNotFound, `Canister ${principalToText(id)} not found`)
  return rt
}

export function isController(rt: CanisterRuntime, caller: Uint8Array): boolean {
  return rt.state.settings.controllers.some((c) => bytesEqual(c, caller))
}

/** The canister, if `call.caller` controls it; IC0512 otherwise. */
export function controlledCanister(ctx: ManagementContext, call: IncomingCall, id: Uint8Array): CanisterRuntime {
  const rt = canisterOrReject(ctx, id)
  if (!isController(rt, call.caller)) {
    const controllers = rt.state.settings.controllers.map(principalToText).join(' ')
    throw new ManagementReject(
      IcErrorCode.CanisterInvalidController,
      `Only the controllers of the canister ${principalToText(id)} can control it.\nCanister's controllers: ${controllers}\nSender's ID: ${principalToText(call.caller)}`,
    )
  }
  return rt
}
