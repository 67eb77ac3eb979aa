// The packet simulator: every message between two nodes gets a delay drawn from the link's
// distribution and may be lost or duplicated; random delays reorder messages. Partitions drop
// whatever crosses group borders until healed. All draws come from the seeded RNG.

import type { SimRng } from './rng.ts'

export type DelayDistribution =
  | { readonly kind: 'fixed'; readonly ms: number }
  | { readonly kind: 'uniform'; readonly minMs: number; readonly maxMs: number }
  /** A floor plus an exponential tail: mostly fast, sometimes slow. */
  | { readonly kind: 'exponential'; readonly minMs: number; readonly meanExtraMs: number }

export interface NetworkOptions {
  readonly delay: DelayDistribution
  readonly loss: number
  readonly duplication: number
}

export const DEFAULT_NETWORK: NetworkOptions = { delay: { kind: 'uniform', minMs: 1, maxMs: 50 }, loss: 0, duplication: 0 }

export class PacketSimulator {
  options: NetworkOptions
  private readonly rng: SimRng
  /** Group id per node while partitioned. */
  private groups: Map<number, number> | undefined
  sent = 0
  dropped = 0

  constructor(options: NetworkOptions, rng: SimRng) {
    this.options = options
    this.rng = rng
  }

  partition(groups: readonly (readonly number[])[]): void {
    this.groups = new Map()
    groups.forEach((g, gi) => g.forEach((node) => this.groups?.set(node, gi)))
  }
  heal(): void {
    this.groups = undefined
  }
  get partitioned(): boolean {
    return this.groups !== undefined
  }
  connected(a: number, b: number): boolean {
    if (this.groups === undefined) return true
    const ga = this.groups.get(a)
    const gb = this.groups.get(b)
    return ga !== undefined && ga === gb
  }

  /** Delivery delays (ns) for one message from a to b: none when lost, two when duplicated. */
  route(a: number, b: number): bigint[] {
    this.sent++
    if (!this.connected(a, b) || this.rng.chance(this.options.loss)) {
      this.dropped++
      return []
    }
    const out = [this.sampleNs()]
    if (this.rng.chance(this.options.duplication)) out.push(this.sampleNs())
    return out
  }

  private sampleNs(): bigint {
    const d = this.options.delay
    let ms: number
    if (d.kind === 'fixed') ms = d.ms
    else if (d.kind === 'uniform') ms = d.minMs + this.rng.float() * (d.maxMs - d.minMs)
    else ms = d.minMs - Math.log(1 - this.rng.float()) * d.meanExtraMs
    return BigInt(Math.round(ms * 1_000_000))
  }
}
