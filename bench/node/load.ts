// The load generator's own client: it signs envelopes itself (Ed25519 via node:crypto, CBOR and
// request ids from protocol/), so the figures measure the replicas and not a client library. Also
// the small measuring tools the node benchmark needs: percentiles, node CPU from /proc, /metrics.

import { generateKeyPairSync, randomBytes, sign, type KeyObject } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { asMap, decodeCbor, encodeCbor, type CborValue } from '../../protocol/cbor.ts'
import { decodeCertificate } from '../../protocol/certificate.ts'
import { DOMAIN } from '../../protocol/hash.ts'
import { lookupPath } from '../../protocol/hash-tree.ts'
import { selfAuthenticating } from '../../protocol/principal.ts'
import { requestId } from '../../protocol/request-id.ts'

/** Candid for "no arguments" (`DIDL`, no types, no values). */
export const EMPTY_ARGS = Uint8Array.of(0x44, 0x49, 0x44, 0x4c, 0x00, 0x00)
const ANONYMOUS = Uint8Array.of(0x04)
const EXPIRY_NS = 3n * 60n * 1_000_000_000n

export interface Signer {
  sender: Uint8Array
  pubkeyDer: Uint8Array
  key: KeyObject
}

export function newSigner(): Signer {
  const { publicKey, privateKey } = generateKeyPairSync('ed25519')
  const pubkeyDer = new Uint8Array(publicKey.export({ format: 'der', type: 'spki' }))
  return { sender: selfAuthenticating(pubkeyDer), pubkeyDer, key: privateKey }
}

export interface Envelope {
  body: Uint8Array
  requestId: Uint8Array
}

/** A signed (or, with no signer, anonymous) envelope for a call or query content map. */
export function envelope(type: 'call' | 'query', canisterId: Uint8Array, methodName: string, signer?: Signer): Envelope {
  const content: Record<string, CborValue> = {
    request_type: type,
    canister_id: canisterId,
    method_name: methodName,
    arg: EMPTY_ARGS,
    sender: signer?.sender ?? ANONYMOUS,
    ingress_expiry: BigInt(Date.now()) * 1_000_000n + EXPIRY_NS,
    nonce: new Uint8Array(randomBytes(8)),
  }
  const rid = requestId(content)
  if (signer === undefined) return { body: encodeCbor({ content }), requestId: rid }
  const sig = new Uint8Array(sign(null, Buffer.concat([DOMAIN.request, rid]), signer.key))
  return { body: encodeCbor({ content, sender_pubkey: signer.pubkeyDer, sender_sig: sig }), requestId: rid }
}

function readStateEnvelope(rid: Uint8Array, signer: Signer): Uint8Array {
  const content: Record<string, CborValue> = {
    request_type: 'read_state',
    paths: [[new TextEncoder().encode('request_status'), rid]],
    sender: signer.sender,
    ingress_expiry: BigInt(Date.now()) * 1_000_000n + EXPIRY_NS,
  }
  const sig = new Uint8Array(sign(null, Buffer.concat([DOMAIN.request, requestId(content)]), signer.key))
  return encodeCbor({ content, sender_pubkey: signer.pubkeyDer, sender_sig: sig })
}

async function post(url: string, body: Uint8Array, timeoutMs: number): Promise<{ status: number; bytes: Uint8Array }> {
  const r = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/cbor' }, body: Buffer.from(body), signal: AbortSignal.timeout(timeoutMs) })
  return { status: r.status, bytes: new Uint8Array(await r.arrayBuffer()) }
}

/** How one update ended: replied with a certified reply at once (200), after polling (202), or not. */
type Done = { kind: 'replied'; reply: Uint8Array } | { kind: 'polled'; reply: Uint8Array }
export type UpdateOutcome = Done | { kind: 'rejected'; detail: string } | { kind: 'throttled'; detail: string } | { kind: 'error'; detail: string }

function statusFromCertificate(certificate: Uint8Array, rid: Uint8Array): { status: string; reply?: Uint8Array; reject?: string } | undefined {
  const tree = decodeCertificate(certificate).tree
  const s = lookupPath(['request_status', rid, 'status'], tree)
  if (s.status !== 'found') return undefined
  const status = new TextDecoder().decode(s.value)
  const reply = lookupPath(['request_status', rid, 'reply'], tree)
  const msg = lookupPath(['request_status', rid, 'reject_message'], tree)
  return { status, reply: reply.status === 'found' ? reply.value : undefined, reject: msg.status === 'found' ? new TextDecoder().decode(msg.value) : undefined }
}

/**
 * One update through the synchronous endpoint. A 202 (the node's sync wait ran out) is followed by
 * read_state polling on the same node until the status is terminal or `deadlineMs` passes.
 */
export async function update(base: string, canisterText: string, canisterId: Uint8Array, method: string, signer: Signer, deadlineMs = 60_000): Promise<UpdateOutcome> {
  const start = Date.now()
  const env = envelope('call', canisterId, method, signer)
  let r: { status: number; bytes: Uint8Array }
  try {
    r = await post(`${base}/api/v3/canister/${canisterText}/call`, env.body, 15_000)
  } catch (e) {
    return { kind: 'error', detail: (e as Error).message }
  }
  if (r.status === 429) return { kind: 'throttled', detail: new TextDecoder().decode(r.bytes) }
  if (r.status === 200) {
    const m = asMap(decodeCbor(r.bytes), 'call response')
    if (m.status !== 'replied') return { kind: 'rejected', detail: `${String(m.status)}: ${String(m.reject_message)}` }
    const s = statusFromCertificate(m.certificate as Uint8Array, env.requestId)
    if (s?.status === 'replied' && s.reply) return { kind: 'replied', reply: s.reply }
    return { kind: 'rejected', detail: `certified status ${s?.status ?? 'missing'}: ${s?.reject ?? ''}` }
  }
  if (r.status !== 202) return { kind: 'error', detail: `HTTP ${r.status}: ${new TextDecoder().decode(r.bytes).slice(0, 200)}` }
  while (Date.now() - start < deadlineMs) {
    await new Promise((res) => setTimeout(res, 200))
    try {
      const rs = await post(`${base}/api/v2/canister/${canisterText}/read_state`, readStateEnvelope(env.requestId, signer), 10_000)
      if (rs.status !== 200) continue
      const cert = asMap(decodeCbor(rs.bytes), 'read_state response').certificate as Uint8Array
      const s = statusFromCertificate(cert, env.requestId)
      if (s?.status === 'replied' && s.reply) return { kind: 'polled', reply: s.reply }
      if (s?.status === 'rejected' || s?.status === 'done') return { kind: 'rejected', detail: `after 202: ${s.status} ${s.reject ?? ''}` }
    } catch {
      // transient: keep polling until the deadline
    }
  }
  return { kind: 'error', detail: `no terminal status ${deadlineMs} ms after a 202` }
}

/** One query; returns the reply bytes, or throws with the reason. */
export async function query(base: string, canisterText: string, canisterId: Uint8Array, method: string, signer?: Signer): Promise<Uint8Array> {
  const env = envelope('query', canisterId, method, signer)
  const r = await post(`${base}/api/v2/canister/${canisterText}/query`, env.body, 10_000)
  if (r.status !== 200) throw new Error(`query: HTTP ${r.status}: ${new TextDecoder().decode(r.bytes).slice(0, 200)}`)
  const m = asMap(decodeCbor(r.bytes), 'query response')
  if (m.status !== 'replied') throw new Error(`query: ${String(m.status)}: ${String(m.reject_message)}`)
  return asMap(m.reply, 'query reply').arg as Uint8Array
}

export function percentile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return NaN
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]
}

export function latencySummary(ms: number[]): { n: number; p50: number; p90: number; p99: number; max: number; mean: number } {
  const s = [...ms].sort((a, b) => a - b)
  return { n: s.length, p50: percentile(s, 0.5), p90: percentile(s, 0.9), p99: percentile(s, 0.99), max: s.at(-1) ?? NaN, mean: s.reduce((a, b) => a + b, 0) / Math.max(1, s.length) }
}

export function fmtLatency(ms: number[]): string {
  const l = latencySummary(ms)
  return `n=${l.n} p50 ${l.p50.toFixed(1)} ms, p90 ${l.p90.toFixed(1)} ms, p99 ${l.p99.toFixed(1)} ms, max ${l.max.toFixed(1)} ms`
}

const CLOCK_TICKS = 100 // USER_HZ on Linux

/** CPU seconds (user + system) a process has used so far, from /proc; undefined where there is none. */
export function cpuSeconds(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS
  } catch {
    return undefined
  }
}

/** The numeric capsa_* samples of a node's /metrics page (labels dropped). */
export async function scrapeMetrics(base: string): Promise<Map<string, number>> {
  const out = new Map<string, number>()
  try {
    const text = await (await fetch(`${base}/metrics`, { signal: AbortSignal.timeout(2_000) })).text()
    for (const line of text.split('\n')) {
      const m = /^(capsa_[a-z_]+)(?:\{[^}]*\})? ([0-9.eE+-]+)$/.exec(line.trim())
      if (m) out.set(m[1], Number(m[2]))
    }
  } catch {
    // a node that does not answer shows no figures
  }
  return out
}
