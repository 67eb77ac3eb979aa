// Live instances are a cache: evicting them (instance-cache.ts) must change no reply and no state
// hash, only time; the cache stays within its bounds and evicts in a deterministic order.

import { describe, expect, it } from 'vitest'
import { decodeCandid, encodeCandid } from '../protocol/candid.ts'
import { toHex } from '../protocol/hash.ts'
import { cycles } from '../protocol/ids.ts'
import type { CanisterId } from '../protocol/ids.ts'
import { subnetCanisterRange } from '../protocol/principal.ts'
import type { IngressMessage } from '../protocol/consensus-types.ts'
import { buildManifest, encodeManifest, manifestHash } from '../state/manifest.ts'
import { snapshotReplicatedState } from '../state/replicated-snapshot.ts'
import { newCanisterState } from './canister-state.ts'
import { CanisterRuntime } from './execute.ts'
import { InstanceCache } from './instance-cache.ts'
import { ManagementTypes as T } from './management/index.ts'
import { executeQuery } from './query.ts'
import { newReplicatedState } from './replicated-state.ts'
import type { IngressStatus } from './replicated-state.ts'
import { anonymousIngress, principal, replyBytes, RoundDriver, SUBNET_ID } from './scheduler-testing.ts'
import { wat } from './test-canister.ts'

// `inc` changes the heap (a counter, one 8-byte write on a page that moves with the counter, a grow
// every third call up to the 4-page maximum), an i64 and an f64 global and stable memory, then
// replies with the counter, the globals and a checksum of the whole heap: a rebuilt instance whose
// heap or globals differ in any byte answers differently.
const COUNTER = `(module
  (import "ic0" "msg_reply" (func $reply))
  (import "ic0" "msg_reply_data_append" (func $append (param i32 i32)))
  (import "ic0" "stable64_size" (func $stable_size (result i64)))
  (import "ic0" "stable64_grow" (func $stable_grow (param i64) (result i64)))
  (import "ic0" "stable64_write" (func $stable_write (param i64 i64 i64)))
  (memory 1 4)
  (global $g (mut i64) (i64.const 5))
  (global $f (mut f64) (f64.const 0.5))
  (data (i32.const 16) "seed")
  (func $checksum (result i64)
    (local $p i32) (local $s i64) (local $end i32)
    (local.set $end (i32.mul (memory.size) (i32.const 65536)))
    (block $done (loop $next
      (br_if $done (i32.ge_u (local.get $p) (local.get $end)))
      (local.set $s (i64.add (i64.rotl (local.get $s) (i64.const 7)) (i64.load (local.get $p))))
      (local.set $p (i32.add (local.get $p) (i32.const 8)))
      (br $next)))
    (local.get $s))
  (func (export "canister_update inc")
    (local $n i32)
    (local.set $n (i32.add (i32.load (i32.const 0)) (i32.const 1)))
    (i32.store (i32.const 0) (local.get $n))
    (global.set $g (i64.add (i64.mul (global.get $g) (i64.const 31)) (i64.extend_i32_u (local.get $n))))
    (global.set $f (f64.add (global.get $f) (f64.const 1.25)))
    (if (i32.eqz (i32.rem_u (local.get $n) (i32.const 3))) (then (drop (memory.grow (i32.const 1)))))
    (i64.store
      (i32.add (i32.const 64) (i32.rem_u (i32.mul (local.get $n) (i32.const 4104)) (i32.sub (i32.mul (memory.size) (i32.const 65536)) (i32.const 72))))
      (global.get $g))
    (if (i64.eqz (call $stable_size)) (then (drop (call $stable_grow (i64.const 1)))))
    (call $stable_write (i64.extend_i32_u (i32.rem_u (i32.mul (local.get $n) (i32.const 8)) (i32.const 65528))) (i64.const 0) (i64.const 4))
    (i64.store (i32.const 32) (global.get $g))
    (f64.store (i32.const 40) (global.get $f))
    (i64.store (i32.const 48) (call $checksum))
    (i32.store (i32.const 56) (local.get $n))
    (call $append (i32.const 32) (i32.const 28))
    (call $reply))
)`

const unbounded = () => new InstanceCache({ maxInstances: Number.MAX_SAFE_INTEGER, maxBytes: Number.POSITIVE_INFINITY })
const digest = (d: RoundDriver): string => toHex(manifestHash(encodeManifest(buildManifest(snapshotReplicatedState(d.state), 16).manifest)))

function driver(cache: InstanceCache): RoundDriver {
  return new RoundDriver(newReplicatedState({ subnetId: SUBNET_ID, canisterRanges: [subnetCanisterRange(0)], runtimeOptions: { instanceCache: cache } }))
}

/** Submits all messages in one batch and runs rounds until each has a final status. */
function settle(d: RoundDriver, msgs: IngressMessage[]): IngressStatus[] {
  d.round(msgs)
  const final = (s: IngressStatus | undefined) => s !== undefined && (s.status === 'replied' || s.status === 'rejected')
  for (let i = 0; i < 50 && !msgs.every((m) => final(d.status(m.id))); i++) d.round()
  return msgs.map((m) => d.status(m.id)!)
}

let nonce = 0
const ingress = (canisterId: Uint8Array, method: string, arg: Uint8Array) => anonymousIngress({ canisterId, method, arg, nonce: nonce++ })

/** Creates and installs `n` COUNTER canisters with batched management calls; their ids. */
function counters(d: RoundDriver, wasm: Uint8Array, n: number, batch = 500): Uint8Array[] {
  const ids: Uint8Array[] = []
  for (let at = 0; at < n; at += batch) {
    const k = Math.min(batch, n - at)
    const create = encodeCandid([T.provisional_create_canister_with_cycles_args], [{ amount: [], settings: [], specified_id: [], sender_canister_version: [] }])
    const created = settle(d, Array.from({ length: k }, () => ingress(new Uint8Array(0), 'provisional_create_canister_with_cycles', create)))
    const batchIds = created.map((s) => (decodeCandid([T.create_canister_result], replyBytes(s))[0] as { canister_id: { toUint8Array(): Uint8Array } }).canister_id.toUint8Array())
    const installs = batchIds.map((id) => ingress(new Uint8Array(0), 'install_code', encodeCandid([T.install_code_args], [{
      mode: { install: null }, canister_id: principal(id), wasm_module: wasm, arg: new Uint8Array(0), sender_canister_version: [],
    }])))
    for (const s of settle(d, installs)) expect(s.status).toBe('replied')
    ids.push(...batchIds)
  }
  return ids
}

/** Calls `inc` on every canister, in batches; the replies as hex. */
function incAll(d: RoundDriver, ids: Uint8Array[], batch = 500): string[] {
  const out: string[] = []
  for (let at = 0; at < ids.length; at += batch) {
    out.push(...settle(d, ids.slice(at, at + batch).map((id) => ingress(id, 'inc', new Uint8Array(0)))).map((s) => toHex(replyBytes(s))))
  }
  return out
}

describe('instance cache', () => {
  it('execute, evict, execute again: the same replies and state hashes as without eviction', async () => {
    const wasm = await wat(COUNTER)
    const runs = [unbounded(), new InstanceCache({ maxInstances: 1 })].map((cache) => {
      nonce = 0
      const d = driver(cache)
      const ids = counters(d, wasm, 3)
      const rounds: { replies: string[]; digest: string }[] = []
      for (let r = 0; r < 8; r++) rounds.push({ replies: incAll(d, r % 2 === 0 ? ids : [...ids].reverse()), digest: digest(d) })
      return { rounds, stats: cache.stats() }
    })
    const [plain, evicting] = runs
    expect(evicting.rounds).toEqual(plain.rounds)
    // The last inc of each canister saw 8 earlier ones, heap grown to the 4-page maximum.
    expect(new DataView(Uint8Array.from(Buffer.from(plain.rounds[7].replies[0], 'hex')).buffer).getUint32(24, true)).toBe(8)
    expect(plain.stats.evictions).toBe(0)
    expect(evicting.stats.evictions).toBeGreaterThan(20)
    expect(evicting.stats.rebuilds).toBeGreaterThan(20)
    expect(evicting.stats.peakInstances).toBe(1)
  })

  it('evicts the least recently used first, by count and by bytes, deterministically', async () => {
    const wasm = await wat(COUNTER)
    const cache = new InstanceCache({ maxInstances: 3 })
    const rts = Array.from({ length: 5 }, (_, i) => {
      const rt = new CanisterRuntime(newCanisterState(new Uint8Array([0, 0, 0, 0, 0, 0, 0, i, 1, 1]) as CanisterId, [], cycles(10n ** 15n)), { instanceCache: cache })
      expect(rt.install(wasm, { time: 1n }).error).toBeUndefined()
      return rt
    })
    const order = () => cache.owners().map((o) => rts.indexOf(o as CanisterRuntime))
    const inc = (i: number) => expect(rts[i].execute({ kind: 'update', method: 'inc' }, { time: 2n }).error).toBeUndefined()
    expect(order()).toEqual([2, 3, 4])
    inc(0)
    expect(order()).toEqual([3, 4, 0])
    inc(3)
    expect(order()).toEqual([4, 0, 3])
    inc(1)
    expect(order()).toEqual([0, 3, 1])
    expect(cache.stats()).toMatchObject({ instances: 3, evictions: 4, rebuilds: 2, peakInstances: 3 })
    // Asking whether a method exists never rebuilds.
    expect(rts[2].hasExport('canister_update inc')).toBe(true)
    expect(order()).toEqual([0, 3, 1])

    // A byte bound of three one-page instances: the heap a canister grows to evicts one more.
    const one = cache.stats().bytes / 3
    expect(Number.isInteger(one)).toBe(true)
    cache.configure({ maxInstances: 10, maxBytes: 3 * one })
    for (const i of [2, 4]) inc(i)
    expect(order()).toEqual([1, 2, 4])
    inc(4)
    inc(4) // third inc grows canister 4's heap by a page; the next use sees it
    inc(2)
    expect(order()).toEqual([4, 2])
    expect(cache.stats().bytes).toBeLessThanOrEqual(3 * one)
    // Uninstalling and removing give the instance back.
    rts[2].uninstall()
    expect(order()).toEqual([4])
  })

  it('keeps a canister in a composite query session live while its callees run', async () => {
    const cache = new InstanceCache({ maxInstances: 1 })
    const d = driver(cache)
    const wasm = await wat(COMPOSITE)
    const [a, b] = counters(d, wasm, 2)
    for (let i = 0; i < 3; i++) settle(d, [ingress(b, 'inc', new Uint8Array(0))])
    const heap = d.state.canisters.get(toHex(a))!.state.heap.hash()
    for (let i = 0; i < 2; i++) {
      const r = executeQuery(d.state, { canisterId: a, method: 'sum2', arg: b, sender: new Uint8Array([4]) }, d.time)
      expect(r.status).toBe('replied')
      expect(new DataView((r as { reply: Uint8Array }).reply.buffer).getUint32(0, true)).toBe(6)
    }
    expect(d.state.canisters.get(toHex(a))!.state.heap.hash()).toEqual(heap)
    expect(cache.stats().peakInstances).toBe(2) // the caller, pinned, and each callee in turn
  })

  it('2,000 canisters with a cache of 50 stay within it and reach the state of an unbounded cache', async () => {
    const wasm = await wat(COUNTER)
    const runs = [unbounded(), new InstanceCache({ maxInstances: 50 })].map((cache) => {
      nonce = 0
      const d = driver(cache)
      const ids = counters(d, wasm, 2000)
      const replies = [...incAll(d, ids), ...incAll(d, [...ids].reverse())]
      return { replies, digest: digest(d), stats: cache.stats() }
    })
    const [plain, bounded] = runs
    expect(bounded.digest).toBe(plain.digest)
    expect(bounded.replies).toEqual(plain.replies)
    expect(plain.stats.instances).toBe(2000)
    expect(bounded.stats.peakInstances).toBeLessThanOrEqual(50)
    expect(bounded.stats.instances).toBeLessThanOrEqual(50)
    expect(bounded.stats.rebuilds).toBeGreaterThanOrEqual(2 * 2000 - 50)
  }, 600_000)
})

// COUNTER's `inc`, plus `read_q` (the counter) and the composite `sum2`: calls read_q on the
// canister given as argument twice and replies with the sum once both answered; the running sum
// and answer count live in the heap (5000, 5004), i.e. only in the session's instance.
const COMPOSITE = `(module
  (import "ic0" "msg_arg_data_size" (func $arg_size (result i32)))
  (import "ic0" "msg_arg_data_copy" (func $arg_copy (param i32 i32 i32)))
  (import "ic0" "msg_reply_data_append" (func $append (param i32 i32)))
  (import "ic0" "msg_reply" (func $reply))
  (import "ic0" "call_new" (func $call_new (param i32 i32 i32 i32 i32 i32 i32 i32)))
  (import "ic0" "call_perform" (func $call_perform (result i32)))
  (memory 1)
  (table 1 funcref)
  (elem (i32.const 0) $on_reply)
  (data (i32.const 3000) "read_q")
  (func (export "canister_update inc")
    (i32.store (i32.const 1000) (i32.add (i32.load (i32.const 1000)) (i32.const 1)))
    (call $append (i32.const 1000) (i32.const 4)) (call $reply))
  (func (export "canister_query read_q") (call $append (i32.const 1000) (i32.const 4)) (call $reply))
  (func $ask
    (call $call_new (i32.const 0) (call $arg_size) (i32.const 3000) (i32.const 6) (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 0))
    (drop (call $call_perform)))
  (func (export "canister_composite_query sum2")
    (call $arg_copy (i32.const 0) (i32.const 0) (call $arg_size))
    (call $ask) (call $ask))
  (func $on_reply (param $env i32)
    (call $arg_copy (i32.const 100) (i32.const 0) (i32.const 4))
    (i32.store (i32.const 5000) (i32.add (i32.load (i32.const 5000)) (i32.load (i32.const 100))))
    (i32.store (i32.const 5004) (i32.add (i32.load (i32.const 5004)) (i32.const 1)))
    (if (i32.eq (i32.load (i32.const 5004)) (i32.const 2))
      (then (call $append (i32.const 5000) (i32.const 4)) (call $reply))))
)`
