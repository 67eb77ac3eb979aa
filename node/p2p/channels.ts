// Several protocols share the one framed stream per peer (consensus artifacts, ingress gossip, state
// sync): the first byte of every message names its channel. Each channel is a Transport of its own.

import type { Transport } from '../../protocol/interfaces.ts'

export const CHANNEL = { consensus: 0, ingress: 1, stateSync: 2 } as const
export type ChannelId = (typeof CHANNEL)[keyof typeof CHANNEL]

export class ChannelMux {
  readonly #net: Transport<Uint8Array>
  readonly #handlers: ((from: number, message: Uint8Array) => void)[] = []
  /** Messages on a channel nobody listens to (or empty ones): counted, dropped. */
  unrouted = 0

  constructor(net: Transport<Uint8Array>) {
    this.#net = net
    net.onMessage((from, m) => {
      const h = m.length > 0 ? this.#handlers[m[0]] : undefined
      if (h === undefined) this.unrouted++
      else h(from, m.subarray(1))
    })
  }

  channel(id: ChannelId): Transport<Uint8Array> {
    return {
      send: (message, to) => {
        const framed = new Uint8Array(message.length + 1)
        framed[0] = id
        framed.set(message, 1)
        this.#net.send(framed, to)
      },
      onMessage: (handler) => {
        this.#handlers[id] = handler
      },
    }
  }
}
