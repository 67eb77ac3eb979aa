import { describe, expect, it } from 'vitest'
import type { BlockPayload, PayloadBuilder, PayloadValidator } from '../protocol/consensus-types.ts'
import { sha256, toHex } from '../protocol/hash.ts'
import { aggregator } from './aggregator.ts'
import type { ChangeAction, ComponentContext } from './context.ts'
import { RealConsensusCrypto, dealSubnetKeys } from './crypto.ts'
import { beaconHash, beaconSigned, blockHash, certificationSigned, cupContentHash, cupSigned, notarizationSigned, proposalSigned } from './encoding.ts'
import { genesisCup } from './genesis.ts'
import { ArtifactPool } from './pool.ts'
import { blockMakerRanks } from './ranking.ts'
import { type Artifact, type Block, type BlockProposal, type CatchUpPackage, defaultConfig } from './types.ts'
import { check } from './validator.ts'

const T = 1_700_000_000_000_000_000n
const n = 4
const config = defaultConfig(n)
const keys = dealSubnetKeys(n, new TextEncoder().encode('validator-test'))
const cryptos = keys.secrets.map((s) => new RealConsensusCrypto(keys.publicKeys, s))
const cup = genesisCup(T)

const noDuplicates: PayloadValidator = {
  validate(p: BlockPayload) {
    const ids = new Set(p.messages.map((m) => toHex(m.id)))
    return ids.size === p.messages.length ? undefined : 'duplicate message'
  },
}
const emptyBuilder: PayloadBuilder = { build: () => ({ messages: [] }) }

function ctx(self: number, now = T + 1_000_000_000n, stateHash?: (h: bigint) => Uint8Array | undefined): ComponentContext {
  return { config, crypto: cryptos[self], self, f: 1, now, payloadBuilder: emptyBuilder, payloadValidator: noDuplicates, stateHash: stateHash ?? (() => undefined), signedUpTo: -1n, suspects: new Set(), wakeAt: [] }
}

const ranks = blockMakerRanks(cup.content.beacon, n)
const maker = ranks.indexOf(0)
const other = ranks.indexOf(1)
const outsider = ranks.indexOf(2)

function proposal(overrides: Partial<Block> = {}, signer = maker, signWith = signer): BlockProposal {
  const block: Block = { height: 1n, parent: cup.content.blockHash, rank: ranks[signer], time: T + 1n, certifiedHeight: 0n, payload: { messages: [] }, ...overrides }
  const hash = blockHash(block)
  return { kind: 'proposal', block, hash, signer, signature: cryptos[signWith].sign(proposalSigned(hash)) }
}

function verdict(pool: ArtifactPool, a: Artifact, from = 0, c = ctx(0)): string {
  const v = check(pool, c, { id: 'x', artifact: a, from, height: a.kind === 'proposal' ? a.block.height : a.kind === 'cup' ? a.content.block.height : a.height }, new Set())
  return 'ok' in v ? 'ok' : 'transient' in v ? 'transient' : v.invalid ? `invalid: ${v.drop}` : `useless: ${v.drop}`
}

describe('block proposal validation', () => {
  const pool = new ArtifactPool(config, cup, T)
  it('accepts a well-formed rank-0 proposal', () => {
    expect(verdict(pool, proposal())).toBe('ok')
  })
  it('rejects a bad signature', () => {
    const p = proposal()
    expect(verdict(pool, { ...p, signature: p.signature.map((b, i) => (i === 0 ? b ^ 1 : b)) })).toMatch(/^invalid: proposal signature/)
    expect(verdict(pool, proposal({}, maker, other))).toMatch(/^invalid: proposal signature/)
  })
  it('rejects a rank that is not the maker’s, and makers beyond rank f', () => {
    expect(verdict(pool, proposal({ rank: 1 }))).toMatch(/^invalid: rank/)
    expect(verdict(pool, proposal({}, outsider))).toMatch(/^invalid: rank/)
  })
  it('rejects a parent off the finalized chain and waits for an unknown parent above it', () => {
    expect(verdict(pool, proposal({ parent: sha256(new Uint8Array([1])) }))).toMatch(/^invalid: parent/)
    expect(verdict(pool, proposal({ height: 2n, parent: sha256(new Uint8Array([1])) }))).toBe('transient')
  })
  it('checks timestamps: strictly after the parent, not too far ahead of the local clock', () => {
    expect(verdict(pool, proposal({ time: T }))).toMatch(/^invalid: block time/)
    expect(verdict(pool, proposal({ time: T + config.maxClockDriftNs + 2_000_000_000n }))).toBe('transient')
  })
  it('rejects a certified height above the parent and an invalid payload', () => {
    expect(verdict(pool, proposal({ certifiedHeight: 1n }))).toMatch(/^invalid: certified height/)
    const m = { id: sha256(new Uint8Array([7])), bytes: new Uint8Array([1]) }
    expect(verdict(pool, proposal({ payload: { messages: [m, m] } }))).toMatch(/^invalid: payload: duplicate/)
  })
})

describe('share and full-artifact validation', () => {
  const pool = new ArtifactPool(config, cup, T)
  const p = proposal()
  pool.addValidated(p, T)
  const share = (signer: number, block = p.hash) => ({ kind: 'notarizationShare' as const, height: 1n, block, signer, signature: cryptos[signer].sign(notarizationSigned(1n, block)) })

  it('accepts a notarization share for a validated block, rejects forged ones', () => {
    expect(verdict(pool, share(2), 2)).toBe('ok')
    expect(verdict(pool, { ...share(2), signature: share(3).signature }, 2)).toMatch(/^invalid: notarizationShare signature/)
    expect(verdict(pool, share(2), 3)).toMatch(/^invalid: share signer/)
    expect(verdict(pool, share(2, sha256(new Uint8Array([9]))), 2)).toBe('transient')
  })
  it('requires n − f distinct, valid signers on a notarization', () => {
    const shares = [0, 1, 2].map((s) => share(s))
    const full = { kind: 'notarization' as const, height: 1n, block: p.hash, signers: shares.map((s) => s.signer), signatures: shares.map((s) => s.signature) }
    expect(verdict(pool, full)).toBe('ok')
    expect(verdict(pool, { ...full, signers: [0, 1], signatures: full.signatures.slice(0, 2) })).toMatch(/too few/)
    expect(verdict(pool, { ...full, signers: [0, 1, 1] })).toMatch(/signers/)
    expect(verdict(pool, { ...full, signers: [0, 1, 3] })).toMatch(/signature/)
  })
  it('rejects a beacon with a bad threshold signature and a certification share on another state', () => {
    const parent = beaconHash(cup.content.beacon)
    const wrong = cryptos[0].combineLow([0, 1].map((s) => ({ signer: s, signature: cryptos[s].signLowShare(beaconSigned(5n, parent)) })))
    expect(verdict(pool, { kind: 'beacon', height: 1n, parent, signature: wrong })).toMatch(/^invalid: beacon signature/)
    const own = sha256(new Uint8Array([1]))
    const c = ctx(0, T, (h) => (h === 1n ? own : undefined))
    const cs = { kind: 'certificationShare' as const, height: 1n, stateHash: sha256(new Uint8Array([2])), signer: 1, signature: new Uint8Array(48) }
    expect(verdict(pool, cs, 1, c)).toMatch(/^invalid: certification share for a different/)
    expect(verdict(pool, { ...cs, stateHash: own }, 1, ctx(0, T))).toBe('transient')
  })
})

describe('aggregator', () => {
  it('verifies a combined beacon once, and isolates a bad share only when that fails', () => {
    const pool = new ArtifactPool(config, cup, T)
    const parent = beaconHash(cup.content.beacon)
    const msg = beaconSigned(1n, parent)
    const good = (s: number) => ({ kind: 'beaconShare' as const, height: 1n, parent, signer: s, signature: cryptos[s].signLowShare(msg) })
    // Signer 0's share is a valid curve point on the wrong message.
    pool.addValidated({ ...good(0), signature: cryptos[0].signLowShare(beaconSigned(9n, parent)) }, T)
    pool.addValidated(good(1), T)
    let out: ChangeAction[] = aggregator(pool, ctx(1))
    expect(out.map((c) => c.type)).toEqual(['removeValidated'])
    for (const c of out) if (c.type === 'removeValidated') pool.removeValidated(c.artifact)
    pool.addValidated(good(2), T)
    out = aggregator(pool, ctx(1))
    const beacon = out.find((c) => c.type === 'add')
    expect(beacon?.type === 'add' && beacon.artifact.kind === 'beacon').toBe(true)
    if (beacon?.type === 'add' && beacon.artifact.kind === 'beacon') expect(cryptos[3].verifyLow(msg, beacon.artifact.signature)).toBe(true)
  })
  it('combines n − f certification shares into a signature the subnet key verifies', () => {
    const pool = new ArtifactPool(config, cup, T)
    const stateHash = sha256(new Uint8Array([42]))
    const c = ctx(0, T, (h) => (h === 1n ? stateHash : undefined))
    for (const s of [0, 1, 3]) pool.addValidated({ kind: 'certificationShare', height: 1n, stateHash, signer: s, signature: cryptos[s].signHighShare(certificationSigned(stateHash)) }, T)
    const add = aggregator(pool, c).find((x) => x.type === 'add')
    expect(add?.type === 'add' && add.artifact.kind === 'certification' && cryptos[2].verifyHigh(certificationSigned(stateHash), add.artifact.signature)).toBe(true)
  })
})

describe('ranking', () => {
  it('is a deterministic permutation that changes with the beacon', () => {
    const a = blockMakerRanks(cup.content.beacon, 13)
    expect([...a].sort((x, y) => x - y)).toEqual(Array.from({ length: 13 }, (_, i) => i))
    expect(blockMakerRanks(cup.content.beacon, 13)).toEqual(a)
    const other = blockMakerRanks({ ...cup.content.beacon, signature: new Uint8Array([1]) }, 13)
    expect(other).not.toEqual(a)
  })
})

describe('catch-up packages', () => {
  it('a CUP verifies under the subnet key alone; tampered content or signature is rejected', () => {
    const pool = new ArtifactPool(config, cup, T)
    const block: Block = { height: 500n, parent: sha256(new Uint8Array([5])), rank: 0, time: T + 500n, certifiedHeight: 499n, payload: { messages: [] } }
    const content = { block, blockHash: blockHash(block), beacon: { kind: 'beacon' as const, height: 500n, parent: sha256(new Uint8Array([6])), signature: new Uint8Array(48) }, stateHash: sha256(new Uint8Array([7])) }
    const msg = cupSigned(cupContentHash(content))
    const signature = cryptos[0].combineHigh([0, 2, 3].map((i) => ({ signer: i, signature: cryptos[i].signHighShare(msg) })))
    const good: CatchUpPackage = { kind: 'cup', content, signature }
    expect(verdict(pool, good)).toBe('ok')
    expect(verdict(pool, { ...good, content: { ...content, stateHash: sha256(new Uint8Array([8])) } })).toMatch(/^invalid: CUP signature/)
    expect(verdict(pool, { ...good, content: { ...content, blockHash: sha256(new Uint8Array([9])) } })).toMatch(/^invalid: CUP block hash/)
    expect(verdict(pool, cup)).toMatch(/^useless/)
  })
})
