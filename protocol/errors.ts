// Coded errors: every decoder and validator in Capsa throws a CapsaError whose `code` names the
// failure class, so callers (HTTP layer, consensus validator) map it to a status without parsing text.

export type ErrorCode =
  | 'CBOR_MALFORMED'
  | 'CBOR_UNEXPECTED_SHAPE'
  | 'PRINCIPAL_MALFORMED'
  | 'REQUEST_MALFORMED'
  | 'REQUEST_EXPIRED'
  | 'REQUEST_EXPIRY_TOO_FAR'
  | 'SIGNATURE_INVALID'
  | 'PUBLIC_KEY_INVALID'
  | 'SENDER_MISMATCH'
  | 'DELEGATION_INVALID'
  | 'DELEGATION_EXPIRED'
  | 'DELEGATION_TOO_LONG'
  | 'DELEGATION_TARGET'
  | 'HASH_TREE_MALFORMED'
  | 'CERTIFICATE_INVALID'
  | 'BLS_INVALID'
  | 'CANDID_MALFORMED'
  | 'LIMIT_EXCEEDED'
  | 'INVALID_ARGUMENT'
  | 'READ_STATE_FORBIDDEN'
  | 'STATE_CORRUPT'
  | 'STATE_SYNC_INVALID'
  | 'WASM_INVALID'
  | 'WASM_REJECTED'
  | 'LEB128_MALFORMED'
  | 'CANDID_SYNTAX'
  | 'OVERLOADED'
  | 'UNAVAILABLE'
  | 'COMPILE_FAILED'

export class CapsaError extends Error {
  readonly code: ErrorCode
  readonly detail: Record<string, unknown> | undefined
  constructor(code: ErrorCode, message: string, detail?: Record<string, unknown>, options?: { cause?: unknown }) {
    super(message, options)
    this.name = 'CapsaError'
    this.code = code
    this.detail = detail
  }
}

export function isCapsaError(e: unknown, code?: ErrorCode): e is CapsaError {
  return e instanceof CapsaError && (code === undefined || e.code === code)
}

/** Assertions stay on in replicated code: a broken invariant stops the node rather than diverging. */
export function assert(cond: unknown, message: string): asserts cond {
  if (!cond) throw new Error(`assertion failed: ${message}`)
}
