// The components that create this node's own artifacts. Each reads the pool and returns a change set;
// none mutates anything. When a component is waiting for a delay, it records the time it will act
// in ctx.wakeAt so the embedder (simulator or replica) can wake the node then.

import { toHex } from '../protocol/hash.ts'
import { height as toHeight, timeNs } from '../protocol/ids.ts'
import { type ChangeAction, type ComponentContext, MAX_NOTARIZED_AHEAD_OF_CERTIFIED, notaryDelay, ownCupContent, pastPayloads } from './context.ts'
import { beaconHash, beaconSigned, blockHash, certificationSigned, cupContentHash, cupSigned, finalizationSigned, notarizationSigned, proposalSigned } from './encoding.ts'
import type { PoolReader } from './pool.ts'
import { blockMakerRanks } from './ranking.ts'
import type { Block, BlockProposal } from './types.ts'

/** Beacon h is shared as soon as h − 1 is notarized (pipelined: it ranks round h + 1). */
export function randomBeaconMaker(pool: PoolReader, ctx: ComponentContext): ChangeAction[] {
  const h = pool.beaconHeight + 1n
  if (pool.notarizedHeight < h - 1n) return []
  if (pool.bucket(h)?.beaconShares.has(ctx.self)) return []
  const prev = pool.beacon(h - 1n)
  if (prev === undefined) return []
  const parent = beaconHash(prev)
  const signature = ctx.crypto.signLowShare(beaconSigned(h, parent))
  return [{ type: 'add', artifact: { kind: 'beaconShare', height: h, parent, signer: ctx.self, signature }, broadcast: true }]
}

/** Proposals at h that are not disqualified (a maker with two proposals at h is). */
export function disqualifiedMakers(proposals: Iterable<BlockProposal>): Set<number> {
  const seen = new Set<number>()
  const bad = new Set<number>()
  for (const p of proposals) {
    if (seen.has(p.signer)) bad.add(p.signer)
    seen.add(p.signer)
  }
  return bad
}

export function blockMaker(pool: PoolReader, ctx: ComponentContext): ChangeAction[] {
  const h = pool.notarizedHeight + 1n
  if (h <= ctx.signedUpTo) return []
  const prevBeacon = pool.beacon(h - 1n)
  const t0 = pool.roundStart(h)
  if (prevBeacon === undefined || t0 === undefined) return []
  const rank = blockMakerRanks(prevBeacon, ctx.config.n)[ctx.self]
  if (rank > ctx.f) return []
  const proposals = [...(pool.bucket(h)?.proposals.values() ?? [])]
  const bad = disqualifiedMakers(proposals)
  // An equivocating lower-ranked maker does not hold this node back.
  for (const p of proposals) if (p.signer === ctx.self || (p.block.rank < rank && !bad.has(p.signer))) return []
  const due = t0 + ctx.config.unitDelayNs * BigInt(rank)
  if (ctx.now < due) {
    ctx.wakeAt.push(due)
    return []
  }
  const parents = pool.notarizedBlocks(h - 1n)
  if (parents.length === 0) return []
  const [parentHex, parent] = parents[0]
  const time = ctx.now > parent.time ? ctx.now : parent.time + 1n
  let certifiedHeight = pool.certifiedHeight < h - 1n ? pool.certifiedHeight : h - 1n
  if (certifiedHeight < parent.certifiedHeight) certifiedHeight = parent.certifiedHeight
  const past = pastPayloads(pool, h - 1n, parentHex, certifiedHeight)
  const payload = ctx.payloadBuilder.build(toHeight(h), timeNs(time), past)
  // The first heights above a CUP (a fresh subnet, a restart) are made at full speed: a network that
  // is starting up should show it finalizes and certifies without waiting out idle delays.
  const warmingUp = h <= pool.cup.content.block.height + 2n
  if (!warmingUp && payload.messages.length === 0 && ctx.config.idleBlockDelayNs > 0n && ctx.payloadBuilder.pendingWork?.(timeNs(time)) !== true) {
    const idleDue = due + ctx.config.idleBlockDelayNs
    if (ctx.now < idleDue) {
      ctx.wakeAt.push(idleDue)
      return []
    }
  }
  const block: Block = { height: h, parent: blockHash(parent), rank, time, certifiedHeight, payload }
  const hash = blockHash(block)
  const proposal: BlockProposal = { kind: 'proposal', block, hash, signer: ctx.self, signature: ctx.crypto.sign(proposalSigned(hash)) }
  return [{ type: 'add', artifact: proposal, broadcast: true }]
}

/** "Notarize the best, then stop": sign the lowest-ranked valid block once its delay has passed. */
export function notary(pool: PoolReader, ctx: ComponentContext): ChangeAction[] {
  const h = pool.notarizedHeight + 1n
  if (h <= ctx.signedUpTo) return []
  if (h - 1n - pool.certifiedHeight >= MAX_NOTARIZED_AHEAD_OF_CERTIFIED) return []
  const t0 = pool.roundStart(h)
  const bucket = pool.bucket(h)
  if (t0 === undefined || bucket === undefined || bucket.proposals.size === 0) return []
  const bad = disqualifiedMakers(bucket.proposals.values())
  let minSigned = Infinity
  const signed = new Set<string>()
  for (const s of bucket.notarizationShares.values()) {
    if (s.signer !== ctx.self) continue
    const hex = toHex(s.block)
    signed.add(hex)
    const p = bucket.proposals.get(hex)
    if (p !== undefined && !bad.has(p.signer)) minSigned = Math.min(minSigned, p.block.rank)
  }
  let best: [string, BlockProposal] | undefined
  for (const [hex, p] of bucket.proposals) {
    if (bad.has(p.signer) || signed.has(hex) || p.block.rank > minSigned) continue
    if (best === undefined || p.block.rank < best[1].block.rank) best = [hex, p]
  }
  if (best === undefined) return []
  const due = t0 + notaryDelay(ctx.config, best[1].block.rank, pool.notarizedHeight, pool.finalizedHeight, pool.certifiedHeight)
  if (ctx.now < due) {
    ctx.wakeAt.push(due)
    return []
  }
  const signature = ctx.crypto.sign(notarizationSigned(h, best[1].hash))
  return [{ type: 'add', artifact: { kind: 'notarizationShare', height: h, block: best[1].hash, signer: ctx.self, signature }, broadcast: true }]
}

/** Finality-sign h only if exactly one block is notarized there and this node signed no other. */
export function finalizer(pool: PoolReader, ctx: ComponentContext): ChangeAction[] {
  const out: ChangeAction[] = []
  for (let h = pool.finalizedHeight + 1n; h <= pool.notarizedHeight; h++) {
    const bucket = pool.bucket(h)
    if (bucket === undefined || h <= ctx.signedUpTo) continue
    let mine = false
    for (const s of bucket.finalizationShares.values()) if (s.signer === ctx.self) mine = true
    if (mine) continue
    const notarized = pool.notarizedBlocks(h)
    if (notarized.length !== 1) continue
    const [hex] = notarized[0]
    let other = false
    for (const s of bucket.notarizationShares.values()) if (s.signer === ctx.self && toHex(s.block) !== hex) other = true
    if (other) continue
    const p = bucket.proposals.get(hex)
    if (p === undefined) continue
    const signature = ctx.crypto.sign(finalizationSigned(h, p.hash))
    out.push({ type: 'add', artifact: { kind: 'finalizationShare', height: h, block: p.hash, signer: ctx.self, signature }, broadcast: true })
  }
  return out
}

/** Signs the state hash of each executed, uncertified height with this node's high-threshold share. */
export function certifier(pool: PoolReader, ctx: ComponentContext, maxPerCall = 4): ChangeAction[] {
  const out: ChangeAction[] = []
  for (let h = pool.certifiedHeight + 1n; out.length < maxPerCall; h++) {
    const stateHash = ctx.stateHash(h)
    if (stateHash === undefined) break
    if (pool.bucket(h)?.certificationShares.has(ctx.self)) continue
    const signature = ctx.crypto.signHighShare(certificationSigned(stateHash))
    out.push({ type: 'add', artifact: { kind: 'certificationShare', height: h, stateHash, signer: ctx.self, signature }, broadcast: true })
  }
  return out
}

/** At each CUP height, once it is finalized, certified and executed, sign the catch-up content. */
export function cupMaker(pool: PoolReader, ctx: ComponentContext): ChangeAction[] {
  const interval = ctx.config.cupInterval
  const cupH = pool.cup.content.block.height
  const h = (cupH / interval + 1n) * interval
  if (pool.finalizedHeight < h || pool.bucket(h)?.cupShares.has(ctx.self)) return []
  const content = ownCupContent(pool, ctx, h)
  if (content === undefined) return []
  const contentHash = cupContentHash(content)
  const signature = ctx.crypto.signHighShare(cupSigned(contentHash))
  return [{ type: 'add', artifact: { kind: 'cupShare', height: h, contentHash, signer: ctx.self, signature }, broadcast: true }]
}

/** Asks the applier to purge once the finalized, certified, beacon or CUP height has moved. */
export function purger(pool: PoolReader): ChangeAction[] {
  return pool.purgedAt === pool.purgeMark() ? [] : [{ type: 'purge' }]
}
