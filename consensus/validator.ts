// The validator moves unvalidated artifacts to the validated section, drops invalid or useless ones,
// and leaves the rest for a later attempt (transient failures: a parent not yet notarized, a state
// not yet executed, a block time ahead of the local clock). Cheap checks come before signatures.
// Threshold-BLS shares are admitted after their cheap checks only: the aggregator verifies the
// combined signature once and checks shares one by one only when that fails.

import { bytesEqual, toHex } from '../protocol/hash.ts'
import { height as toHeight, timeNs } from '../protocol/ids.ts'
import { type ChangeAction, type ComponentContext, ownCupContentHash, pastPayloads } from './context.ts'
import {
  beaconHash, beaconSigned, blockHash, certificationSigned, cupContentHash, cupSigned, finalizationSigned, notarizationSigned, proposalSigned,
} from './encoding.ts'
import type { PoolReader, UnvalidatedEntry } from './pool.ts'
import { blockMakerRanks } from './ranking.ts'
import type { Artifact, BlockProposal, Finalization, Notarization } from './types.ts'

/** `valid`, `transient` (keep, retry later), or a reason for dropping (invalid or useless). */
export type Verdict = { readonly ok: true } | { readonly transient: true } | { readonly drop: string; readonly invalid: boolean }

const OK: Verdict = { ok: true }
const LATER: Verdict = { transient: true }
const useless = (why: string): Verdict => ({ drop: why, invalid: false })
const invalid = (why: string): Verdict => ({ drop: why, invalid: true })

const KIND_ORDER: Record<Artifact['kind'], number> = {
  cup: 0, beacon: 1, beaconShare: 2, proposal: 3, notarization: 4, notarizationShare: 5, finalization: 6, finalizationShare: 7,
  certification: 8, certificationShare: 9, cupShare: 10,
}

export function validate(pool: PoolReader, ctx: ComponentContext): ChangeAction[] {
  const entries = [...pool.unvalidated()].sort((a, b) => (a.height < b.height ? -1 : a.height > b.height ? 1 : KIND_ORDER[a.artifact.kind] - KIND_ORDER[b.artifact.kind] || (a.id < b.id ? -1 : 1)))
  const out: ChangeAction[] = []
  // Keys accepted earlier in this pass, so one pass never admits two copies of the same thing.
  const taken = new Set<string>()
  for (const e of entries) {
    const v = check(pool, ctx, e, taken)
    if ('ok' in v) out.push({ type: 'validate', id: e.id, artifact: e.artifact, relay: e.artifact.kind === 'proposal' })
    else if ('drop' in v) out.push(v.invalid ? { type: 'drop', id: e.id, invalid: v.drop } : { type: 'drop', id: e.id })
  }
  return out
}

function once(taken: Set<string>, key: string): boolean {
  if (taken.has(key)) return false
  taken.add(key)
  return true
}

export function check(pool: PoolReader, ctx: ComponentContext, e: UnvalidatedEntry, taken: Set<string>): Verdict {
  const a = e.artifact
  const h = e.height
  const n = ctx.config.n
  const signerOk = (s: number) => Number.isSafeInteger(s) && s >= 0 && s < n
  switch (a.kind) {
    case 'beacon': {
      if (h <= pool.beaconHeight) return useless('old beacon')
      if (h > pool.beaconHeight + 1n) return LATER
      const prev = pool.beacon(h - 1n)
      if (prev === undefined) return LATER
      if (!bytesEqual(a.parent, beaconHash(prev))) return invalid('beacon parent mismatch')
      if (!once(taken, `beacon:${h}`)) return LATER
      return ctx.crypto.verifyLow(beaconSigned(h, a.parent), a.signature) ? OK : invalid('beacon signature')
    }
    case 'beaconShare': {
      if (!signerOk(a.signer) || a.signer !== e.from) return invalid('beacon share signer')
      if (h <= pool.beaconHeight) return useless('old beacon share')
      if (h > pool.beaconHeight + 1n) return LATER
      const prev = pool.beacon(h - 1n)
      if (prev === undefined) return LATER
      if (!bytesEqual(a.parent, beaconHash(prev))) return invalid('beacon share parent mismatch')
      if (pool.bucket(h)?.beaconShares.has(a.signer) || !once(taken, `bs:${h}:${a.signer}`)) return useless('duplicate beacon share')
      return OK
    }
    case 'proposal':
      return checkProposal(pool, ctx, a, taken)
    case 'notarizationShare':
    case 'finalizationShare': {
      if (!signerOk(a.signer) || a.signer !== e.from) return invalid('share signer')
      if (h <= pool.finalizedHeight) return useless('share below finalized height')
      const hex = toHex(a.block)
      const b = pool.bucket(h)
      const final = a.kind === 'finalizationShare'
      if (final ? !pool.isNotarized(h, hex) : pool.block(h, hex) === undefined) return LATER
      const map = final ? b?.finalizationShares : b?.notarizationShares
      if (map?.has(`${a.signer}:${hex}`) || !once(taken, `${a.kind}:${h}:${a.signer}:${hex}`)) return useless('duplicate share')
      const msg = final ? finalizationSigned(h, a.block) : notarizationSigned(h, a.block)
      return ctx.crypto.verify(a.signer, msg, a.signature) ? OK : invalid(`${a.kind} signature`)
    }
    case 'notarization':
    case 'finalization':
      return checkMultiSigned(pool, ctx, a, taken)
    case 'certificationShare': {
      if (!signerOk(a.signer) || a.signer !== e.from) return invalid('certification share signer')
      if (h <= pool.certifiedHeight) return useless('old certification share')
      const own = ctx.stateHash(h)
      if (own === undefined) return LATER
      // A share on another hash means some node diverged; this node never helps certify it.
      if (!bytesEqual(own, a.stateHash)) return invalid('certification share for a different state hash')
      if (pool.bucket(h)?.certificationShares.has(a.signer) || !once(taken, `cs:${h}:${a.signer}`)) return useless('duplicate certification share')
      return OK
    }
    case 'certification': {
      if (h <= pool.certifiedHeight) return useless('old certification')
      const own = ctx.stateHash(h)
      if (own === undefined) return LATER
      if (!bytesEqual(own, a.stateHash)) return invalid('certification of a different state hash')
      if (!once(taken, `cert:${h}`)) return LATER
      return ctx.crypto.verifyHigh(certificationSigned(a.stateHash), a.signature) ? OK : invalid('certification signature')
    }
    case 'cupShare': {
      if (!signerOk(a.signer) || a.signer !== e.from) return invalid('CUP share signer')
      if (h <= pool.cup.content.block.height) return useless('old CUP share')
      const own = ownCupContentHash(pool, ctx, h)
      if (own === undefined) return LATER
      if (!bytesEqual(own, a.contentHash)) return invalid('CUP share for different content')
      if (pool.bucket(h)?.cupShares.has(a.signer) || !once(taken, `cups:${h}:${a.signer}`)) return useless('duplicate CUP share')
      return OK
    }
    case 'cup': {
      if (h <= pool.cup.content.block.height) return useless('old CUP')
      const c = a.content
      if (!bytesEqual(blockHash(c.block), c.blockHash)) return invalid('CUP block hash')
      if (c.beacon.height !== h || c.stateHash.length !== 32) return invalid('CUP beacon height or state hash')
      if (!once(taken, 'cup')) return LATER
      return ctx.crypto.verifyHigh(cupSigned(cupContentHash(c)), a.signature) ? OK : invalid('CUP signature')
    }
  }
}

function checkProposal(pool: PoolReader, ctx: ComponentContext, p: BlockProposal, taken: Set<string>): Verdict {
  const b = p.block
  const h = b.height
  if (h <= pool.finalizedHeight) return useless('proposal below finalized height')
  if (h > pool.notarizedHeight + 1n) return LATER
  if (typeof b.time !== 'bigint' || b.time < 0n || b.time >= 1n << 64n || typeof b.certifiedHeight !== 'bigint') return invalid('block time or certified height malformed')
  const hex = toHex(p.hash)
  const bucket = pool.bucket(h)
  if (bucket?.proposals.has(hex)) return useless('duplicate proposal')
  if (!Number.isSafeInteger(p.signer) || p.signer < 0 || p.signer >= ctx.config.n) return invalid('proposal signer')
  if (!bytesEqual(blockHash(b), p.hash)) return invalid('proposal hash mismatch')
  const parentHex = toHex(b.parent)
  const parent = pool.block(h - 1n, parentHex)
  if (parent === undefined || !pool.isNotarized(h - 1n, parentHex)) {
    // Below the finalized height only the finalized block can be a parent.
    const fin = pool.finalizedBlockHash(h - 1n)
    return h - 1n <= pool.finalizedHeight && fin !== undefined && fin !== parentHex ? invalid('parent not on the finalized chain') : LATER
  }
  const prevBeacon = pool.beacon(h - 1n)
  if (prevBeacon === undefined) return LATER
  const rank = blockMakerRanks(prevBeacon, ctx.config.n)[p.signer]
  if (b.rank !== rank || rank > ctx.f) return invalid(`rank ${b.rank} is not the maker's rank ${rank}`)
  if (b.time <= parent.time) return invalid('block time not after parent time')
  if (b.time > ctx.now + ctx.config.maxClockDriftNs) return LATER
  if (b.certifiedHeight < parent.certifiedHeight || b.certifiedHeight > h - 1n) return invalid('certified height out of range')
  if (b.certifiedHeight > pool.certifiedHeight) return LATER
  // Two proposals from one maker prove equivocation; more add nothing and would let it flood the pool.
  let fromMaker = 0
  for (const q of bucket?.proposals.values() ?? []) if (q.signer === p.signer) fromMaker++
  if (fromMaker >= 2) return useless('maker already equivocated')
  if (!ctx.crypto.verify(p.signer, proposalSigned(p.hash), p.signature)) return invalid('proposal signature')
  const past = pastPayloads(pool, h - 1n, parentHex, b.certifiedHeight)
  const why = ctx.payloadValidator.validate(b.payload, toHeight(h), timeNs(b.time), past)
  if (why !== undefined) return invalid(`payload: ${why}`)
  if (!once(taken, `p:${h}:${hex}`)) return useless('duplicate proposal')
  return OK
}

function checkMultiSigned(pool: PoolReader, ctx: ComponentContext, a: Notarization | Finalization, taken: Set<string>): Verdict {
  const h = a.height
  if (h <= pool.finalizedHeight) return useless(`${a.kind} below finalized height`)
  const hex = toHex(a.block)
  const final = a.kind === 'finalization'
  if (final ? pool.bucket(h)?.finalization !== undefined : pool.isNotarized(h, hex)) return useless(`duplicate ${a.kind}`)
  if (final ? !pool.isNotarized(h, hex) : pool.block(h, hex) === undefined) return LATER
  const need = ctx.config.n - ctx.f
  if (a.signers.length !== a.signatures.length || a.signers.length < need) return invalid(`${a.kind} has too few signers`)
  const seen = new Set<number>()
  for (const s of a.signers) {
    if (!Number.isSafeInteger(s) || s < 0 || s >= ctx.config.n || seen.has(s)) return invalid(`${a.kind} signers`)
    seen.add(s)
  }
  if (!once(taken, `${a.kind}:${h}:${final ? '' : hex}`)) return LATER
  const msg = final ? finalizationSigned(h, a.block) : notarizationSigned(h, a.block)
  for (let i = 0; i < a.signers.length; i++) if (!ctx.crypto.verify(a.signers[i], msg, a.signatures[i])) return invalid(`${a.kind} signature`)
  return OK
}
