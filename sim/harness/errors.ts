// What a harness call can fail with. A reject is the canister's (or the system's) answer, not a bug in
// the harness, so it carries the IC's reject code and error code for tests to match on.

import { CapsaError } from '../../protocol/errors.ts'
import { principalToText } from '../../protocol/principal.ts'
import type { RejectCode } from '../../protocol/reject.ts'

export class CallRejectedError extends Error {
  readonly canisterId: Uint8Array
  readonly method: string
  readonly rejectCode: RejectCode
  /** The IC's error code (`IC0503`...); empty when the reject came from the canister itself without one. */
  readonly errorCode: string
  readonly rejectMessage: string

  constructor(canisterId: Uint8Array, method: string, rejectCode: number, errorCode: string | undefined, rejectMessage: string) {
    const target = canisterId.length === 0 ? 'aaaaa-aa' : principalToText(canisterId)
    super(`call to ${target}.${method} rejected (reject code ${rejectCode}${errorCode ? `, ${errorCode}` : ''}): ${rejectMessage}`)
    this.name = 'CallRejectedError'
    this.canisterId = canisterId
    this.method = method
    this.rejectCode = rejectCode as RejectCode
    this.errorCode = errorCode ?? ''
    this.rejectMessage = rejectMessage
  }
}

export function isCallRejected(e: unknown): e is CallRejectedError {
  return e instanceof CallRejectedError
}

/** An update call still open after the harness ran its bound of rounds (a canister waiting forever). */
export function notFinal(method: string, rounds: number, status: string): CapsaError {
  return new CapsaError('UNAVAILABLE', `call to ${method} is still '${status}' after ${rounds} rounds; tick further or raise maxRounds`)
}
