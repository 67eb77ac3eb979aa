// The reply formats of `capsa canister call --output …`, named as dfx names them.

import type { IDL } from '@dfinity/candid'
import { decodeCandid } from '../../protocol/candid.ts'
import { CapsaError } from '../../protocol/errors.ts'
import { toHex } from '../../protocol/hash.ts'
import { argsToJson } from './json.ts'
import { printArgs } from './print.ts'
import { decodeWithoutTypes } from './wire.ts'

export const REPLY_FORMATS = ['pp', 'idl', 'json', 'raw'] as const
export type ReplyFormat = (typeof REPLY_FORMATS)[number]

export function isReplyFormat(s: string): s is ReplyFormat {
  return (REPLY_FORMATS as readonly string[]).includes(s)
}

/**
 * Formats reply bytes: `pp` (dfx's default, 80 columns), `idl` (one line), `json`, or `raw` (hex of
 * the bytes, not decoded). `types` are the method's result types from its .did; without them the
 * reply's own type table is used.
 */
export function formatReply(bytes: Uint8Array, format: ReplyFormat, types?: IDL.Type[]): string {
  if (format === 'raw') return toHex(bytes)
  const decoded = types ? { types, values: decodeCandid(types, bytes) } : decodeWithoutTypes(bytes)
  switch (format) {
    case 'pp': case 'idl': return printArgs(decoded.types, decoded.values, format)
    case 'json': return JSON.stringify(argsToJson(decoded.types, decoded.values), null, 2)
  }
  throw new CapsaError('INVALID_ARGUMENT', `unknown output format ${String(format)}`)
}
