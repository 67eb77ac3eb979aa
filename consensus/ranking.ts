// Block-maker ranking for height h from the beacon at h − 1: a Fisher–Yates shuffle of the sorted
// node indices driven by a SHA-256 counter-mode stream. Bounded draws use rejection sampling (never
// modulo), so every node derives the same unbiased permutation.

import { sha256 } from '../protocol/hash.ts'
import { rankingSeed } from './encoding.ts'
import type { RandomBeacon } from './types.ts'

class HashStream {
  readonly seed: Uint8Array
  counter = 0
  buf: Uint8Array = new Uint8Array(0)
  pos = 0
  constructor(seed: Uint8Array) {
    this.seed = seed
  }
  nextU32(): number {
    if (this.pos + 4 > this.buf.length) {
      const c = new Uint8Array(4)
      new DataView(c.buffer).setUint32(0, this.counter++)
      this.buf = sha256(this.seed, c)
      this.pos = 0
    }
    const v = new DataView(this.buf.buffer, this.buf.byteOffset + this.pos, 4).getUint32(0)
    this.pos += 4
    return v
  }
  /** Uniform in [0, bound). */
  below(bound: number): number {
    const limit = Math.floor(0x1_0000_0000 / bound) * bound
    for (;;) {
      const v = this.nextU32()
      if (v < limit) return v % bound
    }
  }
}

/** ranks[i] = rank of node i at the height the beacon's successor opens. */
export function blockMakerRanks(previousBeacon: RandomBeacon, n: number): number[] {
  const order = Array.from({ length: n }, (_, i) => i)
  const s = new HashStream(rankingSeed(previousBeacon))
  for (let i = n - 1; i > 0; i--) {
    const j = s.below(i + 1)
    const t = order[i]
    order[i] = order[j]
    order[j] = t
  }
  const ranks = new Array<number>(n)
  order.forEach((node, position) => (ranks[node] = position))
  return ranks
}
