// Genesis of a local network: keys for every node, a threshold BLS key per subnet dealt with Shamir
// shares (a real distributed key generation is a later step), the registry, and one key file per node
// (mode 0600). The dealer's master secret is never written.

import { createPrivateKey, createPublicKey, randomBytes } from 'node:crypto'
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { ED25519_DER_PREFIX, ed25519PublicKeyDer } from '../protocol/auth.ts'
import { blsPublicKeyToDer, dealThresholdKey } from '../protocol/bls.ts'
import { sha256, toHex } from '../protocol/hash.ts'
import { principalToText, selfAuthenticating, subnetCanisterRange } from '../protocol/principal.ts'
import type { Registry, RegistrySubnet } from './registry.ts'

/**
 * Consensus timings a genesis writes into each node.json. `local`: nodes on one machine or a LAN (a
 * block every few hundred ms, so update calls answer in well under a second); `ic`: the IC's
 * app-subnet delays (1 s / 600 ms), for nodes far apart.
 */
export const CONSENSUS_TIMING = {
  local: { unitDelayMs: 300, initialNotaryDelayMs: 100, idleBlockDelayMs: 700, cupInterval: 100 },
  ic: { unitDelayMs: 1000, initialNotaryDelayMs: 600, cupInterval: 500 },
} as const

export interface GenesisOptions {
  /** Nodes per subnet (n = 3f + 1 tolerates f faults). */
  nodesPerSubnet: number
  subnets?: number
  host?: string
  /** First port; node k of the network uses basePort + 2k (libp2p) and basePort + 2k + 1 (HTTP). */
  basePort: number
  /** Deterministic keys for tests; omitted, keys come from the OS's randomness. */
  seed?: Uint8Array
}

export interface NodeSecrets {
  subnet: string
  index: number
  nodeId: string
  /** Hex of the Ed25519 seed. */
  ed25519Seed: string
  bls: { index: number; secretShare: string }
  /** Share of the subnet's low-threshold (f + 1) key that signs the random beacon. */
  beaconBls: { index: number; secretShare: string }
}

export interface Genesis {
  registry: Registry
  secrets: NodeSecrets[]
}

const ED25519_PKCS8_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex')

export function ed25519PublicKeyFromSeed(seed: Uint8Array): Uint8Array {
  const priv = createPrivateKey({ key: Buffer.concat([ED25519_PKCS8_PREFIX, seed]), format: 'der', type: 'pkcs8' })
  const spki = createPublicKey(priv).export({ format: 'der', type: 'spki' })
  return new Uint8Array(spki.subarray(ED25519_DER_PREFIX.length))
}

export function ed25519PrivateKeyFromSeed(seed: Uint8Array) {
  return createPrivateKey({ key: Buffer.concat([ED25519_PKCS8_PREFIX, seed]), format: 'der', type: 'pkcs8' })
}

export function nodeIdOf(ed25519PublicKey: Uint8Array): Uint8Array {
  return selfAuthenticating(ed25519PublicKeyDer(ed25519PublicKey))
}

export function createGenesis(opts: GenesisOptions): Genesis {
  const n = opts.nodesPerSubnet
  const subnetCount = opts.subnets ?? 1
  if (!Number.isInteger(n) || n < 1 || n > 64) throw new RangeError('nodes per subnet must be 1..64')
  if (subnetCount !== 1) throw new RangeError('only one subnet per network is supported so far (cross-subnet delegations come with XNet)')
  const host = opts.host ?? '127.0.0.1'
  const rand = deterministicOr(opts.seed)
  const f = Math.floor((n - 1) / 3)
  const threshold = n - f
  const subnets: RegistrySubnet[] = []
  const secrets: NodeSecrets[] = []
  let port = opts.basePort
  for (let s = 0; s < subnetCount; s++) {
    const key = dealThresholdKey({ t: threshold, n, seed: rand(`subnet-${s}-bls`) })
    // The random beacon needs a second key with threshold f + 1 (consensus/crypto.ts).
    const beaconKey = dealThresholdKey({ t: f + 1, n, seed: rand(`subnet-${s}-beacon-bls`) })
    const der = blsPublicKeyToDer(key.publicKey)
    // A client derives the root subnet's id from the root key (ic-compat §7.3), so the id is fixed by it.
    const subnetId = principalToText(selfAuthenticating(der))
    const [lo, hi] = subnetCanisterRange(s)
    const nodes = key.shares.map((share, i) => {
      const seed = rand(`subnet-${s}-node-${i}-ed25519`)
      const publicKey = ed25519PublicKeyFromSeed(seed)
      const id = principalToText(nodeIdOf(publicKey))
      const beaconShare = beaconKey.shares[i]
      secrets.push({
        subnet: subnetId, index: i, nodeId: id, ed25519Seed: toHex(seed),
        bls: { index: share.index, secretShare: toHex(share.secretShare) },
        beaconBls: { index: beaconShare.index, secretShare: toHex(beaconShare.secretShare) },
      })
      const p2pPort = port++
      const httpPort = port++
      return { id, publicKey: toHex(publicKey), p2p: [`/ip4/${host}/tcp/${p2pPort}`], http: `${host}:${httpPort}` }
    })
    subnets.push({
      id: subnetId,
      type: s === 0 ? 'system' : 'application',
      threshold,
      publicKey: toHex(key.publicKey),
      publicCoefficients: key.publicCoefficients.map(toHex),
      randomBeacon: { threshold: f + 1, publicCoefficients: beaconKey.publicCoefficients.map(toHex) },
      canisterRanges: [[principalToText(lo), principalToText(hi)]],
      nodes,
    })
  }
  const rootKeyDer = toHex(blsPublicKeyToDer(Buffer.from(subnets[0].publicKey, 'hex')))
  return { registry: { version: 1, rootKeyDer, subnets }, secrets }
}

/** Writes `registry.json` and `node-<subnet>-<index>/identity.json` (0600) under `dir`. */
export function writeGenesis(dir: string, g: Genesis): { registryPath: string; nodeDirs: string[] } {
  mkdirSync(dir, { recursive: true })
  const registryPath = join(dir, 'registry.json')
  writeFileSync(registryPath, JSON.stringify(g.registry, null, 2) + '\n')
  const nodeDirs: string[] = []
  g.secrets.forEach((s) => {
    const subnetIndex = g.registry.subnets.findIndex((x) => x.id === s.subnet)
    const nodeDir = join(dir, `node-${subnetIndex}-${s.index}`)
    mkdirSync(nodeDir, { recursive: true, mode: 0o700 })
    writeFileSync(join(nodeDir, 'identity.json'), JSON.stringify(s, null, 2) + '\n', { mode: 0o600 })
    nodeDirs.push(nodeDir)
  })
  return { registryPath, nodeDirs }
}

function deterministicOr(seed: Uint8Array | undefined): (label: string) => Uint8Array {
  if (seed === undefined) return () => new Uint8Array(randomBytes(32))
  return (label) => sha256(seed, new TextEncoder().encode(label))
}
