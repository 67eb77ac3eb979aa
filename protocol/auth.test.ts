import { describe, expect, it } from 'vitest'
import { AnonymousIdentity, Cbor, type SignIdentity } from '@dfinity/agent'
import { DelegationChain, DelegationIdentity, ECDSAKeyIdentity, Ed25519KeyIdentity } from '@dfinity/identity'
import { Secp256k1KeyIdentity } from '@dfinity/identity-secp256k1'
import { Principal } from '@dfinity/principal'
import { authenticate, parsePublicKey, verifyDelegationChain } from './auth.ts'
import { decodeCbor, type CborValue } from './cbor.ts'
import { parseEnvelope, type Envelope } from './envelope.ts'
import { isCapsaError } from './errors.ts'
import { DOMAIN, fromHex, toHex } from './hash.ts'
import { principalFromText } from './principal.ts'
import { hashOfMap } from './request-id.ts'

type M = { [k: string]: CborValue }
const te = new TextEncoder()
const NOW = 1_700_000_000_000_000_000n
const FAR = new Date(Date.parse('2100-01-01T00:00:00Z'))
const TARGET = Principal.fromText('rrkah-fqaaa-aaaaa-aaaaq-cai')
const OTHER = Principal.fromText('ryjl3-tyaaa-aaaaa-aaaba-cai')

function expectCode(f: () => unknown, code: string, text?: string): void {
  try {
    f()
  } catch (e) {
    expect(isCapsaError(e), String(e)).toBe(true)
    expect((e as { code: string }).code, (e as Error).message).toBe(code)
    if (text !== undefined) expect((e as Error).message).toContain(text)
    return
  }
  expect.unreachable('no error thrown')
}

async function expectCodeAsync(f: () => Promise<unknown>, code: string, text?: string): Promise<void> {
  let result: unknown
  try {
    result = await f()
  } catch (e) {
    expect(isCapsaError(e), String(e)).toBe(true)
    expect((e as { code: string }).code, (e as Error).message).toBe(code)
    if (text !== undefined) expect((e as Error).message).toContain(text)
    return
  }
  expect.unreachable(`no error thrown, got ${String(result)}`)
}

function content(kind: 'call' | 'query' | 'read_state', sender: Principal, canister = TARGET): Record<string, unknown> {
  const common = { sender, ingress_expiry: NOW + 240_000_000_000n }
  if (kind === 'read_state') return { ...common, request_type: 'read_state', paths: [[te.encode('time')]] }
  const c = { ...common, request_type: kind, canister_id: canister, method_name: 'greet', arg: Uint8Array.of(0x44, 0x49, 0x44, 0x4c, 0, 0) }
  return kind === 'call' ? { ...c, nonce: new Uint8Array(16).fill(3) } : c
}

/** The body exactly as the agent would POST it: identity.transformRequest, then the agent's CBOR. */
async function wire(identity: SignIdentity | AnonymousIdentity, kind: 'call' | 'query' | 'read_state', canister = TARGET): Promise<M> {
  const req = await identity.transformRequest({ endpoint: kind, request: {}, body: content(kind, identity.getPrincipal(), canister) } as never) as { body: unknown }
  return decodeCbor(Cbor.encode(req.body)) as M
}

function auth(body: M, effectiveCanisterId?: Uint8Array, now = NOW) {
  return authenticate(parseEnvelope(body), { now, effectiveCanisterId })
}

const ed = Ed25519KeyIdentity.generate(new Uint8Array(32).fill(1))
const ed2 = Ed25519KeyIdentity.generate(new Uint8Array(32).fill(2))
const k1 = Secp256k1KeyIdentity.generate(new Uint8Array(32).fill(3))
const p256 = await ECDSAKeyIdentity.generate()

describe('authenticate with real agent identities', () => {
  const identities: [string, SignIdentity, string][] = [['Ed25519', ed, 'ed25519'], ['secp256k1', k1, 'ecdsa-secp256k1'], ['P-256 (WebCrypto)', p256, 'ecdsa-p256']]
  for (const [name, id, scheme] of identities) {
    for (const kind of ['call', 'query', 'read_state'] as const) {
      it(`accepts a ${name} ${kind}`, async () => {
        const r = auth(await wire(id, kind), TARGET.toUint8Array())
        expect(toHex(r.sender)).toBe(toHex(id.getPrincipal().toUint8Array()))
        expect(r.scheme).toBe(scheme)
        expect(r.targets).toBeUndefined()
      })
    }
  }

  it('accepts anonymous requests and refuses anonymous ones carrying keys', async () => {
    const body = await wire(new AnonymousIdentity(), 'call')
    expect(Object.keys(body)).toEqual(['content'])
    const r = auth(body)
    expect(r.scheme).toBe('anonymous')
    expect(toHex(r.sender)).toBe('04')
    const signed = await wire(ed, 'call')
    expectCode(() => auth({ ...body, sender_pubkey: signed.sender_pubkey, sender_sig: signed.sender_sig }), 'REQUEST_MALFORMED')
  })

  it('requires sender_pubkey and sender_sig for a non-anonymous sender', async () => {
    const { sender_sig: _s, ...noSig } = await wire(ed, 'call')
    expectCode(() => auth(noSig), 'REQUEST_MALFORMED', 'sender_sig')
    const { sender_pubkey: _p, ...noKey } = await wire(ed, 'call')
    expectCode(() => auth(noKey), 'REQUEST_MALFORMED', 'sender_pubkey')
  })

  it('refuses tampered content, tampered signatures and a wrong sender', async () => {
    for (const id of [ed, k1, p256]) {
      const tamperedArg = await wire(id, 'call');
      (tamperedArg.content as M).arg = Uint8Array.of(0x44, 0x49, 0x44, 0x4c, 0, 1)
      expectCode(() => auth(tamperedArg), 'SIGNATURE_INVALID')
      const tamperedSig = await wire(id, 'call');
      (tamperedSig.sender_sig as Uint8Array)[10] ^= 1
      expectCode(() => auth(tamperedSig), 'SIGNATURE_INVALID')
      const shortSig = await wire(id, 'query')
      shortSig.sender_sig = (shortSig.sender_sig as Uint8Array).subarray(0, 63)
      expectCode(() => auth(shortSig), 'SIGNATURE_INVALID')
      const wrongSender = await wire(id, 'call');
      (wrongSender.content as M).sender = ed2.getPrincipal().toUint8Array()
      expectCode(() => auth(wrongSender), 'SENDER_MISMATCH')
    }
    // A valid signature by another key: pubkey and sender agree with each other but not with the signature.
    const mine = await wire(ed, 'call')
    const theirs = await wire(ed2, 'call')
    expectCode(() => auth({ ...mine, sender_sig: theirs.sender_sig }), 'SIGNATURE_INVALID')
  })

  it('accepts both s and n − s for P-256 (WebCrypto does not normalise s; neither does the IC)', async () => {
    const n = 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551n
    const body = await wire(p256, 'call')
    const sig = body.sender_sig as Uint8Array
    const s = BigInt('0x' + toHex(sig.subarray(32)))
    const flipped = Uint8Array.of(...sig.subarray(0, 32), ...fromHex((n - s).toString(16).padStart(64, '0')))
    expect(auth(body).scheme).toBe('ecdsa-p256')
    expect(auth({ ...body, sender_sig: flipped }).scheme).toBe('ecdsa-p256')
    const zeroS = Uint8Array.of(...sig.subarray(0, 32), ...new Uint8Array(32))
    expectCode(() => auth({ ...body, sender_sig: zeroS }), 'SIGNATURE_INVALID')
  })

  it('refuses unknown DER encodings and explains unsupported schemes', async () => {
    const body = await wire(ed, 'call')
    const der = body.sender_pubkey as Uint8Array
    const wrongPrefix = der.slice()
    wrongPrefix[9] ^= 1 // OID 1.3.101.112 → another OID
    expectCode(() => auth({ ...body, sender_pubkey: wrongPrefix }), 'PUBLIC_KEY_INVALID')
    expectCode(() => auth({ ...body, sender_pubkey: der.subarray(12) }), 'PUBLIC_KEY_INVALID') // raw key without DER
    // secp256k1 with a point not on the curve
    const k1Der = (await wire(k1, 'call')).sender_pubkey as Uint8Array
    const offCurve = k1Der.slice()
    offCurve[87] ^= 1
    expectCode(() => parsePublicKey(offCurve), 'PUBLIC_KEY_INVALID')
    // The spec's WebAuthn (DER-wrapped COSE) example key.
    const webauthn = fromHex('305e300c060a2b0601040183b8430101034e00a501020326200121582' +
      '07ffd83632072fd1bfeaf3fbaa43146e0ef95c3f55e3994a41bbf2b5174d771da22582032497eed0a7f6f000928765b8318162cfd80a94e525a6a368c2363063d04e6ed')
    expectCode(() => parsePublicKey(webauthn), 'PUBLIC_KEY_INVALID', 'WebAuthn')
    const cid = principalFromText('rdmx6-jaaaa-aaaaa-aaadq-cai')
    const bits = Uint8Array.of(cid.length, ...cid, ...te.encode('seed'))
    const canisterSig = Uint8Array.of(0x30, 14 + 3 + bits.length, 0x30, 0x0c, ...fromHex('060a2b0601040183b8430102'), 0x03, bits.length + 1, 0x00, ...bits)
    expectCode(() => parsePublicKey(canisterSig), 'PUBLIC_KEY_INVALID', 'canister signature')
  })
})

describe('delegation chains', () => {
  async function delegated(chainOf: SignIdentity[], opts: { targets?: Principal[][]; expiration?: Date[] } = {}) {
    let chain: DelegationChain | undefined
    for (let i = 0; i + 1 < chainOf.length; i++) {
      chain = await DelegationChain.create(chainOf[i], chainOf[i + 1].getPublicKey(), opts.expiration?.[i] ?? FAR, { previous: chain, targets: opts.targets?.[i] })
    }
    return DelegationIdentity.fromDelegation(chainOf[chainOf.length - 1], chain!)
  }

  it('accepts agent delegation chains over all key types, with the root key as sender', async () => {
    const id = await delegated([k1, ed, p256, ed2])
    expect(toHex(id.getPrincipal().toUint8Array())).toBe(toHex(k1.getPrincipal().toUint8Array()))
    for (const kind of ['call', 'query', 'read_state'] as const) {
      const r = auth(await wire(id, kind))
      expect(toHex(r.sender)).toBe(toHex(k1.getPrincipal().toUint8Array()))
      expect(r.scheme).toBe('ed25519') // the last key signed
    }
  })

  it('checks intersected targets against canister_id or the effective canister id', async () => {
    const id = await delegated([ed, ed2, k1], { targets: [[TARGET, OTHER], [TARGET]] })
    const r = auth(await wire(id, 'call', TARGET))
    expect(r.targets?.map(toHex)).toEqual([toHex(TARGET.toUint8Array())])
    await expectCodeAsync(async () => auth(await wire(id, 'call', OTHER)), 'DELEGATION_TARGET')
    expect(auth(await wire(id, 'read_state'), TARGET.toUint8Array()).targets?.length).toBe(1)
    await expectCodeAsync(async () => auth(await wire(id, 'read_state'), OTHER.toUint8Array()), 'DELEGATION_TARGET')
    await expectCodeAsync(async () => auth(await wire(id, 'read_state')), 'DELEGATION_TARGET')
    const disjoint = await delegated([ed, ed2, k1], { targets: [[OTHER], [TARGET]] })
    await expectCodeAsync(async () => auth(await wire(disjoint, 'query', TARGET)), 'DELEGATION_TARGET')
  })

  it('refuses expired delegations relative to the given now', async () => {
    const soon = new Date(Number((NOW + 60_000_000_000n) / 1_000_000n))
    const id = await delegated([ed, ed2, p256], { expiration: [FAR, soon] })
    const body = await wire(id, 'call')
    expect(auth(body, undefined, NOW).sender.length).toBe(29)
    expect(auth(body, undefined, NOW + 60_000_000_000n).sender.length).toBe(29) // expiry instant itself is valid
    expectCode(() => auth(body, undefined, NOW + 60_000_000_001n), 'DELEGATION_EXPIRED', 'sender_delegation[1]')
  })

  it('refuses repeated keys and self-delegation', async () => {
    const cycle = await delegated([ed, ed2, ed])
    await expectCodeAsync(async () => auth(await wire(cycle, 'call')), 'DELEGATION_INVALID', 'already appears')
    const self = await delegated([ed, ed])
    await expectCodeAsync(async () => auth(await wire(self, 'call')), 'DELEGATION_INVALID', 'already appears')
  })

  it('refuses a delegation signed by the wrong key and a sender_sig by a key that was not delegated to', async () => {
    const body = await wire(await delegated([ed, ed2]), 'call')
    const chain = body.sender_delegation as M[]
    const other = await wire(await delegated([k1, ed2]), 'call')
    expectCode(() => auth({ ...body, sender_delegation: [{ ...chain[0], signature: (other.sender_delegation as M[])[0].signature }] }), 'DELEGATION_INVALID', 'signature')
    const tampered = decodeCbor(Cbor.encode(body)) as M;
    ((tampered.sender_delegation as M[])[0].delegation as M).expiration = 1n << 62n
    expectCode(() => auth(tampered), 'DELEGATION_INVALID')
    // The request signed by the root key rather than the delegated key.
    const byRoot = await wire(ed, 'call')
    expectCode(() => auth({ ...body, sender_sig: byRoot.sender_sig }), 'SIGNATURE_INVALID')
  })

  it('accepts 20 delegations and refuses 21', async () => {
    const keys = Array.from({ length: 22 }, (_, i) => Ed25519KeyIdentity.generate(new Uint8Array(32).fill(100 + i)))
    const ok = await wire(await delegated(keys.slice(0, 21)), 'query')
    expect((ok.sender_delegation as M[]).length).toBe(20)
    expect(auth(ok).sender.length).toBe(29)
    const tooLong = await wire(await delegated(keys), 'query')
    expectCode(() => parseEnvelope(tooLong), 'DELEGATION_TOO_LONG')
    // The chain check refuses it too when handed an envelope built some other way.
    const env = parseEnvelope(ok)
    const root = parsePublicKey(env.senderPubkey!)
    expectCode(() => verifyDelegationChain(root, [...env.senderDelegation!, env.senderDelegation![0]], NOW), 'DELEGATION_TOO_LONG')
  }, 30_000)

  it('honours permissions "queries" and refuses unknown permissions', async () => {
    // The agent never sets permissions; sign such a delegation the way the spec describes and
    // splice it into a request signed by the delegated key.
    const withPermissions = async (permissions: string, kind: 'call' | 'query'): Promise<M> => {
      const delegation: M = { pubkey: ed2.getPublicKey().toDer(), expiration: 1n << 62n, permissions }
      const signature = await ed.sign(Uint8Array.of(...DOMAIN.requestAuthDelegation, ...hashOfMap(delegation)))
      const signer = DelegationIdentity.fromDelegation(ed2, DelegationChain.fromDelegations([], ed.getPublicKey().toDer()))
      const body = await wire(signer, kind)
      return { ...body, sender_delegation: [{ delegation, signature }] }
    }
    expect(auth(await withPermissions('queries', 'query')).permissions).toBe('queries')
    await expectCodeAsync(async () => auth(await withPermissions('queries', 'call')), 'DELEGATION_INVALID', 'queries')
    expect(auth(await withPermissions('all', 'call')).permissions).toBe('all')
    await expectCodeAsync(async () => auth(await withPermissions('everything', 'query')), 'DELEGATION_INVALID', 'permissions')
  })

  it('verifies a hand-built envelope without re-parsing', async () => {
    const env: Envelope = parseEnvelope(await wire(await delegated([ed, k1]), 'query'))
    expect(authenticate(env, { now: NOW }).scheme).toBe('ecdsa-secp256k1')
  })
})


describe('@icp-sdk/core 6.1.0 identities', async () => {
  const sdkAgent = await import('@icp-sdk/core/agent')
  const sdkId = await import('@icp-sdk/core/identity')
  const { Secp256k1KeyIdentity: SdkSecp256k1 } = await import('@icp-sdk/core/identity/secp256k1')
  const { Principal: SdkPrincipal } = await import('@icp-sdk/core/principal')
  const target = SdkPrincipal.fromText('rrkah-fqaaa-aaaaa-aaaaq-cai')

  async function sdkWire(identity: { transformRequest(r: never): Promise<unknown>; getPrincipal(): { toUint8Array(): Uint8Array } }, kind: 'call' | 'query' | 'read_state'): Promise<{ body: M; rid: string }> {
    const c: Record<string, unknown> = { request_type: kind, sender: identity.getPrincipal(), ingress_expiry: NOW + 60_000_000_000n }
    if (kind === 'read_state') c.paths = [[te.encode('time')]]
    else Object.assign(c, { canister_id: target, method_name: 'm', arg: new Uint8Array(0) })
    const req = await identity.transformRequest({ endpoint: kind, request: {}, body: c } as never) as { body: { content: Record<string, unknown> } }
    return { body: decodeCbor(sdkAgent.Cbor.encode(req.body)) as M, rid: toHex(sdkAgent.requestIdOf(req.body.content)) }
  }

  it('verifies Ed25519, secp256k1 and P-256 identities and a targeted delegation', async () => {
    const e = sdkId.Ed25519KeyIdentity.generate(new Uint8Array(32).fill(7))
    const s = SdkSecp256k1.generate(new Uint8Array(32).fill(8))
    const p = await sdkId.ECDSAKeyIdentity.generate()
    const chain = await sdkId.DelegationChain.create(s, e.getPublicKey(), FAR, { targets: [target] })
    const d = sdkId.DelegationIdentity.fromDelegation(e, chain)
    for (const id of [e, s, p, d]) {
      for (const kind of ['call', 'query', 'read_state'] as const) {
        const { body, rid } = await sdkWire(id, kind)
        const r = auth(body, target.toUint8Array())
        expect(toHex(r.requestId)).toBe(rid)
        expect(toHex(r.sender)).toBe(toHex(id.getPrincipal().toUint8Array()))
      }
    }
    const { body } = await sdkWire(d, 'read_state')
    await expectCodeAsync(async () => auth(body, OTHER.toUint8Array()), 'DELEGATION_TARGET')
  })

  it('hashes and parses the sender_info that AttributesIdentity adds to calls and queries', async () => {
    const inner = sdkId.Ed25519KeyIdentity.generate(new Uint8Array(32).fill(9))
    const id = new sdkId.AttributesIdentity({
      inner, attributes: { data: Uint8Array.of(1, 2, 3), signature: Uint8Array.of(4, 5) }, signer: { canisterId: SdkPrincipal.fromText('aaaaa-aa') },
    })
    const { body, rid } = await sdkWire(id, 'call')
    const env = parseEnvelope(body)
    if (env.content.requestType !== 'call') throw new Error('unreachable')
    expect(env.content.senderInfo).toEqual({ info: Uint8Array.of(1, 2, 3), signer: new Uint8Array(0), sig: Uint8Array.of(4, 5) })
    expect(toHex(authenticate(env, { now: NOW }).requestId)).toBe(rid)
    // The signature covers sender_info: dropping it changes the request id.
    delete (body.content as M).sender_info
    expectCode(() => auth(body), 'SIGNATURE_INVALID')
  })
})
