import { describe, expect, it } from 'vitest'
import { Cluster } from './cluster.ts'

describe('progress with f crashed nodes', () => {
  for (const [n, heights] of [[4, 6], [7, 5], [13, 4]] as const) {
    it(`n = ${n}: the remaining n − f nodes finalize and certify ${heights} heights`, () => {
      const cluster = new Cluster({ n, seed: n, ingressEveryMs: 250 })
      const f = cluster.f
      for (let i = 0; i < f; i++) cluster.node(n - 1 - i).crash()
      expect(cluster.runUntil(heights, { maxMs: 60_000 })).toBe(true)
      for (const node of cluster.liveHonest()) {
        expect(node.delivered).toBeGreaterThanOrEqual(BigInt(heights))
        expect(node.consensus.certifiedHeight).toBeGreaterThanOrEqual(BigInt(heights - 2))
      }
      // Batches carried the submitted ingress, each message once (checked by the invariants).
      expect(cluster.chainIds.size).toBeGreaterThan(0)
      expect(cluster.finalizedBlocks.size).toBeGreaterThanOrEqual(heights)
    })
  }

  it('a run replays exactly from its seed', () => {
    const run = () => {
      const c = new Cluster({ n: 4, seed: 99, network: { delay: { kind: 'exponential', minMs: 1, meanExtraMs: 40 }, loss: 0.05, duplication: 0.05 }, ingressEveryMs: 200 })
      c.runUntil(4)
      return { t: c.nowMs, blocks: [...c.finalizedBlocks], sent: c.network.sent }
    }
    expect(run()).toEqual(run())
  })
})
