// A small seeded PRNG for the simulator: SplitMix64 expands the seed into the state of
// xoshiro128**, which then produces the stream. Same seed, same run, on every machine.

import type { Rng } from '../../protocol/interfaces.ts'

const M64 = (1n << 64n) - 1n

function splitmix64(state: { s: bigint }): bigint {
  state.s = (state.s + 0x9e3779b97f4a7c15n) & M64
  let z = state.s
  z = ((z ^ (z >> 30n)) * 0xbf58476d1ce4e5b9n) & M64
  z = ((z ^ (z >> 27n)) * 0x94d049bb133111ebn) & M64
  return z ^ (z >> 31n)
}

export class SimRng implements Rng {
  private s0: number
  private s1: number
  private s2: number
  private s3: number

  constructor(seed: number | bigint) {
    const st = { s: BigInt.asUintN(64, BigInt(seed)) }
    const a = splitmix64(st)
    const b = splitmix64(st)
    this.s0 = Number(a & 0xffffffffn) >>> 0
    this.s1 = Number(a >> 32n) >>> 0
    this.s2 = Number(b & 0xffffffffn) >>> 0
    this.s3 = Number(b >> 32n) >>> 0
    if ((this.s0 | this.s1 | this.s2 | this.s3) === 0) this.s0 = 1
  }

  nextU32(): number {
    const result = Math.imul(rotl(Math.imul(this.s1, 5), 7), 9) >>> 0
    const t = this.s1 << 9
    this.s2 ^= this.s0
    this.s3 ^= this.s1
    this.s1 ^= this.s2
    this.s0 ^= this.s3
    this.s2 ^= t
    this.s3 = rotl(this.s3, 11)
    return result
  }

  fill(out: Uint8Array): Uint8Array {
    for (let i = 0; i < out.length; i += 4) {
      const v = this.nextU32()
      for (let j = 0; j < 4 && i + j < out.length; j++) out[i + j] = (v >>> (8 * j)) & 0xff
    }
    return out
  }

  /** Uniform in [0, 1). */
  float(): number {
    return this.nextU32() / 0x1_0000_0000
  }
  /** Uniform integer in [0, bound), by rejection sampling. */
  below(bound: number): number {
    const limit = Math.floor(0x1_0000_0000 / bound) * bound
    for (;;) {
      const v = this.nextU32()
      if (v < limit) return v % bound
    }
  }
  chance(p: number): boolean {
    return p > 0 && this.float() < p
  }
  pick<T>(xs: readonly T[]): T {
    return xs[this.below(xs.length)]
  }
  /** An independent stream for one purpose, so adding draws in one place does not shift another. */
  fork(tag: number): SimRng {
    return new SimRng((BigInt(this.nextU32()) << 32n) ^ BigInt(tag))
  }
}

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0
}
