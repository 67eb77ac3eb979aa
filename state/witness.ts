// Witnesses for read_state: the state tree pruned to exactly the requested paths plus /time, and the
// spec's rules for which paths a sender may request (https-interface "Request: Read state", canister
// endpoint form). Unrequested siblings are never revealed: besides leaking nothing extra, this avoids
// the agent's find_label quirk with a label that prefixes a revealed sibling (ic-compat §6.4).

import { CapsaError } from '../protocol/errors.ts'
import { bytesEqual, compareBytes, toHex } from '../protocol/hash.ts'
import { limits } from '../protocol/limits.ts'
import { LABEL } from './state-tree.ts'
import { EMPTY, pruned } from '../protocol/hash-tree.ts'
import { foldPairwise, forkHash, fullHashTree, isTreap } from './tree.ts'
import type { HashTree, Label, MapNode, Path, StateNode, Treap } from './tree.ts'

interface Req { terminal: boolean; kids: Map<string, { label: Label; req: Req }> }

function requestTrie(paths: readonly Path[]): Req {
  const root: Req = { terminal: false, kids: new Map() }
  for (const p of [[LABEL.time], ...paths]) {
    let r = root
    for (const l of p) {
      const k = toHex(l)
      let next = r.kids.get(k)
      if (!next) r.kids.set(k, (next = { label: l, req: { terminal: false, kids: new Map() } }))
      r = next.req
    }
    r.terminal = true
  }
  return root
}

const prunedFork = (a: HashTree, b: HashTree): HashTree =>
  a.kind === 'pruned' && b.kind === 'pruned' ? pruned(forkHash(a.digest, b.digest)) : { kind: 'fork', left: a, right: b }

/** The state tree with full subtrees under every requested path and /time, everything else pruned. */
export function buildWitness(root: MapNode, paths: readonly Path[]): HashTree {
  return witnessNode(root, requestTrie(paths))
}

function witnessNode(node: StateNode, req: Req): HashTree {
  if (req.terminal) return fullHashTree(node)
  if (node.kind === 'leaf') return { kind: 'leaf', value: node.value }
  const wanted = [...req.kids.values()].sort((a, b) => compareBytes(a.label, b.label))
  const c = node.children
  if (isTreap(c)) return walkTreap(c, wanted)
  const byLabel = new Map(wanted.map((w) => [toHex(w.label), w.req]))
  const items = c.map((e): HashTree => {
    const r = byLabel.get(toHex(e.label))
    return r ? { kind: 'labeled', label: e.label, subtree: witnessNode(e.node, r) } : pruned(e.labeledHash)
  })
  return foldPairwise(items, prunedFork, () => EMPTY)
}

function walkTreap(t: Treap, wanted: readonly { label: Label; req: Req }[]): HashTree {
  if (wanted.length === 0) return pruned(t.hash)
  const lt: { label: Label; req: Req }[] = []
  const gt: { label: Label; req: Req }[] = []
  let hit: Req | undefined
  for (const w of wanted) {
    const d = compareBytes(w.label, t.entry.label)
    if (d < 0) lt.push(w)
    else if (d > 0) gt.push(w)
    else hit = w.req
  }
  let x: HashTree = hit ? { kind: 'labeled', label: t.entry.label, subtree: witnessNode(t.entry.node, hit) } : pruned(t.entry.labeledHash)
  if (t.left) x = prunedFork(walkTreap(t.left, lt), x)
  if (t.right) x = prunedFork(x, walkTreap(t.right, gt))
  return x
}

// ---- access rules --------------------------------------------------------------------------------

export interface ReadStateContext {
  sender: Uint8Array
  effectiveCanisterId: Uint8Array
  /** Sender and effective canister id of the original call, if the request id is known. */
  requestOrigin(rid: Uint8Array): { sender: Uint8Array; effectiveCanisterId: Uint8Array } | undefined
  /** Controllers and private custom section names, if the canister exists. */
  canister(cid: Uint8Array): { controllers: readonly Uint8Array[]; privateMetadata: ReadonlySet<string> } | undefined
}

const REQUEST_STATUS_FIELDS = ['status', 'reply', 'reject_code', 'reject_message', 'error_code']
const CANISTER_FIELDS = ['module_hash', 'controllers', 'canister_creation_timestamp', 'last_install_timestamp']
const SUBNET_FIELDS = ['public_key', 'type', 'canister_ranges', 'node']
const BOUNDARY_FIELDS = ['domain', 'ipv4_address', 'ipv6_address']

const text = (l: Label): string => Buffer.from(l.buffer, l.byteOffset, l.length).toString('latin1')
function forbidden(path: Path, why: string): never {
  throw new CapsaError('READ_STATE_FORBIDDEN', `read_state path /${path.map((l) => toHex(l)).join('/')} is not allowed: ${why}`, { path: path.map(toHex) })
}

/** Throws READ_STATE_FORBIDDEN (or LIMIT_EXCEEDED) for the first path the sender may not request. */
export function checkReadStatePaths(paths: readonly Path[], ctx: ReadStateContext): void {
  if (paths.length > limits.maxReadStatePaths) throw new CapsaError('LIMIT_EXCEEDED', `read_state: more than ${limits.maxReadStatePaths} paths`)
  let rid: Uint8Array | undefined
  for (const p of paths) {
    if (p.length > limits.maxReadStatePathLabels) throw new CapsaError('LIMIT_EXCEEDED', `read_state: a path has more than ${limits.maxReadStatePathLabels} labels`)
    if (p.length === 0) forbidden(p, 'the empty path would reveal the whole tree')
    const head = text(p[0])
    const n = p.length
    if (head === 'time' && n === 1) continue
    if (head === 'api_boundary_nodes' && (n <= 2 || (n === 3 && BOUNDARY_FIELDS.includes(text(p[2]))))) continue
    if (head === 'subnet') {
      if (n <= 2) continue
      const f = text(p[2])
      if (n === 3 && SUBNET_FIELDS.includes(f)) continue
      if (f === 'node' && (n === 4 || (n === 5 && text(p[4]) === 'public_key'))) continue
      forbidden(p, 'not a requestable subnet path (metrics need the subnet endpoint)')
    }
    if (head === 'request_status' && n >= 2 && (n === 2 || (n === 3 && REQUEST_STATUS_FIELDS.includes(text(p[2]))))) {
      if (rid && !bytesEqual(rid, p[1])) forbidden(p, 'all request_status paths must name the same request id')
      rid = p[1]
      const origin = ctx.requestOrigin(p[1])
      if (origin && !(bytesEqual(origin.sender, ctx.sender) && bytesEqual(origin.effectiveCanisterId, ctx.effectiveCanisterId))) {
        forbidden(p, 'only the original sender may read a request status, through the same effective canister id')
      }
      continue
    }
    if (head === 'canister' && n >= 3) {
      if (!bytesEqual(p[1], ctx.effectiveCanisterId)) forbidden(p, 'canister paths must name the effective canister id')
      const f = text(p[2])
      if (n === 3 && CANISTER_FIELDS.includes(f)) continue
      if (f === 'metadata' && n === 4) {
        let name: string
        try {
          name = new TextDecoder('utf-8', { fatal: true }).decode(p[3])
        } catch {
          forbidden(p, 'metadata name must be UTF-8')
        }
        const c = ctx.canister(p[1])
        if (c?.privateMetadata.has(name) && !c.controllers.some((x) => bytesEqual(x, ctx.sender))) {
          forbidden(p, 'private metadata is readable by controllers only')
        }
        continue
      }
      forbidden(p, f === 'certified_data' ? 'certified_data is only exposed to the canister itself' : 'not a requestable canister path')
    }
    forbidden(p, 'not a requestable path')
  }
}
