// The IC HTTP interface on fastify: status, call (v2 async, v3/v4 sync), query (v2/v3) and read_state
// (canister and subnet scope). This layer decodes CBOR, authenticates the envelope, checks expiry and
// effective canister ids, and encodes answers exactly as the agent expects (ic-compat §2-§4); what
// happens to a request after that is the backend's business.

import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify'
import type { KeyObject } from 'node:crypto'
import { sign as signEd25519 } from 'node:crypto'
import { authenticate } from '../../protocol/auth.ts'
import { decodeCbor, encodeCbor, type CborValue } from '../../protocol/cbor.ts'
import type { CallContent, QueryContent, ReadStateContent, RequestType } from '../../protocol/envelope.ts'
import { parseEnvelope } from '../../protocol/envelope.ts'
import { checkIngressExpiry } from '../../protocol/expiry.ts'
import { bytesEqual, DOMAIN } from '../../protocol/hash.ts'
import { limits } from '../../protocol/limits.ts'
import { isAnonymous, principalFromText, principalToText } from '../../protocol/principal.ts'
import { hashOfMap } from '../../protocol/request-id.ts'
import type { AuthenticatedRequest, HttpBackend } from './backend.ts'
import { HttpError, toHttpError } from './errors.ts'
import { TokenBucket } from './rate-limit.ts'
import type { Metrics } from '../metrics.ts'

export interface HttpServerOptions {
  backend: HttpBackend
  /** This node's id (principal bytes) and Ed25519 key, for query response signatures. */
  nodeId: Uint8Array
  nodeSigningKey: KeyObject
  /** How long /api/v3 and /api/v4 calls wait for a certified reply before answering 202. */
  syncCallTimeoutMs?: number
  /** Ingress admission rate of this node (calls per second, with a burst of the same size). */
  ingressPerSecond?: number
  logger?: boolean | object
  /** Served at GET /metrics; the server counts its requests in `capsa_http_requests_total` if defined. */
  metrics?: Metrics
  implVersion?: string
}

const CBOR = 'application/cbor'

export function createHttpServer(opts: HttpServerOptions): FastifyInstance {
  const { backend } = opts
  const syncTimeout = opts.syncCallTimeoutMs ?? 10_000
  const ingressBucket = new TokenBucket(opts.ingressPerSecond ?? 2_000)
  const app = Fastify({ logger: opts.logger ?? false, bodyLimit: limits.maxHttpBodyBytes })

  // Requests must be CBOR; fastify answers 415 for unknown types on its own, but the IC answers 400
  // with a reason, so accept any body as bytes and check the type ourselves.
  app.removeAllContentTypeParsers()
  app.addContentTypeParser('*', { parseAs: 'buffer' }, (_req, body, done) => done(null, body))

  // Browser apps served from another origin call nodes directly.
  app.addHook('onSend', async (_req, reply, payload) => {
    reply.header('access-control-allow-origin', '*')
    reply.header('access-control-allow-methods', 'GET, POST, OPTIONS')
    reply.header('access-control-allow-headers', 'content-type')
    reply.header('access-control-max-age', '7200')
    return payload
  })
  app.options('/*', async (_req, reply) => reply.code(204).send())

  app.setErrorHandler((err, req, reply) => {
    const http = toHttpError(err)
    if (http) return reply.code(http.status).type('text/plain').send(http.message)
    const e = err as { statusCode?: number; code?: string; message: string }
    if (e.code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
      return reply.code(413).type('text/plain').send(`request body exceeds the limit of ${limits.maxHttpBodyBytes} bytes`)
    }
    if (e.statusCode !== undefined && e.statusCode >= 400 && e.statusCode < 500) {
      return reply.code(e.statusCode).type('text/plain').send(e.message)
    }
    req.log.error({ err }, 'internal error')
    return reply.code(500).type('text/plain').send('internal error')
  })
  app.setNotFoundHandler((req, reply) => reply.code(404).type('text/plain').send(`no such endpoint: ${req.method} ${req.url}`))

  app.addHook('onResponse', async () => {
    try { opts.metrics?.inc('capsa_http_requests_total') } catch { /* not defined: nothing to count */ }
  })
  app.get('/metrics', async (_req, reply) => reply.type('text/plain; version=0.0.4').send(opts.metrics?.render() ?? ''))
  app.get('/_/health', async (_req, reply) => {
    const s = backend.status()
    return reply.code(s.healthy ? 200 : 503).type('application/json').send({ healthy: s.healthy, finalizedHeight: String(s.finalizedHeight), certifiedHeight: String(s.certifiedHeight), executedHeight: String(s.executedHeight ?? s.finalizedHeight) })
  })

  app.get('/_/state_hash/:height', async (req, reply) => {
    const text = (req.params as { height: string }).height
    if (!/^\d{1,19}$/.test(text)) throw new HttpError(400, `height must be a decimal number, got ${JSON.stringify(text)}`)
    const hash = backend.stateHash?.(BigInt(text))
    if (hash === undefined) throw new HttpError(404, `this node keeps no state at height ${text}`)
    return reply.type('application/json').send({ height: text, stateHash: Buffer.from(hash).toString('hex') })
  })

  app.get('/api/v2/status', async (_req, reply) => {
    const s = backend.status()
    return sendCbor(reply, {
      ic_api_version: '0.18.0',
      impl_version: opts.implVersion ?? 'capsa-0.1.0',
      root_key: s.rootKeyDer,
      replica_health_status: s.healthy ? 'healthy' : 'starting',
      certified_height: s.certifiedHeight,
      // Every replica of a subnet must run the same V8; the status shows which one this node runs.
      node_version: process.versions.node,
      v8_version: process.versions.v8,
    })
  })

  function decode(req: FastifyRequest, expected: RequestType, scope: 'canister' | 'subnet') {
    const type = (req.headers['content-type'] ?? '').split(';')[0].trim().toLowerCase()
    if (type !== CBOR) throw new HttpError(400, `unexpected content type ${JSON.stringify(type)}: requests must be ${CBOR}`)
    if (!(req.body instanceof Uint8Array) || req.body.length === 0) throw new HttpError(400, 'empty request body')
    // A plain copy, not the Buffer: small Buffers are views into Node's shared allocation pool, and an
    // admitted call's bytes live on in the ingress pool and in blocks.
    const body = new Uint8Array(req.body)
    const ecidText = (req.params as { id: string }).id
    let effectiveId: Uint8Array
    try {
      effectiveId = principalFromText(ecidText)
    } catch {
      throw new HttpError(400, `invalid ${scope === 'canister' ? 'effective canister id' : 'subnet id'} in the URL: ${ecidText}`)
    }
    const envelope = parseEnvelope(decodeCbor(body), expected)
    const content = envelope.content
    const now = backend.now()
    // Anonymous queries and read_state may carry any expiry (spec 0.29); everything else must fit the window.
    if (expected === 'call' || !isAnonymous(content.sender)) checkIngressExpiry(content.ingressExpiry, now)
    const auth = authenticate(envelope, { now, effectiveCanisterId: effectiveId })
    if (scope === 'subnet') {
      if (!bytesEqual(effectiveId, backend.subnetId())) throw new HttpError(400, `subnet ${ecidText} is not this node's subnet`)
    } else {
      if (!backend.hostsCanister(effectiveId)) throw new HttpError(400, `canister ${ecidText} is not hosted on this subnet`)
      if (content.requestType !== 'read_state' && content.canisterId.length > 0 && !bytesEqual(content.canisterId, effectiveId)) {
        throw new HttpError(400, `effective canister id ${ecidText} in the URL does not match the canister id ${principalToText(content.canisterId)} of the request`)
      }
    }
    return { content, requestId: auth.requestId, sender: auth.sender, effectiveCanisterId: effectiveId, envelope: body }
  }

  async function call(req: FastifyRequest, reply: FastifyReply, sync: boolean) {
    const request = decode(req, 'call', 'canister') as AuthenticatedRequest<CallContent>
    if (!ingressBucket.take(process.hrtime.bigint())) throw new HttpError(429, 'ingress rate limit of this node exceeded; retry later')
    const submitted = await backend.submitCall(request)
    if (!submitted.accepted) {
      const r = submitted.reject
      const body: Record<string, CborValue> = { reject_code: r.code, reject_message: r.message }
      if (r.errorCode) body.error_code = r.errorCode
      return sendCbor(reply, sync ? { status: 'non_replicated_rejection', ...body } : body)
    }
    if (!sync) return reply.code(202).send()
    const abort = new AbortController()
    const timer = setTimeout(() => abort.abort(), syncTimeout)
    req.raw.once('close', () => abort.abort())
    try {
      const certificate = await backend.awaitCertifiedStatus(request.requestId, abort.signal)
      if (certificate === undefined) return reply.code(202).send()
      return sendCbor(reply, { status: 'replied', certificate })
    } finally {
      clearTimeout(timer)
    }
  }
  app.post('/api/v2/canister/:id/call', (req, reply) => call(req, reply, false))
  app.post('/api/v3/canister/:id/call', (req, reply) => call(req, reply, true))
  app.post('/api/v4/canister/:id/call', (req, reply) => call(req, reply, true))

  async function query(req: FastifyRequest, reply: FastifyReply) {
    const request = decode(req, 'query', 'canister') as AuthenticatedRequest<QueryContent>
    const outcome = await backend.query(request)
    const timestamp = backend.now()
    const signed: Record<string, CborValue> =
      outcome.status === 'replied'
        ? { status: 'replied', reply: { arg: outcome.reply } }
        : { status: 'rejected', reject_code: outcome.reject.code, reject_message: outcome.reject.message, ...(outcome.reject.errorCode ? { error_code: outcome.reject.errorCode } : {}) }
    const digest = hashOfMap({ ...signed, timestamp, request_id: request.requestId })
    const signature = signEd25519(null, Buffer.concat([DOMAIN.response, digest]), opts.nodeSigningKey)
    return sendCbor(reply, { ...signed, signatures: [{ timestamp, signature: new Uint8Array(signature), identity: opts.nodeId }] })
  }
  app.post('/api/v2/canister/:id/query', query)
  app.post('/api/v3/canister/:id/query', query)

  async function readState(req: FastifyRequest, reply: FastifyReply, scope: 'canister' | 'subnet') {
    const request = decode(req, 'read_state', scope) as AuthenticatedRequest<ReadStateContent>
    const certificate = await backend.readState(request, scope)
    return sendCbor(reply, { certificate })
  }
  for (const v of ['v2', 'v3']) {
    app.post(`/api/${v}/canister/:id/read_state`, (req, reply) => readState(req, reply, 'canister'))
    app.post(`/api/${v}/subnet/:id/read_state`, (req, reply) => readState(req, reply, 'subnet'))
  }
  return app
}

function sendCbor(reply: FastifyReply, value: CborValue) {
  return reply.code(200).type(CBOR).send(Buffer.from(encodeCbor(value)))
}
