import { canisterIdInRanges } from './principal.ts'
import { describe, expect, it } from 'vitest'
import { Certificate as AgentCertificate } from '@dfinity/agent'
import { Principal as AgentPrincipal } from '@dfinity/principal'
import { Certificate as SdkCertificate } from '@icp-sdk/core/agent'
import { Principal as SdkPrincipal } from '@icp-sdk/core/principal'
import { blsKeyFromSeed, blsPublicKey, blsPublicKeyToDer, dealThresholdKey, signShare } from './bls.ts'
import { isCapsaError } from './errors.ts'
import { sha224, toHex } from './hash.ts'
import { buildHashTree, labeled, leaf, fork, lookupPath, reconstruct, witness, type HashTree, type LabeledTree } from './hash-tree.ts'
import {
  buildSubnetDelegation,
  certificateFromShares,
  decodeCanisterRanges,
  decodeCertificate,
  delegationFromRootState,
  encodeCanisterRanges,
  encodeCertificate,
  signCertificate,
  stateRootMessage,
  subnetDelegationTreeData,
  verifyCertificate,
  type Certificate,
  type Delegation,
} from './certificate.ts'

const enc = (s: string) => new TextEncoder().encode(s)

/** Unsigned LEB128, written here independently of the code under test. */
function leb(n: bigint): Uint8Array {
  const out: number[] = []
  for (;;) {
    const b = Number(n % 128n)
    n /= 128n
    if (n === 0n) return Uint8Array.from([...out, b])
    out.push(b | 0x80)
  }
}

function expectInvalid(fn: () => unknown, reason?: string): void {
  let thrown: unknown
  try {
    fn()
  } catch (e) {
    thrown = e
  }
  expect(isCapsaError(thrown, 'CERTIFICATE_INVALID'), String(thrown)).toBe(true)
  if (reason !== undefined) expect((thrown as { detail: { reason: string } }).detail.reason).toBe(reason)
}

/** A self-authenticating principal of a DER key: sha224(der) · 0x02. */
const selfAuth = (der: Uint8Array) => new Uint8Array([...sha224(der), 0x02])
/** Canister id bytes for index i (opaque principal layout: 8-byte index, 0x01, 0x01). */
const canisterId = (i: number) => new Uint8Array([0, 0, 0, 0, 0, i >> 16, (i >> 8) & 0xff, i & 0xff, 1, 1])

const rootSk = blsKeyFromSeed(enc('root subnet key'))
const rootDer = blsPublicKeyToDer(blsPublicKey(rootSk))
const subnetKey = dealThresholdKey({ t: 3, n: 4, seed: enc('app subnet') })
const subnetId = selfAuth(blsPublicKeyToDer(subnetKey.publicKey))
const ranges = [[canisterId(0), canisterId(0xfff)] as const, [canisterId(0x2000), canisterId(0x2fff)] as const]
const inRange = canisterId(0x2345)
const outOfRange = canisterId(0x1800)
const rid = new Uint8Array(32).fill(0x5a)
const reply = enc('DIDL\x00\x01\x7d\x2a')

function stateTree(timeNs: bigint): HashTree {
  const data: LabeledTree = [
    ['request_status', [[rid, [['status', enc('replied')], ['reply', reply]]], [new Uint8Array(32).fill(0x11), [['status', enc('processing')]]]]],
    ['subnet', [[subnetId, [['canister_ranges', encodeCanisterRanges(ranges)], ['public_key', blsPublicKeyToDer(subnetKey.publicKey)]]]]],
    ['canister', [[inRange, [['module_hash', new Uint8Array(32).fill(3)]]]]],
    ['time', leb(timeNs)],
  ]
  return buildHashTree(data)
}

/** The subnet's nodes sign the root with their shares; any 3 combine. */
function subnetSigns(tree: HashTree, use: number[]): Certificate {
  const msg = stateRootMessage(tree)
  const shares = use.map((i) => ({ index: subnetKey.shares[i].index, signature: signShare(msg, subnetKey.shares[i].secretShare) }))
  return certificateFromShares(tree, shares, 3, { publicKey: subnetKey.publicKey })
}

function nowNs(): bigint {
  return BigInt(Date.now()) * 1_000_000n
}

describe('certificates accepted by real clients', () => {
  it('plain certificate (root key signs a witness): @dfinity/agent 3.4.3 and @icp-sdk/core 6.1.0 verify and look up', async () => {
    const now = nowNs()
    const full = stateTree(now)
    const signed = signCertificate(full, rootSk)
    const w = witness(full, [['request_status', rid], ['time']])
    const bytes = encodeCertificate({ tree: w, signature: signed.signature })

    const ours = verifyCertificate(bytes, rootDer, { now })
    expect(ours.time).toBe(now)
    expect(lookupPath(['request_status', rid, 'reply'], ours.certificate.tree)).toEqual({ status: 'found', value: reply })

    const agentCert = await AgentCertificate.create({ certificate: bytes, rootKey: rootDer, canisterId: AgentPrincipal.fromUint8Array(inRange) })
    const a = agentCert.lookup_path(['request_status', rid, 'reply'])
    expect(a.status).toBe('Found')
    expect(toHex((a as { value: Uint8Array }).value)).toBe(toHex(reply))
    expect(agentCert.lookup_path(['request_status', rid, 'status']).status).toBe('Found')

    const sdkCert = await SdkCertificate.create({ certificate: bytes, rootKey: rootDer, principal: { canisterId: SdkPrincipal.fromUint8Array(inRange) } })
    const s = sdkCert.lookup_path(['request_status', rid, 'reply'])
    expect(toHex((s as { value: Uint8Array }).value)).toBe(toHex(reply))
  })

  it('threshold key as the root key (v1 setup): a certificate from 3 of 4 shares is accepted', async () => {
    const now = nowNs()
    const full = stateTree(now)
    const subnetDer = blsPublicKeyToDer(subnetKey.publicKey)
    const bytes = encodeCertificate({ tree: witness(full, [['request_status', rid], ['time']]), signature: subnetSigns(full, [2, 1, 3]).signature })
    verifyCertificate(bytes, subnetDer, { now })
    await AgentCertificate.create({ certificate: bytes, rootKey: subnetDer, canisterId: AgentPrincipal.fromUint8Array(outOfRange) })
    await SdkCertificate.create({ certificate: bytes, rootKey: subnetDer, principal: { canisterId: SdkPrincipal.fromUint8Array(outOfRange) } })
    await expect(AgentCertificate.create({ certificate: bytes, rootKey: rootDer, canisterId: AgentPrincipal.fromUint8Array(inRange) })).rejects.toThrow()
  })

  it('absence proofs next to revealed paths do not confuse the clients\' lookups', async () => {
    const now = nowNs()
    const full = stateTree(now)
    const missing = new Uint8Array(32).fill(0x33)
    const w = witness(full, [['request_status', rid], ['request_status', missing], ['canister', inRange, 'module_hash'], ['time']])
    const bytes = encodeCertificate({ tree: w, signature: signCertificate(full, rootSk).signature })
    expect(lookupPath(['request_status', missing, 'status'], w)).toEqual({ status: 'absent' })
    const agentCert = await AgentCertificate.create({ certificate: bytes, rootKey: rootDer, canisterId: AgentPrincipal.fromUint8Array(inRange) })
    expect(toHex((agentCert.lookup_path(['request_status', rid, 'reply']) as { value: Uint8Array }).value)).toBe(toHex(reply))
    expect(agentCert.lookup_path(['request_status', missing, 'status']).status).toBe('Absent')
    expect(agentCert.lookup_path(['canister', inRange, 'module_hash']).status).toBe('Found')
    const sdkCert = await SdkCertificate.create({ certificate: bytes, rootKey: rootDer, principal: { canisterId: SdkPrincipal.fromUint8Array(inRange) } })
    expect(toHex((sdkCert.lookup_path(['request_status', rid, 'reply']) as { value: Uint8Array }).value)).toBe(toHex(reply))
    expect(sdkCert.lookup_path(['request_status', missing, 'status']).status).toBe('Absent')
  })

  it('threshold-signed certificate with a root-subnet delegation: both clients verify', async () => {
    const now = nowNs()
    const delegation = buildSubnetDelegation({ subnetId, subnetPublicKey: subnetKey.publicKey, canisterRanges: ranges, time: now }, rootSk)
    const full = stateTree(now)
    const cert = subnetSigns(full, [3, 0, 2])
    const bytes = encodeCertificate({ tree: witness(full, [['request_status', rid], ['time']]), signature: cert.signature, delegation })

    const ours = verifyCertificate(bytes, rootDer, { effectiveCanisterId: inRange, now })
    expect(toHex(ours.signingKey)).toBe(toHex(subnetKey.publicKey))
    expect(toHex(ours.subnetId!)).toBe(toHex(subnetId))

    const agentCert = await AgentCertificate.create({ certificate: bytes, rootKey: rootDer, canisterId: AgentPrincipal.fromUint8Array(inRange) })
    expect(toHex((agentCert.lookup_path(['request_status', rid, 'reply']) as { value: Uint8Array }).value)).toBe(toHex(reply))
    await SdkCertificate.create({ certificate: bytes, rootKey: rootDer, principal: { canisterId: SdkPrincipal.fromUint8Array(inRange) } })

    // Out of the delegated ranges: Capsa and both clients refuse.
    expectInvalid(() => verifyCertificate(bytes, rootDer, { effectiveCanisterId: outOfRange, now }), 'ranges')
    await expect(AgentCertificate.create({ certificate: bytes, rootKey: rootDer, canisterId: AgentPrincipal.fromUint8Array(outOfRange) })).rejects.toThrow()
    await expect(SdkCertificate.create({ certificate: bytes, rootKey: rootDer, principal: { canisterId: SdkPrincipal.fromUint8Array(outOfRange) } })).rejects.toThrow()
  })

  it('sharded /canister_ranges/<sid> is what newer clients read; legacy /subnet/<sid>/canister_ranges what agent 3.x reads', async () => {
    const now = nowNs()
    const onlySharded = [[inRange, inRange] as const]
    const legacyOnly = [[outOfRange, outOfRange] as const]
    const rootState = buildHashTree([
      ['subnet', [[subnetId, [['public_key', blsPublicKeyToDer(subnetKey.publicKey)], ['canister_ranges', encodeCanisterRanges(legacyOnly)]]]]],
      ['canister_ranges', [[subnetId, [[inRange, encodeCanisterRanges(onlySharded)]]]]],
      ['time', leb(now)],
    ])
    const d = delegationFromRootState(rootState, signCertificate(rootState, rootSk).signature, subnetId)
    const bytes = encodeCertificate({ ...subnetSigns(stateTree(now), [1, 2, 3]), delegation: d })
    verifyCertificate(bytes, rootDer, { effectiveCanisterId: inRange, now })
    await SdkCertificate.create({ certificate: bytes, rootKey: rootDer, principal: { canisterId: SdkPrincipal.fromUint8Array(inRange) } })
    await expect(AgentCertificate.create({ certificate: bytes, rootKey: rootDer, canisterId: AgentPrincipal.fromUint8Array(inRange) })).rejects.toThrow()
    await AgentCertificate.create({ certificate: bytes, rootKey: rootDer, canisterId: AgentPrincipal.fromUint8Array(outOfRange) })
  })

  it('a delegation cut from the root subnet full state verifies like a built one', async () => {
    const now = nowNs()
    const rootState = buildHashTree([
      ...(subnetDelegationTreeData({ subnetId, subnetPublicKey: subnetKey.publicKey, canisterRanges: ranges, time: now }) as [string, LabeledTree][]),
      ['canister', [[canisterId(1), [['module_hash', new Uint8Array(32)]]]]],
    ])
    const d = delegationFromRootState(rootState, signCertificate(rootState, rootSk).signature, subnetId)
    const inner = decodeCertificate(d.certificate)
    expect(toHex(reconstruct(inner.tree))).toBe(toHex(reconstruct(rootState)))
    expect(lookupPath(['canister', canisterId(1), 'module_hash'], inner.tree).status).toBe('unknown')
    const full = stateTree(now)
    const bytes = encodeCertificate({ ...subnetSigns(full, [0, 1, 2]), delegation: d })
    verifyCertificate(bytes, rootDer, { effectiveCanisterId: inRange, now })
    await AgentCertificate.create({ certificate: bytes, rootKey: rootDer, canisterId: AgentPrincipal.fromUint8Array(inRange) })
  })
})

describe('rejections', () => {
  const now = 1_700_000_000_000_000_000n
  const full = stateTree(now)
  const delegation: Delegation = buildSubnetDelegation({ subnetId, subnetPublicKey: subnetKey.publicKey, canisterRanges: ranges, time: now }, rootSk)

  it('round-trips encoding', () => {
    const c = signCertificate(full, rootSk, delegation)
    const d = decodeCertificate(encodeCertificate(c))
    expect(toHex(encodeCertificate(d))).toBe(toHex(encodeCertificate(c)))
    expect(toHex(d.delegation!.subnetId)).toBe(toHex(subnetId))
  })

  it('a tampered tree changes the root and fails', async () => {
    const signed = signCertificate(full, rootSk)
    const tampered = stateTree(now + 1n)
    expect(toHex(reconstruct(tampered))).not.toBe(toHex(reconstruct(full)))
    const bytes = encodeCertificate({ tree: tampered, signature: signed.signature })
    expectInvalid(() => verifyCertificate(bytes, rootDer), 'signature')
    // Swapping a leaf deep inside (same shape) also fails.
    const swapped = fork(labeled('time', leaf(leb(now))), labeled('x', leaf('y')))
    expectInvalid(() => verifyCertificate({ tree: swapped, signature: signed.signature }, rootDer), 'signature')
    await expect(AgentCertificate.create({ certificate: bytes, rootKey: rootDer, canisterId: AgentPrincipal.fromUint8Array(inRange), disableTimeVerification: true })).rejects.toThrow()
  })

  it('a wrong root key or a wrong key length fails', () => {
    const bytes = encodeCertificate(signCertificate(full, rootSk))
    verifyCertificate(bytes, rootDer)
    expectInvalid(() => verifyCertificate(bytes, blsPublicKeyToDer(subnetKey.publicKey)), 'signature')
    expectInvalid(() => verifyCertificate(bytes, rootDer.subarray(1)), 'root_key')
  })

  it('a delegation certificate that itself has a delegation is refused', async () => {
    const innerWithDelegation: Delegation = {
      subnetId,
      certificate: encodeCertificate(signCertificate(buildHashTree(subnetDelegationTreeData({ subnetId, subnetPublicKey: subnetKey.publicKey, canisterRanges: ranges, time: now })), rootSk, delegation)),
    }
    const bytes = encodeCertificate({ ...subnetSigns(full, [0, 1, 3]), delegation: innerWithDelegation })
    expectInvalid(() => verifyCertificate(bytes, rootDer, { effectiveCanisterId: inRange }), 'delegation')
    await expect(AgentCertificate.create({ certificate: bytes, rootKey: rootDer, canisterId: AgentPrincipal.fromUint8Array(inRange), disableTimeVerification: true })).rejects.toThrow()
  })

  it('a delegation signed by the wrong root, or without the subnet key, is refused', () => {
    const forgedRoot = buildSubnetDelegation({ subnetId, subnetPublicKey: subnetKey.publicKey, canisterRanges: ranges, time: now }, blsKeyFromSeed(enc('not root')))
    expectInvalid(() => verifyCertificate(encodeCertificate({ ...subnetSigns(full, [0, 1, 2]), delegation: forgedRoot }), rootDer), 'signature')
    const otherSubnet = { ...delegation, subnetId: selfAuth(rootDer) }
    expectInvalid(() => verifyCertificate(encodeCertificate({ ...subnetSigns(full, [0, 1, 2]), delegation: otherSubnet }), rootDer), 'delegation')
  })

  it('enforces /time presence and freshness when a clock is given', () => {
    const bytes = encodeCertificate(signCertificate(full, rootSk))
    verifyCertificate(bytes, rootDer, { now: now + 299_000_000_000n })
    expectInvalid(() => verifyCertificate(bytes, rootDer, { now: now + 301_000_000_000n }), 'time')
    expectInvalid(() => verifyCertificate(bytes, rootDer, { now: now - 301_000_000_000n }), 'time')
    verifyCertificate(bytes, rootDer, { now: now + 3_600_000_000_000n, maxAgeNs: 3_600_000_000_000n })
    const noTime = buildHashTree([['a', enc('b')]])
    expectInvalid(() => verifyCertificate(encodeCertificate(signCertificate(noTime, rootSk)), rootDer), 'time')
    // Delegations may be up to 30 days old.
    const d = encodeCertificate({ ...subnetSigns(stateTree(now + 86_400_000_000_000n), [0, 1, 2]), delegation })
    verifyCertificate(d, rootDer, { now: now + 86_400_000_000_000n, effectiveCanisterId: inRange })
    expectInvalid(() => verifyCertificate(d, rootDer, { now: now + 31n * 86_400_000_000_000n, maxAgeNs: 40n * 86_400_000_000_000n }), 'time')
  })

  it('garbage gives coded errors, never untyped throws', () => {
    const good = encodeCertificate(signCertificate(full, rootSk))
    const cases: Uint8Array[] = [
      new Uint8Array(0),
      enc('not cbor at all'),
      new Uint8Array([0xa0]),
      good.subarray(0, good.length - 5),
      new Uint8Array([0xa1, 0x64, 0x74, 0x72, 0x65, 0x65, 0x80]), // {tree: []}
      encodeCanisterRanges(ranges),
    ]
    for (let i = 0; i < 40; i++) {
      const b = good.slice()
      b[(i * 7919) % b.length] ^= 1 << i % 8
      cases.push(b)
    }
    for (const c of cases) expectInvalid(() => verifyCertificate(c, rootDer))
  })

  it('combining a bad share into a certificate is caught when the subnet key is given', () => {
    const msg = stateRootMessage(full)
    const shares = [0, 1, 2].map((i) => ({ index: subnetKey.shares[i].index, signature: signShare(msg, subnetKey.shares[i].secretShare) }))
    shares[1] = { index: 2, signature: signShare(msg, subnetKey.shares[3].secretShare) }
    let thrown: unknown
    try {
      certificateFromShares(full, shares, 3, { publicKey: subnetKey.publicKey })
    } catch (e) {
      thrown = e
    }
    expect(isCapsaError(thrown, 'BLS_INVALID')).toBe(true)
  })

  it('canister ranges encode as tagged CBOR and compare like principals', () => {
    const bytes = encodeCanisterRanges(ranges)
    expect(toHex(bytes.subarray(0, 3))).toBe('d9d9f7')
    expect(decodeCanisterRanges(bytes).map(([a, b]) => [toHex(a), toHex(b)])).toEqual(ranges.map(([a, b]) => [toHex(a), toHex(b)]))
    expect(canisterIdInRanges(inRange, ranges)).toBe(true)
    expect(canisterIdInRanges(outOfRange, ranges)).toBe(false)
    expect(canisterIdInRanges(canisterId(0xfff), ranges)).toBe(true)
    expect(canisterIdInRanges(new Uint8Array(0), [[new Uint8Array(0), new Uint8Array(0)]])).toBe(true)
    expectInvalid(() => decodeCanisterRanges(enc('zz')), 'ranges')
  })
})
