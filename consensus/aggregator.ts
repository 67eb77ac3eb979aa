// Turns enough shares into full artifacts: f + 1 beacon shares into the beacon, n − f notarization or
// finalization shares into a notarization or finalization, n − f certification or CUP shares into a
// certification or CUP. Threshold-BLS combinations are verified once; only when that fails are the
// shares checked one by one and the bad ones removed.

import { bytesEqual, toHex } from '../protocol/hash.ts'
import type { ChangeAction, ComponentContext } from './context.ts'
import { ownCupContent } from './context.ts'
import { beaconSigned, certificationSigned, cupContentHash, cupSigned } from './encoding.ts'
import type { SignatureShare } from './crypto.ts'
import type { PoolReader } from './pool.ts'
import type { Artifact, FinalizationShare, NotarizationShare } from './types.ts'

interface ThresholdOps {
  readonly threshold: number
  combine(shares: readonly SignatureShare[]): Uint8Array
  verify(sig: Uint8Array): boolean
  verifyShare(s: SignatureShare): boolean
}

/**
 * Combines the `threshold` lowest-indexed shares and verifies the result. On failure every share but
 * the node's own is verified, the bad ones are reported, and the good ones combine. (Choosing by
 * index, not own-first, makes nodes with the same shares produce the same combination.) Signers
 * caught with a bad share before go last, so one faulty node costs a per-share pass once, not at
 * every height.
 */
function combineVerified<S extends SignatureShare & Artifact>(shares: S[], self: number, n: number, suspects: ReadonlySet<number>, ops: ThresholdOps, out: ChangeAction[]): Uint8Array | undefined {
  const rank = (s: S) => (suspects.has(s.signer) ? 1 : 0)
  const sorted = [...shares].sort((a, b) => rank(a) - rank(b) || a.signer - b.signer)
  if (sorted.length < ops.threshold) return undefined
  const first = sorted.slice(0, ops.threshold)
  // Rather than combine with a known-bad signer's share, wait for the rest (all n at most).
  if (first.some((s) => suspects.has(s.signer)) && sorted.length < n) return undefined
  const sig = tryCombine(first, ops)
  if (sig !== undefined && ops.verify(sig)) return sig
  const good: S[] = []
  for (const s of sorted) {
    if (s.signer === self || ops.verifyShare(s)) good.push(s)
    else out.push({ type: 'removeValidated', artifact: s, invalid: 'threshold signature share' })
  }
  if (good.length < ops.threshold) return undefined
  return tryCombine(good.slice(0, ops.threshold), ops)
}

function tryCombine(shares: readonly SignatureShare[], ops: ThresholdOps): Uint8Array | undefined {
  try {
    return ops.combine(shares)
  } catch {
    return undefined // a share that is not even a curve point: the per-share pass removes it
  }
}

export function aggregator(pool: PoolReader, ctx: ComponentContext): ChangeAction[] {
  const out: ChangeAction[] = []
  const { crypto, config, f, self } = ctx
  const need = config.n - f

  // Random beacon at the next height.
  {
    const h = pool.beaconHeight + 1n
    const shares = [...(pool.bucket(h)?.beaconShares.values() ?? [])]
    if (shares.length >= f + 1) {
      const parent = shares[0].parent
      const msg = beaconSigned(h, parent)
      const sig = combineVerified(shares, self, config.n, ctx.suspects, {
        threshold: f + 1,
        combine: (s) => crypto.combineLow(s),
        verify: (s) => crypto.verifyLow(msg, s),
        verifyShare: (s) => crypto.verifyLowShare(s.signer, msg, s.signature),
      }, out)
      if (sig !== undefined) out.push({ type: 'add', artifact: { kind: 'beacon', height: h, parent, signature: sig }, broadcast: false })
    }
  }

  // Notarizations (for every block still short of one) and finalizations.
  for (let h = pool.finalizedHeight + 1n; h <= pool.notarizedHeight + 1n; h++) {
    const b = pool.bucket(h)
    if (b === undefined) continue
    for (const [hex, shares] of group(b.notarizationShares.values())) {
      if (shares.length < need || pool.isNotarized(h, hex)) continue
      shares.sort((x, y) => x.signer - y.signer)
      out.push({ type: 'add', artifact: { kind: 'notarization', height: h, block: shares[0].block, signers: shares.map((s) => s.signer), signatures: shares.map((s) => s.signature) }, broadcast: false })
    }
    if (b.finalization !== undefined || h > pool.notarizedHeight) continue
    for (const [, shares] of group(b.finalizationShares.values())) {
      if (shares.length < need) continue
      shares.sort((x, y) => x.signer - y.signer)
      out.push({ type: 'add', artifact: { kind: 'finalization', height: h, block: shares[0].block, signers: shares.map((s) => s.signer), signatures: shares.map((s) => s.signature) }, broadcast: false })
      break
    }
  }

  // Certifications of executed heights.
  for (let h = pool.certifiedHeight + 1n; ; h++) {
    const own = ctx.stateHash(h)
    if (own === undefined) break
    const shares = [...(pool.bucket(h)?.certificationShares.values() ?? [])].filter((s) => bytesEqual(s.stateHash, own))
    if (shares.length < need) continue
    const msg = certificationSigned(own)
    const sig = combineVerified(shares, self, config.n, ctx.suspects, {
      threshold: need,
      combine: (s) => crypto.combineHigh(s),
      verify: (s) => crypto.verifyHigh(msg, s),
      verifyShare: (s) => crypto.verifyHighShare(s.signer, msg, s.signature),
    }, out)
    if (sig !== undefined) out.push({ type: 'add', artifact: { kind: 'certification', height: h, stateHash: own, signature: sig }, broadcast: false })
  }

  // Catch-up package at the next CUP height.
  {
    const h = (pool.cup.content.block.height / config.cupInterval + 1n) * config.cupInterval
    const shares = [...(pool.bucket(h)?.cupShares.values() ?? [])]
    const content = shares.length >= need ? ownCupContent(pool, ctx, h) : undefined
    if (content !== undefined) {
      const contentHash = cupContentHash(content)
      const msg = cupSigned(contentHash)
      const matching = shares.filter((s) => bytesEqual(s.contentHash, contentHash))
      const sig = combineVerified(matching, self, config.n, ctx.suspects, {
        threshold: need,
        combine: (s) => crypto.combineHigh(s),
        verify: (s) => crypto.verifyHigh(msg, s),
        verifyShare: (s) => crypto.verifyHighShare(s.signer, msg, s.signature),
      }, out)
      if (sig !== undefined) out.push({ type: 'add', artifact: { kind: 'cup', content, signature: sig }, broadcast: false })
    }
  }
  return out
}

function group<S extends NotarizationShare | FinalizationShare>(shares: Iterable<S>): Map<string, S[]> {
  const m = new Map<string, S[]>()
  for (const s of shares) {
    const k = toHex(s.block)
    const list = m.get(k)
    if (list === undefined) m.set(k, [s])
    else list.push(s)
  }
  return m
}
