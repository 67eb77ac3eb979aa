import { describe, expect, it, beforeAll, afterAll } from 'vitest'
import { generateKeyPairSync } from 'node:crypto'
import { Ed25519KeyIdentity } from '@dfinity/identity'
import { Principal } from '@dfinity/principal'
import { Cbor } from '@dfinity/agent'
import { createHttpServer } from './server.ts'
import type { HttpBackend } from './backend.ts'
import { canisterIdFromIndex, principalToText } from '../../protocol/principal.ts'
import { encodeCbor, decodeCbor, asMap } from '../../protocol/cbor.ts'
import { limits } from '../../protocol/limits.ts'

// These tests drive bad input through the real decoding and authentication path. The backend must
// never be reached by a request that is rejected at the door, so every backend method throws.
const unreachable = (): never => { throw new Error('backend reached by a request that should have been rejected') }
const hosted = canisterIdFromIndex(1)
const NOW = 1_700_000_000_000_000_000n
const backend: HttpBackend = {
  now: () => NOW,
  status: () => ({ rootKeyDer: new Uint8Array(133), healthy: true, certifiedHeight: 7n, finalizedHeight: 8n }),
  subnetId: () => new Uint8Array([1, 2, 3]),
  hostsCanister: (id) => Buffer.from(id).equals(Buffer.from(hosted)),
  submitCall: unreachable,
  awaitCertifiedStatus: unreachable,
  query: unreachable,
  readState: unreachable,
}
const { privateKey } = generateKeyPairSync('ed25519')
const app = createHttpServer({ backend, nodeId: new Uint8Array(29), nodeSigningKey: privateKey })
beforeAll(() => app.ready())
afterAll(() => app.close())

const identity = Ed25519KeyIdentity.generate()
const sender = identity.getPrincipal().toUint8Array()

function content(over: Record<string, unknown> = {}) {
  return { request_type: 'call', canister_id: hosted, method_name: 'inc', arg: new Uint8Array([0x44, 0x49, 0x44, 0x4c, 0, 0]), sender, ingress_expiry: NOW + 60_000_000_000n, nonce: new Uint8Array(16), ...over }
}
async function signed(c: Record<string, unknown>) {
  const req = await identity.transformRequest({ endpoint: 'call', request: {}, body: c } as never) as { body: Record<string, unknown> }
  return Cbor.encode(req.body)
}
const url = `/api/v2/canister/${principalToText(hosted)}/call`
const post = (payload: Uint8Array | string, path = url, type = 'application/cbor') =>
  app.inject({ method: 'POST', url: path, headers: { 'content-type': type }, payload: Buffer.from(payload as Uint8Array) })

describe('HTTP interface: bad input gets the spec status and a clear message', () => {
  it('serves status with the root key and the runtime version', async () => {
    const r = await app.inject({ method: 'GET', url: '/api/v2/status' })
    expect(r.statusCode).toBe(200)
    expect(r.headers['content-type']).toBe('application/cbor')
    const s = asMap(decodeCbor(new Uint8Array(r.rawPayload)), 'status')
    expect(s.replica_health_status).toBe('healthy')
    expect((s.root_key as Uint8Array).length).toBe(133)
    expect(s.node_version).toBe(process.versions.node)
  })

  it('rejects malformed CBOR with 400', async () => {
    const r = await post(new Uint8Array([0xd9, 0xd9, 0xf7, 0xa1, 0xff]))
    expect(r.statusCode).toBe(400)
    expect(r.body).toMatch(/malformed CBOR/)
  })

  it('rejects a wrong content type with 400', async () => {
    const r = await post(await signed(content()), url, 'application/json')
    expect(r.statusCode).toBe(400)
    expect(r.body).toMatch(/content type/)
  })

  it('rejects an oversized body with 413', async () => {
    const r = await post(new Uint8Array(limits.maxHttpBodyBytes + 1))
    expect(r.statusCode).toBe(413)
  })

  it('rejects a bad signature with 400', async () => {
    const env = Cbor.decode(await signed(content())) as Record<string, unknown>
    const sig = new Uint8Array(env.sender_sig as Uint8Array)
    sig[0] ^= 1
    const r = await post(encodeCbor({ ...(env as Record<string, never>), sender_sig: sig }))
    expect(r.statusCode).toBe(400)
    expect(r.body).toMatch(/sender_sig/)
  })

  it('rejects expired and too-far-future expiries with the IC text', async () => {
    for (const expiry of [NOW - 1n, NOW + 10n * 60_000_000_000n]) {
      const r = await post(await signed(content({ ingress_expiry: expiry })))
      expect(r.statusCode).toBe(400)
      expect(r.body.startsWith('Invalid request expiry: ')).toBe(true)
    }
  })

  it('rejects a canister not hosted here and a mismatched effective id with 400', async () => {
    const other = canisterIdFromIndex(99)
    let r = await post(await signed(content({ canister_id: other })), `/api/v2/canister/${principalToText(other)}/call`)
    expect(r.statusCode).toBe(400)
    expect(r.body).toMatch(/not hosted/)
    r = await post(await signed(content({ canister_id: other })))
    expect(r.statusCode).toBe(400)
    expect(r.body).toMatch(/does not match/)
  })

  it('rejects a query body posted to the call endpoint, and an invalid id in the URL', async () => {
    let r = await post(await signed(content({ request_type: 'query' })))
    expect(r.statusCode).toBe(400)
    r = await post(await signed(content()), '/api/v2/canister/not-a-principal/call')
    expect(r.statusCode).toBe(400)
    expect(r.body).toMatch(/effective canister id/)
  })

  it('answers unknown endpoints with 404 and CORS preflight with 204', async () => {
    expect((await app.inject({ method: 'GET', url: '/api/v9/nothing' })).statusCode).toBe(404)
    const r = await app.inject({ method: 'OPTIONS', url, headers: { origin: 'http://app.example', 'access-control-request-method': 'POST' } })
    expect(r.statusCode).toBe(204)
    expect(r.headers['access-control-allow-origin']).toBe('*')
  })

  it('keeps serving after hostile input', async () => {
    for (let i = 0; i < 20; i++) await post(new Uint8Array(Array.from({ length: 64 }, (_, j) => (i * 31 + j * 17) & 0xff)))
    expect((await app.inject({ method: 'GET', url: '/api/v2/status' })).statusCode).toBe(200)
    expect(Principal.fromUint8Array(hosted).toText()).toBe(principalToText(hosted))
  })
})

describe('observability', () => {
  it('serves health and Prometheus metrics', async () => {
    const { replicaMetrics } = await import('../metrics.ts')
    const metrics = replicaMetrics('node-a')
    metrics.set('capsa_finalized_height', 12)
    const server = createHttpServer({ backend, nodeId: new Uint8Array(29), nodeSigningKey: privateKey, metrics })
    await server.ready()
    try {
      const h = await server.inject({ method: 'GET', url: '/_/health' })
      expect(h.statusCode).toBe(200)
      expect(h.json()).toEqual({ healthy: true, finalizedHeight: '8', certifiedHeight: '7', executedHeight: '8' })
      const m = await server.inject({ method: 'GET', url: '/metrics' })
      expect(m.body).toContain('capsa_finalized_height{node="node-a"} 12')
      expect(m.body).toMatch(/capsa_http_requests_total\{node="node-a"\} [1-9]/)
    } finally {
      await server.close()
    }
  })
})
