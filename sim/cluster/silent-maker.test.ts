import { describe, expect, it } from 'vitest'
import { blockMakerRanks } from '../../consensus/ranking.ts'
import { Cluster, type SimNode } from './cluster.ts'
import { describePlan, planScenario, runScenario } from './scenario.ts'

/** The node's own proposal at its next height, if it is the rank-0 maker there and has not yet signed it. */
function freshRankZeroProposal(node: SimNode): { height: bigint; hex: string } | undefined {
  const pool = node.consensus.pool
  const h = pool.notarizedHeight + 1n
  const beacon = pool.beacon(h - 1n)
  if (h < 2n || beacon === undefined || blockMakerRanks(beacon, node.cluster.n)[node.index] !== 0) return undefined
  const bucket = pool.bucket(h)
  for (const [hex, p] of bucket?.proposals ?? []) {
    if (p.signer === node.index && !bucket?.notarizationShares.has(`${node.index}:${hex}`)) return { height: h, hex }
  }
  return undefined
}

describe('a rank-0 maker that goes silent after reaching only some notaries', () => {
  it('the notaries that signed its block echo it to a peer that never saw it, so the round completes', () => {
    // Node 3 is cut off while nodes 0–2 run; then the rank-0 maker M among them proposes, its block
    // reaches the other two (who sign it), and M falls silent before sending its own share. After
    // healing, node 3 catches up to height h − 1 and proposes its higher-ranked block at h; the two
    // signers never move up to it, so only M's block, which node 3 can get from nobody but them, can
    // be notarized (before the echo, this round stalled forever).
    const cluster = new Cluster({ n: 4, seed: 75, ingressEveryMs: 300, network: { delay: { kind: 'fixed', ms: 5 } } })
    cluster.partition([0, 1, 2], [3])
    let maker: SimNode | undefined
    let round: { height: bigint; hex: string } | undefined
    for (let t = 0; t < 20_000 && maker === undefined; t++) {
      cluster.runFor(1)
      for (const node of cluster.nodes.slice(0, 3)) {
        round = freshRankZeroProposal(node)
        if (round !== undefined) {
          maker = node
          break
        }
      }
    }
    expect(maker).toBeDefined()
    const { height, hex } = round!
    const signers = cluster.nodes.slice(0, 3).filter((x) => x !== maker)
    cluster.runFor(20) // the block reaches the other two, well before any notary delay passes
    maker!.byzantine('silent')
    cluster.runFor(3_000)
    // Preconditions of the stall: both signed M's block, nobody but M can notarize it, node 3 lacks it.
    for (const x of signers) {
      const b = x.consensus.pool.bucket(height)
      expect(b?.notarizationShares.has(`${x.index}:${hex}`)).toBe(true)
      expect(x.consensus.notarizedHeight).toBe(height - 1n)
    }
    expect(cluster.node(3).consensus.pool.bucket(height)?.proposals.has(hex) ?? false).toBe(false)
    cluster.heal()
    expect(cluster.runUntil(height + 2n, { maxMs: 30_000 })).toBe(true)
    // Height h went to M's block: the signers never signed node 3's higher-ranked one.
    expect(cluster.node(0).consensus.pool.finalizedBlockHash(height)).toBe(hex)
  })

  it('seed 75 of the random sweep (the CI failure this reproduces) regains liveness', () => {
    const plan = planScenario(75, 3, 1500)
    const r = runScenario(plan, { maxMs: 60_000 })
    expect(r.error, describePlan(plan)).toBeUndefined()
    expect(r.ok).toBe(true)
  })
})
