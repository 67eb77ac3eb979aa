import { describe, expect, it } from 'vitest'
import { Cluster } from './cluster.ts'

describe('bounded pools', () => {
  it('validated and unvalidated sections stay bounded over a long run (CUPs purge history)', () => {
    const cluster = new Cluster({ n: 4, seed: 41, ingressEveryMs: 200, network: { loss: 0.02, duplication: 0.02 } })
    const c = cluster.config
    // Steady state: about the finalized chain between CUP − keepBelowCup and the tip, a few
    // artifacts per height (block, notarization, finalization, beacon, certification), plus shares.
    const bound = Number(c.keepBelowCup + c.cupInterval + 3n) * (5 + cluster.n)
    expect(cluster.runUntil(20)).toBe(true)
    const early = Math.max(...cluster.nodes.map((x) => x.maxValidated))
    expect(cluster.runUntil(42, { maxMs: 120_000 })).toBe(true)
    const late = Math.max(...cluster.nodes.map((x) => x.maxValidated))
    expect(late).toBeLessThanOrEqual(bound)
    expect(late).toBeLessThanOrEqual(early + 2 * cluster.n)
    for (const node of cluster.nodes) {
      const pool = node.consensus.pool
      const lowest = pool.validatedHeights()[0]
      expect(lowest).toBeGreaterThanOrEqual(pool.cup.content.block.height - c.keepBelowCup)
      expect(pool.unvalidatedSize()).toBeLessThan(50)
    }
  })
})
