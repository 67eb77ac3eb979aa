// Hash trees as the spec's "Certification" section defines them: the shape certificates carry, the
// root hash BLS signs, lookups, and witnesses (pruned trees proving some paths and nothing else).
// Nodes are immutable; each caches its hash on first use, because state/ builds witnesses for
// thousands of request ids out of one tree and must not rehash the untouched parts each time.

import { asArray, asBytes, decodeCbor, encodeCbor, type CborValue } from './cbor.ts'
import { CapsaError } from './errors.ts'
import { compareBytes, DOMAIN, sha256 } from './hash.ts'

export interface EmptyNode { readonly kind: 'empty'; cachedHash?: Uint8Array }
export interface ForkNode { readonly kind: 'fork'; readonly left: HashTree; readonly right: HashTree; cachedHash?: Uint8Array; first?: LabeledNode | null; last?: LabeledNode | null }
export interface LabeledNode { readonly kind: 'labeled'; readonly label: Uint8Array; readonly subtree: HashTree; cachedHash?: Uint8Array }
export interface LeafNode { readonly kind: 'leaf'; readonly value: Uint8Array; cachedHash?: Uint8Array }
export interface PrunedNode { readonly kind: 'pruned'; readonly digest: Uint8Array }
export type HashTree = EmptyNode | ForkNode | LabeledNode | LeafNode | PrunedNode

/** A label is bytes; strings stand for their UTF-8 encoding. */
export type Label = Uint8Array | string
export type Path = readonly Label[]
/**
 * Input for `buildHashTree`: a leaf value, children by label (a Map<string, …> or an entry list), or
 * an already built subtree, reused as is with its cached hashes (e.g. an unchanged canister's part).
 */
export type LabeledTree = Uint8Array | HashTree | Iterable<readonly [Label, LabeledTree]>

export type LookupResult =
  | { readonly status: 'found'; readonly value: Uint8Array }
  | { readonly status: 'absent' }
  | { readonly status: 'unknown' }
  | { readonly status: 'error' }

const utf8 = new TextEncoder()
export function labelBytes(l: Label): Uint8Array {
  if (typeof l === 'string') return utf8.encode(l)
  if (l instanceof Uint8Array) return l
  throw new CapsaError('INVALID_ARGUMENT', 'a label must be bytes or a string')
}

function malformed(message: string): CapsaError {
  return new CapsaError('HASH_TREE_MALFORMED', message)
}

export const EMPTY: EmptyNode = Object.freeze({ kind: 'empty', cachedHash: sha256(DOMAIN.hashTreeEmpty) }) as EmptyNode
export function empty(): EmptyNode {
  return EMPTY
}
// Every field exists from construction on, so nodes keep one hidden class each when caches fill in.
export function fork(left: HashTree, right: HashTree): ForkNode {
  return { kind: 'fork', left, right, cachedHash: undefined, first: undefined, last: undefined }
}
export function labeled(label: Label, subtree: HashTree): LabeledNode {
  return { kind: 'labeled', label: labelBytes(label), subtree, cachedHash: undefined }
}
export function leaf(value: Uint8Array | string): LeafNode {
  return { kind: 'leaf', value: labelBytes(value), cachedHash: undefined }
}
export function pruned(digest: Uint8Array): PrunedNode {
  if (!(digest instanceof Uint8Array) || digest.length !== 32) throw malformed('pruned hash must be 32 bytes')
  return { kind: 'pruned', digest }
}

/** The root hash (spec `reconstruct`). */
export function reconstruct(t: HashTree): Uint8Array {
  if (t.kind === 'pruned') return t.digest
  if (t.cachedHash !== undefined) return t.cachedHash
  let h: Uint8Array
  switch (t.kind) {
    case 'fork':
      h = sha256(DOMAIN.hashTreeFork, reconstruct(t.left), reconstruct(t.right))
      break
    case 'labeled':
      h = sha256(DOMAIN.hashTreeLabeled, t.label, reconstruct(t.subtree))
      break
    case 'leaf':
      h = sha256(DOMAIN.hashTreeLeaf, t.value)
      break
    default:
      h = sha256(DOMAIN.hashTreeEmpty)
  }
  t.cachedHash = h
  return h
}

// ---------------------------------------------------------------------------------------------
// CBOR form: [0] | [1, l, r] | [2, label, t] | [3, value] | [4, hash]

export function hashTreeToCbor(t: HashTree): CborValue {
  switch (t.kind) {
    case 'empty':
      return [0]
    case 'fork':
      return [1, hashTreeToCbor(t.left), hashTreeToCbor(t.right)]
    case 'labeled':
      return [2, t.label, hashTreeToCbor(t.subtree)]
    case 'leaf':
      return [3, t.value]
    case 'pruned':
      return [4, t.digest]
  }
}

/** Deeper nesting than any tree Capsa builds; bounds the recursion on hostile input. */
export const MAX_HASH_TREE_DEPTH = 1024

export function hashTreeFromCbor(v: CborValue, depth = 0): HashTree {
  if (depth > MAX_HASH_TREE_DEPTH) throw malformed('hash tree nested too deeply')
  let a: CborValue[]
  try {
    a = asArray(v, 'hash tree node')
  } catch {
    throw malformed('hash tree node must be an array')
  }
  const tag = a[0]
  const want = tag === 0 ? 1 : tag === 1 || tag === 2 ? 3 : tag === 3 || tag === 4 ? 2 : -1
  if (want < 0) throw malformed(`unknown hash tree node tag ${String(tag)}`)
  if (a.length !== want) throw malformed(`hash tree node ${String(tag)} must have ${want} elements`)
  const bytes = (x: CborValue, what: string) => {
    try {
      const b = asBytes(x, what)
      // The decoder may hand out Buffers; callers get plain views of the same memory.
      return b.constructor === Uint8Array ? b : new Uint8Array(b.buffer, b.byteOffset, b.length)
    } catch {
      throw malformed(`${what} must be a byte string`)
    }
  }
  switch (tag) {
    case 0:
      return EMPTY
    case 1:
      return fork(hashTreeFromCbor(a[1], depth + 1), hashTreeFromCbor(a[2], depth + 1))
    case 2:
      return labeled(bytes(a[1], 'label'), hashTreeFromCbor(a[2], depth + 1))
    case 3:
      return leaf(bytes(a[1], 'leaf value'))
    default:
      return pruned(bytes(a[1], 'pruned hash'))
  }
}

/** The tree's CBOR bytes, untagged (as the spec's example shows them). */
export function encodeHashTree(t: HashTree): Uint8Array {
  return encodeCbor(hashTreeToCbor(t), { selfDescribe: false })
}

export function decodeHashTree(bytes: Uint8Array): HashTree {
  let v: CborValue
  try {
    v = decodeCbor(bytes)
  } catch (e) {
    throw new CapsaError('HASH_TREE_MALFORMED', 'hash tree is not valid CBOR', undefined, { cause: e })
  }
  return hashTreeFromCbor(v)
}

// ---------------------------------------------------------------------------------------------
// Well-formedness and lookup (spec "Lookup")

export function flattenForks(t: HashTree, out: HashTree[] = []): HashTree[] {
  if (t.kind === 'fork') {
    flattenForks(t.left, out)
    flattenForks(t.right, out)
  } else if (t.kind !== 'empty') out.push(t)
  return out
}

export function isWellFormed(t: HashTree): boolean {
  if (t.kind === 'leaf') return true
  let prev: Uint8Array | undefined
  for (const c of flattenForks(t)) {
    if (c.kind === 'leaf') return false
    if (c.kind === 'labeled') {
      if (prev !== undefined && compareBytes(prev, c.label) >= 0) return false
      prev = c.label
      if (!isWellFormed(c.subtree)) return false
    }
  }
  return true
}

export function assertWellFormed(t: HashTree): void {
  if (!isWellFormed(t)) throw malformed('hash tree is not well-formed (labels out of order or mixed with leaves)')
}

type FindResult = { status: 'found'; subtree: HashTree } | { status: 'absent' | 'unknown' | 'error' }

function findLabel(l: Uint8Array, forest: HashTree[]): FindResult {
  if (forest.length === 0) return { status: 'absent' }
  if (forest.length === 1 && forest[0].kind === 'leaf') return { status: 'absent' }
  for (const t of forest) if (t.kind === 'labeled' && compareBytes(t.label, l) === 0) return { status: 'found', subtree: t.subtree }
  const first = forest[0]
  if (first.kind === 'labeled' && compareBytes(l, first.label) < 0) return { status: 'absent' }
  const last = forest[forest.length - 1]
  if (last.kind === 'labeled' && compareBytes(last.label, l) < 0) return { status: 'absent' }
  for (let i = 0; i + 1 < forest.length; i++) {
    const a = forest[i]
    const b = forest[i + 1]
    if (a.kind === 'labeled' && b.kind === 'labeled' && compareBytes(a.label, l) < 0 && compareBytes(l, b.label) < 0) return { status: 'absent' }
  }
  return { status: 'unknown' }
}

/** Spec `lookup_path`: Found / Absent / Unknown / Error. */
export function lookupPath(path: Path, tree: HashTree): LookupResult {
  let t = tree
  for (const l of path) {
    const r = findLabel(labelBytes(l), flattenForks(t))
    if (r.status !== 'found') return { status: r.status }
    t = r.subtree
  }
  switch (t.kind) {
    case 'empty':
      return { status: 'absent' }
    case 'leaf':
      return { status: 'found', value: t.value }
    case 'pruned':
      return { status: 'unknown' }
    default:
      return { status: 'error' }
  }
}

/** The subtree under a path when the labels along it are revealed (e.g. `/subnet/<sid>/node`). */
export function lookupSubtree(path: Path, tree: HashTree): HashTree | undefined {
  let t = tree
  for (const l of path) {
    const r = findLabel(labelBytes(l), flattenForks(t))
    if (r.status !== 'found') return undefined
    t = r.subtree
  }
  return t
}

// ---------------------------------------------------------------------------------------------
// Construction: one canonical fork shape, since every replica must sign the same root hash.

/** Folds sorted children pairwise, left to right, level by level (an odd last one moves up as is). */
export function foldForest(children: readonly HashTree[]): HashTree {
  if (children.length === 0) return EMPTY
  let level = children.slice()
  while (level.length > 1) {
    const next: HashTree[] = []
    for (let i = 0; i + 1 < level.length; i += 2) next.push(fork(level[i], level[i + 1]))
    if (level.length % 2 === 1) next.push(level[level.length - 1])
    level = next
  }
  return level[0]
}

/** Builds the hash tree of labelled data; children are sorted bytewise, duplicate labels rejected. */
export function buildHashTree(data: LabeledTree): HashTree {
  if (data instanceof Uint8Array) return leaf(data)
  if (isHashTree(data)) return data
  const children: LabeledNode[] = []
  for (const [l, sub] of data) children.push(labeled(l, buildHashTree(sub)))
  children.sort((a, b) => compareBytes(a.label, b.label))
  for (let i = 1; i < children.length; i++) {
    if (compareBytes(children[i - 1].label, children[i].label) === 0) throw malformed('duplicate label in labelled tree')
  }
  return foldForest(children)
}

function isHashTree(x: LabeledTree): x is HashTree {
  return typeof (x as { kind?: unknown }).kind === 'string' && !(Symbol.iterator in x)
}

// ---------------------------------------------------------------------------------------------
// Witnesses

function firstLabeled(t: HashTree): LabeledNode | null {
  if (t.kind === 'labeled') return t
  if (t.kind !== 'fork') return null
  if (t.first === undefined) t.first = firstLabeled(t.left) ?? firstLabeled(t.right)
  return t.first
}
function lastLabeled(t: HashTree): LabeledNode | null {
  if (t.kind === 'labeled') return t
  if (t.kind !== 'fork') return null
  if (t.last === undefined) t.last = lastLabeled(t.right) ?? lastLabeled(t.left)
  return t.last
}

interface Located { exact?: LabeledNode; pred?: LabeledNode | null; succ?: LabeledNode | null }

// Descends the fork structure like a search tree (children are sorted), so locating one label among
// 10,000 siblings costs a few dozen comparisons instead of a scan.
function locate(t: HashTree, l: Uint8Array): Located {
  if (t.kind === 'labeled') {
    const c = compareBytes(l, t.label)
    return c === 0 ? { exact: t } : c < 0 ? { succ: t } : { pred: t }
  }
  if (t.kind !== 'fork') return {}
  const boundary = firstLabeled(t.right)
  if (boundary !== null && compareBytes(l, boundary.label) >= 0) {
    const r = locate(t.right, l)
    if (r.exact === undefined && r.pred === undefined) r.pred = lastLabeled(t.left)
    return r
  }
  const r = locate(t.left, l)
  if (r.exact === undefined && r.succ === undefined) r.succ = boundary
  return r
}

// What to reveal of one labelled child: only its label (absence proofs; no paths) or the witnesses
// of the paths below it (an empty path means the whole subtree).
interface Reveal { readonly node: LabeledNode; readonly paths: Uint8Array[][] }

/**
 * The pruned tree that proves the values under `paths` (full subtrees there), or their absence
 * (neighbouring labels with pruned contents, as the spec's example shows), and nothing else.
 * Its root hash equals `reconstruct(tree)`. Cost grows with the number of paths times the depth,
 * not with the size of the tree (after the first `reconstruct`, hashes are cached).
 */
export function witness(tree: HashTree, paths: readonly Path[]): HashTree {
  return witnessOf(tree, paths.map((p) => p.map(labelBytes)))
}

function witnessOf(t: HashTree, paths: Uint8Array[][]): HashTree {
  if (paths.length === 0) return pruned(reconstruct(t))
  if (paths.some((p) => p.length === 0)) return t
  if (t.kind === 'leaf' || t.kind === 'empty' || t.kind === 'pruned') return t
  const wanted = new Map<LabeledNode, Reveal>()
  const want = (n: LabeledNode | null | undefined, path: Uint8Array[] | null) => {
    if (n === null || n === undefined) return
    let r = wanted.get(n)
    if (r === undefined) wanted.set(n, (r = { node: n, paths: [] }))
    if (path !== null) r.paths.push(path)
  }
  for (const p of paths) {
    const where = locate(t, p[0])
    if (where.exact !== undefined) want(where.exact, p.slice(1))
    else {
      want(where.pred, null)
      want(where.succ, null)
    }
  }
  const sorted = [...wanted.values()].sort((a, b) => compareBytes(a.node.label, b.node.label))
  return prune(t, sorted, 0, sorted.length)
}

// Rebuilds the forks above the wanted children in [from, to); any part without one becomes Pruned.
function prune(t: HashTree, wanted: Reveal[], from: number, to: number): HashTree {
  if (from >= to) return pruned(reconstruct(t))
  if (t.kind === 'labeled') return labeled(t.label, witnessOf(t.subtree, wanted[from].paths))
  if (t.kind !== 'fork') return pruned(reconstruct(t))
  const boundary = firstLabeled(t.right)
  let mid = from
  if (boundary === null) mid = to
  else while (mid < to && compareBytes(wanted[mid].node.label, boundary.label) < 0) mid++
  const l = prune(t.left, wanted, from, mid)
  const r = prune(t.right, wanted, mid, to)
  const f = fork(l, r)
  f.cachedHash = reconstruct(t)
  return f
}
