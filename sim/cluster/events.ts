// The virtual clock's event queue: a binary heap ordered by (time, sequence number), so events at the
// same instant run in the order they were scheduled and every run of a seed is identical.

import { MinHeap } from '../../protocol/min-heap.ts'

export interface SimEvent {
  readonly time: bigint
  readonly seq: number
  readonly run: () => void
}

export class EventQueue {
  private readonly heap = new MinHeap<SimEvent>(before)
  private seq = 0
  now = 0n

  schedule(time: bigint, run: () => void): void {
    this.heap.push({ time: time < this.now ? this.now : time, seq: this.seq++, run })
  }

  get size(): number {
    return this.heap.size
  }
  peekTime(): bigint | undefined {
    return this.heap.peek()?.time
  }

  /** Runs the next event, advancing the clock; false when empty. */
  runNext(): boolean {
    const top = this.heap.pop()
    if (top === undefined) return false
    this.now = top.time
    top.run()
    return true
  }
}

function before(a: SimEvent, b: SimEvent): boolean {
  return a.time < b.time || (a.time === b.time && a.seq < b.seq)
}
