// What the HTTP interface needs from the rest of the replica. node/ wires consensus, execution and
// state behind it; the HTTP layer itself only decodes, authenticates, routes and encodes.

import type { Reject } from '../../protocol/reject.ts'
import type { RequestId } from '../../protocol/ids.ts'
import type { CallContent, QueryContent, ReadStateContent } from '../../protocol/envelope.ts'

export interface AuthenticatedRequest<C> {
  content: C
  requestId: RequestId
  sender: Uint8Array
  effectiveCanisterId: Uint8Array
  /** The envelope bytes as received, for gossip to the other nodes. */
  envelope: Uint8Array
}

export type CallSubmission = { accepted: true } | { accepted: false; reject: Reject }
export type QueryOutcome = { status: 'replied'; reply: Uint8Array } | { status: 'rejected'; reject: Reject }

export interface NodeStatus {
  rootKeyDer: Uint8Array
  healthy: boolean
  certifiedHeight: bigint
  finalizedHeight: bigint
  /** The last height whose batch this node executed. */
  executedHeight?: bigint
}

export interface HttpBackend {
  /** Local clock in ns since the epoch (ingress expiry checks, query signature timestamps). */
  now(): bigint
  status(): NodeStatus
  /** The subnet this node belongs to, and whether an effective canister id is routed to it. */
  subnetId(): Uint8Array
  hostsCanister(effectiveCanisterId: Uint8Array): boolean
  /** Non-replicated checks (canister exists and runs, inspect_message) and admission to the ingress pool. */
  submitCall(call: AuthenticatedRequest<CallContent>): Promise<CallSubmission>
  /** Resolves with a certificate revealing the request's terminal status, or undefined when `signal` aborts first. */
  awaitCertifiedStatus(requestId: RequestId, signal: AbortSignal): Promise<Uint8Array | undefined>
  /** Runs a query against the latest certified state. */
  query(query: AuthenticatedRequest<QueryContent>): Promise<QueryOutcome>
  /** A certificate revealing `paths` (and /time); throws CapsaError READ_STATE_FORBIDDEN for paths the sender may not read. */
  readState(request: AuthenticatedRequest<ReadStateContent>, scope: 'canister' | 'subnet'): Promise<Uint8Array>
  /** This node's state hash at an executed height it still keeps (operators compare nodes with it). */
  stateHash?(height: bigint): Uint8Array | undefined
}
