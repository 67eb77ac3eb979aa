import { describe, expect, it } from 'vitest'
import { decodeMessage, encodeMessage } from '../../consensus/wire.ts'
import type { ConsensusMessage } from '../../consensus/types.ts'
import { encodeCbor } from '../../protocol/cbor.ts'
import { isCapsaError } from '../../protocol/errors.ts'
import { Cluster } from './cluster.ts'

describe('consensus wire codec', () => {
  it('round-trips every message a real run produces, byte for byte', () => {
    const cluster = new Cluster({ n: 4, seed: 51, ingressEveryMs: 200, network: { loss: 0.1 } })
    const seen = new Map<string, Uint8Array>()
    const transmit = cluster.transmit.bind(cluster)
    cluster.transmit = (from, to, m) => {
      const bytes = m instanceof Uint8Array ? m : encodeMessage(m)
      const d = decodeMessage(bytes)
      seen.set(d.type === 'status' ? 'status' : d.artifact.kind, bytes)
      transmit(from, to, m)
    }
    expect(cluster.runUntil(11)).toBe(true)
    const cup: ConsensusMessage = { type: 'artifact', artifact: cluster.node(0).consensus.cup }
    seen.set('cup', encodeMessage(cup))
    for (const kind of ['status', 'proposal', 'beaconShare', 'notarizationShare', 'finalizationShare', 'certificationShare', 'cupShare', 'cup']) expect(seen.has(kind), kind).toBe(true)
    for (const bytes of seen.values()) expect(encodeMessage(decodeMessage(bytes))).toEqual(bytes)
  })

  it('rejects malformed messages with coded errors', () => {
    const bad = [
      new Uint8Array([0xff]),
      encodeCbor({ t: 'nope' }),
      encodeCbor({ t: 'artifact', a: { k: 'beacon', height: 1, parent: new Uint8Array(31), sig: new Uint8Array(48) } }),
      encodeCbor({ t: 'artifact', a: { k: 'notarization', height: 1, block: new Uint8Array(32), signers: [0, 1], sigs: [new Uint8Array(64)] } }),
      encodeCbor({ t: 'artifact', a: { k: 'proposal', block: {}, hash: new Uint8Array(32), signer: 0, sig: new Uint8Array(64) } }),
      encodeCbor({ t: 'status', cup: -1, finalized: 0, notarized: 0, beacon: 0, certified: 0 }),
    ]
    for (const b of bad) {
      let err: unknown
      try {
        decodeMessage(b)
      } catch (e) {
        err = e
      }
      expect(isCapsaError(err)).toBe(true)
    }
  })
})
