// The inputs of one entry-point invocation (MessageEnv) and the effects it accumulates (Effects).
// Effects are applied to the canister state only when the invocation returns without trapping;
// logs are the exception (the IC keeps a trapped message's debug output).

import type { IcErrorCode, RejectCode } from '../protocol/reject.ts'
import type { CallbackRef, OutgoingCall } from './canister-state.ts'
import type { CyclesConfig } from './cycles.ts'
import type { ApiContext } from './system-api-table.ts'

export interface MessageEnv {
  context: ApiContext
  caller: Uint8Array
  /** Argument of the call, or the reply payload in a reply callback. */
  argData: Uint8Array
  /** Method name (canister_inspect_message only). */
  methodName: string
  /** Batch time, constant for the whole invocation. */
  time: bigint
  replicated: boolean
  /** 0 in reply callbacks and their cleanups. */
  rejectCode: number
  rejectMessage: string
  /** Cycles attached to the call context, still available to accept. */
  cyclesAvailable: bigint
  cyclesRefunded: bigint
  deadline: bigint
  /** Whether the call context may still be responded to from this invocation. */
  canRespond: boolean
  /** Certificate of the certified data (non-replicated queries on the target canister only). */
  dataCertificate: Uint8Array | undefined
  subnetId: Uint8Array
  rootKey: Uint8Array
  /** Instructions spent in the call context before this invocation (performance_counter 1). */
  callContextInstructions: bigint
  /** The subnet's cost table; undefined: calls cost nothing (direct runtime use in tests, queries). */
  cycles: CyclesConfig | undefined
  /** Cycles the canister must keep (its freezing limit): calls, transfers and burns stop above it. */
  freezingLimit: bigint
}

export function messageEnv(context: ApiContext, overrides: Partial<MessageEnv> = {}): MessageEnv {
  return {
    context,
    caller: new Uint8Array(0),
    argData: new Uint8Array(0),
    methodName: '',
    time: 0n,
    replicated: context !== 'NRQ' && context !== 'CQ' && context !== 'F' && context !== 'CRy' && context !== 'CRt' && context !== 'CC',
    rejectCode: 0,
    rejectMessage: '',
    cyclesAvailable: 0n,
    cyclesRefunded: 0n,
    deadline: 0n,
    canRespond: ['U', 'RQ', 'NRQ', 'TQ', 'CQ', 'Ry', 'Rt', 'CRy', 'CRt'].includes(context),
    dataCertificate: undefined,
    subnetId: new Uint8Array(0),
    rootKey: new Uint8Array(0),
    callContextInstructions: 0n,
    cycles: undefined,
    freezingLimit: 0n,
    ...overrides,
  }
}

/** A canister's own reject always has reject code 4 (CANISTER_REJECT) and error code IC0406. */
export type Response =
  | { kind: 'reply'; bytes: Uint8Array }
  | { kind: 'reject'; rejectCode: typeof RejectCode.CANISTER_REJECT; errorCode: typeof IcErrorCode.CanisterRejectedMessage; message: string }

export interface PendingCall {
  callee: Uint8Array
  method: string
  args: Uint8Array[]
  argBytes: number
  cycles: bigint
  reply: CallbackRef
  reject: CallbackRef
  cleanup: CallbackRef | undefined
  timeoutSeconds: number | undefined
}

export interface Effects {
  response: Response | undefined
  replyBuffer: Uint8Array[]
  replyBytes: number
  pendingCall: PendingCall | undefined
  calls: OutgoingCall[]
  logs: Uint8Array[]
  cyclesAccepted: bigint
  cyclesBurned: bigint
  /** Cycles moved onto calls (pending or performed), already gone from the visible balance. */
  cyclesOnCalls: bigint
  /** Fees withdrawn by ic0.call_perform (transmission and the response reservations). */
  cyclesForCallFees: bigint
  certifiedData: Uint8Array | undefined
  globalTimer: bigint | undefined
  stableWasmPages: bigint
  acceptedMessage: boolean
  /** Set by the first trap, so a module that catches the host's exception still fails. */
  trap: Error | undefined
}

export function emptyEffects(stableWasmPages: bigint): Effects {
  return {
    response: undefined,
    replyBuffer: [],
    replyBytes: 0,
    pendingCall: undefined,
    calls: [],
    logs: [],
    cyclesAccepted: 0n,
    cyclesBurned: 0n,
    cyclesOnCalls: 0n,
    cyclesForCallFees: 0n,
    certifiedData: undefined,
    globalTimer: undefined,
    stableWasmPages,
    acceptedMessage: false,
    trap: undefined,
  }
}

