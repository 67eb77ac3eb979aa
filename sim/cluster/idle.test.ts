import { describe, expect, it } from 'vitest'
import { Cluster } from './cluster.ts'

const MS = 1_000_000n

// An idle subnet (no ingress, no pending execution work) makes about one block per idle delay instead
// of one per notary delay; ingress arriving at the block maker gets a block at once.
describe('idle block delay', () => {
  const heightsAfter = (ms: number, opts: { idle: bigint; ingressEveryMs: number }) => {
    const c = new Cluster({ n: 4, seed: 5, ingressEveryMs: opts.ingressEveryMs, config: { idleBlockDelayNs: opts.idle } })
    c.runFor(ms)
    return Math.min(...c.liveHonest().map((node) => Number(node.consensus.finalizedHeight)))
  }

  it('an idle subnet slows to about one block per idle delay, and stays safe and live', () => {
    const busy = heightsAfter(20_000, { idle: 0n, ingressEveryMs: 0 })
    const idle = heightsAfter(20_000, { idle: 2_000n * MS, ingressEveryMs: 0 })
    expect(idle).toBeGreaterThanOrEqual(5)
    // 10 idle blocks in 20 s, plus the two warm-up heights above the CUP made at full speed.
    expect(idle).toBeLessThanOrEqual(13)
    expect(busy).toBeGreaterThan(idle * 1.5)
  })

  it('a starting subnet makes its first heights without waiting out the idle delay', () => {
    expect(heightsAfter(1_500, { idle: 2_000n * MS, ingressEveryMs: 0 })).toBeGreaterThanOrEqual(2)
  })

  it('ingress is not held back by the idle delay', () => {
    const withIngress = heightsAfter(20_000, { idle: 2_000n * MS, ingressEveryMs: 100 })
    const without = heightsAfter(20_000, { idle: 2_000n * MS, ingressEveryMs: 0 })
    expect(withIngress).toBeGreaterThan(without * 1.5)
  })
})
