import { describe, expect, it } from 'vitest'
import { MinHeap } from './min-heap.ts'

describe('MinHeap', () => {
  it('pops in the order of its comparison, ties broken by the key, whatever the insertion order', () => {
    const items = Array.from({ length: 500 }, (_, i) => ({ p: (i * 7919) % 37, k: i }))
    const before = (a: { p: number; k: number }, b: { p: number; k: number }) => a.p < b.p || (a.p === b.p && a.k < b.k)
    const sorted = [...items].sort((a, b) => a.p - b.p || a.k - b.k)
    for (const order of [items, [...items].reverse()]) {
      const h = new MinHeap(before)
      for (const x of order) h.push(x)
      expect(h.size).toBe(500)
      expect(h.peek()).toEqual(sorted[0])
      const out = []
      for (let x = h.pop(); x !== undefined; x = h.pop()) out.push(x)
      expect(out).toEqual(sorted)
    }
    expect(new MinHeap<number>((a, b) => a < b).pop()).toBeUndefined()
  })
})
