// Envelope authentication throughput: signature verification with node:crypto (what protocol/auth.ts
// uses) against noble v2 (pure JS) for the three schemes the agent's identities produce, then the
// whole path a request takes (CBOR body → parseEnvelope → authenticate) and request-id hashing.

import { createPublicKey, verify } from 'node:crypto'
import { Cbor } from '@dfinity/agent'
import { DelegationChain, DelegationIdentity, ECDSAKeyIdentity, Ed25519KeyIdentity } from '@dfinity/identity'
import { Secp256k1KeyIdentity } from '@dfinity/identity-secp256k1'
import { Principal } from '@dfinity/principal'
import { ed25519 } from 'noble-curves-v2/ed25519.js'
import { p256 } from 'noble-curves-v2/nist.js'
import { secp256k1 } from 'noble-curves-v2/secp256k1.js'
import { authenticate, parsePublicKey } from '../../protocol/auth.ts'
import { decodeCbor, type CborValue } from '../../protocol/cbor.ts'
import { parseEnvelope } from '../../protocol/envelope.ts'
import { DOMAIN } from '../../protocol/hash.ts'
import { requestId } from '../../protocol/request-id.ts'
import { header, measure } from '../harness.ts'

header('envelope authentication (protocol/auth.ts)')

const NOW = 1_700_000_000_000_000_000n
const message = Uint8Array.of(...DOMAIN.request, ...new Uint8Array(32).fill(7))

const ed = Ed25519KeyIdentity.generate(new Uint8Array(32).fill(1))
const k1 = Secp256k1KeyIdentity.generate(new Uint8Array(32).fill(2))
const p = await ECDSAKeyIdentity.generate()

for (const [name, id, rawLen] of [['Ed25519', ed, 32], ['ECDSA secp256k1', k1, 65], ['ECDSA P-256', p, 65]] as const) {
  const der = id.getPublicKey().toDer()
  const raw = der.subarray(der.length - rawLen)
  const sig = await id.sign(message)
  const key = createPublicKey({ key: Buffer.from(der), format: 'der', type: 'spki' })
  const nodeVerify = name === 'Ed25519'
    ? () => { if (!verify(null, message, key, sig)) throw new Error('bad') }
    : () => { if (!verify('sha256', message, { key, dsaEncoding: 'ieee-p1363' }, sig)) throw new Error('bad') }
  // lowS:false because WebCrypto P-256 signatures are not normalised (the IC does not require it either).
  const nobleVerify = name === 'Ed25519'
    ? () => { if (!ed25519.verify(sig, message, raw)) throw new Error('bad') }
    : name === 'ECDSA secp256k1'
      ? () => { if (!secp256k1.verify(sig, message, raw, { lowS: false })) throw new Error('bad') }
      : () => { if (!p256.verify(sig, message, raw, { lowS: false })) throw new Error('bad') }
  await measure(`${name} verify`, nodeVerify, { library: 'node:crypto' })
  await measure(`${name} verify`, nobleVerify, { library: 'noble-curves 2', minMs: 1000 })
  await measure(`${name} DER public key import (uncached)`, () => createPublicKey({ key: Buffer.from(der), format: 'der', type: 'spki' }), { library: 'node:crypto' })
  await measure(`${name} parsePublicKey (import cache hit)`, () => parsePublicKey(der))
}

async function body(identity: Ed25519KeyIdentity | DelegationIdentity): Promise<Uint8Array> {
  const content = {
    request_type: 'call', canister_id: Principal.fromText('rrkah-fqaaa-aaaaa-aaaaq-cai'), method_name: 'greet',
    arg: new Uint8Array(64).fill(1), sender: identity.getPrincipal(), ingress_expiry: NOW + 240_000_000_000n, nonce: new Uint8Array(16).fill(3),
  }
  const req = await identity.transformRequest({ endpoint: 'call', request: {}, body: content } as never) as { body: unknown }
  return Cbor.encode(req.body)
}

const plain = await body(ed)
const delegated = await body(DelegationIdentity.fromDelegation(
  Ed25519KeyIdentity.generate(new Uint8Array(32).fill(5)),
  await DelegationChain.create(ed, Ed25519KeyIdentity.generate(new Uint8Array(32).fill(5)).getPublicKey(), new Date('2100-01-01')),
))

await measure('Ed25519 envelope: decodeCbor+parse+authenticate', () => authenticate(parseEnvelope(decodeCbor(plain)), { now: NOW }))
await measure('Ed25519 envelope, 1 delegation: full verification', () => authenticate(parseEnvelope(decodeCbor(delegated)), { now: NOW }))
const content = (decodeCbor(plain) as { content: { [k: string]: CborValue } }).content
await measure('request id (call content)', () => requestId(content))
