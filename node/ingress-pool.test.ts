import { describe, expect, it } from 'vitest'
import { IngressPool } from './ingress-pool.ts'
import { isCapsaError } from '../protocol/errors.ts'

const msg = (i: number, expiry = 1000n, size = 10) => ({ id: new Uint8Array([i]), bytes: new Uint8Array(size), expiry })

describe('ingress pool', () => {
  it('de-duplicates, selects in arrival order within block limits, and skips what the chain has', () => {
    const pool = new IngressPool()
    for (let i = 0; i < 5; i++) expect(pool.add(msg(i))).toBe(true)
    expect(pool.add(msg(2))).toBe(false)
    expect(pool.size).toBe(5)
    const picked = pool.select(0n, 3, 1000, (id) => id[0] === 1)
    expect(picked.map((m) => m.id[0])).toEqual([0, 2, 3])
    expect(pool.select(0n, 10, 25, () => false).map((m) => m.id[0])).toEqual([0, 1])
  })

  it('never selects expired messages and purges them and included ones', () => {
    const pool = new IngressPool()
    pool.add(msg(1, 100n))
    pool.add(msg(2, 300n))
    pool.add(msg(3, 300n))
    expect(pool.select(200n, 10, 1000, () => false).map((m) => m.id[0])).toEqual([2, 3])
    expect(pool.purge(200n, [new Uint8Array([3])])).toBe(2)
    expect(pool.size).toBe(1)
    expect(pool.bytes).toBe(10)
  })

  it('is bounded in count and bytes and says so with OVERLOADED', () => {
    const pool = new IngressPool({ maxMessages: 2, maxBytes: 15 })
    pool.add(msg(1))
    let err: unknown
    try { pool.add(msg(2, 1000n, 6)) } catch (e) { err = e }
    expect(isCapsaError(err, 'OVERLOADED')).toBe(true)
    pool.add(msg(3, 1000n, 5))
    expect(() => pool.add(msg(4, 1000n, 0))).toThrow(/full/)
  })
})
