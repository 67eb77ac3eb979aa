// What every component reads besides the pool: keys, configuration, the local clock and the state.

import type { PayloadBuilder, PayloadValidator } from '../protocol/consensus-types.ts'
import type { ConsensusCrypto } from './crypto.ts'
import type { PoolReader } from './pool.ts'
import { toHex } from '../protocol/hash.ts'
import { blockHash, cupContentHash } from './encoding.ts'
import type { BlockPayload } from '../protocol/consensus-types.ts'
import type { Artifact, CatchUpContent, ConsensusConfig } from './types.ts'

type BlockPayloadList = BlockPayload[]

export interface ComponentContext {
  readonly config: ConsensusConfig
  readonly crypto: ConsensusCrypto
  readonly self: number
  readonly f: number
  readonly now: bigint
  readonly payloadBuilder: PayloadBuilder
  readonly payloadValidator: PayloadValidator
  /** State hash of an executed height, undefined until executed. */
  stateHash(h: bigint): Uint8Array | undefined
  /**
   * Heights at or below which this node may already have proposed or signed before a restart (the
   * embedder persists it before the node signs): no proposal, notarization or finalization share
   * there, so a restart can never make an honest node equivocate.
   */
  readonly signedUpTo: bigint
  /** Signers whose threshold shares failed a check before: tried last when combining. */
  readonly suspects: ReadonlySet<number>
  /** Times at which some component will want to act; the embedder wakes the node then. */
  readonly wakeAt: bigint[]
}

export type ChangeAction =
  /** A new artifact of this node (own share, own proposal, or an aggregate); sent to peers when `broadcast`. */
  | { readonly type: 'add'; readonly artifact: Artifact; readonly broadcast: boolean }
  /** Unvalidated → validated; `relay` re-sends it (proposals are echoed so every notary sees equivocation). */
  | { readonly type: 'validate'; readonly id: string; readonly artifact: Artifact; readonly relay: boolean }
  /** Drops an unvalidated artifact: invalid (`invalid` set) or merely useless. */
  | { readonly type: 'drop'; readonly id: string; readonly invalid?: string }
  /** A provisionally accepted threshold share failed its individual check. */
  | { readonly type: 'removeValidated'; readonly artifact: Artifact; readonly invalid: string }
  /** Drop what lies below the finalized height / CUP (the rules are in ArtifactPool.purge). */
  | { readonly type: 'purge' }

/** Payloads of the chain from `parent` down to (excluding) `downTo`, newest first, as far as the pool has them. */
export function pastPayloads(pool: PoolReader, parentHeight: bigint, parentHex: string, downTo: bigint): BlockPayloadList {
  const out: BlockPayloadList = []
  let h = parentHeight
  let hex = parentHex
  while (h > downTo) {
    const b = pool.block(h, hex)
    if (b === undefined) break
    out.push(b.payload)
    hex = toHex(b.parent)
    h--
  }
  return out
}

/** This node's view of the catch-up content at h, or undefined while something is still missing. */
export function ownCupContent(pool: PoolReader, ctx: ComponentContext, h: bigint): CatchUpContent | undefined {
  const hex = pool.finalizedBlockHash(h)
  const beacon = pool.beacon(h)
  const stateHash = ctx.stateHash(h)
  if (hex === undefined || beacon === undefined || stateHash === undefined || pool.certifiedHeight < h) return undefined
  const block = pool.block(h, hex)
  if (block === undefined) return undefined
  return { block, blockHash: blockHash(block), beacon, stateHash }
}

export function ownCupContentHash(pool: PoolReader, ctx: ComponentContext, h: bigint): Uint8Array | undefined {
  const c = ownCupContent(pool, ctx, h)
  return c === undefined ? undefined : cupContentHash(c)
}

/** Δ_ntry(r) as the IC adjusts it: slower when finalization or certification lags. */
export function notaryDelay(config: ConsensusConfig, rank: number, notarized: bigint, finalized: bigint, certified: bigint): bigint {
  const lag = Number(notarized - finalized)
  const k = BigInt(Math.min(Math.max(lag, 0), 10))
  const growth = (config.unitDelayNs * BigInt(rank) * 3n ** k) / 2n ** k
  const certLag = finalized - certified - 3n
  return config.initialNotaryDelayNs + growth + (certLag > 0n ? config.unitDelayNs * certLag : 0n)
}

/** Notaries stop while certification lags this far behind (the IC's hard stop of 70 heights). */
export const MAX_NOTARIZED_AHEAD_OF_CERTIFIED = 70n
