// A node's consensus keys, from the public registry and its own identity file: the Ed25519 keys of
// every member (proposals, notarization and finalization shares), the subnet's high-threshold BLS
// key (certification, CUPs; the key clients trust) and its low-threshold beacon key. Public shares
// are recomputed from the published coefficients, so the registry never lists them one by one.

import { createPublicKey, type KeyObject } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { type ConsensusCrypto, RealConsensusCrypto, type SubnetPublicKeys, type ThresholdPublic } from '../consensus/crypto.ts'
import { ed25519PublicKeyDer } from '../protocol/auth.ts'
import { publicShareFromCoefficients } from '../protocol/bls.ts'
import { CapsaError } from '../protocol/errors.ts'
import { bytesEqual, fromHex } from '../protocol/hash.ts'
import { ed25519PrivateKeyFromSeed, ed25519PublicKeyFromSeed, type NodeSecrets } from './genesis.ts'
import type { Registry, RegistrySubnet } from './registry.ts'


function bad(what: string): CapsaError {
  return new CapsaError('INVALID_ARGUMENT', what)
}

function hexBytes(v: unknown, len: number, what: string): Uint8Array {
  let b: Uint8Array | undefined
  try {
    b = typeof v === 'string' ? fromHex(v) : undefined
  } catch {
    b = undefined
  }
  if (b === undefined || b.length !== len) throw bad(`${what} must be ${len} bytes of hex`)
  return b
}

export function parseIdentity(text: string, source = 'identity'): NodeSecrets {
  let v: NodeSecrets
  try {
    v = JSON.parse(text) as NodeSecrets
  } catch (e) {
    throw bad(`${source} is not valid JSON: ${(e as Error).message}`)
  }
  if (typeof v?.subnet !== 'string' || !Number.isInteger(v.index) || v.index < 0) throw bad(`${source}: missing subnet or index`)
  hexBytes(v.ed25519Seed, 32, `${source}: ed25519Seed`)
  hexBytes(v.bls?.secretShare, 32, `${source}: bls.secretShare`)
  if (v.beaconBls === undefined) throw bad(`${source} has no random-beacon key share; regenerate the network with the genesis command`)
  hexBytes(v.beaconBls.secretShare, 32, `${source}: beaconBls.secretShare`)
  if (v.bls.index !== v.index + 1 || v.beaconBls.index !== v.index + 1) throw bad(`${source}: BLS share indices must be index + 1`)
  return v
}

export function loadIdentity(path: string): NodeSecrets {
  let text: string
  try {
    text = readFileSync(path, 'utf8')
  } catch (e) {
    throw bad(`cannot read the identity file ${path}: ${(e as Error).message}`)
  }
  return parseIdentity(text, path)
}

export interface NodePlace {
  subnet: RegistrySubnet
  index: number
}

/** Finds the node's subnet and checks that its key file and the registry describe the same node. */
export function placeInRegistry(registry: Registry, identity: NodeSecrets): NodePlace {
  const subnet = registry.subnets.find((s) => s.id === identity.subnet)
  if (subnet === undefined) throw bad(`subnet ${identity.subnet} of this node is not in the registry`)
  const entry = subnet.nodes[identity.index]
  if (entry === undefined || entry.id !== identity.nodeId) throw bad(`node ${identity.nodeId} is not node ${identity.index} of subnet ${subnet.id} in the registry`)
  if (!bytesEqual(fromHex(entry.publicKey), ed25519PublicKeyFromSeed(fromHex(identity.ed25519Seed)))) {
    throw bad(`the identity file's Ed25519 key does not match node ${identity.nodeId} in the registry`)
  }
  return { subnet, index: identity.index }
}

function thresholdPublic(threshold: number, coefficients: readonly string[], n: number, what: string): ThresholdPublic {
  if (coefficients.length !== threshold) throw bad(`${what}: ${coefficients.length} public coefficients for threshold ${threshold}`)
  const coeffs = coefficients.map((c, j) => hexBytes(c, 96, `${what} coefficient ${j}`))
  const publicShares = Array.from({ length: n }, (_, i) => publicShareFromCoefficients(coeffs, i + 1))
  return { threshold, publicKey: coeffs[0], publicShares }
}

export function subnetPublicKeys(subnet: RegistrySubnet): SubnetPublicKeys {
  const n = subnet.nodes.length
  const f = Math.floor((n - 1) / 3)
  if (subnet.threshold !== n - f) throw bad(`subnet ${subnet.id}: threshold ${subnet.threshold} is not n - f = ${n - f}`)
  const beacon = subnet.randomBeacon
  if (beacon === undefined) throw bad(`subnet ${subnet.id} has no random-beacon key in the registry; regenerate the network with the genesis command`)
  if (beacon.threshold !== f + 1) throw bad(`subnet ${subnet.id}: beacon threshold ${beacon.threshold} is not f + 1 = ${f + 1}`)
  const nodeKeys: KeyObject[] = subnet.nodes.map((x) =>
    createPublicKey({ key: Buffer.from(ed25519PublicKeyDer(hexBytes(x.publicKey, 32, `node ${x.id} public key`))), format: 'der', type: 'spki' }),
  )
  return {
    n,
    nodeKeys,
    low: thresholdPublic(beacon.threshold, beacon.publicCoefficients, n, 'random beacon key'),
    high: thresholdPublic(subnet.threshold, subnet.publicCoefficients, n, 'subnet key'),
  }
}

export function consensusCrypto(subnet: RegistrySubnet, identity: NodeSecrets): ConsensusCrypto {
  return new RealConsensusCrypto(subnetPublicKeys(subnet), {
    index: identity.index,
    nodeKey: ed25519PrivateKeyFromSeed(fromHex(identity.ed25519Seed)),
    lowShare: fromHex(identity.beaconBls.secretShare),
    highShare: fromHex(identity.bls.secretShare),
  })
}
