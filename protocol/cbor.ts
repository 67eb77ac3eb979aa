// CBOR as the IC's HTTP interface uses it: definite-length maps with text keys, byte strings, unsigned
// integers up to 64 bits (bigint above 2^53), arrays, and the self-describe tag 55799 around the value.
// cborg does the codec work; this module fixes the options both directions need and turns every
// decoder failure into a coded error.

import { decode as cborgDecode, encode as cborgEncode, Tokenizer, Type } from 'cborg'
import { CapsaError } from './errors.ts'

const SELF_DESCRIBE = new Uint8Array([0xd9, 0xd9, 0xf7])

export type CborValue =
  | number
  | bigint
  | string
  | boolean
  | null
  | Uint8Array
  | CborValue[]
  | { [key: string]: CborValue }

// Tag 55799 is accepted anywhere (the agent's decoder does the same); every other tag is rejected
// so a peer cannot smuggle in bignums or embedded CBOR the rest of the replica does not expect.
// In cborg 6 a tag decoder receives a `decode` function and must call it.
const tags: ((decode: () => unknown) => unknown)[] = []
tags[55799] = (decode) => decode()

// The interface has no floats anywhere; a float where a nat belongs (1.0 decodes to the number 1)
// would otherwise slip through as an integer, so floats are refused at the token level.
class NoFloatTokenizer extends Tokenizer {
  next() {
    const token = super.next()
    if (token.type === Type.float) throw new Error(`floating-point value at byte ${this.pos() - token.encodedLength!}`)
    return token
  }
}

/** Decodes one CBOR value, with or without the self-describe tag. Trailing bytes are an error. */
export function decodeCbor(bytes: Uint8Array): CborValue {
  if (!(bytes instanceof Uint8Array)) throw new CapsaError('CBOR_MALFORMED', 'CBOR input must be bytes')
  if (bytes.length === 0) throw new CapsaError('CBOR_MALFORMED', 'empty CBOR input')
  try {
    const options = { tags, useMaps: false, rejectDuplicateMapKeys: true, allowBigInt: true, allowUndefined: false, allowInfinity: false, allowNaN: false }
    return cborgDecode(bytes, { ...options, tokenizer: new NoFloatTokenizer(bytes, options) }) as CborValue
  } catch (e) {
    throw new CapsaError('CBOR_MALFORMED', `malformed CBOR: ${(e as Error).message}`, undefined, { cause: e })
  }
}

/** Encodes a value, prefixed with the self-describe tag 55799 as the IC does for every response. */
export function encodeCbor(value: CborValue, { selfDescribe = true }: { selfDescribe?: boolean } = {}): Uint8Array {
  const body = cborgEncode(value)
  if (!selfDescribe) return body
  const out = new Uint8Array(SELF_DESCRIBE.length + body.length)
  out.set(SELF_DESCRIBE)
  out.set(body, SELF_DESCRIBE.length)
  return out
}

/** Narrowing helpers for decoded values: each throws a coded error naming the field. */
export function asMap(v: CborValue | undefined, what: string): { [key: string]: CborValue } {
  if (v === null || typeof v !== 'object' || Array.isArray(v) || v instanceof Uint8Array) {
    throw new CapsaError('CBOR_UNEXPECTED_SHAPE', `${what} must be a map`)
  }
  return v
}
export function asBytes(v: CborValue | undefined, what: string): Uint8Array {
  if (!(v instanceof Uint8Array)) throw new CapsaError('CBOR_UNEXPECTED_SHAPE', `${what} must be a byte string`)
  return v
}
export function asText(v: CborValue | undefined, what: string): string {
  if (typeof v !== 'string') throw new CapsaError('CBOR_UNEXPECTED_SHAPE', `${what} must be a text string`)
  return v
}
export function asNat(v: CborValue | undefined, what: string): bigint {
  if (typeof v === 'bigint' && v >= 0n) return v
  if (typeof v === 'number' && Number.isSafeInteger(v) && v >= 0) return BigInt(v)
  throw new CapsaError('CBOR_UNEXPECTED_SHAPE', `${what} must be a natural number`)
}
export function asArray(v: CborValue | undefined, what: string): CborValue[] {
  if (!Array.isArray(v)) throw new CapsaError('CBOR_UNEXPECTED_SHAPE', `${what} must be an array`)
  return v
}
