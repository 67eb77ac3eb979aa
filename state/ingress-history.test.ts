import { describe, expect, it } from 'vitest'
import { toHex } from '../protocol/hash.ts'
import { sha256 } from '../protocol/hash.ts'
import { IngressHistory } from './ingress-history.ts'
import { LABEL } from './state-tree.ts'
import { EMPTY_MAP, lookupNode, lookupValue } from './tree.ts'

const M = 300_000_000_000n // 5 min
const rid = (i: number) => sha256(Uint8Array.of(i))
const base = { sender: Uint8Array.of(4), effectiveCanisterId: Uint8Array.of(1) }
const status = (tree: typeof EMPTY_MAP, i: number) => {
  const v = lookupValue(tree, [LABEL.requestStatus, rid(i), LABEL.status])
  return v && new TextDecoder().decode(v)
}

describe('ingress history', () => {
  it('keeps a reply until expiry + margin, then done, then removes it', () => {
    const h = new IngressHistory({ marginNs: M })
    let t = h.set(EMPTY_MAP, { ...base, requestId: rid(1), expiry: 1000n, status: { status: 'processing' } }, 0n)
    t = h.set(t, { ...base, requestId: rid(1), expiry: 1000n, status: { status: 'replied', reply: Uint8Array.of(7) } }, 10n)
    t = h.prune(t, 1000n + M - 1n)
    expect(status(t, 1)).toBe('replied')
    expect(lookupValue(t, [LABEL.requestStatus, rid(1), LABEL.reply])).toEqual(Uint8Array.of(7))
    t = h.prune(t, 1000n + M)
    expect(status(t, 1)).toBe('done')
    expect(lookupValue(t, [LABEL.requestStatus, rid(1), LABEL.reply])).toBeUndefined()
    t = h.prune(t, 1000n + 2n * M)
    expect(lookupNode(t, [LABEL.requestStatus])).toBeUndefined()
    expect(h.size).toBe(0)
    expect(toHex(t.hash)).toBe(toHex(EMPTY_MAP.hash))
  })

  it('never prunes before expiry even if completed late, and bounds the count without evicting in-flight calls', () => {
    const h = new IngressHistory({ marginNs: M, maxEntries: 3 })
    let t = EMPTY_MAP
    t = h.set(t, { ...base, requestId: rid(9), expiry: 5n, status: { status: 'processing' } }, 0n)
    for (let i = 0; i < 5; i++) t = h.set(t, { ...base, requestId: rid(i), expiry: 100n + BigInt(i), status: { status: "replied", reply: Uint8Array.of(i) } }, 2n * M + BigInt(i))
    expect(h.size).toBe(3)
    expect(status(t, 9)).toBe('processing')
    expect([0, 1, 2].map((i) => status(t, i))).toEqual([undefined, undefined, undefined])
    expect(status(t, 4)).toBe('replied')
    t = h.prune(t, 3n * M + 3n) // completed at 2M+4, so kept until 3M although expiry was long past
    expect(status(t, 4)).toBe('replied')
  })

  it('round-trips through its checkpoint encoding', () => {
    const h = new IngressHistory({ marginNs: M })
    let t = EMPTY_MAP
    t = h.set(t, { ...base, requestId: rid(1), expiry: 50n, status: { status: 'rejected', rejectCode: 5, rejectMessage: 'trap', errorCode: 'IC0503' } }, 0n)
    t = h.set(t, { ...base, requestId: rid(2), expiry: 60n, status: { status: 'received' } }, 0n)
    const h2 = IngressHistory.decode(h.encode(), { marginNs: M })
    expect(toHex(h2.applyAll(EMPTY_MAP).hash)).toBe(toHex(t.hash))
    expect(toHex(h2.encode())).toBe(toHex(h.encode()))
    const t2 = h2.prune(h2.applyAll(EMPTY_MAP), 50n + M)
    expect(status(t2, 1)).toBe('done')
    expect(() => IngressHistory.decode(h.encode().subarray(0, 20))).toThrow(expect.objectContaining({ code: 'STATE_CORRUPT' }))
  })
})
