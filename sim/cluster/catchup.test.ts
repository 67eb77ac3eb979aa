import { describe, expect, it } from 'vitest'
import { Cluster } from './cluster.ts'

describe('catch-up packages', () => {
  it('a restarted node catches up from a CUP plus the blocks after it', () => {
    const cluster = new Cluster({ n: 4, seed: 31, ingressEveryMs: 300, network: { delay: { kind: 'uniform', minMs: 1, maxMs: 20 } } })
    expect(cluster.runUntil(11)).toBe(true)
    while (cluster.node(3).consensus.cup.content.block.height < 10n) cluster.runFor(100)
    const node = cluster.node(3).crash()
    const persisted = node.persistedCup.content.block.height
    expect(persisted).toBe(10n)
    // The others move on by more than keepBelowCup past later CUPs, so the blocks node 3 lacks are purged.
    expect(cluster.runUntil(24, { maxMs: 60_000 })).toBe(true)
    const peers = cluster.liveHonest()
    expect(peers.every((p) => p.consensus.cup.content.block.height >= 20n)).toBe(true)
    node.restart()
    expect(node.delivered).toBe(persisted)
    expect(cluster.runUntil(cluster.maxDelivered() + 2n, { maxMs: 60_000 })).toBe(true)
    // It jumped to a newer CUP (state sync), then executed the blocks after it; the invariants
    // compared its state hashes with everyone else's at every height on the way.
    expect(node.syncs).toBeGreaterThanOrEqual(1)
    expect(node.consensus.cup.content.block.height).toBeGreaterThan(persisted)
    expect(node.app.lastHeight).toBe(node.delivered)
    expect(node.app.stateHash(node.consensus.cup.content.block.height as never)).toBeDefined()
  })

  it('a node cut off for several CUP intervals catches up after healing', () => {
    const cluster = new Cluster({ n: 4, seed: 32, network: { loss: 0.05 } })
    cluster.partition([0, 1, 2], [3])
    expect(cluster.runUntil(5, { maxMs: 25_000 })).toBe(false) // node 3 alone cannot follow
    expect(cluster.node(3).delivered).toBe(0n)
    expect(cluster.node(0).delivered).toBeGreaterThan(15n)
    cluster.heal()
    expect(cluster.runUntil(cluster.maxDelivered() + 2n, { maxMs: 30_000 })).toBe(true)
    expect(cluster.node(3).syncs).toBeGreaterThanOrEqual(1)
  })
})
