// The registry: the public description of a Capsa network that every node and tool reads. It names
// the subnets, their nodes (ids, Ed25519 keys, addresses), canister id ranges and threshold public
// keys, and the root key clients trust. Secrets never appear here; each node keeps its own key file.

import { readFileSync } from 'node:fs'
import { ed25519PublicKeyDer } from '../protocol/auth.ts'
import { CapsaError } from '../protocol/errors.ts'
import { fromHex, toHex } from '../protocol/hash.ts'
import { principalFromText, type CanisterRange } from '../protocol/principal.ts'
import { blsPublicKeyToDer } from '../protocol/bls.ts'
import type { SubnetTreeInfo } from '../state/state-tree.ts'
import { APPLICATION_SUBNET_FEES, cyclesConfig, type ReplicatedStateInit } from '../execution/index.ts'

export interface RegistryNode {
  /** Principal text of selfAuthenticating(Ed25519 DER): the id clients see in query signatures. */
  id: string
  /** Hex of the raw 32-byte Ed25519 public key (libp2p identity and query signer). */
  publicKey: string
  /** libp2p multiaddrs, e.g. /ip4/127.0.0.1/tcp/4100. */
  p2p: string[]
  /** host:port of the HTTP interface. */
  http: string
}

export interface RegistrySubnet {
  id: string
  type: 'application' | 'system'
  /** Signatures need `threshold` of the nodes' BLS shares; n = 3f + 1 and threshold = n − f. */
  threshold: number
  /** Hex of the 96-byte BLS public key (G2) and of the sharing polynomial's public coefficients. */
  publicKey: string
  publicCoefficients: string[]
  /** The low-threshold (f + 1) key of the random beacon: [0] of the coefficients is its public key. */
  randomBeacon?: { threshold: number; publicCoefficients: string[] }
  /** Inclusive canister id ranges, principal text. */
  canisterRanges: [string, string][]
  nodes: RegistryNode[]
}

export interface Registry {
  version: 1
  /** Hex of the DER-wrapped root public key (133 bytes) clients pass as `rootKey`. */
  rootKeyDer: string
  subnets: RegistrySubnet[]
}

export function parseRegistry(text: string, source = 'registry'): Registry {
  let r: Registry
  try {
    r = JSON.parse(text) as Registry
  } catch (e) {
    throw new CapsaError('INVALID_ARGUMENT', `${source} is not valid JSON: ${(e as Error).message}`)
  }
  const bad = (what: string) => new CapsaError('INVALID_ARGUMENT', `${source}: ${what}; regenerate it with the genesis command`)
  if (r?.version !== 1) throw bad('unsupported registry version (expected 1)')
  if (typeof r.rootKeyDer !== 'string' || fromHexSafe(r.rootKeyDer)?.length !== 133) throw bad('rootKeyDer must be 133 bytes of hex')
  if (!Array.isArray(r.subnets) || r.subnets.length === 0) throw bad('no subnets')
  for (const s of r.subnets) {
    principalFromText(s.id)
    if (!Array.isArray(s.nodes) || s.nodes.length === 0) throw bad(`subnet ${s.id} has no nodes`)
    if (!Number.isInteger(s.threshold) || s.threshold < 1 || s.threshold > s.nodes.length) throw bad(`subnet ${s.id} has an invalid threshold`)
    for (const n of s.nodes) {
      principalFromText(n.id)
      if (fromHexSafe(n.publicKey)?.length !== 32) throw bad(`node ${n.id} has no 32-byte Ed25519 key`)
    }
    for (const [lo, hi] of s.canisterRanges) {
      principalFromText(lo)
      principalFromText(hi)
    }
  }
  return r
}

export function loadRegistry(path: string): Registry {
  let text: string
  try {
    text = readFileSync(path, 'utf8')
  } catch (e) {
    throw new CapsaError('INVALID_ARGUMENT', `cannot read the registry ${path}: ${(e as Error).message}`)
  }
  return parseRegistry(text, path)
}

/** A subnet's id and canister ranges as bytes, as execution's replicated state takes them. */
/** What the replicated state is built from: the subnet's id and ranges, and cycle fees scaled to its size
 *  (replicated: every node derives the same from the registry). */
export function subnetInit(s: RegistrySubnet): ReplicatedStateInit {
  return {
    subnetId: principalFromText(s.id),
    canisterRanges: s.canisterRanges.map(([lo, hi]) => [principalFromText(lo), principalFromText(hi)] as const),
    runtimeOptions: { cycles: cyclesConfig(APPLICATION_SUBNET_FEES, s.nodes.length) },
  }
}

/** Every subnet as the certified tree's /subnet/<id> shows it (keys DER-wrapped, ranges as principals). */
export function subnetTreeInfos(r: Registry): { id: Uint8Array; info: SubnetTreeInfo }[] {
  return r.subnets.map((s) => ({
    id: principalFromText(s.id),
    info: {
      publicKeyDer: blsPublicKeyToDer(fromHex(s.publicKey)),
      canisterRanges: subnetInit(s).canisterRanges,
      nodes: s.nodes.map((n) => [principalFromText(n.id), ed25519PublicKeyDer(fromHex(n.publicKey))] as const),
      type: s.type,
    },
  }))
}

function fromHexSafe(h: unknown): Uint8Array | undefined {
  try {
    return typeof h === 'string' ? fromHex(h) : undefined
  } catch {
    return undefined
  }
}

export { toHex, fromHex }
