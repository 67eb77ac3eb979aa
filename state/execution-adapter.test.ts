import { describe, expect, it } from 'vitest'
import { newCanisterState } from '../execution/canister-state.ts'
import { PageMap } from '../execution/page-map.ts'
import { canisterIdFromIndex } from '../protocol/principal.ts'
import { toHex } from '../protocol/hash.ts'
import { MemoryKvStore } from '../sim/kv/memory.ts'
import { CheckpointStore } from './checkpoint.ts'
import { canisterPageMaps, canisterTreeInfo, pageMapFromSnapshot } from './execution-adapter.ts'

describe('execution adapter', () => {
  it('checkpoints a canister page map and restores the same content hash', async () => {
    const c = newCanisterState(canisterIdFromIndex(3), [Uint8Array.of(4)])
    c.heap.writeBytes(70_000, new TextEncoder().encode('hello heap'))
    c.heap.commit()
    c.heapWasmPages = 2
    const store = new CheckpointStore(new MemoryKvStore())
    await store.write({ height: 5n, pageMaps: new Map(canisterPageMaps(c, '3')), blobs: new Map() })
    const { snapshot } = (await store.load())!
    const heap = pageMapFromSnapshot(snapshot.pageMaps.get('canister/3/heap')!)
    expect(snapshot.pageMaps.get('canister/3/heap')!.pageCount).toBe(32)
    expect(toHex(heap.hash())).toBe(toHex(c.heap.hash()))
    expect(heap instanceof PageMap).toBe(true)
    expect(canisterTreeInfo(c).moduleHash).toBeUndefined()
  })
})
