// The HTTP backend of a replica: admits calls to the ingress pool (after the non-replicated checks)
// and gossips them, answers synchronous calls once the reply is certified, runs queries against the
// executed state, and serves read_state witnesses of the certified tree with the subnet's threshold
// signature.

import { executeQuery, inspectIngress } from '../execution/query.ts'
import type { IngressMessage } from '../protocol/consensus-types.ts'
import { encodeCertificate } from '../protocol/certificate.ts'
import type { Delegation } from '../protocol/certificate.ts'
import { CapsaError } from '../protocol/errors.ts'
import { fromHex, toHex } from '../protocol/hash.ts'
import type { Height, RequestId } from '../protocol/ids.ts'
import type { Reject } from '../protocol/reject.ts'
import { LABEL } from '../state/state-tree.ts'
import type { MapNode, Path } from '../state/tree.ts'
import { lookupValue } from '../state/tree.ts'
import { buildWitness, checkReadStatePaths } from '../state/witness.ts'
import type { AuthenticatedRequest, CallSubmission, HttpBackend, NodeStatus, QueryOutcome } from './http/backend.ts'
import type { CallContent, QueryContent, ReadStateContent } from '../protocol/envelope.ts'
import type { ReplicaApp } from './replica-app.ts'

export interface CertifiedView {
  height: bigint
  tree: MapNode
  signature: Uint8Array
}

export interface ReplicaBackendOptions {
  /** The current app (it changes when consensus restarts it). */
  app(): ReplicaApp
  /** The newest certified height this node has executed, with its tree and the subnet's signature. */
  certified(): CertifiedView | undefined
  status(): Omit<NodeStatus, 'rootKeyDer'>
  now(): bigint
  rootKeyDer: Uint8Array
  subnetId: Uint8Array
  hostsCanister(id: Uint8Array): boolean
  /** Sends an admitted ingress message to the other nodes of the subnet. */
  gossip(message: IngressMessage & { expiry: bigint }): void
  /** The root subnet's delegation, for a subnet whose key is not the root key. */
  delegation?: Delegation
  /** Synchronous calls waiting for a certified status; beyond it they answer 202 at once. */
  maxWaiters?: number
}

const TIME_PATH: Path = [LABEL.time]
const TERMINAL = new Set(['replied', 'rejected', 'done'])

export class ReplicaBackend implements HttpBackend {
  readonly #o: ReplicaBackendOptions
  readonly #waiters = new Map<string, Set<() => void>>()
  #waiting = 0

  constructor(opts: ReplicaBackendOptions) {
    this.#o = opts
  }

  now(): bigint {
    return this.#o.now()
  }
  status(): NodeStatus {
    return { rootKeyDer: this.#o.rootKeyDer, ...this.#o.status() }
  }
  subnetId(): Uint8Array {
    return this.#o.subnetId
  }
  hostsCanister(id: Uint8Array): boolean {
    // Management calls (provisional_create_canister_with_cycles) may name aaaaa-aa itself.
    return id.length === 0 || this.#o.hostsCanister(id)
  }

  stateHash(height: bigint): Uint8Array | undefined {
    return this.#o.app().stateHash(height as Height)
  }

  async submitCall(call: AuthenticatedRequest<CallContent>): Promise<CallSubmission> {
    const app = this.#ready()
    const c = call.content
    if (app.state.ingress.has(toHex(call.requestId)) || app.ingress.has(call.requestId)) return { accepted: true }
    const refusal = inspectIngress(app.state, { canisterId: c.canisterId, method: c.methodName, arg: c.arg, sender: c.sender }, app.state.time)
    if (refusal !== undefined) return { accepted: false, reject: { code: refusal.rejectCode, message: refusal.rejectMessage, errorCode: refusal.errorCode } as Reject }
    const message = { id: call.requestId, bytes: call.envelope, expiry: c.ingressExpiry }
    if (app.ingress.add(message)) this.#o.gossip(message)
    return { accepted: true }
  }

  /** Wakes synchronous calls whose status may have become certified; called on every new certification. */
  onCertified(): void {
    const view = this.#o.certified()
    if (view === undefined || this.#waiters.size === 0) return
    for (const [key, wake] of this.#waiters) {
      if (!isTerminal(view, fromHex(key))) continue
      this.#waiters.delete(key)
      for (const w of wake) w()
    }
  }

  async awaitCertifiedStatus(requestId: RequestId, signal: AbortSignal): Promise<Uint8Array | undefined> {
    const key = toHex(requestId)
    const answer = (): Uint8Array | undefined => {
      const view = this.#o.certified()
      return view !== undefined && isTerminal(view, requestId) ? this.#certificate(view, [[LABEL.requestStatus, requestId], TIME_PATH]) : undefined
    }
    const now = answer()
    if (now !== undefined || signal.aborted) return now
    if (this.#waiting >= (this.#o.maxWaiters ?? 10_000)) return undefined
    this.#waiting++
    try {
      await new Promise<void>((resolve) => {
        const wake = () => resolve()
        let set = this.#waiters.get(key)
        if (set === undefined) this.#waiters.set(key, (set = new Set()))
        set.add(wake)
        signal.addEventListener('abort', () => {
          set.delete(wake)
          if (set.size === 0 && this.#waiters.get(key) === set) this.#waiters.delete(key)
          resolve()
        }, { once: true })
      })
    } finally {
      this.#waiting--
    }
    return signal.aborted ? undefined : answer()
  }

  async query(q: AuthenticatedRequest<QueryContent>): Promise<QueryOutcome> {
    const app = this.#ready()
    const c = q.content
    const r = executeQuery(app.state, { canisterId: c.canisterId, method: c.methodName, arg: c.arg, sender: c.sender }, app.state.time)
    if (r.status === 'replied') return { status: 'replied', reply: r.reply }
    return { status: 'rejected', reject: { code: r.rejectCode, message: r.rejectMessage, errorCode: r.errorCode } as Reject }
  }

  async readState(request: AuthenticatedRequest<ReadStateContent>, scope: 'canister' | 'subnet'): Promise<Uint8Array> {
    const app = this.#ready()
    const view = this.#o.certified()
    if (view === undefined) throw new CapsaError('UNAVAILABLE', 'no certified state yet; retry shortly')
    const paths = request.content.paths
    if (scope === 'canister') {
      const history = app.certified.history
      checkReadStatePaths(paths, {
        sender: request.sender,
        effectiveCanisterId: request.effectiveCanisterId,
        requestOrigin: (rid) => {
          const o = history.origin(rid)
          // A management call without a target (canister creation) may be read through any effective id.
          return o === undefined || o.effectiveCanisterId.length > 0 ? o : { sender: o.sender, effectiveCanisterId: request.effectiveCanisterId }
        },
        canister: (cid) => app.certified.canisterAccess(cid),
      })
    } else checkSubnetPaths(paths, this.#o.subnetId)
    return this.#certificate(view, [...paths, TIME_PATH])
  }

  #certificate(view: CertifiedView, paths: readonly Path[]): Uint8Array {
    const tree = buildWitness(view.tree, paths)
    return encodeCertificate({ tree, signature: view.signature, ...(this.#o.delegation ? { delegation: this.#o.delegation } : {}) })
  }

  #ready(): ReplicaApp {
    const app = this.#o.app()
    if (app.syncing) throw new CapsaError('UNAVAILABLE', 'this node is catching up with its subnet (state sync); retry shortly or ask another node')
    return app
  }
}

/** Whether the certified tree shows a final status (replied, rejected or done) for the request. */
function isTerminal(view: CertifiedView, requestId: Uint8Array): boolean {
  const status = lookupValue(view.tree, [LABEL.requestStatus, requestId, LABEL.status])
  return status !== undefined && TERMINAL.has(new TextDecoder().decode(status))
}

// The subnet endpoint serves the time, the subnet's own subtree and canister ranges (spec: read_state
// for subnets); everything else needs a canister endpoint.
function checkSubnetPaths(paths: readonly Path[], subnetId: Uint8Array): void {
  const text = (l: Uint8Array) => new TextDecoder().decode(l)
  for (const p of paths) {
    const head = p.length > 0 ? text(p[0]) : ''
    if (head === 'time' && p.length === 1) continue
    if (head === 'subnet' || head === 'canister_ranges') continue
    throw new CapsaError('READ_STATE_FORBIDDEN', `read_state path /${p.map((l) => text(l)).join('/')} is not served by the subnet endpoint of ${toHex(subnetId)}`)
  }
}
