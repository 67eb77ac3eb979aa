// Real keys for simulated subnets, and an optional process-wide memo of the threshold-BLS
// operations. Every signature is still produced and checked by real BLS12-381 arithmetic; the memo
// only avoids repeating an identical operation (same key, message and signature) that another
// simulated node in this process already did, which is what makes seed sweeps affordable. BLS
// signatures are deterministic, so memoized and fresh runs produce the same bytes and the same
// schedule. Benchmarks of per-node CPU cost switch the memo off.

import { toHex } from '../../protocol/hash.ts'
import { type ConsensusCrypto, type NodeSecrets, RealConsensusCrypto, type SignatureShare, type SubnetPublicKeys, dealSubnetKeys } from '../../consensus/crypto.ts'

const keyCache = new Map<string, { publicKeys: SubnetPublicKeys; secrets: NodeSecrets[] }>()

/** Dealing costs tens of BLS operations, so subnets of the same size and key seed share one dealing. */
export function subnetKeys(n: number, keySeed: number): { publicKeys: SubnetPublicKeys; secrets: NodeSecrets[] } {
  const k = `${n}:${keySeed}`
  let v = keyCache.get(k)
  if (v === undefined) {
    v = dealSubnetKeys(n, new TextEncoder().encode(`capsa-sim-subnet-${n}-${keySeed}`))
    keyCache.set(k, v)
  }
  return v
}

const memo = new Map<string, Uint8Array | boolean>()
const MEMO_MAX = 50_000

export const cryptoCounters = { blsSign: 0, blsVerify: 0, blsCombine: 0, edSign: 0, edVerify: 0, memoHits: 0 }

function remember<T extends Uint8Array | boolean>(key: string, enabled: boolean, fn: () => T): T {
  if (enabled) {
    const hit = memo.get(key)
    if (hit !== undefined) {
      cryptoCounters.memoHits++
      return hit as T
    }
  }
  const v = fn()
  if (enabled) {
    if (memo.size >= MEMO_MAX) memo.clear()
    memo.set(key, v)
  }
  return v
}

export class SimCrypto implements ConsensusCrypto {
  readonly inner: RealConsensusCrypto
  readonly self: number
  readonly memoize: boolean
  readonly tag: string
  constructor(publicKeys: SubnetPublicKeys, secrets: NodeSecrets, memoize: boolean, tag: string) {
    this.inner = new RealConsensusCrypto(publicKeys, secrets)
    this.self = secrets.index
    this.memoize = memoize
    this.tag = tag
  }
  sign(m: Uint8Array): Uint8Array {
    cryptoCounters.edSign++
    return this.inner.sign(m)
  }
  verify(s: number, m: Uint8Array, sig: Uint8Array): boolean {
    cryptoCounters.edVerify++
    return this.inner.verify(s, m, sig)
  }
  private k(op: string, ...parts: (number | Uint8Array)[]): string {
    return `${this.tag}|${op}|${parts.map((p) => (typeof p === 'number' ? String(p) : toHex(p))).join('|')}`
  }
  signLowShare(m: Uint8Array): Uint8Array {
    return remember(this.k('sl', this.self, m), this.memoize, () => (cryptoCounters.blsSign++, this.inner.signLowShare(m)))
  }
  verifyLowShare(s: number, m: Uint8Array, sig: Uint8Array): boolean {
    return remember(this.k('vls', s, m, sig), this.memoize, () => (cryptoCounters.blsVerify++, this.inner.verifyLowShare(s, m, sig)))
  }
  combineLow(shares: readonly SignatureShare[]): Uint8Array {
    return remember(this.k('cl', ...shares.flatMap((s) => [s.signer, s.signature])), this.memoize, () => (cryptoCounters.blsCombine++, this.inner.combineLow(shares)))
  }
  verifyLow(m: Uint8Array, sig: Uint8Array): boolean {
    return remember(this.k('vl', m, sig), this.memoize, () => (cryptoCounters.blsVerify++, this.inner.verifyLow(m, sig)))
  }
  signHighShare(m: Uint8Array): Uint8Array {
    return remember(this.k('sh', this.self, m), this.memoize, () => (cryptoCounters.blsSign++, this.inner.signHighShare(m)))
  }
  verifyHighShare(s: number, m: Uint8Array, sig: Uint8Array): boolean {
    return remember(this.k('vhs', s, m, sig), this.memoize, () => (cryptoCounters.blsVerify++, this.inner.verifyHighShare(s, m, sig)))
  }
  combineHigh(shares: readonly SignatureShare[]): Uint8Array {
    return remember(this.k('ch', ...shares.flatMap((s) => [s.signer, s.signature])), this.memoize, () => (cryptoCounters.blsCombine++, this.inner.combineHigh(shares)))
  }
  verifyHigh(m: Uint8Array, sig: Uint8Array): boolean {
    return remember(this.k('vh', m, sig), this.memoize, () => (cryptoCounters.blsVerify++, this.inner.verifyHigh(m, sig)))
  }
}
