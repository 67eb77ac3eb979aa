// The unsigned genesis catch-up package every node of a new subnet starts from (the IC builds it
// from the registry's CatchUpPackageContents). Only the constructor accepts it; from the network,
// a CUP must carry the subnet's threshold signature.

import { blockHash } from './encoding.ts'
import type { Block, CatchUpPackage } from './types.ts'

export function genesisCup(timeNs: bigint, stateHash: Uint8Array = new Uint8Array(32)): CatchUpPackage {
  const block: Block = { height: 0n, parent: new Uint8Array(32), rank: 0, time: timeNs, certifiedHeight: 0n, payload: { messages: [] } }
  return {
    kind: 'cup',
    content: { block, blockHash: blockHash(block), beacon: { kind: 'beacon', height: 0n, parent: new Uint8Array(32), signature: new Uint8Array(0) }, stateHash },
    signature: new Uint8Array(0),
  }
}
