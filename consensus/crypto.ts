// The signatures consensus needs, behind one interface per node so tests and the simulator plug in
// the same real implementation the replica uses.
//
// Scheme choice, by measured cost on this machine (pure-JS BLS through protocol/bls.ts, Ed25519
// through OpenSSL; same process, same load): a BLS signature costs ~120× an Ed25519 signature and a
// BLS pairing check ~150× an Ed25519 verification (idle machine: ~5 ms and ~18 ms against ~0.04 ms
// and ~0.12 ms). The IC uses BLS multi-signatures for notarization and finalization to keep
// artifacts small; here a notarization is the list of n − f Ed25519 signatures: even n − f = 9
// separate checks (n = 13) cost ~15× less than one aggregated BLS check, signing is ~120× cheaper,
// and the signatures are just as real. The random beacon (it must be unique, hence unbiasable) and
// certification (clients check it with the subnet key) are threshold BLS, as on the IC.

import { createPrivateKey, createPublicKey, sign as edSign, verify as edVerify, type KeyObject } from 'node:crypto'
import { blsSign, blsVerify, combineShares, dealThresholdKey, type BlsPublicKey, type BlsSecretKey } from '../protocol/bls.ts'
import { sha256 } from '../protocol/hash.ts'
import { faultTolerance } from './types.ts'

export interface SignatureShare {
  readonly signer: number
  readonly signature: Uint8Array
}

export interface ConsensusCrypto {
  /** This node's index in the subnet. */
  readonly self: number
  /** Node signature (Ed25519): block proposals, notarization and finalization shares. */
  sign(message: Uint8Array): Uint8Array
  verify(signer: number, message: Uint8Array, signature: Uint8Array): boolean
  /** Low threshold (f + 1): the random beacon. */
  signLowShare(message: Uint8Array): Uint8Array
  verifyLowShare(signer: number, message: Uint8Array, signature: Uint8Array): boolean
  combineLow(shares: readonly SignatureShare[]): Uint8Array
  verifyLow(message: Uint8Array, signature: Uint8Array): boolean
  /** High threshold (n − f): certification and catch-up packages. */
  signHighShare(message: Uint8Array): Uint8Array
  verifyHighShare(signer: number, message: Uint8Array, signature: Uint8Array): boolean
  combineHigh(shares: readonly SignatureShare[]): Uint8Array
  verifyHigh(message: Uint8Array, signature: Uint8Array): boolean
}

export interface ThresholdPublic {
  readonly threshold: number
  readonly publicKey: BlsPublicKey
  /** Public share of node i at [i] (BLS share index i + 1). */
  readonly publicShares: readonly BlsPublicKey[]
}

export interface SubnetPublicKeys {
  readonly n: number
  readonly nodeKeys: readonly KeyObject[]
  readonly low: ThresholdPublic
  readonly high: ThresholdPublic
}

export interface NodeSecrets {
  readonly index: number
  readonly nodeKey: KeyObject
  readonly lowShare: BlsSecretKey
  readonly highShare: BlsSecretKey
}

const ED25519_PKCS8_PREFIX = Uint8Array.from([0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20])

export function ed25519FromSeed(seed32: Uint8Array): KeyObject {
  const der = new Uint8Array(ED25519_PKCS8_PREFIX.length + 32)
  der.set(ED25519_PKCS8_PREFIX)
  der.set(seed32.subarray(0, 32), ED25519_PKCS8_PREFIX.length)
  return createPrivateKey({ key: Buffer.from(der), format: 'der', type: 'pkcs8' })
}

/** Genesis keys of a subnet, all derived from one seed (a trusted dealer, as in the architecture). */
export function dealSubnetKeys(n: number, seed: Uint8Array): { publicKeys: SubnetPublicKeys; secrets: NodeSecrets[] } {
  const f = faultTolerance(n)
  const tag = (s: string) => sha256(new TextEncoder().encode(s), seed)
  const low = dealThresholdKey({ t: f + 1, n, seed: tag('low') })
  const high = dealThresholdKey({ t: n - f, n, seed: tag('high') })
  const nodeKeys: KeyObject[] = []
  const secrets: NodeSecrets[] = []
  for (let i = 0; i < n; i++) {
    const priv = ed25519FromSeed(tag(`node-${i}`))
    nodeKeys.push(createPublicKey(priv))
    secrets.push({ index: i, nodeKey: priv, lowShare: low.shares[i].secretShare, highShare: high.shares[i].secretShare })
  }
  const pub = (k: typeof low): ThresholdPublic => ({ threshold: k.t, publicKey: k.publicKey, publicShares: k.shares.map((s) => s.publicShare) })
  return { publicKeys: { n, nodeKeys, low: pub(low), high: pub(high) }, secrets }
}

/** The production implementation: Ed25519 node keys and threshold BLS12-381 from protocol/bls.ts. */
export class RealConsensusCrypto implements ConsensusCrypto {
  readonly self: number
  readonly keys: SubnetPublicKeys
  readonly secrets: NodeSecrets
  constructor(keys: SubnetPublicKeys, secrets: NodeSecrets) {
    this.keys = keys
    this.secrets = secrets
    this.self = secrets.index
  }
  sign(message: Uint8Array): Uint8Array {
    return new Uint8Array(edSign(null, message, this.secrets.nodeKey))
  }
  verify(signer: number, message: Uint8Array, signature: Uint8Array): boolean {
    const key = this.keys.nodeKeys[signer]
    if (key === undefined || signature.length !== 64) return false
    return edVerify(null, message, key, signature)
  }
  signLowShare(message: Uint8Array): Uint8Array {
    return blsSign(message, this.secrets.lowShare)
  }
  verifyLowShare(signer: number, message: Uint8Array, signature: Uint8Array): boolean {
    const pk = this.keys.low.publicShares[signer]
    return pk !== undefined && blsVerify(signature, message, pk)
  }
  combineLow(shares: readonly SignatureShare[]): Uint8Array {
    return combineShares(shares.map((s) => ({ index: s.signer + 1, signature: s.signature })), this.keys.low.threshold)
  }
  verifyLow(message: Uint8Array, signature: Uint8Array): boolean {
    return blsVerify(signature, message, this.keys.low.publicKey)
  }
  signHighShare(message: Uint8Array): Uint8Array {
    return blsSign(message, this.secrets.highShare)
  }
  verifyHighShare(signer: number, message: Uint8Array, signature: Uint8Array): boolean {
    const pk = this.keys.high.publicShares[signer]
    return pk !== undefined && blsVerify(signature, message, pk)
  }
  combineHigh(shares: readonly SignatureShare[]): Uint8Array {
    return combineShares(shares.map((s) => ({ index: s.signer + 1, signature: s.signature })), this.keys.high.threshold)
  }
  verifyHigh(message: Uint8Array, signature: Uint8Array): boolean {
    return blsVerify(signature, message, this.keys.high.publicKey)
  }
}
