// Certification costs: BLS12-381 (IC min-sig: G1 signatures, G2 keys) through protocol/bls.ts, i.e.
// mcl-wasm with cached hash-to-curve and cached pairing precomputation per key, next to noble's own
// hash, sign and verify (what the agents use, and the library before mcl) for the ratio; then hash
// trees at the size of a busy height (10,000 request ids).

import { bls12_381 } from 'noble-curves-v2/bls12-381.js'
import { blsHashMessage, blsKeyFromSeed, blsPublicKey, blsSign, blsVerify, combineShares, dealThresholdKey, signShare, verifyShare, BLS_DST } from '../../protocol/bls.ts'
import { encodeCertificate, signCertificate, stateRootMessage } from '../../protocol/certificate.ts'
import { sha256 } from '../../protocol/hash.ts'
import { buildHashTree, encodeHashTree, reconstruct, witness, type LabeledTree, type Path } from '../../protocol/hash-tree.ts'
import { header, measure, smoke } from '../harness.ts'

const LIB = 'mcl-wasm 2.4 (WebAssembly)'
const NOBLE = 'noble-curves 2.4 (pure JS)'
header(`BLS12-381 threshold signatures and hash trees — library: ${LIB}; hashing: node:crypto`)

const enc = (s: string) => new TextEncoder().encode(s)
const msg = stateRootMessage(sha256(enc('state root')))
const sk = blsKeyFromSeed(enc('bench key'))
const pk = blsPublicKey(sk)
let counter = 0
const fresh = () => stateRootMessage(sha256(enc(`root ${counter++}`)))

await measure('hash to G1 (fresh message)', () => blsHashMessage(fresh()), { library: LIB })
await measure('single-key sign, fresh message (incl. hash)', () => blsSign(fresh(), sk), { library: LIB })
await measure('single-key sign, message hash cached', () => blsSign(msg, sk), { library: LIB })
const sig = blsSign(msg, sk)
await measure('verify (key precompute + message hash cached)', () => blsVerify(sig, msg, pk), { library: LIB })
await measure('verify, fresh message (incl. hash)', () => {
  const m = fresh()
  return blsVerify(blsSign(blsHashMessage(m), sk), m, pk)
}, { library: `${LIB}; includes a sign` })
const H = bls12_381.shortSignatures.hash(msg, BLS_DST)
const skBig = BigInt('0x' + Buffer.from(sk).toString('hex'))
await measure('reference: noble hash to G1 (fresh message)', () => bls12_381.shortSignatures.hash(fresh(), BLS_DST), { library: NOBLE })
await measure('reference: noble sign (pre-hashed)', () => H.multiply(skBig).toBytes(true), { library: NOBLE })
await measure('reference: noble shortSignatures.verify (pre-hashed)', () => bls12_381.shortSignatures.verify(sig, H, pk), { library: NOBLE })

for (const [t, n] of [[3, 4], [9, 13]] as const) {
  const key = dealThresholdKey({ t, n, seed: enc(`bench ${t}/${n}`) })
  const shares = key.shares.map((s) => ({ index: s.index, signature: signShare(msg, s.secretShare) }))
  await measure(`share sign (t=${t}, n=${n}; hash cached)`, () => signShare(msg, key.shares[0].secretShare), { library: LIB })
  await measure(`share verify (t=${t}, n=${n}; cached)`, () => verifyShare(shares[1].signature, msg, key.shares[1].publicShare), { library: LIB })
  await measure(`combine ${t} of ${n}`, () => combineShares(shares.slice(n - t), t), { library: LIB })
  const combined = combineShares(shares, t)
  await measure(`full verify of combined signature (${t} of ${n})`, () => blsVerify(combined, msg, key.publicKey), { library: LIB })
  await measure(`round: ${t} share verifies + combine + verify`, () => {
    for (let i = 0; i < t; i++) verifyShare(shares[i].signature, msg, key.shares[i].publicShare)
    return blsVerify(combineShares(shares.slice(0, t), t), msg, key.publicKey)
  }, { library: LIB })
}

// Hash trees: request_status of 10,000 ids, each with status and reply, plus /time.
// Smoke runs (CI) only prove the code path works, so they use a tenth of the ids.
const N = smoke ? 1_000 : 10_000
const ids = Array.from({ length: N }, (_, i) => sha256(enc(`request ${i}`)))
const data = (): LabeledTree => [
  ['request_status', ids.map((id, i): [Uint8Array, LabeledTree] => [id, [['status', enc('replied')], ['reply', enc(`DIDL reply ${i}`)]]])],
  ['time', Uint8Array.of(0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01)],
]
await measure(`hash tree: build ${N} request ids (structure only)`, () => buildHashTree(data()), { minMs: 1000 })
await measure(`hash tree: build ${N} request ids + root hash`, () => reconstruct(buildHashTree(data())), { minMs: 1000 })
const tree = buildHashTree(data())
reconstruct(tree)
const one: Path[] = [['request_status', ids[4321 % N]], ['time']]
const hundred: Path[] = [...Array.from({ length: 100 }, (_, i): Path => ['request_status', ids[(i * 97) % N]]), ['time']]
await measure('witness of 1 id (hashes cached)', () => witness(tree, one))
await measure('witness of 100 ids (hashes cached)', () => witness(tree, hundred))
await measure('witness of 1 id + CBOR encode', () => encodeHashTree(witness(tree, one)))
await measure('witness of 100 ids + CBOR encode', () => encodeHashTree(witness(tree, hundred)))
console.log(`witness sizes: 1 id ${encodeHashTree(witness(tree, one)).length} B, 100 ids ${encodeHashTree(witness(tree, hundred)).length} B`)
await measure('certificate: sign witness root + encode (1 id, single key)', () => encodeCertificate(signCertificate(witness(tree, one), sk)), { library: LIB })
