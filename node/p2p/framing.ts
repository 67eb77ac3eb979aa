// Length-prefixed framing of small messages on a byte stream. Each message is a u32 big-endian length
// and its bytes; many messages go out in one write, because libp2p's per-write cost (noise + yamux
// framing in JS, about 75 µs) dominates for consensus-sized messages (stack-notes (a)).

export function encodeFrames(messages: readonly Uint8Array[]): Uint8Array {
  let size = 0
  for (const m of messages) size += 4 + m.length
  const out = new Uint8Array(size)
  const view = new DataView(out.buffer)
  let at = 0
  for (const m of messages) {
    view.setUint32(at, m.length)
    out.set(m, at + 4)
    at += 4 + m.length
  }
  return out
}

/** Incremental decoder; throws on a frame above `maxFrameBytes` so a peer cannot make us buffer without bound. */
export class FrameDecoder {
  readonly #maxFrameBytes: number
  #buffer: Uint8Array = new Uint8Array(0)

  constructor(maxFrameBytes: number) {
    this.#maxFrameBytes = maxFrameBytes
  }

  *push(chunk: Uint8Array): Generator<Uint8Array> {
    let buf = this.#buffer.length === 0 ? chunk : concat(this.#buffer, chunk)
    let at = 0
    while (buf.length - at >= 4) {
      const len = new DataView(buf.buffer, buf.byteOffset + at, 4).getUint32(0)
      if (len > this.#maxFrameBytes) throw new Error(`frame of ${len} bytes exceeds the limit of ${this.#maxFrameBytes}`)
      if (buf.length - at - 4 < len) break
      yield buf.slice(at + 4, at + 4 + len)
      at += 4 + len
    }
    this.#buffer = at === buf.length ? new Uint8Array(0) : buf.slice(at)
    buf = this.#buffer
  }
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length)
  out.set(a)
  out.set(b, a.length)
  return out
}
