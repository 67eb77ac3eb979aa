import { describe, expect, it } from 'vitest'
import { buildHashTree, foldForest, fork, labeled, leaf, reconstruct } from '../protocol/hash-tree.ts'
import type { HashTree, LabeledTree } from '../protocol/hash-tree.ts'
import { compareBytes, toHex } from '../protocol/hash.ts'
import { EMPTY_MAP, SMALL_MAX, deletePath, fullHashTree, isTreap, leaves, lookupValue, priorityOf, setLeaf } from './tree.ts'
import type { MapNode, Treap } from './tree.ts'
import { xorshift } from './testing.ts'


type Content = Map<string, { path: Uint8Array[]; value: Uint8Array }>

// An independent from-scratch construction of the canonical shape: small label sets fold as the IC
// does (protocol's foldForest via buildHashTree), large ones form the treap whose root is the label of
// highest SHA-256 priority.
function fromScratch(content: Content): HashTree {
  type T = { kids: Map<string, { label: Uint8Array; t: T | Uint8Array }> }
  const root: T = { kids: new Map() }
  for (const { path, value } of content.values()) {
    let n = root
    path.forEach((l, i) => {
      const k = toHex(l)
      if (i === path.length - 1) n.kids.set(k, { label: l, t: value })
      else {
        let c = n.kids.get(k)
        if (!c) n.kids.set(k, (c = { label: l, t: { kids: new Map() } }))
        n = c.t as T
      }
    })
  }
  const build = (t: T | Uint8Array): HashTree => {
    if (t instanceof Uint8Array) return leaf(t)
    const kids = [...t.kids.values()].sort((a, b) => compareBytes(a.label, b.label))
    if (kids.length <= SMALL_MAX) return foldForest(kids.map((k) => labeled(k.label, build(k.t))))
    const rec = (lo: number, hi: number): HashTree | null => {
      if (lo >= hi) return null
      let m = lo
      for (let i = lo + 1; i < hi; i++) if (priorityOf(kids[i].label) > priorityOf(kids[m].label)) m = i
      let x: HashTree = labeled(kids[m].label, build(kids[m].t))
      const l = rec(lo, m)
      const r = rec(m + 1, hi)
      if (l) x = fork(l, x)
      if (r) x = fork(x, r)
      return x
    }
    return rec(0, kids.length)!
  }
  return build(root)
}
function randomEdits(seed: number, steps: number, space: number) {
  const next = xorshift(seed)
  let root: MapNode = EMPTY_MAP
  const content: Content = new Map()
  const bytes = (n: number) => Uint8Array.from({ length: n }, () => next() & 0xff)
  for (let s = 0; s < steps; s++) {
    const r = next() % 10
    const rid = new Uint8Array(4)
    new DataView(rid.buffer).setUint32(0, next() % space)
    if (r < 6) {
      const f = ['status', 'reply'][next() % 2]
      const path = [new TextEncoder().encode('request_status'), rid, new TextEncoder().encode(f)]
      const value = bytes(1 + (next() % 8))
      root = setLeaf(root, path, value)
      content.set(path.map(toHex).join('/'), { path, value })
    } else if (r < 9) {
      const path = [new TextEncoder().encode('request_status'), rid]
      root = deletePath(root, path)
      const prefix = path.map(toHex).join('/') + '/'
      for (const k of [...content.keys()]) if (k.startsWith(prefix)) content.delete(k)
    } else {
      const path = [new TextEncoder().encode('time')]
      const value = bytes(8)
      root = setLeaf(root, path, value)
      content.set(path.map(toHex).join('/'), { path, value })
    }
  }
  return { root, content }
}

function depth(t: Treap | null): number {
  return t ? 1 + Math.max(depth(t.left), depth(t.right)) : 0
}

describe('incremental state tree', () => {
  it('equals a from-scratch build after random edit sequences (small and treap-sized child sets)', () => {
    for (const [seed, steps, space] of [[1, 300, 12], [2, 2000, 400], [3, 3000, 60], [4, 500, 17]]) {
      const { root, content } = randomEdits(seed, steps, space)
      const scratch = fromScratch(content)
      expect(toHex(root.hash)).toBe(toHex(reconstruct(scratch)))
      expect(toHex(reconstruct(fullHashTree(root)))).toBe(toHex(root.hash))
      expect([...leaves(root)].length).toBe(content.size)
    }
  })

  it('matches protocol buildHashTree exactly when every child set is small', () => {
    let root = EMPTY_MAP
    const data: [string, LabeledTree][] = []
    for (let i = 0; i < SMALL_MAX; i++) {
      root = setLeaf(root, [new TextEncoder().encode(`k${i}`), new TextEncoder().encode('v')], Uint8Array.of(i))
      data.push([`k${i}`, [['v', Uint8Array.of(i)]]])
    }
    expect(toHex(root.hash)).toBe(toHex(reconstruct(buildHashTree(data))))
  })

  it('has a shape that depends on the key set only, and stays O(log n) deep', () => {
    const ids = Array.from({ length: 5000 }, (_, i) => Uint8Array.of(i >> 8, i & 0xff, 7))
    let a = EMPTY_MAP
    for (const id of ids) a = setLeaf(a, [id], id)
    let b = EMPTY_MAP
    for (const id of ids.slice().reverse()) b = setLeaf(b, [id], id)
    for (let i = 0; i < 100; i++) b = setLeaf(b, [Uint8Array.of(99, i)], Uint8Array.of(1))
    for (let i = 0; i < 100; i++) b = deletePath(b, [Uint8Array.of(99, i)])
    expect(toHex(a.hash)).toBe(toHex(b.hash))
    expect(isTreap(a.children)).toBe(true)
    expect(depth(a.children as Treap)).toBeLessThan(4 * Math.log2(5000))
    expect(lookupValue(a, [ids[1234]])).toEqual(ids[1234])
  })

  it('shrinks back to the small shape and removes maps left empty', () => {
    let root = setLeaf(EMPTY_MAP, [Uint8Array.of(1)], Uint8Array.of(1))
    const before = root.hash
    for (let i = 0; i < 40; i++) root = setLeaf(root, [Uint8Array.of(2), Uint8Array.of(i), Uint8Array.of(0)], Uint8Array.of(i))
    for (let i = 0; i < 40; i++) root = deletePath(root, [Uint8Array.of(2), Uint8Array.of(i)])
    expect(toHex(root.hash)).toBe(toHex(before))
    expect(() => setLeaf(root, [Uint8Array.of(1), Uint8Array.of(2)], Uint8Array.of(0))).toThrow(/below a leaf/)
  })
})
