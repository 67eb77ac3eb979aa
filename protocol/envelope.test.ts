import { describe, expect, it } from 'vitest'
import { Cbor } from '@dfinity/agent'
import { Ed25519KeyIdentity } from '@dfinity/identity'
import { Principal } from '@dfinity/principal'
import { decodeCbor, type CborValue } from './cbor.ts'
import { isCapsaError } from './errors.ts'
import { toHex } from './hash.ts'
import { parseEnvelope } from './envelope.ts'
import { requestId } from './request-id.ts'
import { requestIdOf } from '@dfinity/agent'

const te = new TextEncoder()
type M = { [k: string]: CborValue }

function expectCode(f: () => unknown, code: string, field?: string): void {
  try {
    f()
  } catch (e) {
    expect(isCapsaError(e), String(e)).toBe(true)
    expect((e as { code: string }).code).toBe(code)
    if (field !== undefined) expect((e as Error).message).toContain(field)
    return
  }
  expect.unreachable('no error thrown')
}

const sender = Ed25519KeyIdentity.generate(new Uint8Array(32).fill(1))
const callContent = {
  request_type: 'call',
  canister_id: Principal.fromText('rrkah-fqaaa-aaaaa-aaaaq-cai'),
  method_name: 'greet',
  arg: Uint8Array.of(0x44, 0x49, 0x44, 0x4c, 0, 0),
  sender: sender.getPrincipal(),
  ingress_expiry: 1_700_000_000_000_000_000n,
  nonce: new Uint8Array(16).fill(9),
}

async function wireBody(content: Record<string, unknown>): Promise<M> {
  const req = await sender.transformRequest({ endpoint: 'call', request: {}, body: content } as never) as { body: unknown }
  return decodeCbor(Cbor.encode(req.body)) as M
}

function clone(m: M): M {
  return decodeCbor(Cbor.encode(m)) as M
}

describe('parseEnvelope', () => {
  it('parses a call envelope signed by the agent identity and keeps the raw content for the request id', async () => {
    const env = parseEnvelope(await wireBody(callContent), 'call')
    expect(env.content.requestType).toBe('call')
    if (env.content.requestType !== 'call') throw new Error('unreachable')
    expect(env.content.methodName).toBe('greet')
    expect(toHex(env.content.canisterId)).toBe('00000000000000010101')
    expect(env.content.ingressExpiry).toBe(1_700_000_000_000_000_000n)
    expect(env.content.nonce?.length).toBe(16)
    expect(env.senderPubkey?.length).toBe(44)
    expect(env.senderSig?.length).toBe(64)
    expect(env.senderDelegation).toBeUndefined()
    expect(toHex(requestId(env.content.raw))).toBe(toHex(requestIdOf(callContent)))
  })

  it('parses query and read_state contents', async () => {
    const { nonce: _, ...noNonce } = callContent
    const q = parseEnvelope(await wireBody({ ...noNonce, request_type: 'query' }), 'query')
    expect(q.content.requestType).toBe('query')
    expect(q.content.nonce).toBeUndefined()
    const rs = parseEnvelope(await wireBody({
      request_type: 'read_state', sender: sender.getPrincipal(), ingress_expiry: 5n,
      paths: [[te.encode('request_status'), new Uint8Array(32)], [te.encode('time')]],
    }), 'read_state')
    if (rs.content.requestType !== 'read_state') throw new Error('unreachable')
    expect(rs.content.paths.map((p) => p.length)).toEqual([2, 1])
  })

  it('keeps unknown content fields in the raw map and ignores unknown envelope keys', async () => {
    const body = await wireBody({ ...callContent, future_field: 'x' })
    body.something_new = 1
    const env = parseEnvelope(body)
    expect(env.content.raw.future_field).toBe('x')
  })

  it('names the bad field in coded errors', async () => {
    const good = await wireBody(callContent)
    const with_ = (f: (b: M) => void): M => { const b = clone(good); f(b); return b }
    const c = (b: M) => b.content as M
    expectCode(() => parseEnvelope(with_((b) => { c(b).arg = 'text' })), 'REQUEST_MALFORMED', 'content.arg')
    expectCode(() => parseEnvelope(with_((b) => { delete c(b).ingress_expiry })), 'REQUEST_MALFORMED', 'content.ingress_expiry')
    expectCode(() => parseEnvelope(with_((b) => { c(b).ingress_expiry = -1 })), 'REQUEST_MALFORMED', 'content.ingress_expiry')
    expectCode(() => parseEnvelope(with_((b) => { c(b).nonce = new Uint8Array(33) })), 'REQUEST_MALFORMED', 'content.nonce')
    expect(parseEnvelope(with_((b) => { c(b).nonce = new Uint8Array(32) })).content.nonce?.length).toBe(32)
    expectCode(() => parseEnvelope(with_((b) => { c(b).sender = new Uint8Array(30) })), 'REQUEST_MALFORMED', 'content.sender')
    expectCode(() => parseEnvelope(with_((b) => { c(b).canister_id = new Uint8Array(30) })), 'REQUEST_MALFORMED', 'content.canister_id')
    expectCode(() => parseEnvelope(with_((b) => { c(b).method_name = Uint8Array.of(1) })), 'REQUEST_MALFORMED', 'content.method_name')
    expectCode(() => parseEnvelope(with_((b) => { c(b).request_type = 'update' })), 'REQUEST_MALFORMED', 'content.request_type')
    expectCode(() => parseEnvelope(with_((b) => { c(b).sender_info = { info: Uint8Array.of(1), signer: 'x', sig: Uint8Array.of(1) } })), 'REQUEST_MALFORMED', 'content.sender_info.signer')
    expectCode(() => parseEnvelope(with_((b) => { b.sender_sig = 'sig' })), 'REQUEST_MALFORMED', 'sender_sig')
    expectCode(() => parseEnvelope(with_((b) => { b.sender_pubkey = [1] })), 'REQUEST_MALFORMED', 'sender_pubkey')
    expectCode(() => parseEnvelope(with_((b) => { b.content = [] })), 'REQUEST_MALFORMED', 'content')
    expectCode(() => parseEnvelope([] as CborValue), 'REQUEST_MALFORMED', 'envelope')
    expectCode(() => parseEnvelope(good, 'query'), 'REQUEST_MALFORMED', 'content.request_type')
    expectCode(() => parseEnvelope(with_((b) => { c(b).method_name = 'm'.repeat(20 * 1024 + 1) })), 'LIMIT_EXCEEDED', 'content.method_name')
  })

  it('enforces the read_state path limits', () => {
    const base = { request_type: 'read_state', sender: Uint8Array.of(4), ingress_expiry: 1 }
    const label = Uint8Array.of(1)
    expect(() => parseEnvelope({ content: { ...base, paths: Array.from({ length: 1000 }, () => [label]) } })).not.toThrow()
    expectCode(() => parseEnvelope({ content: { ...base, paths: Array.from({ length: 1001 }, () => [label]) } }), 'LIMIT_EXCEEDED', 'content.paths')
    expect(() => parseEnvelope({ content: { ...base, paths: [Array.from({ length: 127 }, () => label)] } })).not.toThrow()
    expectCode(() => parseEnvelope({ content: { ...base, paths: [[], Array.from({ length: 128 }, () => label)] } }), 'LIMIT_EXCEEDED', 'content.paths[1]')
    expectCode(() => parseEnvelope({ content: { ...base, paths: [[label, 'time']] } }), 'REQUEST_MALFORMED', 'content.paths[0][1]')
    expectCode(() => parseEnvelope({ content: { ...base } }), 'REQUEST_MALFORMED', 'content.paths')
  })

  it('enforces delegation shape and limits', () => {
    const content = { request_type: 'query', sender: Uint8Array.of(4), ingress_expiry: 1, canister_id: Uint8Array.of(1), method_name: 'm', arg: new Uint8Array(0) }
    const d = (extra: M = {}): M => ({ delegation: { pubkey: new Uint8Array(44), expiration: 10, ...extra }, signature: new Uint8Array(64) })
    const env = parseEnvelope({ content, sender_delegation: [d({ targets: [Uint8Array.of(1)], permissions: 'queries' })] })
    expect(env.senderDelegation?.[0].delegation.targets?.length).toBe(1)
    expect(env.senderDelegation?.[0].delegation.permissions).toBe('queries')
    expect(parseEnvelope({ content, sender_delegation: Array.from({ length: 20 }, () => d()) }).senderDelegation?.length).toBe(20)
    expectCode(() => parseEnvelope({ content, sender_delegation: Array.from({ length: 21 }, () => d()) }), 'DELEGATION_TOO_LONG')
    expectCode(() => parseEnvelope({ content, sender_delegation: [d({ targets: Array.from({ length: 1001 }, () => Uint8Array.of(1)) })] }), 'DELEGATION_INVALID', 'targets')
    expectCode(() => parseEnvelope({ content, sender_delegation: [d({ targets: [new Uint8Array(30)] })] }), 'REQUEST_MALFORMED', 'sender_delegation[0].delegation.targets[0]')
    expectCode(() => parseEnvelope({ content, sender_delegation: [d(), d({ expiration: 'soon' })] }), 'REQUEST_MALFORMED', 'sender_delegation[1].delegation.expiration')
    expectCode(() => parseEnvelope({ content, sender_delegation: [{ delegation: d().delegation }] }), 'REQUEST_MALFORMED', 'sender_delegation[0].signature')
    expectCode(() => parseEnvelope({ content, sender_delegation: d() }), 'REQUEST_MALFORMED', 'sender_delegation')
  })
})
