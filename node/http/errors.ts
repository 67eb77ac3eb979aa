// One mapping from coded errors to HTTP answers, so every endpoint reports the same failure the same
// way (ic-compat §4.6): client errors are deterministic 4xx with a plain-text reason the agent shows
// to the user; only genuine overload is 429/503, which clients retry.

import { CapsaError, type ErrorCode } from '../../protocol/errors.ts'

export class HttpError extends Error {
  readonly status: number
  constructor(status: number, message: string) {
    super(message)
    this.status = status
  }
}

const statusOf: Partial<Record<ErrorCode, number>> = {
  READ_STATE_FORBIDDEN: 403,
  OVERLOADED: 429,
  UNAVAILABLE: 503,
}

export function toHttpError(e: unknown): HttpError | undefined {
  if (e instanceof HttpError) return e
  if (e instanceof CapsaError) return new HttpError(statusOf[e.code] ?? 400, e.message)
  return undefined
}
