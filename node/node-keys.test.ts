import { describe, expect, it } from 'vitest'
import { blsPublicKeyFromDer, blsVerify } from '../protocol/bls.ts'
import { fromHex } from '../protocol/hash.ts'
import { createGenesis } from './genesis.ts'
import { consensusCrypto, parseIdentity, placeInRegistry, subnetPublicKeys } from './node-keys.ts'

const g = createGenesis({ nodesPerSubnet: 4, basePort: 1, seed: new Uint8Array(32).fill(3) })
const subnet = g.registry.subnets[0]
const msg = new TextEncoder().encode('beacon or state hash')

describe('consensus keys from the registry and identity files', () => {
  it('gives each node working Ed25519, beacon (f + 1) and subnet (n − f) keys', () => {
    const keys = subnetPublicKeys(subnet)
    expect(keys.low.threshold).toBe(2)
    expect(keys.high.threshold).toBe(3)
    const nodes = g.secrets.map((s) => consensusCrypto(subnet, s))
    const sig = nodes[2].sign(msg)
    expect(nodes[0].verify(2, msg, sig)).toBe(true)
    expect(nodes[0].verify(1, msg, sig)).toBe(false)

    const low = [1, 3].map((i) => ({ signer: i, signature: nodes[i].signLowShare(msg) }))
    expect(nodes[0].verifyLowShare(3, msg, low[1].signature)).toBe(true)
    expect(nodes[0].verifyLow(msg, nodes[0].combineLow(low))).toBe(true)

    const high = [0, 2, 3].map((i) => ({ signer: i, signature: nodes[i].signHighShare(msg) }))
    const combined = nodes[1].combineHigh(high)
    // What the subnet certifies, a client checks with the root key alone.
    expect(blsVerify(combined, msg, blsPublicKeyFromDer(fromHex(g.registry.rootKeyDer)))).toBe(true)
    // The beacon key is a different key: its shares do not make a subnet signature.
    expect(nodes[1].verifyHigh(msg, nodes[0].combineLow(low))).toBe(false)
  })

  it('refuses identity files that do not match the registry, with a clear reason', () => {
    const a = g.secrets[0]
    expect(placeInRegistry(g.registry, a).index).toBe(0)
    const { beaconBls: _, ...old } = a
    expect(() => parseIdentity(JSON.stringify(old), 'id.json')).toThrow(/id.json has no random-beacon key share; regenerate/)
    expect(() => placeInRegistry(g.registry, { ...a, index: 1 })).toThrow(/is not node 1 of subnet/)
    expect(() => placeInRegistry(g.registry, { ...a, ed25519Seed: g.secrets[1].ed25519Seed })).toThrow(/Ed25519 key does not match/)
    expect(() => subnetPublicKeys({ ...subnet, randomBeacon: undefined })).toThrow(/no random-beacon key in the registry/)
  })
})
