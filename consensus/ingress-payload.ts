// The ingress part of a block payload. The builder takes messages from the node's ingress pool; the
// validator judges a proposed payload the same way on every node, because a Byzantine block maker can
// put anything in a block: every message must be a well-formed, correctly signed call whose expiry
// covers the block time, appear only once in the payload and in the ancestors not yet in the state,
// and the payload must fit the block limits. Judging uses only the block (its time) and the message
// bytes, so honest nodes agree.

import { authenticate } from '../protocol/auth.ts'
import { decodeCbor } from '../protocol/cbor.ts'
import type { BlockPayload, IngressMessage, PayloadBuilder, PayloadValidator } from '../protocol/consensus-types.ts'
import { parseEnvelope } from '../protocol/envelope.ts'
import { CapsaError } from '../protocol/errors.ts'
import { bytesEqual, toHex } from '../protocol/hash.ts'
import type { Height, TimeNs } from '../protocol/ids.ts'
import { limits } from '../protocol/limits.ts'

/** Where the builder finds candidate messages (the node's ingress pool). */
export interface IngressSource {
  select(time: bigint, maxCount: number, maxBytes: number, exclude: (id: Uint8Array) => boolean): readonly IngressMessage[]
}

/** Whether a message id is already in the replicated ingress history (so executed or rejected before). */
export type InIngressHistory = (id: Uint8Array) => boolean

export interface IngressPayloadLimits {
  maxMessages: number
  maxBytes: number
}

const defaultLimits: IngressPayloadLimits = { maxMessages: limits.maxIngressPerBlock, maxBytes: limits.maxBlockPayloadBytes }

function idsOf(past: readonly BlockPayload[]): Set<string> {
  const ids = new Set<string>()
  for (const p of past) for (const m of p.messages) ids.add(toHex(m.id))
  return ids
}

export function ingressPayloadBuilder(source: IngressSource, inHistory: InIngressHistory = () => false, lim: IngressPayloadLimits = defaultLimits): PayloadBuilder {
  return {
    build(_height: Height, time: TimeNs, past: readonly BlockPayload[]): BlockPayload {
      const seen = idsOf(past)
      const messages = source.select(time, lim.maxMessages, lim.maxBytes, (id) => seen.has(toHex(id)) || inHistory(id))
      // A message that would not validate (for instance one that expires right at this block's time)
      // would make the whole block invalid, so the builder applies the validator's own per-message test.
      return { messages: messages.filter((m) => checkMessage(m, time) === undefined) }
    },
  }
}

export function ingressPayloadValidator(inHistory: InIngressHistory = () => false, lim: IngressPayloadLimits = defaultLimits): PayloadValidator {
  return {
    validate(payload: BlockPayload, _height: Height, time: TimeNs, past: readonly BlockPayload[]): string | undefined {
      if (payload.messages.length > lim.maxMessages) return `payload has ${payload.messages.length} messages, more than ${lim.maxMessages}`
      let bytes = 0
      for (const m of payload.messages) bytes += m.bytes.length
      if (bytes > lim.maxBytes) return `payload has ${bytes} bytes, more than ${lim.maxBytes}`
      const seen = idsOf(past)
      for (const m of payload.messages) {
        const key = toHex(m.id)
        if (seen.has(key) || inHistory(m.id)) return `ingress message ${key} is already in the chain`
        seen.add(key)
        const why = checkMessage(m, time)
        if (why !== undefined) return `ingress message ${key}: ${why}`
      }
      return undefined
    },
  }
}

/** Why one message may not go into a block at `time`, or undefined when it may. */
export function checkMessage(m: IngressMessage, time: bigint): string | undefined {
  if (m.bytes.length > limits.maxIngressBytes + 64 * 1024) return `${m.bytes.length} bytes exceed the ingress limit`
  try {
    const env = parseEnvelope(decodeCbor(m.bytes), 'call')
    const expiry = env.content.ingressExpiry
    if (expiry < time) return 'expired before the block time'
    if (expiry > time + limits.maxIngressTtlNs + limits.ingressExpiryDriftNs) return 'expiry too far after the block time'
    const auth = authenticate(env, { now: time })
    if (!bytesEqual(auth.requestId, m.id)) return 'id is not the request id of its content'
    return undefined
  } catch (e) {
    if (e instanceof CapsaError) return e.message
    throw e
  }
}
