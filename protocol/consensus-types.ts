// The seams between consensus and the components around it (ingress pool, execution, state). Consensus
// treats ingress messages as opaque bytes with ids; execution receives them in finalized order.

import type { Height, TimeNs } from './ids.ts'

/** One ingress message as consensus sees it: an id (the request id) and opaque content. */
export interface IngressMessage {
  readonly id: Uint8Array
  readonly bytes: Uint8Array
}

export interface BlockPayload {
  readonly messages: readonly IngressMessage[]
}

/** What a finalized block becomes for execution; delivered in height order, exactly once. */
export interface Batch {
  readonly height: Height
  readonly time: TimeNs
  /** 32 bytes, from the random beacon at this height; the only randomness execution sees. */
  readonly randomness: Uint8Array
  readonly messages: readonly IngressMessage[]
}

/** Builds a block's payload; `past` holds the payloads of the ancestors not yet covered by the state. */
export interface PayloadBuilder {
  build(height: Height, time: TimeNs, past: readonly BlockPayload[]): BlockPayload
  /** Whether execution has work waiting for a round (queued messages, due timers) even when the
   *  payload is empty; an idle block maker proposes at once then. */
  pendingWork?(time: TimeNs): boolean
}

/** Judges a proposed payload against the same ancestors; returns a reason when invalid. */
export interface PayloadValidator {
  validate(payload: BlockPayload, height: Height, time: TimeNs, past: readonly BlockPayload[]): string | undefined
}

export interface BatchDelivery {
  deliver(batch: Batch): void
  /**
   * The node jumped to a catch-up package above its delivered height: the embedder must bring its
   * state to `stateHash` at `height` (state sync) before the next batch, which is height + 1.
   */
  syncTo(height: Height, stateHash: Uint8Array): void
}

/** The state hash of an executed height, or undefined while that height is not executed yet. */
export interface StateHashSource {
  stateHash(height: Height): Uint8Array | undefined
}
