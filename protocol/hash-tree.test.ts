import { createHash } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { isCapsaError } from './errors.ts'
import { toHex, fromHex } from './hash.ts'
import {
  buildHashTree,
  decodeHashTree,
  EMPTY,
  empty,
  encodeHashTree,
  fork,
  hashTreeFromCbor,
  isWellFormed,
  labeled,
  leaf,
  lookupPath,
  lookupSubtree,
  pruned,
  reconstruct,
  witness,
  type HashTree,
  type LabeledTree,
} from './hash-tree.ts'

const enc = (s: string) => new TextEncoder().encode(s)

function expectCode(fn: () => unknown, code: string): void {
  let thrown: unknown
  try {
    fn()
  } catch (e) {
    thrown = e
  }
  expect(isCapsaError(thrown), String(thrown)).toBe(true)
  expect((thrown as { code: string }).code).toBe(code)
}

/** Root hash of a tree decoded afresh from its bytes, so no cached hash can hide an error. */
function freshRoot(t: HashTree): string {
  return toHex(reconstruct(decodeHashTree(encodeHashTree(t))))
}

describe('spec example (certification.md)', () => {
  // ─┬─┬╴"a" ─┬─┬╴"x" ─╴"hello" / Empty / "y" ─╴"world"; "b" ─╴"good"; "c" ─╴Empty; "d" ─╴"morning"
  const tree = fork(
    fork(labeled('a', fork(fork(labeled('x', leaf('hello')), empty()), labeled('y', leaf('world')))), labeled('b', leaf('good'))),
    fork(labeled('c', empty()), labeled('d', leaf('morning'))),
  )

  it('encodes and hashes exactly as the spec shows', () => {
    expect(toHex(encodeHashTree(tree))).toBe(
      '8301830183024161830183018302417882034568656c6c6f810083024179820345776f726c6483024162820344676f6f648301830241638100830241648203476d6f726e696e67',
    )
    expect(toHex(reconstruct(tree))).toBe('eb5c5b2195e62d996b84c9bcc8259d19a83786a2f59e0878cec84c811f669aa0')
    expect(isWellFormed(tree)).toBe(true)
  })

  it('prunes to the spec tree for /a/y, /ax, /d', () => {
    const w = witness(tree, [['a', 'y'], ['ax'], ['d']])
    expect(toHex(encodeHashTree(w))).toBe(
      '83018301830241618301820458201b4feff9bef8131788b0c9dc6dbad6e81e524249c879e9f10f71ce3749f5a63883024179820345776f726c6483024162820458207b32ac0c6ba8ce35ac82c255fc7906f7fc130dab2a090f80fe12f9c2cae83ba6830182045820ec8324b8a1f1ac16bd2e806edba78006479c9877fed4eb464a25485465af601d830241648203476d6f726e696e67',
    )
    expect(freshRoot(w)).toBe('eb5c5b2195e62d996b84c9bcc8259d19a83786a2f59e0878cec84c811f669aa0')
  })

  it('looks up paths in the pruned tree as the spec lists', () => {
    const p = decodeHashTree(encodeHashTree(witness(tree, [['a', 'y'], ['ax'], ['d']])))
    expect(lookupPath(['a', 'a'], p)).toEqual({ status: 'unknown' })
    expect(lookupPath(['a', 'y'], p)).toEqual({ status: 'found', value: enc('world') })
    expect(lookupPath(['aa'], p)).toEqual({ status: 'absent' })
    expect(lookupPath(['ax'], p)).toEqual({ status: 'absent' })
    expect(lookupPath(['b'], p)).toEqual({ status: 'unknown' })
    expect(lookupPath(['bb'], p)).toEqual({ status: 'unknown' })
    expect(lookupPath(['d'], p)).toEqual({ status: 'found', value: enc('morning') })
    expect(lookupPath(['e'], p)).toEqual({ status: 'absent' })
  })

  it('implements the remaining lookup_path cases', () => {
    expect(lookupPath([], EMPTY)).toEqual({ status: 'absent' })
    expect(lookupPath([], tree)).toEqual({ status: 'error' })
    expect(lookupPath(['a'], tree)).toEqual({ status: 'error' })
    expect(lookupPath(['c'], tree)).toEqual({ status: 'absent' })
    expect(lookupPath(['b', 'z'], tree)).toEqual({ status: 'absent' })
    expect(lookupPath([], pruned(new Uint8Array(32)))).toEqual({ status: 'unknown' })
    expect(lookupSubtree(['a', 'y'], tree)?.kind).toBe('leaf')
    expect(lookupSubtree(['q'], tree)).toBeUndefined()
  })
})

describe('hash computation', () => {
  it('uses the spec domain separators (independent recomputation)', () => {
    const H = (...parts: (string | Uint8Array)[]) => {
      const h = createHash('sha256')
      for (const p of parts) h.update(p)
      return new Uint8Array(h.digest())
    }
    const sep = (s: string) => Buffer.concat([Buffer.from([s.length]), Buffer.from(s)])
    const lf = H(sep('ic-hashtree-leaf'), 'v')
    const lab = H(sep('ic-hashtree-labeled'), 'k', lf)
    const em = H(sep('ic-hashtree-empty'))
    const root = H(sep('ic-hashtree-fork'), lab, em)
    expect(toHex(reconstruct(fork(labeled('k', leaf('v')), empty())))).toBe(toHex(root))
    expect(toHex(reconstruct(pruned(root)))).toBe(toHex(root))
  })
})

describe('canonical construction', () => {
  it('folds sorted children pairwise into a balanced shape', () => {
    const t = buildHashTree([
      ['e', enc('5')],
      ['a', enc('1')],
      ['c', enc('3')],
      ['b', enc('2')],
      ['d', enc('4')],
    ])
    const L = (k: string, v: string) => labeled(k, leaf(v))
    const expected = fork(fork(fork(L('a', '1'), L('b', '2')), fork(L('c', '3'), L('d', '4'))), L('e', '5'))
    expect(toHex(encodeHashTree(t))).toBe(toHex(encodeHashTree(expected)))
    expect(isWellFormed(t)).toBe(true)
  })

  it('does not depend on insertion order; labels sort bytewise; empty maps give Empty', () => {
    const a = buildHashTree(new Map<string, LabeledTree>([['time', enc('x')], ['canister', new Map()], ['canister_ranges', enc('r')]]))
    const b = buildHashTree([['canister_ranges', enc('r')], ['time', enc('x')], [enc('canister'), []]])
    expect(toHex(reconstruct(a))).toBe(toHex(reconstruct(b)))
    expect(lookupPath(['canister'], a)).toEqual({ status: 'absent' })
    expect(lookupPath(['canister_ranges'], a)).toEqual({ status: 'found', value: enc('r') })
    expect(buildHashTree([])).toBe(EMPTY)
    expect(buildHashTree([[new Uint8Array([0xff]), enc('1')], [new Uint8Array([0x01, 0x02]), enc('2')]]).kind).toBe('fork')
  })

  it('reuses prebuilt subtrees as they are', () => {
    const canisters: LabeledTree = [[new Uint8Array([1]), [['module_hash', new Uint8Array(32)]]], [new Uint8Array([2]), [['controllers', enc('c')]]]]
    const prebuilt = buildHashTree(canisters)
    const whole = buildHashTree([['canister', canisters], ['time', enc('t')]])
    const reused = buildHashTree([['canister', prebuilt], ['time', enc('t')]])
    expect(toHex(reconstruct(reused))).toBe(toHex(reconstruct(whole)))
    expect(lookupSubtree(['canister'], reused)).toBe(prebuilt)
  })

  it('rejects duplicate labels', () => {
    expectCode(() => buildHashTree([['a', enc('1')], [enc('a'), enc('2')]]), 'HASH_TREE_MALFORMED')
  })
})

describe('well-formedness and decoding', () => {
  it('flags unsorted labels, duplicates and leaves mixed with labels', () => {
    expect(isWellFormed(fork(labeled('b', leaf('1')), labeled('a', leaf('2'))))).toBe(false)
    expect(isWellFormed(fork(labeled('a', leaf('1')), labeled('a', leaf('2'))))).toBe(false)
    expect(isWellFormed(fork(labeled('a', leaf('1')), leaf('2')))).toBe(false)
    expect(isWellFormed(labeled('a', fork(labeled('z', EMPTY), labeled('y', EMPTY))))).toBe(false)
    expect(isWellFormed(fork(labeled('a', leaf('1')), pruned(new Uint8Array(32))))).toBe(true)
    expect(isWellFormed(leaf('x'))).toBe(true)
  })

  it('rejects bad shapes with HASH_TREE_MALFORMED', () => {
    const bad: string[] = [
      '', // no bytes
      'ff', // not CBOR
      '80', // []
      '8105', // [5]
      '820000', // [0, 0]
      '8201', // [1] too short: actually [1] with wrong count
      '830141618100', // [1, "a"-ish bytes?, [0]] -> left not an array
      '83024161', // truncated
      '8303416141', // [3, "a", "a"]
      '82044100', // pruned hash of 1 byte
      '8302616181 00'.replace(' ', ''), // labeled with a text label
      'a0', // a map
    ]
    for (const hex of bad) expectCode(() => decodeHashTree(fromHex(hex)), 'HASH_TREE_MALFORMED')
    // Nesting beyond the bound is refused without a stack overflow.
    let deep: unknown = [0]
    for (let i = 0; i < 5000; i++) deep = [2, new Uint8Array([1]), deep]
    expectCode(() => hashTreeFromCbor(deep as never), 'HASH_TREE_MALFORMED')
    expectCode(() => pruned(new Uint8Array(31)), 'HASH_TREE_MALFORMED')
    expectCode(() => witness(EMPTY, [['a', undefined as unknown as Uint8Array]]), 'INVALID_ARGUMENT')
    expectCode(() => lookupPath([42 as unknown as string], EMPTY), 'INVALID_ARGUMENT')
  })

  it('round-trips every node kind', () => {
    const t = fork(fork(labeled('a', leaf(new Uint8Array(0))), pruned(new Uint8Array(32).fill(7))), labeled('b', EMPTY))
    expect(toHex(encodeHashTree(decodeHashTree(encodeHashTree(t))))).toBe(toHex(encodeHashTree(t)))
    // The self-describe tag is accepted on input.
    expect(freshRoot(decodeHashTree(new Uint8Array([0xd9, 0xd9, 0xf7, ...encodeHashTree(t)])))).toBe(toHex(reconstruct(t)))
  })
})

describe('witnesses over a large state tree', () => {
  const N = 10_000
  const rid = (i: number) => createHash('sha256').update(`request ${i}`).digest()
  const ids = Array.from({ length: N }, (_, i) => new Uint8Array(rid(i)))
  const statuses = ids.map((id, i): [Uint8Array, LabeledTree] => [id, [['status', enc('replied')], ['reply', enc(`reply ${i}`)]]])
  const tree = buildHashTree([
    ['request_status', statuses],
    ['time', new Uint8Array([0x80, 0x80, 0x01])],
  ])
  const root = toHex(reconstruct(tree))

  it('proves one id with a small tree and the same root', () => {
    const w = witness(tree, [['request_status', ids[1234]], ['time']])
    expect(freshRoot(w)).toBe(root)
    expect(lookupPath(['request_status', ids[1234], 'reply'], w)).toEqual({ status: 'found', value: enc('reply 1234') })
    expect(lookupPath(['request_status', ids[1234], 'status'], w)).toEqual({ status: 'found', value: enc('replied') })
    expect(lookupPath(['time'], w)).toEqual({ status: 'found', value: new Uint8Array([0x80, 0x80, 0x01]) })
    expect(lookupPath(['request_status', ids[1235], 'reply'], w).status).toBe('unknown')
    // About log2(10,000) pruned siblings of 32 bytes, not 10,000 entries.
    expect(encodeHashTree(w).length).toBeLessThan(1200)
  })

  it('proves 100 ids and reveals nothing else', () => {
    const chosen = Array.from({ length: 100 }, (_, i) => (i * 97) % N)
    const w = decodeHashTree(encodeHashTree(witness(tree, chosen.map((i) => ['request_status', ids[i]]))))
    expect(toHex(reconstruct(w))).toBe(root)
    for (const i of chosen) expect(lookupPath(['request_status', ids[i], 'reply'], w)).toEqual({ status: 'found', value: enc(`reply ${i}`) })
    const revealed = new Set(chosen)
    for (let i = 0; i < N; i += 37) if (!revealed.has(i)) expect(lookupPath(['request_status', ids[i], 'reply'], w).status).not.toBe('found')
    expect(lookupPath(['time'], w).status).toBe('unknown')
  })

  it('proves the absence of an unknown id through its neighbours', () => {
    const missing = new Uint8Array(32).fill(0x42)
    const w = decodeHashTree(encodeHashTree(witness(tree, [['request_status', missing]])))
    expect(toHex(reconstruct(w))).toBe(root)
    expect(lookupPath(['request_status', missing, 'status'], w)).toEqual({ status: 'absent' })
    const below = witness(tree, [['request_status', new Uint8Array(32)]])
    expect(lookupPath(['request_status', new Uint8Array(32), 'status'], below)).toEqual({ status: 'absent' })
    const above = witness(tree, [['request_status', new Uint8Array(33).fill(0xff)]])
    expect(lookupPath(['request_status', new Uint8Array(33).fill(0xff)], above)).toEqual({ status: 'absent' })
    expect(freshRoot(above)).toBe(root)
  })

  it('returns the full tree for the empty path and a pruned root for no paths', () => {
    expect(witness(tree, [[]])).toBe(tree)
    const none = witness(tree, [])
    expect(none.kind).toBe('pruned')
    expect(toHex(reconstruct(none))).toBe(root)
  })
})
