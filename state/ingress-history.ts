// Ingress history: the status of every update call, mirrored into /request_status of the state tree.
// A completed call (replied/rejected) stays readable until max(expiry, completion) + margin, then
// shrinks to `done` (the reply goes), and after another margin disappears. The agent polls for up to
// 5 minutes, and an entry is never pruned before its ingress_expiry. The count is bounded: beyond
// the limit the completed entries with the earliest deadlines go first (deterministic: deadline, then
// request id). Calls still received/processing are never evicted.

import { MinHeap } from '../protocol/min-heap.ts'
import { CapsaError } from '../protocol/errors.ts'
import { compareBytes, toHex } from '../protocol/hash.ts'
import { limits } from '../protocol/limits.ts'
import { Reader, Writer } from './codec.ts'
import { removeRequestStatus, setRequestStatus } from './state-tree.ts'
import type { RequestStatus } from './state-tree.ts'
import type { MapNode } from './tree.ts'

export interface IngressRecord {
  requestId: Uint8Array
  sender: Uint8Array
  effectiveCanisterId: Uint8Array
  /** ingress_expiry of the call, ns. */
  expiry: bigint
  status: RequestStatus
  /** When the entry next changes phase (terminal → done → removed); unset while in flight. */
  deadline?: bigint
}

interface Due { deadline: bigint; key: string }
const before = (a: Due, b: Due): boolean => a.deadline < b.deadline || (a.deadline === b.deadline && a.key < b.key)
const terminal = (s: RequestStatus): boolean => s.status === 'replied' || s.status === 'rejected' || s.status === 'done'

export class IngressHistory {
  readonly marginNs: bigint
  readonly maxEntries: number
  private records = new Map<string, IngressRecord>()
  private heap = new MinHeap<Due>(before)

  constructor(opts: { marginNs?: bigint; maxEntries?: number } = {}) {
    this.marginNs = opts.marginNs ?? limits.ingressHistoryMarginNs
    this.maxEntries = opts.maxEntries ?? limits.maxIngressHistoryEntries
  }

  get size(): number {
    return this.records.size
  }
  get(rid: Uint8Array): IngressRecord | undefined {
    return this.records.get(toHex(rid))
  }
  /** For read_state's access rule. */
  origin(rid: Uint8Array): { sender: Uint8Array; effectiveCanisterId: Uint8Array } | undefined {
    return this.get(rid)
  }

  /** Records a new status at time `now` and returns the tree with /request_status updated. */
  set(tree: MapNode, rec: Omit<IngressRecord, 'deadline'>, now: bigint): MapNode {
    const key = toHex(rec.requestId)
    const r: IngressRecord = { ...rec }
    if (terminal(rec.status)) {
      const from = rec.expiry > now ? rec.expiry : now
      r.deadline = from + this.marginNs * (rec.status.status === 'done' ? 2n : 1n)
      this.heap.push({ deadline: r.deadline, key })
    }
    this.records.set(key, r)
    tree = setRequestStatus(tree, rec.requestId, rec.status)
    return this.evictOverflow(tree)
  }

  /** Applies every phase change due at `now`. */
  prune(tree: MapNode, now: bigint): MapNode {
    while (this.heap.size > 0 && this.heap.peek()!.deadline <= now) tree = this.advance(tree, this.heap.pop()!)
    return tree
  }

  private advance(tree: MapNode, due: Due, evict = false): MapNode {
    const r = this.records.get(due.key)
    if (!r || r.deadline !== due.deadline) return tree // stale heap entry
    if (r.status.status !== 'done' && !evict) {
      r.status = { status: 'done' }
      r.deadline = due.deadline + this.marginNs
      this.heap.push({ deadline: r.deadline, key: due.key })
      return setRequestStatus(tree, r.requestId, r.status)
    }
    this.records.delete(due.key)
    return removeRequestStatus(tree, r.requestId)
  }

  private evictOverflow(tree: MapNode): MapNode {
    while (this.records.size > this.maxEntries && this.heap.size > 0) tree = this.advance(tree, this.heap.pop()!, true)
    return tree
  }

  // ---- checkpoint encoding (records sorted by request id, so every node writes the same bytes) ----
  encode(): Uint8Array {
    const w = new Writer().u32(this.records.size)
    const recs = [...this.records.values()].sort((a, b) => compareBytes(a.requestId, b.requestId))
    for (const r of recs) {
      w.bytes(r.requestId).bytes(r.sender).bytes(r.effectiveCanisterId).u64(r.expiry).u64(r.deadline ?? 0n)
      const s = r.status
      w.text(s.status)
      if (s.status === 'replied') w.bytes(s.reply)
      if (s.status === 'rejected') {
        w.u32(s.rejectCode).text(s.rejectMessage).u8(s.errorCode === undefined ? 0 : 1)
        if (s.errorCode !== undefined) w.text(s.errorCode)
      }
    }
    return w.finish()
  }

  static decode(bytes: Uint8Array, opts: { marginNs?: bigint; maxEntries?: number } = {}): IngressHistory {
    const h = new IngressHistory(opts)
    const rd = new Reader(bytes, 'ingress history')
    const n = rd.u32()
    for (let i = 0; i < n; i++) {
      const requestId = rd.bytes().slice()
      const sender = rd.bytes().slice()
      const effectiveCanisterId = rd.bytes().slice()
      const expiry = rd.u64()
      const deadline = rd.u64()
      const st = rd.text()
      let status: RequestStatus
      if (st === 'replied') status = { status: 'replied', reply: rd.bytes().slice() }
      else if (st === 'rejected') {
        const rejectCode = rd.u32()
        const rejectMessage = rd.text()
        status = rd.u8() === 1 ? { status: 'rejected', rejectCode, rejectMessage, errorCode: rd.text() } : { status: 'rejected', rejectCode, rejectMessage }
      } else if (st === 'received' || st === 'processing' || st === 'done') status = { status: st }
      else throw new CapsaError('STATE_CORRUPT', `ingress history: unknown status ${JSON.stringify(st)}`)
      const rec: IngressRecord = { requestId, sender, effectiveCanisterId, expiry, status }
      if (terminal(status)) {
        rec.deadline = deadline
        h.heap.push({ deadline, key: toHex(requestId) })
      }
      h.records.set(toHex(requestId), rec)
    }
    rd.end()
    return h
  }

  /** Rebuilds /request_status from scratch (after loading a checkpoint). */
  applyAll(tree: MapNode): MapNode {
    for (const r of this.records.values()) tree = setRequestStatus(tree, r.requestId, r.status)
    return tree
  }
}
