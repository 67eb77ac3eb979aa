import { CanisterStatus, Certificate, LookupPathStatus } from '@dfinity/agent'
import { Principal } from '@dfinity/principal'
import { describe, expect, it } from 'vitest'
import { blsKeyFromSeed, blsPublicKey, blsPublicKeyToDer } from '../protocol/bls.ts'
import { asArray, asBytes, decodeCbor } from '../protocol/cbor.ts'
import { encodeCertificate, signCertificate } from '../protocol/certificate.ts'
import { toHex } from '../protocol/hash.ts'
import { lookupPath, reconstruct } from '../protocol/hash-tree.ts'
import type { HashTree } from '../protocol/hash-tree.ts'
import { canisterIdFromIndex, selfAuthenticating, subnetCanisterRange } from '../protocol/principal.ts'
import { sha256 } from '../protocol/hash.ts'
import { setCanister, setRequestStatus, setSubnet, setTime } from './state-tree.ts'
import { EMPTY_MAP } from './tree.ts'
import { buildWitness, checkReadStatePaths } from './witness.ts'
import type { ReadStateContext } from './witness.ts'

const te = new TextEncoder()
const sk = blsKeyFromSeed(te.encode('witness test'))
const rootKey = blsPublicKeyToDer(blsPublicKey(sk))
const sid = selfAuthenticating(rootKey)
const cid = canisterIdFromIndex(5)
const other = canisterIdFromIndex(6)
const alice = Uint8Array.of(1, 2, 3, 2)
const rids = Array.from({ length: 40 }, (_, i) => sha256(Uint8Array.of(i)))
const nodes = Array.from({ length: 4 }, (_, i) => {
  const der = new Uint8Array(44)
  der.set([0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00])
  der.fill(i + 1, 12)
  return [selfAuthenticating(der), der] as const
})
const moduleHash = sha256(te.encode('module'))

function state() {
  let root = setTime(EMPTY_MAP, BigInt(Date.now()) * 1_000_000n)
  rids.forEach((rid, i) => {
    root = setRequestStatus(root, rid, i % 2 === 0 ? { status: 'replied', reply: Uint8Array.of(i) } : { status: 'rejected', rejectCode: 4, rejectMessage: `no ${i}`, errorCode: 'IC0503' })
  })
  root = setCanister(root, cid, { moduleHash, controllers: [alice], metadata: new Map([['candid:service', te.encode('service : {}')]]) })
  root = setCanister(root, other, { controllers: [] })
  root = setSubnet(root, sid, { publicKeyDer: rootKey, canisterRanges: [subnetCanisterRange(0)], nodes, type: 'application' })
  return root
}

const certify = (tree: HashTree): Uint8Array => encodeCertificate(signCertificate(tree, sk))
const agentCert = (w: HashTree) => Certificate.create({ certificate: certify(w), rootKey, canisterId: Principal.fromUint8Array(cid) })

describe('read_state witnesses', () => {
  const root = state()

  it('prove a request status to @dfinity/agent and reveal no other request', async () => {
    const w = buildWitness(root, [[te.encode('request_status'), rids[2]]])
    expect(toHex(reconstruct(w))).toBe(toHex(root.hash))
    const cert = await agentCert(w)
    const status = cert.lookup_path(['request_status', rids[2], 'status'])
    expect(status.status).toBe(LookupPathStatus.Found)
    expect(new TextDecoder().decode((status as { value: Uint8Array }).value)).toBe('replied')
    expect(cert.lookup_path(['request_status', rids[2], 'reply'])).toEqual({ status: LookupPathStatus.Found, value: Uint8Array.of(2) })
    expect(cert.lookup_path(['request_status', rids[3], 'status']).status).not.toBe(LookupPathStatus.Found)
    expect(cert.lookup_path(['canister', cid, 'module_hash']).status).not.toBe(LookupPathStatus.Found)
    const t = cert.lookup_path(['time'])
    expect(t.status).toBe(LookupPathStatus.Found)
    const r3 = await agentCert(buildWitness(root, [[te.encode('request_status'), rids[3], te.encode('reject_message')]]))
    expect(new TextDecoder().decode((r3.lookup_path(['request_status', rids[3], 'reject_message']) as { value: Uint8Array }).value)).toBe('no 3')
  })

  it('prove module_hash, controllers and metadata', async () => {
    const w = buildWitness(root, [[te.encode('canister'), cid, te.encode('module_hash')], [te.encode('canister'), cid, te.encode('controllers')], [te.encode('canister'), cid, te.encode('metadata'), te.encode('candid:service')]])
    const cert = await agentCert(w)
    expect(cert.lookup_path(['canister', cid, 'module_hash'])).toEqual({ status: LookupPathStatus.Found, value: moduleHash })
    const c = cert.lookup_path(['canister', cid, 'controllers']) as { value: Uint8Array }
    expect(asArray(decodeCbor(c.value), 'controllers').map((x) => toHex(asBytes(x, 'c')))).toEqual([toHex(alice)])
    expect(new TextDecoder().decode((cert.lookup_path(['canister', cid, 'metadata', 'candid:service']) as { value: Uint8Array }).value)).toBe('service : {}')
    expect(lookupPath(['canister', other, 'controllers'], w).status).not.toBe('found')
  })

  it('serve the /subnet subtree the agent uses for node keys', async () => {
    const certificate = certify(buildWitness(root, [[te.encode('subnet')]]))
    await Certificate.create({ certificate, rootKey, canisterId: Principal.fromUint8Array(cid) })
    const status = CanisterStatus.fetchNodeKeys(certificate, Principal.fromUint8Array(cid), rootKey)
    expect(status.subnetId).toBe(Principal.fromUint8Array(sid).toText())
    expect(status.nodeKeys.size).toBe(4)
    expect([...status.nodeKeys.keys()].sort()).toEqual(nodes.map(([id]) => Principal.fromUint8Array(id).toText()).sort())
  })
})

describe('read_state access rules', () => {
  const ctx: ReadStateContext = {
    sender: alice,
    effectiveCanisterId: cid,
    requestOrigin: (rid) => (toHex(rid) === toHex(rids[0]) ? { sender: alice, effectiveCanisterId: cid } : toHex(rid) === toHex(rids[1]) ? { sender: Uint8Array.of(9), effectiveCanisterId: cid } : undefined),
    canister: (c) => (toHex(c) === toHex(cid) ? { controllers: [alice], privateMetadata: new Set(['secret']) } : undefined),
  }
  const rs = te.encode('request_status')
  const can = te.encode('canister')
  const ok = (paths: Uint8Array[][], c = ctx) => () => checkReadStatePaths(paths, c)

  it('allows what the spec allows', () => {
    expect(ok([[te.encode('time')], [te.encode('subnet')], [rs, rids[0], te.encode('status')], [rs, rids[0]]])).not.toThrow()
    expect(ok([[rs, rids[7]]])).not.toThrow() // unknown request: allowed, proves nothing
    expect(ok([[can, cid, te.encode('module_hash')], [can, cid, te.encode('controllers')], [can, cid, te.encode('metadata'), te.encode('secret')]])).not.toThrow()
    expect(ok([[te.encode('subnet'), sid, te.encode('node'), nodes[0][0], te.encode('public_key')]])).not.toThrow()
  })

  it('refuses what the spec forbids, with a coded error', () => {
    const forbidden = [
      [[rs, rids[1]]], // another sender's request
      [[rs, rids[0]], [rs, rids[7]]], // two request ids
      [[can, other, te.encode('module_hash')]], // not the effective canister
      [[can, cid, te.encode('certified_data')]],
      [[can, cid]],
      [[te.encode('subnet'), sid, te.encode('metrics')]],
      [[te.encode('canister_ranges'), sid]],
      [[]],
      [[te.encode('nope')]],
    ]
    for (const paths of forbidden) expect(ok(paths)).toThrow(expect.objectContaining({ code: 'READ_STATE_FORBIDDEN' }))
    const stranger = { ...ctx, sender: Uint8Array.of(7) }
    expect(ok([[can, cid, te.encode('metadata'), te.encode('secret')]], stranger)).toThrow(expect.objectContaining({ code: 'READ_STATE_FORBIDDEN' }))
    expect(ok([[can, cid, te.encode('metadata'), te.encode('public')]], stranger)).not.toThrow()
    expect(ok([[can, cid, te.encode('metadata'), Uint8Array.of(0xff)]])).toThrow(expect.objectContaining({ code: 'READ_STATE_FORBIDDEN' }))
    expect(ok([[rs, rids[0]]], { ...ctx, effectiveCanisterId: other })).toThrow(expect.objectContaining({ code: 'READ_STATE_FORBIDDEN' }))
  })
})
