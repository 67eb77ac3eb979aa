// The certified state tree of a subnet, kept up to date round by round. After `executeRound`, the
// node hands the round's result here; `commit` applies what changed (time, request statuses, the
// canisters whose certified fields changed, ingress history phase changes) to a persistent tree, so a
// round that touches k entries costs O(k log n) hashing, and every height's tree stays readable for
// witnesses while later rounds build new versions beside it.

import type { ModuleMetadata } from '../execution/module-seam.ts'
import { moduleMetadata } from '../execution/module-seam.ts'
import type { ReplicatedState } from '../execution/replicated-state.ts'
import type { RoundResult } from '../execution/scheduler.ts'
import { fromHex, toHex } from '../protocol/hash.ts'
import { IngressHistory } from './ingress-history.ts'
import { removeCanister, setCanister, setSubnet, setTime } from './state-tree.ts'
import type { SubnetTreeInfo } from './state-tree.ts'
import { EMPTY_MAP, lookupValue, setLeaf } from './tree.ts'
import type { MapNode, Path } from './tree.ts'

/**
 * Where a CUP height's tree certifies the manifest hash of that height's checkpoint, so a node that
 * state-syncs to a CUP can verify the checkpoint it fetches against the CUP's state hash alone. Not an
 * IC path: read_state refuses it, clients never see it.
 */
export const CHECKPOINT_MANIFEST_PATH: Path = [new TextEncoder().encode('capsa'), new TextEncoder().encode('checkpoint_manifest')]

export interface CertifiedStateOptions {
  /** Every subnet of the network, as /subnet/<id> certifies it (sorted or not: the tree orders labels). */
  subnets: readonly { id: Uint8Array; info: SubnetTreeInfo }[]
  /** The history to continue from (restart); a new one otherwise. */
  history?: IngressHistory
}

/** What read_state's access rules need about one canister. */
export interface CanisterAccess {
  controllers: readonly Uint8Array[]
  privateMetadata: ReadonlySet<string>
}

interface CanisterEntry {
  fingerprint: string
  access: CanisterAccess
}

// Module metadata is parsed once per module hash: modules are large and rounds are many.
const METADATA_CACHE_LIMIT = 64

export class CertifiedState {
  tree: MapNode
  readonly history: IngressHistory
  readonly #canisters = new Map<string, CanisterEntry>()
  readonly #metadata = new Map<string, ModuleMetadata>()

  constructor(opts: CertifiedStateOptions) {
    this.history = opts.history ?? new IngressHistory()
    let tree = EMPTY_MAP
    for (const s of opts.subnets) tree = setSubnet(tree, s.id, s.info)
    this.tree = this.history.applyAll(tree)
  }

  /** Applies a round's changes; returns the tree of the height (its hash is the state hash). */
  commit(state: ReplicatedState, result: RoundResult): MapNode {
    let tree = setTime(this.tree, state.time)
    for (const s of result.ingressStatuses) tree = this.history.set(tree, s, state.time)
    tree = this.history.prune(tree, state.time)
    this.tree = this.syncCanisters(tree, state)
    return this.tree
  }

  /** Rebuilds /canister from scratch-equivalent state (after a restart or state sync) and sets /time. */
  load(state: ReplicatedState): MapNode {
    this.tree = this.syncCanisters(setTime(this.tree, state.time), state)
    return this.tree
  }

  /** Certifies the manifest hash of the checkpoint taken at this height. */
  setCheckpointManifest(hash: Uint8Array): MapNode {
    this.tree = setLeaf(this.tree, CHECKPOINT_MANIFEST_PATH, hash)
    return this.tree
  }

  static checkpointManifestOf(tree: MapNode): Uint8Array | undefined {
    return lookupValue(tree, CHECKPOINT_MANIFEST_PATH)
  }

  canisterAccess(id: Uint8Array): CanisterAccess | undefined {
    return this.#canisters.get(toHex(id))?.access
  }

  // The fingerprint covers every certified field, so an unchanged canister costs a string compare.
  private syncCanisters(tree: MapNode, state: ReplicatedState): MapNode {
    for (const [key, rt] of state.canisters) {
      const c = rt.state
      const moduleHash = c.module === undefined ? '' : toHex(c.module.hash)
      const fingerprint = `${moduleHash}|${c.settings.controllers.map(toHex).join(',')}|${toHex(c.certifiedData)}`
      if (this.#canisters.get(key)?.fingerprint === fingerprint) continue
      const meta = c.module === undefined ? undefined : this.metadataOf(moduleHash, c.module.bytes)
      tree = setCanister(tree, c.id, { moduleHash: c.module?.hash, controllers: c.settings.controllers, metadata: meta?.sections, certifiedData: c.certifiedData })
      this.#canisters.set(key, { fingerprint, access: { controllers: c.settings.controllers.slice(), privateMetadata: meta?.private ?? new Set() } })
    }
    if (this.#canisters.size > state.canisters.size) {
      for (const key of [...this.#canisters.keys()]) {
        if (state.canisters.has(key)) continue
        this.#canisters.delete(key)
        tree = removeCanister(tree, fromHex(key))
      }
    }
    return tree
  }

  private metadataOf(hashHex: string, bytes: Uint8Array): ModuleMetadata {
    let m = this.#metadata.get(hashHex)
    if (m === undefined) {
      m = moduleMetadata(bytes)
      if (this.#metadata.size >= METADATA_CACHE_LIMIT) this.#metadata.delete(this.#metadata.keys().next().value!)
      this.#metadata.set(hashHex, m)
    }
    return m
  }
}
