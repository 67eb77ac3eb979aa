// Reject codes (spec "Reject codes") and the DFINITY implementation's error codes (spec "Error
// codes": free text matching IC[0-9]+, formatted IC%04d, whose first digit is the reject code).
// Clients only pass error codes through, but tools and humans match on them, so we mimic the IC's.

import { assert } from './errors.ts'

export const RejectCode = {
  SYS_FATAL: 1,
  SYS_TRANSIENT: 2,
  DESTINATION_INVALID: 3,
  CANISTER_REJECT: 4,
  CANISTER_ERROR: 5,
  SYS_UNKNOWN: 6,
} as const
export type RejectCode = (typeof RejectCode)[keyof typeof RejectCode]

export function isRejectCode(n: unknown): n is RejectCode {
  return typeof n === 'number' && Number.isInteger(n) && n >= 1 && n <= 6
}

/**
 * Error codes with the IC's names (its `ErrorCode` enum). The ones ic-compat §14 lists are the
 * ones clients are seen to meet; the others are there so new uses pick the IC's number.
 */
export const IcErrorCode = {
  // 1xx SYS_FATAL
  SubnetOversubscribed: 'IC0101',
  MaxNumberOfCanistersReached: 'IC0102',
  // 2xx SYS_TRANSIENT
  CanisterQueueFull: 'IC0201',
  IngressMessageTimeout: 'IC0202',
  CanisterQueueNotEmpty: 'IC0203',
  IngressHistoryFull: 'IC0204',
  CanisterIdAlreadyExists: 'IC0205',
  StopCanisterRequestTimeout: 'IC0206',
  CanisterOutOfCycles: 'IC0207',
  CertifiedStateUnavailable: 'IC0208',
  CanisterInstallCodeRateLimited: 'IC0209',
  CanisterHeapDeltaRateLimited: 'IC0210',
  // 3xx DESTINATION_INVALID
  CanisterNotFound: 'IC0301',
  // 4xx CANISTER_REJECT
  InsufficientMemoryAllocation: 'IC0402',
  InsufficientCyclesForCreateCanister: 'IC0403',
  SubnetNotFound: 'IC0404',
  CanisterNotHostedBySubnet: 'IC0405',
  CanisterRejectedMessage: 'IC0406',
  UnknownManagementMessage: 'IC0407',
  InvalidManagementPayload: 'IC0408',
  // 5xx CANISTER_ERROR
  CanisterTrapped: 'IC0502',
  CanisterCalledTrap: 'IC0503',
  CanisterContractViolation: 'IC0504',
  CanisterInvalidWasm: 'IC0505',
  CanisterDidNotReply: 'IC0506',
  CanisterOutOfMemory: 'IC0507',
  CanisterStopped: 'IC0508',
  CanisterStopping: 'IC0509',
  CanisterNotStopped: 'IC0510',
  CanisterStoppingCancelled: 'IC0511',
  CanisterInvalidController: 'IC0512',
  CanisterFunctionNotFound: 'IC0513',
  CanisterNonEmpty: 'IC0514',
  QueryCallGraphLoopDetected: 'IC0517',
  InsufficientCyclesInCall: 'IC0520',
  CanisterWasmEngineError: 'IC0521',
  CanisterInstructionLimitExceeded: 'IC0522',
  CanisterMemoryAccessLimitExceeded: 'IC0524',
  QueryCallGraphTooDeep: 'IC0525',
  QueryCallGraphTotalInstructionLimitExceeded: 'IC0526',
  CompositeQueryCalledInReplicatedMode: 'IC0527',
  QueryTimeLimitExceeded: 'IC0528',
  InsufficientCyclesInComputeAllocation: 'IC0530',
  InsufficientCyclesInMemoryAllocation: 'IC0531',
  InsufficientCyclesInMemoryGrow: 'IC0532',
  ReservedCyclesLimitExceededInMemoryAllocation: 'IC0533',
  ReservedCyclesLimitExceededInMemoryGrow: 'IC0534',
  InsufficientCyclesInMessageMemoryGrow: 'IC0535',
  CanisterMethodNotFound: 'IC0536',
  CanisterWasmModuleNotFound: 'IC0537',
  CanisterAlreadyInstalled: 'IC0538',
  CanisterWasmMemoryLimitExceeded: 'IC0539',
  // 6xx SYS_UNKNOWN
  DeadlineExpired: 'IC0601',
  ResponseDropped: 'IC0602',
} as const
export type IcErrorCode = (typeof IcErrorCode)[keyof typeof IcErrorCode]

// IC%04d of a three-digit number: the "first digit" is the hundreds digit (IC0502 → 5).
const ERROR_CODE_SHAPE = /^IC0([0-9])[0-9]{2}$/

/** The reject code an `IC%04d` error code belongs to, or undefined if it has another shape. */
export function rejectCodeOfErrorCode(errorCode: string): RejectCode | undefined {
  const m = ERROR_CODE_SHAPE.exec(errorCode)
  if (m === null) return undefined
  const r = Number(m[1])
  return isRejectCode(r) ? r : undefined
}

/** True when `errorCode` is an `IC%04d` code whose first (hundreds) digit equals `rejectCode`. */
export function errorCodeMatchesReject(errorCode: string, rejectCode: RejectCode): boolean {
  return rejectCodeOfErrorCode(errorCode) === rejectCode
}

/** A reject as the HTTP interface and inter-canister responses carry it. */
export interface Reject {
  code: RejectCode
  message: string
  errorCode?: IcErrorCode
}

/** Builds a reject whose error code agrees with its reject code (a mismatch is a programming error). */
export function reject(code: RejectCode, message: string, errorCode?: IcErrorCode): Reject {
  assert(errorCode === undefined || errorCodeMatchesReject(errorCode, code), `error code ${errorCode} does not belong to reject code ${code}`)
  return errorCode === undefined ? { code, message } : { code, message, errorCode }
}
