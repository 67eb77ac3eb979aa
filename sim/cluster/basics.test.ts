import { describe, expect, it } from 'vitest'
import type { Outgoing } from '../../consensus/node.ts'
import type { BlockProposal } from '../../consensus/types.ts'
import { sha256 } from '../../protocol/hash.ts'
import { OutputAudit } from './audit.ts'
import { EventQueue } from './events.ts'
import { PacketSimulator } from './network.ts'
import { SimRng } from './rng.ts'

describe('simulator building blocks', () => {
  it('the PRNG is deterministic per seed and bounded draws stay in range', () => {
    const a = new SimRng(5)
    const b = new SimRng(5)
    const xs = Array.from({ length: 100 }, () => a.nextU32())
    expect(Array.from({ length: 100 }, () => b.nextU32())).toEqual(xs)
    expect(new SimRng(6).nextU32()).not.toBe(xs[0])
    const counts = new Array(7).fill(0)
    for (let i = 0; i < 7000; i++) counts[a.below(7)]++
    for (const c of counts) expect(c).toBeGreaterThan(800)
  })

  it('events run in time order, ties in scheduling order', () => {
    const q = new EventQueue()
    const seen: string[] = []
    q.schedule(5n, () => seen.push('b'))
    q.schedule(1n, () => seen.push('a'))
    q.schedule(5n, () => seen.push('c'))
    q.schedule(3n, () => q.schedule(5n, () => seen.push('d')))
    while (q.runNext());
    expect(seen).toEqual(['a', 'b', 'c', 'd'])
    expect(q.now).toBe(5n)
  })

  it('partitions drop traffic across groups until healed', () => {
    const net = new PacketSimulator({ delay: { kind: 'fixed', ms: 3 }, loss: 0, duplication: 0 }, new SimRng(1))
    net.partition([[0, 1], [2, 3]])
    expect(net.route(0, 1)).toEqual([3_000_000n])
    expect(net.route(0, 2)).toEqual([])
    net.heal()
    expect(net.route(0, 2)).toEqual([3_000_000n])
  })

  it('the output audit catches an honest node proposing twice or finality-signing after signing another block', () => {
    const audit = new OutputAudit()
    const block = { height: 3n, parent: new Uint8Array(32), rank: 0, time: 1n, certifiedHeight: 0n, payload: { messages: [] } }
    const prop = (tag: number): Outgoing => ({ message: { type: 'artifact', artifact: { kind: 'proposal', block, hash: sha256(new Uint8Array([tag])), signer: 0, signature: new Uint8Array(64) } as BlockProposal } })
    expect(audit.check(0, 0, 2n, [prop(1)], 0)).toBeUndefined()
    expect(audit.check(0, 0, 2n, [prop(1)], 0)).toBeUndefined() // re-sending is fine
    expect(audit.check(0, 0, 2n, [prop(2)], 0)).toMatch(/two different proposals/)
    const share = (kind: 'notarizationShare' | 'finalizationShare', tag: number): Outgoing => ({ message: { type: 'artifact', artifact: { kind, height: 3n, block: sha256(new Uint8Array([tag])), signer: 1, signature: new Uint8Array(64) } } })
    expect(audit.check(1, 0, 2n, [share('notarizationShare', 1), share('notarizationShare', 2)], 1)).toBeUndefined()
    expect(audit.check(1, 0, 2n, [share('finalizationShare', 1)], 1)).toMatch(/after notarization-signing another/)
    expect(audit.check(2, 0, 3n, [share('notarizationShare', 1)], 1)).toMatch(/although it had notarized/)
  })
})
