import { describe, expect, it } from 'vitest'
import { byzantineCounters } from './byzantine.ts'
import { Cluster } from './cluster.ts'

describe('partitions', () => {
  it('no progress while no side has n − f nodes; safety holds; progress resumes after healing', () => {
    const cluster = new Cluster({ n: 4, seed: 11, ingressEveryMs: 300 })
    expect(cluster.runUntil(3)).toBe(true)
    cluster.partition([0, 1], [2, 3])
    // Messages already in flight may still complete one height.
    const before = cluster.maxDelivered()
    cluster.runFor(15_000)
    const during = cluster.maxDelivered()
    expect(during).toBeLessThanOrEqual(before + 1n)
    for (const node of cluster.nodes) expect(node.consensus.notarizedHeight).toBeLessThanOrEqual(during + 1n)
    cluster.heal()
    expect(cluster.runUntil(during + 4n, { maxMs: 30_000 })).toBe(true)
  })
})

describe('Byzantine nodes', () => {
  it('an equivocating block maker (two blocks at each of its turns) breaks neither safety nor progress', () => {
    const cluster = new Cluster({ n: 4, seed: 21, ingressEveryMs: 300 })
    cluster.node(2).byzantine('equivocate')
    const before = byzantineCounters.equivocations
    expect(cluster.runUntil(10, { maxMs: 60_000 })).toBe(true)
    expect(byzantineCounters.equivocations).toBeGreaterThan(before)
    // Honest nodes saw both twins (the invariants checked safety after every step meanwhile).
    expect(cluster.liveHonest().every((x) => x.consensus.stats.equivocationsSeen > 0)).toBe(true)
  })

  it('conflicting notarization shares and invalid signatures are survived and rejected (n = 7)', () => {
    const cluster = new Cluster({ n: 7, seed: 22, ingressEveryMs: 300, network: { delay: { kind: 'exponential', minMs: 1, meanExtraMs: 30 } } })
    cluster.node(0).byzantine('conflictingShares')
    cluster.node(4).byzantine('badSignatures')
    expect(cluster.runUntil(5, { maxMs: 60_000 })).toBe(true)
    const reasons = new Set<string>()
    for (const x of cluster.liveHonest()) for (const r of x.consensus.stats.invalidReasons.keys()) reasons.add(r)
    expect([...reasons].some((r) => /signature/.test(r))).toBe(true)
  })
})
