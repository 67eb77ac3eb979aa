import { describe, expect, it } from 'vitest'
import { IDL } from '@dfinity/candid'
import type { CanisterId } from '../protocol/ids.ts'
import { appendLog, newCanisterState } from './canister-state.ts'
import type { CanisterState } from './canister-state.ts'
import { CanisterRuntime } from './execute.ts'
import type { ExecutionResult } from './execute.ts'
import { PageMap } from './page-map.ts'
import { testCanisterWat, wat } from './test-canister.ts'
import { compileMotoko, MOTOKO_COUNTER as COUNTER } from '../sim/motoko.ts'
import { limits } from '../protocol/limits.ts'

const ID = new Uint8Array([0, 0, 0, 0, 0, 0, 0, 1, 1, 1]) as CanisterId
const EMPTY_ARGS = new Uint8Array([0x44, 0x49, 0x44, 0x4c, 0, 0])
// Same source as motoko.test.ts, so the compiled module is shared through the cache. Between
// upgrades `n` lives in the heap in both persistence modes, so only restored heap pages bring it back.

/** What state/ would write to disk and read back: page maps through their export, the rest as data. */
function roundTrip(s: CanisterState): CanisterState {
  return {
    ...structuredClone({ ...s, heap: undefined, stable: undefined }),
    heap: PageMap.fromExport(s.heap.export()),
    stable: PageMap.fromExport(s.stable.export()),
  } as CanisterState
}

function nat(r: ExecutionResult): bigint {
  expect(r.error).toBeUndefined()
  return IDL.decode([IDL.Nat], (r.response as { bytes: Uint8Array }).bytes)[0] as bigint
}

describe.each(['classic', 'eop'] as const)('a Motoko canister reloaded from persisted state (%s)', (mode) => {
  it('continues where it left off, heap and globals included', () => {
    const { wasm } = compileMotoko(COUNTER, mode)
    const rt = new CanisterRuntime(newCanisterState(ID, []))
    let time = 1_700_000_000_000_000_000n
    const input = () => ({ time: (time += 1_000_000n), argData: EMPTY_ARGS })
    expect(rt.install(wasm, input()).error).toBeUndefined()
    const inc = (r: CanisterRuntime) => nat(r.execute({ kind: 'update', method: 'inc' }, input()))
    expect([inc(rt), inc(rt)]).toEqual([1n, 2n])
    const loaded = CanisterRuntime.load(roundTrip(rt.state))
    expect(loaded.state.heap.hash()).toEqual(rt.state.heap.hash())
    expect(nat(loaded.execute({ kind: 'query', method: 'get', replicated: false }, input()))).toBe(2n)
    expect(inc(loaded)).toBe(3n)
  })
})

describe('reinstall and uninstall', () => {
  it('reinstall wipes heap and stable memory; a failing reinstall keeps everything', async () => {
    const bytes = await wat(testCanisterWat())
    const rt = new CanisterRuntime(newCanisterState(ID, []))
    rt.install(bytes, { time: 1n })
    rt.execute({ kind: 'update', method: 'bump' }, { time: 2n })
    const heap = rt.state.heap.hash()
    const failing = await wat(`(module (memory 1) (func (export "canister_init") unreachable))`)
    expect(rt.reinstall(failing, { time: 3n }).error?.message).toBe('Canister trapped: unreachable')
    expect(rt.state.heap.hash()).toEqual(heap)
    expect(rt.state.stableWasmPages).toBe(1n)
    expect(rt.execute({ kind: 'update', method: 'bump' }, { time: 4n }).error).toBeUndefined()
    expect(rt.reinstall(bytes, { time: 5n }).error).toBeUndefined()
    expect(rt.state.stableWasmPages).toBe(0n)
    expect(rt.state.stable.committedPageCount).toBe(0)
    const r = rt.execute({ kind: 'query', method: 'report', replicated: false }, { time: 6n })
    expect(r.response?.kind === 'reply' && [...r.response.bytes.slice(0, 4)]).toEqual([0, 0, 0, 0])
  })

  it('uninstall leaves an empty canister that rejects messages with IC0537', async () => {
    const rt = new CanisterRuntime(newCanisterState(ID, []))
    rt.install(await wat(testCanisterWat()), { time: 1n })
    rt.execute({ kind: 'update', method: 'bump' }, { time: 2n })
    rt.uninstall()
    expect(rt.state.heap.committedPageCount).toBe(0)
    expect(rt.state.stable.committedPageCount).toBe(0)
    expect(rt.execute({ kind: 'update', method: 'bump' }, { time: 3n }).error?.errorCode).toBe('IC0537')
  })
})

describe('canister log', () => {
  it('is a ring bounded by bytes, oldest records dropped first, indices kept increasing', () => {
    const s = newCanisterState(ID, [])
    const chunk = new Uint8Array(limits.maxCanisterLogBytes / 4)
    for (let i = 0; i < 10; i++) appendLog(s.log, BigInt(i), chunk)
    expect(s.log.records.map((r) => r.idx)).toEqual([6n, 7n, 8n, 9n])
    expect(s.log.bytes).toBeLessThanOrEqual(limits.maxCanisterLogBytes)
    appendLog(s.log, 11n, new Uint8Array(limits.maxCanisterLogBytes * 2))
    expect(s.log.records.map((r) => r.idx)).toEqual([10n])
  })
})

describe('global timer', () => {
  it('is deactivated when it fires, even if the handler traps; the handler may set it again', async () => {
    const bytes = await wat(`(module
      (import "ic0" "global_timer_set" (func $set (param i64) (result i64)))
      (memory 1)
      (func (export "canister_init") (drop (call $set (i64.const 50))))
      (func (export "canister_update arm") (i32.store (i32.const 0) (i32.const 1)) (drop (call $set (i64.const 60))))
      (func (export "canister_global_timer")
        (if (i32.eqz (i32.load (i32.const 0))) (then unreachable))
        (drop (call $set (i64.const 99)))))`)
    const rt = new CanisterRuntime(newCanisterState(ID, []))
    expect(rt.install(bytes, { time: 1n }).error).toBeUndefined()
    expect(rt.state.globalTimer).toBe(50n)
    expect(rt.execute({ kind: 'global_timer' }, { time: 51n }).error?.message).toBe('Canister trapped: unreachable')
    expect(rt.state.globalTimer).toBe(0n)
    rt.execute({ kind: 'update', method: 'arm' }, { time: 52n })
    expect(rt.state.globalTimer).toBe(60n)
    expect(rt.execute({ kind: 'global_timer' }, { time: 61n }).error).toBeUndefined()
    expect(rt.state.globalTimer).toBe(99n)
  })
})

describe('modules that do not export their memory or table', () => {
  it.each([true, false])('still persist and roll back the heap (instrumented = %s)', async (instrument) => {
    const bytes = await wat(`(module
      (import "ic0" "msg_reply_data_append" (func $append (param i32 i32)))
      (import "ic0" "msg_reply" (func $reply))
      (memory 2)
      (func (export "canister_update bump")
        (i32.store (i32.const 70000) (i32.add (i32.load (i32.const 70000)) (i32.const 1)))
        (call $append (i32.const 70000) (i32.const 4)) (call $reply))
      (func (export "canister_update bump_then_trap")
        (i32.store (i32.const 70000) (i32.add (i32.load (i32.const 70000)) (i32.const 1))) unreachable))`)
    const rt = new CanisterRuntime(newCanisterState(ID, []), { instrument })
    expect(rt.install(bytes, { time: 1n }).error).toBeUndefined()
    const bump = () => rt.execute({ kind: 'update', method: 'bump' }, { time: 2n })
    const first = bump()
    expect(first.dirtyHeapPages).toBe(1)
    expect(rt.state.heap.committedPages()).toEqual([17])
    expect(rt.execute({ kind: 'update', method: 'bump_then_trap' }, { time: 3n }).error?.errorCode).toBe('IC0502')
    const again = bump()
    expect(again.response?.kind === 'reply' && [...again.response.bytes]).toEqual([2, 0, 0, 0])
    // a reload from the committed pages sees the same counter
    const loaded = CanisterRuntime.load(roundTrip(rt.state), { instrument })
    const third = loaded.execute({ kind: 'update', method: 'bump' }, { time: 4n })
    expect(third.response?.kind === 'reply' && [...third.response.bytes]).toEqual([3, 0, 0, 0])
  })
})

describe('gzipped modules', () => {
  it('are decompressed before instantiation; the module hash is of the bytes as installed', async () => {
    const { gzipSync, createHash } = { ...(await import('node:zlib')), ...(await import('node:crypto')) }
    const gz = new Uint8Array(gzipSync(await wat(testCanisterWat())))
    const rt = new CanisterRuntime(newCanisterState(ID, []))
    expect(rt.install(gz, { time: 1n }).error).toBeUndefined()
    expect(Buffer.from(rt.state.module!.hash).toString('hex')).toBe(createHash('sha256').update(gz).digest('hex'))
    expect(rt.execute({ kind: 'update', method: 'bump' }, { time: 2n }).response?.kind).toBe('reply')
  })
})

describe('composite query sessions', () => {
  it("callbacks see the method's writes; nothing survives the session", async () => {
    const bytes = await wat(`(module
      (import "ic0" "call_new" (func $call_new (param i32 i32 i32 i32 i32 i32 i32 i32)))
      (import "ic0" "call_perform" (func $call_perform (result i32)))
      (import "ic0" "msg_reply_data_append" (func $append (param i32 i32)))
      (import "ic0" "msg_reply" (func $reply))
      (memory 1)
      (table 1 funcref)
      (elem (i32.const 0) $cb)
      (func $cb (param i32) (call $append (i32.const 500) (i32.const 4)) (call $reply))
      (func (export "canister_composite_query cq")
        (i32.store (i32.const 500) (i32.const 7))
        (call $call_new (i32.const 0) (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 0))
        (drop (call $call_perform)))
      (func (export "canister_query read") (call $append (i32.const 500) (i32.const 4)) (call $reply)))`)
    const rt = new CanisterRuntime(newCanisterState(ID, []))
    expect(rt.install(bytes, { time: 1n }).error).toBeUndefined()
    const value = (r: ExecutionResult) => (r.response?.kind === 'reply' ? r.response.bytes[0] : -1)
    const before = rt.state.heap.hash()
    rt.beginQuerySession()
    const first = rt.execute({ kind: 'composite_query', method: 'cq' }, { time: 2n })
    expect(first.calls).toHaveLength(1)
    const cb = rt.execute({ kind: 'reply_callback', callback: first.calls[0].reply, composite: true }, { time: 2n })
    expect(value(cb)).toBe(7)
    rt.endQuerySession()
    expect(value(rt.execute({ kind: 'query', method: 'read', replicated: false }, { time: 3n }))).toBe(0)
    expect(rt.state.heap.hash()).toEqual(before)
    // without a session the callback would have seen the committed heap
    const again = rt.execute({ kind: 'composite_query', method: 'cq' }, { time: 4n })
    expect(value(rt.execute({ kind: 'reply_callback', callback: again.calls[0].reply, composite: true }, { time: 4n }))).toBe(0)
  })
})
