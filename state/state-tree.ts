// The IC's paths in the certified state tree and their leaf encodings (ic-compat §8): naturals as
// unsigned LEB128, text as UTF-8, principal lists and canister ranges as self-described CBOR arrays.

import { encodeCbor } from '../protocol/cbor.ts'
import { encodeCanisterRanges } from '../protocol/certificate.ts'
import { encodeUleb128 } from '../protocol/leb128.ts'
import type { CanisterRange } from '../protocol/principal.ts'
import { EMPTY_MAP, deletePath, setLeaf, setNode } from './tree.ts'
import type { Label, MapNode } from './tree.ts'

const utf8 = (s: string): Uint8Array => new TextEncoder().encode(s)

export const LABEL = {
  time: utf8('time'),
  requestStatus: utf8('request_status'),
  status: utf8('status'),
  reply: utf8('reply'),
  rejectCode: utf8('reject_code'),
  rejectMessage: utf8('reject_message'),
  errorCode: utf8('error_code'),
  canister: utf8('canister'),
  moduleHash: utf8('module_hash'),
  controllers: utf8('controllers'),
  metadata: utf8('metadata'),
  certifiedData: utf8('certified_data'),
  subnet: utf8('subnet'),
  publicKey: utf8('public_key'),
  canisterRanges: utf8('canister_ranges'),
  node: utf8('node'),
  type: utf8('type'),
} as const

export type RequestStatus =
  | { status: 'received' | 'processing' | 'done' }
  | { status: 'replied'; reply: Uint8Array }
  | { status: 'rejected'; rejectCode: number; rejectMessage: string; errorCode?: string }

export interface CanisterTreeInfo {
  /** SHA-256 of the installed module; absent for an empty canister. */
  moduleHash?: Uint8Array
  controllers: readonly Uint8Array[]
  /** Custom section name (without the `icp:public `/`icp:private ` prefix) → content. */
  metadata?: ReadonlyMap<string, Uint8Array>
  /** What the canister set with ic0.certified_data_set (the IC certifies it from creation on, empty at first). */
  certifiedData?: Uint8Array
}

export interface SubnetTreeInfo {
  publicKeyDer: Uint8Array
  canisterRanges: readonly CanisterRange[]
  /** Node id → 44-byte Ed25519 DER key. */
  nodes: readonly (readonly [Uint8Array, Uint8Array])[]
  type?: 'application' | 'system' | 'verified_application' | 'cloud_engine'
}

export const encodeNat = (n: bigint | number): Uint8Array => encodeUleb128(n)
export const encodeControllers = (cs: readonly Uint8Array[]): Uint8Array => encodeCbor(cs.slice())
export { encodeCanisterRanges }

export function setTime(root: MapNode, timeNs: bigint): MapNode {
  return setLeaf(root, [LABEL.time], encodeNat(timeNs))
}

export function requestStatusNode(s: RequestStatus): MapNode {
  let m = setLeaf(EMPTY_MAP, [LABEL.status], utf8(s.status))
  if (s.status === 'replied') m = setLeaf(m, [LABEL.reply], s.reply)
  if (s.status === 'rejected') {
    m = setLeaf(m, [LABEL.rejectCode], encodeNat(s.rejectCode))
    m = setLeaf(m, [LABEL.rejectMessage], utf8(s.rejectMessage))
    if (s.errorCode !== undefined) m = setLeaf(m, [LABEL.errorCode], utf8(s.errorCode))
  }
  return m
}
export function setRequestStatus(root: MapNode, rid: Uint8Array, s: RequestStatus): MapNode {
  return setNode(root, [LABEL.requestStatus, rid], requestStatusNode(s))
}
export function removeRequestStatus(root: MapNode, rid: Uint8Array): MapNode {
  return deletePath(root, [LABEL.requestStatus, rid])
}

export function canisterNode(info: CanisterTreeInfo): MapNode {
  let m = setLeaf(EMPTY_MAP, [LABEL.controllers], encodeControllers(info.controllers))
  if (info.moduleHash) m = setLeaf(m, [LABEL.moduleHash], info.moduleHash)
  if (info.certifiedData) m = setLeaf(m, [LABEL.certifiedData], info.certifiedData)
  for (const [name, content] of info.metadata ?? []) m = setLeaf(m, [LABEL.metadata, utf8(name)], content)
  return m
}
export function setCanister(root: MapNode, cid: Uint8Array, info: CanisterTreeInfo): MapNode {
  return setNode(root, [LABEL.canister, cid], canisterNode(info))
}
export function removeCanister(root: MapNode, cid: Uint8Array): MapNode {
  return deletePath(root, [LABEL.canister, cid])
}

export function subnetNode(info: SubnetTreeInfo): MapNode {
  let m = setLeaf(EMPTY_MAP, [LABEL.publicKey], info.publicKeyDer)
  m = setLeaf(m, [LABEL.canisterRanges], encodeCanisterRanges(info.canisterRanges))
  if (info.type) m = setLeaf(m, [LABEL.type], utf8(info.type))
  for (const [nid, key] of info.nodes) m = setLeaf(m, [LABEL.node, nid, LABEL.publicKey], key)
  return m
}
export function setSubnet(root: MapNode, sid: Uint8Array, info: SubnetTreeInfo): MapNode {
  return setNode(root, [LABEL.subnet, sid], subnetNode(info))
}

export type { Label }
