// Byzantine behaviours, applied to what a faulty node sends and how it reacts to what it receives.
// They use the node's real keys, so their artifacts are as valid (or as invalid) as a real attacker's.

import { beaconSigned, blockHash, certificationSigned, cupSigned, finalizationSigned, notarizationSigned, proposalSigned } from '../../consensus/encoding.ts'
import type { Outgoing } from '../../consensus/node.ts'
import type { Artifact, BlockProposal, ConsensusMessage } from '../../consensus/types.ts'
import { sha256 } from '../../protocol/hash.ts'
import type { SimCrypto } from './crypto.ts'

/** How often each misbehaviour actually happened, so tests can show the attack was exercised. */
export const byzantineCounters = { equivocations: 0, corrupted: 0, conflictingShares: 0 }

export type Behaviour = 'honest' | 'silent' | 'equivocate' | 'conflictingShares' | 'badSignatures'

function flip(b: Uint8Array): Uint8Array {
  const c = b.slice()
  if (c.length > 0) c[c.length - 1] ^= 0x01
  return c
}

/** Rewrites a faulty node's outgoing messages. `peers` excludes the node itself. */
export function byzantineOutgoing(behaviour: Behaviour, crypto: SimCrypto, peers: readonly number[], out: readonly Outgoing[]): Outgoing[] {
  if (behaviour === 'honest' || behaviour === 'conflictingShares') return [...out]
  if (behaviour === 'silent') return []
  const res: Outgoing[] = []
  for (const o of out) {
    const m = o.message
    if (m.type !== 'artifact') {
      res.push(o)
      continue
    }
    const a = m.artifact
    if (behaviour === 'equivocate') {
      if (a.kind === 'proposal' && a.signer === crypto.self && o.to === undefined) {
        // Two different blocks of the same rank: one to each half of the subnet.
        const twin = conflictingProposal(a, crypto)
        byzantineCounters.equivocations++
        peers.forEach((p, i) => res.push({ to: p, message: { type: 'artifact', artifact: i % 2 === 0 ? a : twin } }))
      } else res.push(o)
      continue
    }
    byzantineCounters.corrupted++
    res.push({ ...o, message: { type: 'artifact', artifact: corrupt(a, crypto) } })
  }
  return res
}

export function conflictingProposal(a: BlockProposal, crypto: SimCrypto): BlockProposal {
  const extra = { id: sha256(new TextEncoder().encode('equivocation'), a.hash), bytes: new Uint8Array([1, 2, 3]) }
  const block = { ...a.block, payload: { messages: [...a.block.payload.messages, extra] } }
  const hash = blockHash(block)
  return { kind: 'proposal', block, hash, signer: a.signer, signature: crypto.sign(proposalSigned(hash)) }
}

/** Same artifact, wrong signature: Ed25519 bytes flipped, BLS shares valid points on the wrong message. */
function corrupt(a: Artifact, crypto: SimCrypto): Artifact {
  switch (a.kind) {
    case 'beaconShare':
      return { ...a, signature: crypto.signLowShare(beaconSigned(a.height + 1000n, a.parent)) }
    case 'certificationShare':
      return { ...a, signature: crypto.signHighShare(certificationSigned(flip(a.stateHash))) }
    case 'cupShare':
      return { ...a, signature: crypto.signHighShare(cupSigned(flip(a.contentHash))) }
    case 'proposal':
    case 'notarizationShare':
    case 'finalizationShare':
      return { ...a, signature: flip(a.signature) }
    default:
      return a
  }
}

/** A node with conflicting shares notarizes and finality-signs every block it hears of. */
export function byzantineOnReceive(behaviour: Behaviour, crypto: SimCrypto, m: ConsensusMessage): Outgoing[] {
  if (behaviour !== 'conflictingShares' || m.type !== 'artifact' || m.artifact.kind !== 'proposal') return []
  const p = m.artifact
  const h = p.block.height
  byzantineCounters.conflictingShares++
  const ns: Artifact = { kind: 'notarizationShare', height: h, block: p.hash, signer: crypto.self, signature: crypto.sign(notarizationSigned(h, p.hash)) }
  const fs: Artifact = { kind: 'finalizationShare', height: h, block: p.hash, signer: crypto.self, signature: crypto.sign(finalizationSigned(h, p.hash)) }
  return [{ message: { type: 'artifact', artifact: ns } }, { message: { type: 'artifact', artifact: fs } }]
}
