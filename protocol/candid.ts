// Candid through @dfinity/candid, with the two things the replica needs on top: decoding never throws
// an untyped error (network input), and decoding works on any view of a buffer. IDL.decode in 3.4.3
// ignores a view's byteOffset, so a subarray of a larger message decodes garbage or fails with
// "Wrong magic number"; we copy such views first (with the Uint8Array constructor: a Buffer's own
// `slice` returns another view, and bytes from the network or fastify are often Buffers).

import { IDL } from '@dfinity/candid'
import { CapsaError } from './errors.ts'

export { IDL }

export function decodeCandid(types: IDL.Type[], bytes: Uint8Array): unknown[] {
  const view = bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength ? bytes : new Uint8Array(bytes)
  try {
    return IDL.decode(types, view)
  } catch (e) {
    throw new CapsaError('CANDID_MALFORMED', `invalid Candid argument: ${(e as Error).message}`, undefined, { cause: e })
  }
}

export function encodeCandid(types: IDL.Type[], values: unknown[]): Uint8Array {
  try {
    return new Uint8Array(IDL.encode(types, values))
  } catch (e) {
    throw new CapsaError('CANDID_MALFORMED', `value does not match its Candid type: ${(e as Error).message}`, undefined, { cause: e })
  }
}

/** The empty argument `()`, e.g. for canister_init without an argument. */
export const EMPTY_CANDID_ARGS = new Uint8Array([0x44, 0x49, 0x44, 0x4c, 0x00, 0x00])
