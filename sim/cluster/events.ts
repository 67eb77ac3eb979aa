// The virtual clock's event queue: a binary heap ordered by (time, sequence number), so events at the
// same instant run in the order they were scheduled and every run of a seed is identical.

export interface SimEvent {
  readonly time: bigint
  readonly seq: number
  readonly run: () => void
}

export class EventQueue {
  private readonly heap: SimEvent[] = []
  private seq = 0
  now = 0n

  schedule(time: bigint, run: () => void): void {
    const e = { time: time < this.now ? this.now : time, seq: this.seq++, run }
    const h = this.heap
    h.push(e)
    let i = h.length - 1
    while (i > 0) {
      const p = (i - 1) >> 1
      if (!before(h[i], h[p])) break
      ;[h[i], h[p]] = [h[p], h[i]]
      i = p
    }
  }

  get size(): number {
    return this.heap.length
  }
  peekTime(): bigint | undefined {
    return this.heap[0]?.time
  }

  /** Runs the next event, advancing the clock; false when empty. */
  runNext(): boolean {
    const h = this.heap
    if (h.length === 0) return false
    const top = h[0]
    const last = h.pop() as SimEvent
    if (h.length > 0) {
      h[0] = last
      let i = 0
      for (;;) {
        const l = 2 * i + 1
        const r = l + 1
        let m = i
        if (l < h.length && before(h[l], h[m])) m = l
        if (r < h.length && before(h[r], h[m])) m = r
        if (m === i) break
        ;[h[i], h[m]] = [h[m], h[i]]
        i = m
      }
    }
    this.now = top.time
    top.run()
    return true
  }
}

function before(a: SimEvent, b: SimEvent): boolean {
  return a.time < b.time || (a.time === b.time && a.seq < b.seq)
}
