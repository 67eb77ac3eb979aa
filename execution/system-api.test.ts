import { describe, expect, it } from 'vitest'
import { cycles } from '../protocol/ids.ts'
import type { CanisterId } from '../protocol/ids.ts'
import { newCanisterState } from './canister-state.ts'
import { CanisterRuntime } from './execute.ts'
import type { EntryPoint, MessageInput } from './execute.ts'
import { testCanisterWat, wat } from './test-canister.ts'
import { APPLICATION_SUBNET_FEES, cyclesConfig } from './cycles.ts'

const ID = new Uint8Array([0, 0, 0, 0, 0, 0, 0, 1, 1, 1]) as CanisterId
const CONTROLLER = new Uint8Array([7, 7, 7])
const USER = new Uint8Array([4])
const enc = new TextEncoder()
const text = (b: Uint8Array | undefined) => new TextDecoder().decode(b)

function u32(b: Uint8Array, at = 0): number {
  return new DataView(b.buffer, b.byteOffset).getUint32(at, true)
}
function u64(b: Uint8Array, at = 0): bigint {
  return new DataView(b.buffer, b.byteOffset).getBigUint64(at, true)
}
function u128(b: Uint8Array, at = 0): bigint {
  return u64(b, at) + (u64(b, at + 8) << 64n)
}

async function freshCanister(memory64: boolean, instrument = true) {
  const state = newCanisterState(ID, [CONTROLLER], cycles(1000))
  const rt = new CanisterRuntime(state, { instrument })
  const r = rt.install(await wat(testCanisterWat(memory64), memory64), { time: 1n, caller: CONTROLLER, argData: enc.encode('abc') })
  expect(r.error).toBeUndefined()
  return rt
}

function run(rt: CanisterRuntime, entry: EntryPoint, input: Partial<MessageInput> = {}) {
  return rt.execute(entry, { time: 1_000n, caller: USER, ...input })
}
const update = (rt: CanisterRuntime, method: string, input: Partial<MessageInput> = {}) => run(rt, { kind: 'update', method }, input)
const query = (rt: CanisterRuntime, method: string) => run(rt, { kind: 'query', method, replicated: false })
const reply = (r: { response?: { kind: string } | undefined }) => {
  expect(r.response?.kind).toBe('reply')
  return (r.response as unknown as { bytes: Uint8Array }).bytes
}

describe.each([
  [false, true],
  [true, true],
  [false, false],
  [true, false],
])('System API (memory64 = %s, instrumented = %s)', (memory64, instrumented) => {
  const fresh = (m: boolean) => freshCanister(m, instrumented)

  it('runs canister_init once with its argument and logs its output', async () => {
    const rt = await fresh(memory64)
    expect(u32(reply(update(rt, 'init_marker')))).toBe(42)
    expect(rt.state.log.records.map((r) => text(r.content))).toEqual(['init ran'])
    expect(rt.state.module?.memory64).toBe(memory64)
  })

  it('copies argument, caller and self, and rejects', async () => {
    const rt = await fresh(memory64)
    expect(text(reply(update(rt, 'echo', { argData: enc.encode('hello') })))).toBe('hello')
    expect(reply(update(rt, 'caller'))).toEqual(USER)
    expect(reply(update(rt, 'self'))).toEqual(ID)
    expect(update(rt, 'reject').response).toEqual({ kind: 'reject', rejectCode: 4, errorCode: 'IC0406', message: 'nope' })
  })

  it('reports time, status, version, replication, deadline, env vars and certificate presence', async () => {
    const rt = await fresh(memory64)
    const before = rt.state.version
    const b = reply(update(rt, 'info', { time: 123_456n }))
    expect(u64(b, 0)).toBe(123_456n)
    expect(u32(b, 8)).toBe(1)
    expect(u64(b, 12)).toBe(before)
    expect(u32(b, 20)).toBe(1)
    expect(u64(b, 24)).toBe(0n)
    expect(u32(b, 32)).toBe(0)
    expect(u32(b, 36)).toBe(0)
    expect(rt.state.version).toBe(before + 1n)
    expect(u32(reply(query(rt, 'info_q')))).toBe(0)
  })

  it('checks controllers, sets the timer and certified data', async () => {
    const rt = await fresh(memory64)
    expect(reply(update(rt, 'is_controller', { argData: CONTROLLER }))).toEqual(new Uint8Array([1]))
    expect(reply(update(rt, 'is_controller', { argData: USER }))).toEqual(new Uint8Array([0]))
    expect(u64(reply(update(rt, 'timer')))).toBe(0n)
    expect(rt.state.globalTimer).toBe(12345n)
    expect(u64(reply(update(rt, 'timer')))).toBe(12345n)
    update(rt, 'certify', { argData: enc.encode('cert') })
    expect(text(rt.state.certifiedData)).toBe('cert')
  })

  it('accepts cycles from the call context into the balance', async () => {
    const rt = await fresh(memory64)
    const b = reply(update(rt, 'cycles', { cyclesAvailable: 8n }))
    expect(u128(b, 0)).toBe(8n)
    expect(u128(b, 16)).toBe(5n)
    expect(u128(b, 32)).toBe(1005n)
    expect(rt.state.cycles).toBe(1005n)
  })

  it('makes calls and runs reply and reject callbacks from the table', async () => {
    const rt = await fresh(memory64)
    const callee = new Uint8Array([9, 9])
    const r = update(rt, 'call', { argData: callee })
    expect(u32(reply(r))).toBe(0)
    expect(r.calls).toHaveLength(1)
    const [c] = r.calls
    expect(c.callee).toEqual(callee)
    expect(c.method).toBe('m')
    expect(text(c.arg)).toBe('nope')
    expect(c.cycles).toBe(10n)
    expect(rt.state.cycles).toBe(990n)
    expect(rt.state.outputQueue).toHaveLength(1)
    const okR = run(rt, { kind: 'reply_callback', callback: c.reply }, { argData: enc.encode('yes') })
    expect(okR.error).toBeUndefined()
    const ok = reply(okR)
    expect([...ok]).toEqual([7, 0, ...enc.encode('yes')])
    const no = reply(run(rt, { kind: 'reject_callback', callback: c.reject }, { rejectCode: 4, rejectMessage: 'denied' }))
    expect([...no]).toEqual([8, 4, ...enc.encode('denied')])
  })

  it('persists heap, globals and stable memory across updates', async () => {
    const rt = await fresh(memory64)
    update(rt, 'bump')
    const b = reply(update(rt, 'bump'))
    expect([u32(b, 0), Number(u64(b, 4)), u32(b, 12)]).toEqual([2, 2, 2])
    expect(rt.state.stableWasmPages).toBe(1n)
    expect(rt.state.globals).toContain(2n)
  })

  it('a trapping update changes nothing: heap, globals, stable memory', async () => {
    const rt = await fresh(memory64)
    update(rt, 'bump')
    const heapHash = rt.state.heap.hash()
    const stableHash = rt.state.stable.hash()
    const globals = [...rt.state.globals]
    const t = update(rt, 'bump_then_trap')
    expect(t.error).toEqual({ rejectCode: 5, errorCode: 'IC0503', message: "Canister called `ic0.trap` with message: 'boom'" })
    const u = update(rt, 'bump_then_unreachable')
    expect(u.error).toEqual({ rejectCode: 5, errorCode: 'IC0502', message: 'Canister trapped: unreachable' })
    expect(rt.state.heap.hash()).toEqual(heapHash)
    expect(rt.state.stable.hash()).toEqual(stableHash)
    expect(rt.state.globals).toEqual(globals)
    const b = reply(query(rt, 'report'))
    expect([u32(b, 0), Number(u64(b, 4)), u32(b, 12)]).toEqual([1, 1, 1])
  })

  it('a trap after memory.grow rebuilds the instance at the committed size', async () => {
    const rt = await fresh(memory64)
    update(rt, 'bump')
    expect(update(rt, 'grow_then_trap').error?.errorCode).toBe('IC0502')
    expect(rt.state.heapWasmPages).toBe(1)
    const b = reply(update(rt, 'bump'))
    expect([u32(b, 0), Number(u64(b, 4)), u32(b, 12)]).toEqual([2, 2, 2])
  })

  it("a query's writes neither persist nor stay in the live instance", async () => {
    const rt = await fresh(memory64)
    update(rt, 'bump')
    const heapHash = rt.state.heap.hash()
    const q = reply(query(rt, 'bump_in_query'))
    expect([u32(q, 0), Number(u64(q, 4)), u32(q, 12)]).toEqual([2, 2, 2])
    expect(rt.state.heap.hash()).toEqual(heapHash)
    const b = reply(query(rt, 'report'))
    expect([u32(b, 0), Number(u64(b, 4)), u32(b, 12)]).toEqual([1, 1, 1])
    const next = reply(update(rt, 'bump'))
    expect([u32(next, 0), Number(u64(next, 4)), u32(next, 12)]).toEqual([2, 2, 2])
  })

  it('runs inspect_message, the global timer and heartbeat', async () => {
    const rt = await fresh(memory64)
    expect(run(rt, { kind: 'inspect_message', method: 'echo' }).acceptedMessage).toBe(true)
    expect(run(rt, { kind: 'inspect_message', method: 'bump' }).acceptedMessage).toBe(false)
    run(rt, { kind: 'global_timer' })
    run(rt, { kind: 'heartbeat' })
    const b = reply(query(rt, 'report'))
    expect(u32(b, 0)).toBe(2)
  })

  it('debug_print never traps; out-of-bounds output is replaced', async () => {
    const rt = await fresh(memory64)
    expect(update(rt, 'print').logs.map((l) => text(l.content))).toEqual(['nope'])
    const r = update(rt, 'print_oob')
    expect(r.error).toBeUndefined()
    expect(text(r.logs[0].content)).toMatch(/out of bounds/)
  })

  it.each([
    ['oob_copy', 'IC0504', /msg_arg_data_copy: dst=65534 \+ size=3 exceeds the Wasm memory size of 65536 bytes/],
    ['arg_past_end', 'IC0504', /msg_arg_data_copy: offset=1 \+ size=3 exceeds the blob size of 3 bytes/],
    ['double_reply', 'IC0504', /msg_reply: the call is already replied/],
    ['accept_in_update', 'IC0504', /"ic0_accept_message" cannot be executed in update mode/],
    ['reject_code_in_update', 'IC0504', /"ic0_msg_reject_code" cannot be executed in update mode/],
    ['stable_oob', 'IC0504', /stable64_write: offset=65535 \+ size=2 exceeds the stable memory size of 0 bytes/],
    ['certify_too_long', 'IC0504', /at most 32 bytes/],
    ['nonexistent', 'IC0536', /Canister has no update method 'nonexistent'/],
  ])('misuse %s traps with %s', async (method, code, re) => {
    const rt = await fresh(memory64)
    const r = update(rt, method, { argData: enc.encode('abc') })
    expect(r.error?.errorCode).toBe(code)
    expect(r.error?.message).toMatch(re)
    expect(r.response).toBeUndefined()
  })

  it('cost_create_canister writes the subnet\'s creation fee (nothing without a cost table)', async () => {
    const rt = await fresh(memory64)
    expect(update(rt, 'cost', { cycles: cyclesConfig(APPLICATION_SUBNET_FEES, 26) }).error).toBeUndefined()
    expect(u128(rt.state.heap.readBytes(0, 16))).toBe(1_000_000_000_000n)
    expect(update(rt, 'cost').error).toBeUndefined()
    expect(u128(rt.state.heap.readBytes(0, 16))).toBe(0n)
  })

  it('upgrade keeps stable memory, replaces heap and globals, skips canister_init', async () => {
    const rt = await fresh(memory64)
    update(rt, 'bump')
    update(rt, 'bump')
    const wasm = await wat(testCanisterWat(memory64), memory64)
    const r = rt.upgrade(wasm, { time: 2_000n, caller: CONTROLLER })
    expect(r.error).toBeUndefined()
    // post_upgrade restored the heap counter from what pre_upgrade saved in stable memory
    const b = reply(query(rt, 'report'))
    expect([u32(b, 0), Number(u64(b, 4)), u32(b, 12)]).toEqual([2, 0, 2])
    expect(u32(reply(update(rt, 'init_marker')))).toBe(0)
  })

  it('a trapping post_upgrade leaves the old canister untouched', async () => {
    const rt = await fresh(memory64)
    update(rt, 'bump')
    update(rt, 'bump')
    const heapHash = rt.state.heap.hash()
    const stableHash = rt.state.stable.hash()
    const version = rt.state.version
    const wasm = await wat(testCanisterWat(memory64), memory64)
    const r = rt.upgrade(wasm, { time: 2_000n, caller: CONTROLLER, argData: enc.encode('fail') })
    expect(r.error?.errorCode).toBe('IC0502')
    expect(rt.state.heap.hash()).toEqual(heapHash)
    expect(rt.state.stable.hash()).toEqual(stableHash)
    expect(rt.state.version).toBe(version)
    const b = reply(query(rt, 'report'))
    expect([u32(b, 0), Number(u64(b, 4)), u32(b, 12)]).toEqual([2, 2, 2])
    expect(u32(reply(update(rt, 'init_marker')))).toBe(42)
  })

  it('a query may not set the global timer', async () => {
    const rt = await fresh(memory64)
    expect(query(rt, 'timer_in_query').error?.message).toMatch(/"ic0_global_timer_set" cannot be executed in non-replicated query mode/)
  })
})

describe.each([false, true])('metering (memory64 = %s)', (memory64) => {
  it('counts instructions and exposes them through performance_counter', async () => {
    const rt = await freshCanister(memory64)
    const r = update(rt, 'perf')
    expect(r.instructions).toBeGreaterThan(0n)
    const seen = u64(reply(r))
    expect(seen).toBeGreaterThan(0n)
    expect(seen).toBeLessThanOrEqual(r.instructions)
  })

  it('an endless loop runs out of instructions and changes nothing', async () => {
    const rt = await freshCanister(memory64)
    update(rt, 'bump')
    const heapHash = rt.state.heap.hash()
    const r = update(rt, 'bump_then_loop', { instructionLimit: 100_000n })
    expect(r.error).toEqual({ rejectCode: 5, errorCode: 'IC0522', message: 'Canister exceeded the limit of 100000 instructions for single message execution.' })
    expect(rt.state.heap.hash()).toEqual(heapHash)
    const b = reply(query(rt, 'report'))
    expect([u32(b, 0), Number(u64(b, 4)), u32(b, 12)]).toEqual([1, 1, 1])
  })

  it('unbounded recursion traps deterministically as a stack overflow', async () => {
    const rt = await freshCanister(memory64)
    expect(update(rt, 'recurse').error).toEqual({ rejectCode: 5, errorCode: 'IC0502', message: 'Canister trapped: stack overflow' })
    expect(u32(reply(update(rt, 'bump')))).toBe(1)
  })

  it('commits only the pages a message wrote', async () => {
    const rt = await freshCanister(memory64)
    expect(update(rt, 'bump').dirtyHeapPages).toBe(1)
    expect(update(rt, 'bump').dirtyStablePages).toBe(1)
  })
})

describe('module checks', () => {
  it('calling msg_reply in canister_init fails the install and leaves the canister empty', async () => {
    const bytes = await wat(`(module (import "ic0" "msg_reply" (func $r)) (memory 1) (func (export "canister_init") (call $r)))`)
    const rt = new CanisterRuntime(newCanisterState(ID, [CONTROLLER]))
    const r = rt.install(bytes, { time: 1n })
    expect(r.error?.message).toBe('Canister violated contract: "ic0_msg_reply" cannot be executed in init mode')
    expect(rt.hasModule).toBe(false)
    expect(rt.state.heap.committedPageCount).toBe(0)
  })

  it('rejects imports outside ic0, wrong signatures and 32-bit-only functions in wasm64', async () => {
    const rt = () => new CanisterRuntime(newCanisterState(ID, [CONTROLLER]))
    const foreign = await wat(`(module (import "env" "f" (func)))`)
    expect(() => rt().install(foreign, { time: 1n })).toThrow(/imports function 'f' from 'env'/)
    const wrong = await wat(`(module (import "ic0" "msg_reply" (func (param i32))))`)
    expect(() => rt().install(wrong, { time: 1n })).toThrow(/runtime expects \(\) -> \(\)/)
    const old = await wat(`(module (import "ic0" "stable_size" (func (result i32))) (memory i64 1))`, true)
    expect(() => rt().install(old, { time: 1n })).toThrow(/stable_size/)
    const bad = await wat(`(module (func (export "canister_foo")))`)
    expect(() => rt().install(bad, { time: 1n })).toThrow(/invalid function 'canister_foo'/)
  })
})
