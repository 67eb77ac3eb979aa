// The certified state tree as a persistent labelled tree whose nodes cache their hash, so a round that
// changes k leaves rehashes O(k log n) nodes instead of the whole tree. Snapshots of older heights share
// every unchanged node.
//
// Canonical fork shape (every node must build the same one, since the root hash is what gets signed):
// - a labelled node with at most SMALL_MAX children folds its sorted children pairwise, left to right,
//   carrying an odd last element up a level (the IC's shape; equals a from-scratch build);
// - a labelled node with more children arranges them in a treap ordered by label whose priorities are
//   SHA-256(label): for a given key set the treap's shape is unique (it does not depend on the order of
//   insertions), its expected depth is O(log n), and an insert or delete rebuilds O(log n) nodes. Each
//   treap node hashes as fork(fork(left, labelled), right), omitting absent sides, so in-order flattening
//   yields the labels in increasing order (well-formed per the spec).
// The switch between the two is a function of the child count only, so it too is deterministic.

import { CapsaError } from '../protocol/errors.ts'
import { DOMAIN, compareBytes, sha256 } from '../protocol/hash.ts'
import { EMPTY, fork } from '../protocol/hash-tree.ts'
import type { HashTree } from '../protocol/hash-tree.ts'
import { Reader, Writer } from './codec.ts'

export type Label = Uint8Array
export type Path = readonly Label[]
export type { HashTree }

export const SMALL_MAX = 16

export interface LeafNode { readonly kind: 'leaf'; readonly value: Uint8Array; readonly hash: Uint8Array }
export interface MapNode { readonly kind: 'map'; readonly children: Children; readonly count: number; readonly hash: Uint8Array }
export type StateNode = LeafNode | MapNode

/** `prio` is -1 until the entry first joins a treap: small child sets never need it. */
export interface Entry { readonly label: Label; readonly node: StateNode; readonly labeledHash: Uint8Array; readonly prio: number }
export interface Treap { readonly entry: Entry; readonly left: Treap | null; readonly right: Treap | null; readonly hash: Uint8Array; readonly count: number }
/** Sorted array (count ≤ SMALL_MAX) or a treap (count > SMALL_MAX). */
export type Children = readonly Entry[] | Treap

export const EMPTY_HASH = sha256(DOMAIN.hashTreeEmpty)
export const forkHash = (l: Uint8Array, r: Uint8Array): Uint8Array => sha256(DOMAIN.hashTreeFork, l, r)
export const leafHash = (v: Uint8Array): Uint8Array => sha256(DOMAIN.hashTreeLeaf, v)
export const labeledHash = (label: Uint8Array, sub: Uint8Array): Uint8Array => sha256(DOMAIN.hashTreeLabeled, label, sub)

/** Treap priority: 48 bits of SHA-256(label); ties (practically impossible) break on the label. */
export function priorityOf(label: Label): number {
  const h = sha256(label)
  return h[0] * 2 ** 40 + h[1] * 2 ** 32 + ((h[2] << 24) >>> 0) + (h[3] << 16) + (h[4] << 8) + h[5]
}
const above = (a: Entry, b: Entry): boolean => a.prio > b.prio || (a.prio === b.prio && compareBytes(a.label, b.label) < 0)

/** The IC's fold of sorted children: pairwise, left to right, an odd last element carried up. */
export function foldPairwise<T>(items: readonly T[], fork: (l: T, r: T) => T, empty: () => T): T {
  if (items.length === 0) return empty()
  let level = items.slice()
  while (level.length > 1) {
    const next: T[] = []
    for (let i = 0; i + 1 < level.length; i += 2) next.push(fork(level[i], level[i + 1]))
    if (level.length % 2 === 1) next.push(level[level.length - 1])
    level = next
  }
  return level[0]
}

export const EMPTY_MAP: MapNode = { kind: 'map', children: [], count: 0, hash: EMPTY_HASH }

export function leaf(value: Uint8Array): LeafNode {
  return { kind: 'leaf', value, hash: leafHash(value) }
}
function entry(label: Label, node: StateNode, prio = -1): Entry {
  return { label, node, labeledHash: labeledHash(label, node.hash), prio }
}
const withPrio = (e: Entry): Entry => (e.prio >= 0 ? e : { ...e, prio: priorityOf(e.label) })

// ---- treap ---------------------------------------------------------------------------------------

function tnode(left: Treap | null, e: Entry, right: Treap | null): Treap {
  let h = left ? forkHash(left.hash, e.labeledHash) : e.labeledHash
  if (right) h = forkHash(h, right.hash)
  return { entry: e, left, right, hash: h, count: 1 + (left?.count ?? 0) + (right?.count ?? 0) }
}
function tget(t: Treap | null, label: Label): Entry | undefined {
  while (t) {
    const c = compareBytes(label, t.entry.label)
    if (c === 0) return t.entry
    t = c < 0 ? t.left : t.right
  }
  return undefined
}
function tsplit(t: Treap | null, label: Label): [Treap | null, Treap | null] {
  if (!t) return [null, null]
  const c = compareBytes(label, t.entry.label)
  if (c < 0) {
    const [l, r] = tsplit(t.left, label)
    return [l, tnode(r, t.entry, t.right)]
  }
  const [l, r] = tsplit(t.right, label)
  return [tnode(t.left, t.entry, l), r]
}
function tmerge(a: Treap | null, b: Treap | null): Treap | null {
  if (!a) return b
  if (!b) return a
  if (above(a.entry, b.entry)) return tnode(a.left, a.entry, tmerge(a.right, b))
  return tnode(tmerge(a, b.left), b.entry, b.right)
}
function tput(t: Treap | null, e: Entry): Treap {
  if (!t) return tnode(null, e, null)
  const c = compareBytes(e.label, t.entry.label)
  if (c === 0) return tnode(t.left, e, t.right)
  if (above(e, t.entry)) {
    const [l, r] = tsplit(t, e.label)
    return tnode(l, e, r)
  }
  return c < 0 ? tnode(tput(t.left, e), t.entry, t.right) : tnode(t.left, t.entry, tput(t.right, e))
}
function tdel(t: Treap | null, label: Label): Treap | null {
  if (!t) return null
  const c = compareBytes(label, t.entry.label)
  if (c === 0) return tmerge(t.left, t.right)
  return c < 0 ? tnode(tdel(t.left, label), t.entry, t.right) : tnode(t.left, t.entry, tdel(t.right, label))
}
function tentries(t: Treap | null, out: Entry[]): Entry[] {
  if (!t) return out
  tentries(t.left, out)
  out.push(t.entry)
  tentries(t.right, out)
  return out
}
/** Builds the unique treap of sorted entries (root = highest priority). */
function treapFromSorted(es: readonly Entry[], lo = 0, hi = es.length): Treap | null {
  if (lo >= hi) return null
  let m = lo
  for (let i = lo + 1; i < hi; i++) if (above(es[i], es[m])) m = i
  return tnode(treapFromSorted(es, lo, m), es[m], treapFromSorted(es, m + 1, hi))
}

// ---- children sets -------------------------------------------------------------------------------

export const isTreap = (c: Children): c is Treap => !Array.isArray(c)

export function childrenList(c: Children): Entry[] {
  return isTreap(c) ? tentries(c, []) : c.slice()
}
export function getChild(m: MapNode, label: Label): StateNode | undefined {
  const c = m.children
  if (isTreap(c)) return tget(c, label)?.node
  let lo = 0
  let hi = c.length
  while (lo < hi) {
    const mid = (lo + hi) >> 1
    const d = compareBytes(c[mid].label, label)
    if (d === 0) return c[mid].node
    if (d < 0) lo = mid + 1
    else hi = mid
  }
  return undefined
}

function smallHash(es: readonly Entry[]): Uint8Array {
  return foldPairwise(es.map((e) => e.labeledHash), forkHash, () => EMPTY_HASH)
}
function mapFrom(children: Children): MapNode {
  if (isTreap(children)) {
    if (children.count > SMALL_MAX) return { kind: 'map', children, count: children.count, hash: children.hash }
    const list = tentries(children, [])
    return { kind: 'map', children: list, count: list.length, hash: smallHash(list) }
  }
  if (children.length > SMALL_MAX) return mapFrom(treapFromSorted(children.map(withPrio)) as Treap)
  return { kind: 'map', children, count: children.length, hash: smallHash(children) }
}

/** Replaces (node given) or removes (undefined) one child. */
export function withChild(m: MapNode, label: Label, node: StateNode | undefined): MapNode {
  const c = m.children
  if (isTreap(c)) {
    const old = tget(c, label)
    if (node === undefined) return old ? mapFrom(tdel(c, label) ?? []) : m
    return mapFrom(tput(c, entry(label, node, old?.prio ?? priorityOf(label))))
  }
  const list = c.slice()
  let i = 0
  while (i < list.length && compareBytes(list[i].label, label) < 0) i++
  const found = i < list.length && compareBytes(list[i].label, label) === 0
  if (node === undefined) {
    if (!found) return m
    list.splice(i, 1)
  } else if (found) list[i] = entry(label, node, list[i].prio)
  else list.splice(i, 0, entry(label, node))
  return mapFrom(list)
}

// ---- paths ---------------------------------------------------------------------------------------

/** Sets the leaf at `path` (creating maps on the way). A path through an existing leaf is an error. */
export function setLeaf(root: MapNode, path: Path, value: Uint8Array): MapNode {
  return setNode(root, path, leaf(value))
}

/** Puts a whole subtree at `path`; an empty map removes the path instead (content determines the hash). */
export function setNode(root: MapNode, path: Path, node: StateNode): MapNode {
  if (path.length === 0) throw new CapsaError('INVALID_ARGUMENT', 'state tree: empty path')
  if (node.kind === 'map' && node.count === 0) return deletePath(root, path)
  return setAt(root, path, 0, node)
}
function setAt(m: MapNode, path: Path, i: number, node: StateNode): MapNode {
  if (i === path.length - 1) return withChild(m, path[i], node)
  const child = getChild(m, path[i]) ?? EMPTY_MAP
  if (child.kind === 'leaf') throw new CapsaError('INVALID_ARGUMENT', 'state tree: path continues below a leaf')
  return withChild(m, path[i], setAt(child, path, i + 1, node))
}

/** Removes the subtree at `path`; maps left empty disappear too, so content alone determines the hash. */
export function deletePath(root: MapNode, path: Path): MapNode {
  if (path.length === 0) return EMPTY_MAP
  return delAt(root, path, 0)
}
function delAt(m: MapNode, path: Path, i: number): MapNode {
  const child = getChild(m, path[i])
  if (!child) return m
  if (i === path.length - 1) return withChild(m, path[i], undefined)
  if (child.kind === 'leaf') return m
  const next = delAt(child, path, i + 1)
  if (next === child) return m
  return withChild(m, path[i], next.count === 0 ? undefined : next)
}

export function lookupNode(root: StateNode, path: Path): StateNode | undefined {
  let n: StateNode | undefined = root
  for (const l of path) {
    if (!n || n.kind !== 'map') return undefined
    n = getChild(n, l)
  }
  return n
}
export function lookupValue(root: StateNode, path: Path): Uint8Array | undefined {
  const n = lookupNode(root, path)
  return n?.kind === 'leaf' ? n.value : undefined
}

/** Every leaf as (path, value), in label order. */
export function* leaves(node: StateNode, prefix: Label[] = []): Generator<[Label[], Uint8Array]> {
  if (node.kind === 'leaf') {
    yield [prefix, node.value]
    return
  }
  for (const e of childrenList(node.children)) yield* leaves(e.node, [...prefix, e.label])
}

// ---- full hash trees ----------------------------------------------------------------------------

/** The full (unpruned) hash tree of a node, in the canonical shape, with hashes pre-cached. */
export function fullHashTree(node: StateNode): HashTree {
  if (node.kind === 'leaf') return { kind: 'leaf', value: node.value, cachedHash: node.hash }
  const c = node.children
  if (isTreap(c)) return treapTree(c)
  return foldPairwise<HashTree>(c.map(labeledTree), fork, () => EMPTY)
}
function labeledTree(e: Entry): HashTree {
  return { kind: 'labeled', label: e.label, subtree: fullHashTree(e.node), cachedHash: e.labeledHash }
}
function treapTree(t: Treap): HashTree {
  let x: HashTree = labeledTree(t.entry)
  if (t.left) x = fork(treapTree(t.left), x)
  if (t.right) x = fork(x, treapTree(t.right))
  return x
}

// ---- checkpoint encoding -------------------------------------------------------------------------

/** Every leaf in label order: u32 count, then per leaf u32 #labels, labels, value (each u32-prefixed). */
export function encodeTreeLeaves(root: MapNode): Uint8Array {
  const w = new Writer()
  const all = [...leaves(root)]
  w.u32(all.length)
  for (const [path, value] of all) {
    w.u32(path.length)
    for (const l of path) w.bytes(l)
    w.bytes(value)
  }
  return w.finish()
}
export function decodeTreeLeaves(bytes: Uint8Array): MapNode {
  const r = new Reader(bytes, 'state tree')
  const all: [Uint8Array[], Uint8Array][] = []
  for (let n = r.u32(), i = 0; i < n; i++) {
    const path: Uint8Array[] = []
    for (let k = r.u32(), j = 0; j < k; j++) path.push(r.bytes().slice())
    all.push([path, r.bytes().slice()])
  }
  r.end()
  return buildFromLeaves(all)
}

/** Bulk construction in O(n log n) from leaves in strictly increasing path order (as `leaves` yields). */
export function buildFromLeaves(all: readonly (readonly [readonly Uint8Array[], Uint8Array])[]): MapNode {
  for (let i = 1; i < all.length; i++) {
    if (comparePaths(all[i - 1][0], all[i][0]) >= 0) throw new CapsaError('STATE_CORRUPT', 'state tree leaves are not in strictly increasing order')
  }
  const build = (lo: number, hi: number, d: number): MapNode => {
    const list: Entry[] = []
    let i = lo
    while (i < hi) {
      const label = all[i][0][d]
      let j = i + 1
      while (j < hi && compareBytes(all[j][0][d], label) === 0) j++
      const isLeaf = all[i][0].length === d + 1
      if (isLeaf && j !== i + 1) throw new CapsaError('STATE_CORRUPT', 'state tree: a leaf is also a prefix of another path')
      list.push(entry(label, isLeaf ? leaf(all[i][1]) : build(i, j, d + 1)))
      i = j
    }
    return mapFrom(list)
  }
  return build(0, all.length, 0)
}
function comparePaths(a: readonly Uint8Array[], b: readonly Uint8Array[]): number {
  for (let i = 0; i < Math.min(a.length, b.length); i++) {
    const c = compareBytes(a[i], b[i])
    if (c !== 0) return c
  }
  return a.length - b.length
}
