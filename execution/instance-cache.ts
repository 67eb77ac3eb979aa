// Bounded cache of live instances. Each canister's LiveInstance (its WebAssembly.Memory, the
// instrumentation's dirty-page memory, compiled code state) is a cache of the committed state
// (module, heap page map, globals): it can be dropped between messages and rebuilt from the page
// maps on next use (LiveInstance.restore). V8 reserves about 10 GiB of address space per memory
// (stack-notes (j)), so a process holds at most a few thousand; the cache keeps the most recently
// used ones within a count and a byte bound and evicts the least recently used first.
//
// Eviction never changes a replicated result, only the time the next message takes. The order is
// deterministic anyway: recency is a use sequence number (the order in which execution uses
// instances), never a clock, so the same workload evicts the same instances on every run.

import type { LiveInstance } from './instance.ts'

export interface InstanceCacheConfig {
  /** Most live instances kept (at least 1). */
  maxInstances: number
  /** Most bytes of Wasm memory kept live: heaps plus dirty-page maps, each as last measured. */
  maxBytes: number
}

const GiB = 1024 * 1024 * 1024

/** About 2,000 memories (heap + dirty-page map each), ~20 TiB of the ~128 TiB a process can reserve,
 *  so several subnets' nodes fit in one simulation process. */
export const DEFAULT_INSTANCE_CACHE_CONFIG: Readonly<InstanceCacheConfig> = { maxInstances: 1000, maxBytes: 16 * GiB }

export interface InstanceCacheStats {
  instances: number
  bytes: number
  /** Largest instance count after any use settled (eviction done); ≤ maxInstances unless pinned. */
  peakInstances: number
  peakBytes: number
  evictions: number
  rebuilds: number
}

interface Entry {
  /** Use sequence number of the last use. */
  lastUse: bigint
  bytes: number
  live: LiveInstance
}

export class InstanceCache {
  #config: InstanceCacheConfig
  /** Entries in recency order, least recently used first (a use deletes and re-inserts). */
  readonly #entries = new Map<InstanceSlot, Entry>()
  #sequence = 0n
  #bytes = 0
  /** The slot used last: it may have grown since it was measured, because it ran after that. */
  #last: InstanceSlot | undefined
  #peakInstances = 0
  #peakBytes = 0
  #evictions = 0
  #rebuilds = 0

  constructor(config: Partial<InstanceCacheConfig> = {}) {
    this.#config = checked({ ...DEFAULT_INSTANCE_CACHE_CONFIG, ...config })
  }

  get config(): Readonly<InstanceCacheConfig> {
    return this.#config
  }

  /** Changes the bounds; evicts at once what no longer fits. */
  configure(config: Partial<InstanceCacheConfig>): void {
    this.#config = checked({ ...this.#config, ...config })
    this.#refresh(this.#last)
    this.#evict(undefined)
  }

  stats(): InstanceCacheStats {
    return {
      instances: this.#entries.size, bytes: this.#bytes, peakInstances: this.#peakInstances, peakBytes: this.#peakBytes,
      evictions: this.#evictions, rebuilds: this.#rebuilds,
    }
  }

  /** Use sequence number of `slot`'s last use, undefined when it holds no instance. */
  lastUse(slot: InstanceSlot): bigint | undefined {
    return this.#entries.get(slot)?.lastUse
  }

  /** The owners of the live instances, least recently used first. */
  owners(): unknown[] {
    return [...this.#entries.keys()].map((slot) => slot.owner)
  }

  /** Records a use of `slot`'s instance `live`, then evicts others (never `slot`) beyond the bounds. */
  use(slot: InstanceSlot, live: LiveInstance): void {
    if (this.#last !== slot) this.#refresh(this.#last)
    const old = this.#entries.get(slot)
    if (old !== undefined) {
      this.#entries.delete(slot)
      this.#bytes -= old.bytes
    }
    const bytes = live.liveBytes()
    this.#entries.set(slot, { lastUse: ++this.#sequence, bytes, live })
    this.#bytes += bytes
    this.#last = slot
    this.#evict(slot)
  }

  /** Forgets `slot` (its instance was dropped or replaced by nothing). */
  remove(slot: InstanceSlot): void {
    const e = this.#entries.get(slot)
    if (e === undefined) return
    this.#entries.delete(slot)
    this.#bytes -= e.bytes
    if (this.#last === slot) this.#last = undefined
  }

  noteRebuild(): void {
    this.#rebuilds++
  }

  #refresh(slot: InstanceSlot | undefined): void {
    const e = slot === undefined ? undefined : this.#entries.get(slot)
    if (e === undefined) return
    const bytes = e.live.liveBytes()
    this.#bytes += bytes - e.bytes
    e.bytes = bytes
  }

  #evict(keep: InstanceSlot | undefined): void {
    const { maxInstances, maxBytes } = this.#config
    for (const [slot, e] of this.#entries) {
      if (this.#entries.size <= maxInstances && this.#bytes <= maxBytes) break
      // The instance in use, and one whose owner keeps uncommitted writes in it (a composite query
      // session), must stay.
      if (slot === keep || slot.pinned()) continue
      this.#entries.delete(slot)
      this.#bytes -= e.bytes
      if (this.#last === slot) this.#last = undefined
      this.#evictions++
      slot.drop(e.live)
    }
    this.#peakInstances = Math.max(this.#peakInstances, this.#entries.size)
    this.#peakBytes = Math.max(this.#peakBytes, this.#bytes)
  }
}

function checked(c: InstanceCacheConfig): InstanceCacheConfig {
  if (!Number.isSafeInteger(c.maxInstances) || c.maxInstances < 1) throw new RangeError(`instance cache: maxInstances must be a positive integer, got ${c.maxInstances}`)
  if (!(c.maxBytes >= 0)) throw new RangeError(`instance cache: maxBytes must be a non-negative number, got ${c.maxBytes}`)
  return c
}

/** The process-wide cache: address space is a per-process resource, shared by every subnet state
 *  in the process unless a state brings its own (RuntimeOptions.instanceCache). */
export const sharedInstanceCache = new InstanceCache()

/**
 * One canister's hold on its live instance. `get` rebuilds an evicted instance (from the committed
 * state, through `rebuild`) and counts as a use; the cache may drop the instance between uses,
 * except while `pinned` says the owner keeps uncommitted writes in it.
 */
export interface InstanceSlotOptions {
  /** Builds the instance from the committed state; undefined when there is nothing to run. */
  rebuild: () => LiveInstance | undefined
  /** True while the instance holds writes that exist nowhere else: it must not be evicted then. */
  pinned?: () => boolean
  /** Whatever the slot belongs to (InstanceCache.owners lists it). */
  owner?: unknown
}

export class InstanceSlot {
  readonly cache: InstanceCache
  readonly owner: unknown
  readonly #rebuild: () => LiveInstance | undefined
  readonly #pinned: () => boolean
  #live: LiveInstance | undefined

  constructor(cache: InstanceCache, options: InstanceSlotOptions) {
    this.cache = cache
    this.owner = options.owner
    this.#rebuild = options.rebuild
    this.#pinned = options.pinned ?? (() => false)
  }

  /** The live instance, rebuilt if it was evicted; undefined when there is nothing to run. */
  get(): LiveInstance | undefined {
    let live = this.#live
    if (live === undefined) {
      live = this.#rebuild()
      if (live === undefined) return undefined
      this.#live = live
      this.cache.noteRebuild()
    }
    this.cache.use(this, live)
    return live
  }

  /** Installs `live` (or none) as this slot's instance; a new instance counts as a use. */
  set(live: LiveInstance | undefined): void {
    this.#live = live
    if (live === undefined) this.cache.remove(this)
    else this.cache.use(this, live)
  }

  /** The instance if it is live, without rebuilding or counting a use. */
  peek(): LiveInstance | undefined {
    return this.#live
  }

  pinned(): boolean {
    return this.#pinned()
  }

  /** Called by the cache: forgets `live` unless the slot holds another instance by now. */
  drop(live: LiveInstance): void {
    if (this.#live === live) this.#live = undefined
  }
}
