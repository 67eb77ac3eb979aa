import { describe, expect, it } from 'vitest'
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { sign, verify, createPublicKey } from 'node:crypto'
import { Principal } from '@dfinity/principal'
import { CONSENSUS_TIMING, createGenesis, writeGenesis, ed25519PrivateKeyFromSeed } from './genesis.ts'
import { loadRegistry, parseRegistry } from './registry.ts'
import { blsPublicKeyFromDer, combineShares, signShare, blsVerify } from '../protocol/bls.ts'
import { fromHex } from '../protocol/hash.ts'

describe('genesis', () => {
  it('writes a registry and one 0600 key file per node, with working keys', () => {
    const dir = mkdtempSync(join(tmpdir(), 'capsa-genesis-'))
    try {
      const g = createGenesis({ nodesPerSubnet: 4, basePort: 40000 })
      const { registryPath, nodeDirs } = writeGenesis(dir, g)
      const reg = loadRegistry(registryPath)
      const subnet = reg.subnets[0]
      expect(subnet.nodes).toHaveLength(4)
      expect(subnet.threshold).toBe(3)
      expect(new Set(subnet.nodes.flatMap((n) => [n.p2p[0], n.http])).size).toBe(8)
      // The subnet id is the one the agent derives from the root key.
      expect(subnet.id).toBe(Principal.selfAuthenticating(fromHex(reg.rootKeyDer)).toText())
      const message = new TextEncoder().encode('state root')
      const shares = nodeDirs.slice(1).map((d) => {
        const file = join(d, 'identity.json')
        expect(statSync(file).mode & 0o777).toBe(0o600)
        const secrets = JSON.parse(readFileSync(file, 'utf8'))
        // Each node's Ed25519 key matches the registry.
        const node = subnet.nodes[secrets.index]
        const key = ed25519PrivateKeyFromSeed(fromHex(secrets.ed25519Seed))
        const sig = sign(null, message, key)
        const der = Buffer.concat([Buffer.from('302a300506032b6570032100', 'hex'), Buffer.from(node.publicKey, 'hex')])
        expect(verify(null, message, createPublicKey({ key: der, format: 'der', type: 'spki' }), sig)).toBe(true)
        return { index: secrets.bls.index, signature: signShare(message, fromHex(secrets.bls.secretShare)) }
      })
      // Any threshold of the BLS shares signs for the root key.
      const combined = combineShares(shares, 3)
      expect(blsVerify(combined, message, blsPublicKeyFromDer(fromHex(reg.rootKeyDer)))).toBe(true)
      expect(readFileSync(registryPath, 'utf8')).not.toMatch(/secret/i)
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })

  it('is reproducible from a seed and rejects a damaged registry with a clear error', () => {
    const a = createGenesis({ nodesPerSubnet: 1, basePort: 1000, seed: new Uint8Array(32) })
    const b = createGenesis({ nodesPerSubnet: 1, basePort: 1000, seed: new Uint8Array(32) })
    expect(a).toEqual(b)
    expect(a.registry.subnets[0].threshold).toBe(1)
    expect(() => parseRegistry('{', 'r.json')).toThrow(/r.json is not valid JSON/)
    expect(() => parseRegistry(JSON.stringify({ ...a.registry, rootKeyDer: 'abcd' }), 'r.json')).toThrow(/rootKeyDer/)
  })
})

describe('genesis command', () => {
  it('writes a network with a node.json per node, and refuses to overwrite one without --force', async () => {
    const { spawnSync } = await import('node:child_process')
    const dir = mkdtempSync(join(tmpdir(), 'capsa-genesis-cli-'))
    const script = new URL('./genesis-main.ts', import.meta.url).pathname
    try {
      const run = (...args: string[]) => spawnSync(process.execPath, [script, ...args], { encoding: 'utf8' })
      const first = run('--nodes', '4', '--dir', dir, '--base-port', '45000')
      expect(first.status).toBe(0)
      expect(first.stdout).toContain('threshold 3')
      const reg = loadRegistry(join(dir, 'registry.json'))
      expect(reg.subnets[0].nodes.map((n) => n.http)).toEqual(['127.0.0.1:45001', '127.0.0.1:45003', '127.0.0.1:45005', '127.0.0.1:45007'])
      const config = JSON.parse(readFileSync(join(dir, 'node-0-2', 'node.json'), 'utf8'))
      expect(config).toEqual({ registry: '../registry.json', identity: 'identity.json', dataDir: 'data', consensus: CONSENSUS_TIMING.local })
      const again = run('--nodes', '4', '--dir', dir)
      expect(again.status).toBe(2)
      expect(again.stderr).toMatch(/already holds a network; use --force/)
      expect(run('--nodes', 'x', '--dir', dir).stderr).toMatch(/--nodes must be a whole number/)
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })
})
