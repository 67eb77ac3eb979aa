// Bridges execution's canister state to the generic snapshot the checkpoint layer stores, and to the
// certified tree's /canister entries. Only page maps and tree-visible fields for now: the rest of a
// CanisterState (queues, call contexts, globals) becomes blobs once execution fixes its encoding.

import type { CanisterState } from '../execution/canister-state.ts'
import { PageMap } from '../execution/page-map.ts'
import type { PageMapSnapshot } from './manifest.ts'
import type { CanisterTreeInfo } from './state-tree.ts'

const WASM_PAGE_4K = 16 // one 64 KiB Wasm page = 16 page-map pages

/** A committed page map as a snapshot; `pageCount` is the memory's size in 4 KiB pages. */
export function pageMapSnapshot(pm: PageMap, pageCount?: number): PageMapSnapshot {
  const pages = new Map<number, Uint8Array>()
  for (const i of pm.committedPages()) pages.set(i, pm.readCommitted(i))
  let top = 0
  for (const i of pages.keys()) if (i + 1 > top) top = i + 1
  return { pageCount: Math.max(pageCount ?? 0, top), pages }
}

/** Rebuilds a page map from a loaded snapshot (zero pages inside chunks are dropped by the map). */
export function pageMapFromSnapshot(s: PageMapSnapshot): PageMap {
  return PageMap.fromExport({ pages: [...s.pages.entries()].sort((a, b) => a[0] - b[0]) })
}

/** Named page maps of one canister, as checkpoint file names use them. */
export function canisterPageMaps(c: CanisterState, name: string): [string, PageMapSnapshot][] {
  return [
    [`canister/${name}/heap`, pageMapSnapshot(c.heap, c.heapWasmPages * WASM_PAGE_4K)],
    [`canister/${name}/stable`, pageMapSnapshot(c.stable, Number(c.stableWasmPages) * WASM_PAGE_4K)],
  ]
}

/** What /canister/<id> certifies: module hash (absent when empty), controllers, and metadata. */
export function canisterTreeInfo(c: CanisterState, metadata?: ReadonlyMap<string, Uint8Array>): CanisterTreeInfo {
  return { moduleHash: c.module?.hash, controllers: c.settings.controllers, metadata }
}
