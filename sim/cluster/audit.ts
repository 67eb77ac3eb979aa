// Audit of each honest node's own outputs (reference §8, S3): one proposal and at most one beacon,
// certification and CUP share per height; no notarization share at or below its notarized height;
// no finalization share at h once it signed a notarization share for another block at h. The audit
// spans restarts (callers pass one generation): the persisted signing mark must keep them consistent.

import { toHex } from '../../protocol/hash.ts'
import type { Outgoing } from '../../consensus/node.ts'

interface NodeAudit {
  readonly once: Map<string, string>
  readonly notarized: Map<bigint, Set<string>>
  readonly finalized: Map<bigint, string>
}

export class OutputAudit {
  private readonly nodes = new Map<string, NodeAudit>()

  /** Returns a violation, or undefined. `notarizedHeight` is the node's before this step. */
  check(node: number, generation: number, notarizedHeight: bigint, out: readonly Outgoing[], self: number): string | undefined {
    const key = `${node}/${generation}`
    let a = this.nodes.get(key)
    if (a === undefined) {
      a = { once: new Map(), notarized: new Map(), finalized: new Map() }
      this.nodes.set(key, a)
    }
    for (const o of out) {
      if (o.message.type !== 'artifact') continue
      const x = o.message.artifact
      if (!('signer' in x) || x.signer !== self) continue
      const uniq = (what: string, h: bigint, value: Uint8Array): string | undefined => {
        const k = `${what}:${h}`
        const v = toHex(value)
        const prior = a.once.get(k)
        if (prior !== undefined && prior !== v) return `node ${node} issued two different ${what}s at height ${h}`
        a.once.set(k, v)
        return undefined
      }
      let err: string | undefined
      switch (x.kind) {
        case 'proposal':
          err = uniq('proposal', x.block.height, x.hash)
          break
        case 'beaconShare':
        case 'certificationShare':
        case 'cupShare':
          err = uniq(x.kind, x.height, x.signature)
          break
        case 'notarizationShare': {
          const set = a.notarized.get(x.height) ?? new Set<string>()
          const hex = toHex(x.block)
          if (!set.has(hex) && x.height <= notarizedHeight) err = `node ${node} notarization-signed height ${x.height} although it had notarized ${notarizedHeight}`
          set.add(hex)
          a.notarized.set(x.height, set)
          const fin = a.finalized.get(x.height)
          if (fin !== undefined && fin !== hex) err = `node ${node} notarization-signed another block at ${x.height} after finality-signing`
          break
        }
        case 'finalizationShare': {
          const hex = toHex(x.block)
          for (const other of a.notarized.get(x.height) ?? []) if (other !== hex) err = `node ${node} finality-signed ${x.height} after notarization-signing another block`
          const prior = a.finalized.get(x.height)
          if (prior !== undefined && prior !== hex) err = `node ${node} finality-signed two blocks at ${x.height}`
          a.finalized.set(x.height, hex)
          break
        }
      }
      if (err !== undefined) return err
    }
    return undefined
  }
}
