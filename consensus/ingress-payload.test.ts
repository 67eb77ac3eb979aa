import { describe, expect, it } from 'vitest'
import { Ed25519KeyIdentity } from '@dfinity/identity'
import { Cbor } from '@dfinity/agent'
import { ingressPayloadBuilder, ingressPayloadValidator, type IngressSource } from './ingress-payload.ts'
import { requestId } from '../protocol/request-id.ts'
import { canisterIdFromIndex } from '../protocol/principal.ts'
import { height, timeNs } from '../protocol/ids.ts'
import type { IngressMessage } from '../protocol/consensus-types.ts'

const T = 1_700_000_000_000_000_000n
const MIN = 60_000_000_000n
const identity = Ed25519KeyIdentity.generate()

async function ingress(i: number, expiry = T + 4n * MIN): Promise<IngressMessage> {
  const content = { request_type: 'call', canister_id: canisterIdFromIndex(1), method_name: 'inc', arg: new Uint8Array([0x44, 0x49, 0x44, 0x4c, 0, 0]), sender: identity.getPrincipal().toUint8Array(), ingress_expiry: expiry, nonce: new Uint8Array([i]) }
  const { body } = (await identity.transformRequest({ endpoint: 'call', request: {}, body: content } as never)) as { body: Record<string, unknown> }
  return { id: requestId(content as never), bytes: Cbor.encode(body) }
}

const listSource = (msgs: IngressMessage[]): IngressSource => ({
  select: (_time, maxCount, _maxBytes, exclude) => msgs.filter((m) => !exclude(m.id)).slice(0, maxCount),
})

describe('ingress payload', () => {
  const validator = ingressPayloadValidator()
  const at = (t: bigint) => [height(5), timeNs(t)] as const

  it('builds payloads the validator accepts, leaving out what ancestors already carry', async () => {
    const msgs = await Promise.all([0, 1, 2, 3].map((i) => ingress(i)))
    const builder = ingressPayloadBuilder(listSource(msgs))
    const past = [{ messages: [msgs[1]] }]
    const payload = builder.build(...at(T), past)
    expect(payload.messages.map((m) => m.id)).toEqual([msgs[0].id, msgs[2].id, msgs[3].id])
    expect(validator.validate(payload, ...at(T), past)).toBeUndefined()
  })

  it('rejects duplicates, forged signatures, wrong ids, expired and far-future messages', async () => {
    const [a, b] = await Promise.all([ingress(0), ingress(1)])
    expect(validator.validate({ messages: [a, a] }, ...at(T), [])).toMatch(/already in the chain/)
    expect(validator.validate({ messages: [a] }, ...at(T), [{ messages: [a] }])).toMatch(/already in the chain/)
    expect(ingressPayloadValidator((id) => id === a.id).validate({ messages: [a] }, ...at(T), [])).toMatch(/already/)
    const forged = new Uint8Array(a.bytes)
    forged[forged.length - 5] ^= 1 // inside sender_sig, the envelope's last field
    expect(validator.validate({ messages: [{ id: a.id, bytes: forged }] }, ...at(T), [])).toMatch(/sender_sig|signature/)
    expect(validator.validate({ messages: [{ id: b.id, bytes: a.bytes }] }, ...at(T), [])).toMatch(/not the request id/)
    expect(validator.validate({ messages: [a] }, ...at(T + 5n * MIN), [])).toMatch(/expired/)
    expect(validator.validate({ messages: [a] }, ...at(T - 2n * MIN), [])).toMatch(/too far/)
    expect(validator.validate({ messages: [{ id: a.id, bytes: new Uint8Array([0xff]) }] }, ...at(T), [])).toMatch(/CBOR/)
  })

  it('enforces the payload limits and builder never proposes what would be rejected', async () => {
    const msgs = await Promise.all([0, 1, 2].map((i) => ingress(i, i === 1 ? T + 1n : T + 4n * MIN)))
    const lim = { maxMessages: 2, maxBytes: 1 << 20 }
    expect(ingressPayloadValidator(undefined, lim).validate({ messages: msgs }, ...at(T), [])).toMatch(/more than 2/)
    const built = ingressPayloadBuilder(listSource(msgs)).build(...at(T + 2n), [])
    expect(built.messages.map((m) => m.id)).toEqual([msgs[0].id, msgs[2].id])
  })
})
