// A token bucket on a monotonic clock: admission control is local policy, so node/ may use real time.

export class TokenBucket {
  readonly #ratePerSecond: number
  #tokens: number
  #last: bigint | undefined

  constructor(ratePerSecond: number) {
    this.#ratePerSecond = ratePerSecond
    this.#tokens = ratePerSecond
  }

  /** Takes one token at monotonic time `nowNs`; false when the bucket is empty. */
  take(nowNs: bigint): boolean {
    if (this.#last !== undefined) {
      const elapsed = Number(nowNs - this.#last) / 1e9
      this.#tokens = Math.min(this.#ratePerSecond, this.#tokens + elapsed * this.#ratePerSecond)
    }
    this.#last = nowNs
    if (this.#tokens < 1) return false
    this.#tokens -= 1
    return true
  }
}
