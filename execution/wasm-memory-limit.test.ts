// The canister setting wasm_memory_limit (interface spec, canister settings; the IC's
// effective_wasm_memory_limit): (start), init, post_upgrade and update methods may not take the
// heap past it; queries, callbacks, system tasks and pre_upgrade may. Hand-written WAT, run through
// CanisterRuntime and, at the end, through executeRound and the management canister.

import { describe, expect, it } from 'vitest'
import { cycles } from '../protocol/ids.ts'
import type { CanisterId } from '../protocol/ids.ts'
import { decodeCandid, encodeCandid } from '../protocol/candid.ts'
import { principalToText } from '../protocol/principal.ts'
import { newCanisterState } from './canister-state.ts'
import { CanisterRuntime } from './execute.ts'
import type { EntryPoint, ExecutionResult } from './execute.ts'
import { wat } from './test-canister.ts'
import { principal, replyBytes, RoundDriver } from './scheduler-testing.ts'
import { ManagementTypes as T } from './management/index.ts'

const ID = new Uint8Array([0, 0, 0, 0, 0, 0, 0, 9, 1, 1]) as CanisterId
const PAGE = 65536n

/** grow(n) replies memory.grow's result; `mark` writes 7 at 100 first so a rollback shows. The
 *  {I} placeholder is the address type. */
function canister(opts: { memory: string; start?: string; init?: string; preUpgrade?: string; postUpgrade?: string; noTasks?: boolean }): string {
  return `(module
  (import "ic0" "msg_reply" (func $reply))
  (import "ic0" "msg_reply_data_append" (func $append (param {I} {I})))
  (import "ic0" "msg_arg_data_copy" (func $arg_copy (param {I} {I} {I})))
  (memory {MEMTYPE}${opts.memory})
  (table 1 funcref)
  (elem (i32.const 0) $callback)
  (func $n (result {I}) (call $arg_copy ({I}.const 0) ({I}.const 0) ({I}.const 4)) ({TO_I} (i32.load ({I}.const 0))))
  (func $reply_result (param $r {I})
    (i64.store ({I}.const 8) ({I_TO_64} (local.get $r)))
    (call $append ({I}.const 8) ({I}.const 8)) (call $reply))
  (func $mark (i32.store ({I}.const 100) (i32.const 7)))
  (func $callback (param $env {I}) (drop (memory.grow ({I}.const 1))))
  (func (export "canister_update grow") (call $mark) (call $reply_result (memory.grow (call $n))))
  (func (export "canister_query grow_q") (call $mark) (call $reply_result (memory.grow (call $n))))
  (func (export "canister_update grow_then_trap") (drop (memory.grow (call $n))) (unreachable))
  (func (export "canister_update size") (call $reply_result (memory.size)))
  (func (export "canister_query size_q") (call $reply_result (memory.size)))
  (func (export "canister_query mark_q") (i64.store ({I}.const 8) (i64.extend_i32_u (i32.load ({I}.const 100)))) (call $append ({I}.const 8) ({I}.const 8)) (call $reply))
  ${opts.noTasks === true ? '' : `(func (export "canister_heartbeat") (drop (memory.grow ({I}.const 1))))
  (func (export "canister_global_timer") (drop (memory.grow ({I}.const 1))))`}
  ${opts.start === undefined ? '' : `(func $start ${opts.start}) (start $start)`}
  ${opts.init === undefined ? '' : `(func (export "canister_init") ${opts.init})`}
  ${opts.preUpgrade === undefined ? '' : `(func (export "canister_pre_upgrade") ${opts.preUpgrade})`}
  ${opts.postUpgrade === undefined ? '' : `(func (export "canister_post_upgrade") ${opts.postUpgrade})`}
)`
}

async function module(memory64: boolean, opts: Parameters<typeof canister>[0]): Promise<Uint8Array> {
  const I = memory64 ? 'i64' : 'i32'
  // memory.grow's -1 must stay -1 in the i64 reply, hence the signed extension from i32.
  const text = canister(opts)
    .replaceAll('{MEMTYPE}', memory64 ? 'i64 ' : '')
    .replaceAll('{TO_I}', memory64 ? 'i64.extend_i32_u' : 'i32.add (i32.const 0)')
    .replaceAll('{I_TO_64}', memory64 ? 'i64.add (i64.const 0)' : 'i64.extend_i32_s')
    .replaceAll('{I}', I)
  return wat(text, memory64)
}

const arg = (n: number) => new Uint8Array(new Uint32Array([n]).buffer)
const result = (r: ExecutionResult): bigint => {
  expect(r.error).toBeUndefined()
  return new DataView((r.response as { bytes: Uint8Array }).bytes.buffer).getBigInt64(0, true)
}
const limitError = (limit: bigint, peak: bigint) => ({
  errorCode: 'IC0539',
  rejectCode: 5,
  message: `Canister exceeded its current Wasm memory limit of ${limit} bytes. The peak Wasm memory usage was ${peak} bytes. ` +
    'If the canister reaches 4GiB, then it may stop functioning and may become unrecoverable. ' +
    'Please reach out to the canister owner to investigate the reason for the increased memory usage. ' +
    'It might be necessary to move data from the Wasm memory to the stable memory. ' +
    'If such high Wasm memory usage is expected and safe, then the developer can increase the Wasm memory limit in the canister settings.',
})

function runtime(instrument: boolean, limitBytes: bigint): CanisterRuntime {
  const state = newCanisterState(ID, [], cycles(10n ** 15n))
  state.settings.wasmMemoryLimit = limitBytes
  return new CanisterRuntime(state, { instrument })
}
const input = (n = 0) => ({ time: 1_000n, argData: arg(n) })
const run = (rt: CanisterRuntime, entry: EntryPoint, n = 0) => rt.execute(entry, input(n))
const update = (rt: CanisterRuntime, method: string, n = 0) => run(rt, { kind: 'update', method }, n)
const query = (rt: CanisterRuntime, method: string, n = 0) => run(rt, { kind: 'query', method, replicated: false }, n)

describe.each([
  [false, true],
  [true, true],
  [false, false],
  [true, false],
])('wasm_memory_limit (memory64 = %s, instrumented = %s)', (memory64, instrument) => {
  it('memory.grow up to the limit succeeds; past it the update fails with IC0539 and changes nothing', async () => {
    const rt = runtime(instrument, 3n * PAGE)
    expect(rt.install(await module(memory64, { memory: '1' }), input()).error).toBeUndefined()
    expect(result(update(rt, 'grow', 2))).toBe(1n)
    expect(rt.state.heapWasmPages).toBe(3)
    const over = update(rt, 'grow', 1)
    expect(over.error).toEqual(limitError(3n * PAGE, 4n * PAGE))
    expect(rt.state.heapWasmPages).toBe(3)
    expect(result(query(rt, 'mark_q'))).toBe(7n) // from the successful grow only
    expect(result(update(rt, 'size'))).toBe(3n)
    // A grow by 0 at the limit is within it.
    expect(result(update(rt, 'grow', 0))).toBe(3n)
    // The instrumented grow traps at once; without instrumentation only the heap size at the end
    // of the message is checked, so a later trap is what the caller sees.
    expect(update(rt, 'grow_then_trap', 1).error).toEqual(instrument ? limitError(3n * PAGE, 4n * PAGE) : { errorCode: 'IC0502', rejectCode: 5, message: 'Canister trapped: unreachable' })
    expect(rt.state.heapWasmPages).toBe(3)
  })

  it('a grow the module maximum refuses returns -1 (no trap), even when it is also past the limit', async () => {
    const rt = runtime(instrument, 1n * PAGE)
    expect(rt.install(await module(memory64, { memory: '1 2' }), input()).error).toBeUndefined()
    expect(result(update(rt, 'grow', 5))).toBe(-1n)
    expect(update(rt, 'grow', 1).error).toEqual(limitError(PAGE, 2n * PAGE))
  })

  it('0 means no limit, and a raised limit applies to the next message', async () => {
    const rt = runtime(instrument, 0n)
    expect(rt.install(await module(memory64, { memory: '1' }), input()).error).toBeUndefined()
    expect(result(update(rt, 'grow', 40))).toBe(1n)
    rt.state.settings.wasmMemoryLimit = 42n * PAGE + 1n
    expect(update(rt, 'grow', 1).error).toBeUndefined()
    expect(update(rt, 'grow', 1).error).toEqual(limitError(42n * PAGE + 1n, 43n * PAGE))
  })

  it('queries, callbacks, heartbeats, timers and pre_upgrade may exceed it; updates are then refused before running', async () => {
    const rt = runtime(instrument, 2n * PAGE)
    const wasm = await module(memory64, { memory: '1', preUpgrade: '(drop (memory.grow ({I}.const 3)))'.replaceAll('{I}', memory64 ? 'i64' : 'i32') })
    expect(rt.install(wasm, input()).error).toBeUndefined()
    expect(result(query(rt, 'grow_q', 5))).toBe(1n)
    expect(rt.state.heapWasmPages).toBe(1)
    expect(run(rt, { kind: 'query', method: 'grow_q', replicated: true }, 5).error).toBeUndefined()
    expect(run(rt, { kind: 'heartbeat' }).error).toBeUndefined()
    expect(run(rt, { kind: 'global_timer' }).error).toBeUndefined()
    expect(run(rt, { kind: 'reply_callback', callback: { fun: 0, env: memory64 ? 0n : 0 } }).error).toBeUndefined()
    expect(rt.state.heapWasmPages).toBe(4)
    // The update that does not grow is refused too: the heap is already over the limit.
    const refused = update(rt, 'size')
    expect(refused.error).toEqual(limitError(2n * PAGE, 4n * PAGE))
    expect(refused.instructions).toBe(0n)
    expect(result(query(rt, 'size_q'))).toBe(4n)
    // pre_upgrade is exempt; the new instance starts at its declared size.
    const up = rt.upgrade(wasm, input())
    expect(up.error).toBeUndefined()
    expect(rt.state.heapWasmPages).toBe(1)
    expect(result(update(rt, 'size'))).toBe(1n)
  })

  it('install and upgrade fail with IC0539 when the initial memory, (start), init or post_upgrade passes it', async () => {
    const I = memory64 ? 'i64' : 'i32'
    const big = runtime(instrument, 2n * PAGE)
    expect(big.install(await module(memory64, { memory: '3' }), input()).error).toEqual(limitError(2n * PAGE, 3n * PAGE))
    expect(big.hasModule).toBe(false)
    const init = runtime(instrument, 2n * PAGE)
    expect(init.install(await module(memory64, { memory: '1', init: `(drop (memory.grow (${I}.const 2)))` }), input()).error).toEqual(limitError(2n * PAGE, 3n * PAGE))
    expect(init.hasModule).toBe(false)
    const start = runtime(instrument, 2n * PAGE)
    expect(start.install(await module(memory64, { memory: '1', start: `(drop (memory.grow (${I}.const 4)))` }), input()).error).toEqual(limitError(2n * PAGE, 5n * PAGE))
    expect(start.hasModule).toBe(false)

    const rt = runtime(instrument, 2n * PAGE)
    expect(rt.install(await module(memory64, { memory: '1' }), input()).error).toBeUndefined()
    expect(result(update(rt, 'grow', 1))).toBe(1n)
    const up = rt.upgrade(await module(memory64, { memory: '1', postUpgrade: `(drop (memory.grow (${I}.const 2)))` }), input())
    expect(up.error).toEqual(limitError(2n * PAGE, 3n * PAGE))
    expect(rt.state.heapWasmPages).toBe(2)
    expect(result(query(rt, 'mark_q'))).toBe(7n)
    expect(result(update(rt, 'size'))).toBe(2n)
  })
})

describe('wasm_memory_limit through executeRound and the management canister', () => {
  it('an ingress update past the limit is rejected with IC0539; update_settings raises it', async () => {
    const d = new RoundDriver()
    const create = encodeCandid([T.provisional_create_canister_with_cycles_args], [{
      amount: [], specified_id: [], sender_canister_version: [],
      settings: [{
        controllers: [], compute_allocation: [], memory_allocation: [], freezing_threshold: [], reserved_cycles_limit: [],
        minimum_incoming_canister_call_cycles: [], log_visibility: [], snapshot_visibility: [], status_visibility: [],
        wasm_memory_limit: [2n * PAGE], wasm_memory_threshold: [], environment_variables: [],
      }],
    }])
    const created = d.call(new Uint8Array(0), 'provisional_create_canister_with_cycles', create)
    const id = (decodeCandid([T.create_canister_result], replyBytes(created))[0] as { canister_id: { toUint8Array(): Uint8Array } }).canister_id.toUint8Array()
    // No heartbeat: the scheduler would run it every round, and it may grow past the limit.
    expect(d.install(id, await module(false, { memory: '1', noTasks: true })).status).toBe('replied')
    const grow = (n: number) => d.call(id, 'grow', arg(n))
    const value = (s: ReturnType<typeof grow>) => new DataView(replyBytes(s).buffer).getBigInt64(0, true)
    expect(value(grow(1))).toBe(1n)
    const rejected = grow(1)
    expect(rejected).toMatchObject({ status: 'rejected', rejectCode: 5, errorCode: 'IC0539' })
    expect((rejected as { rejectMessage: string }).rejectMessage).toBe(`Error from Canister ${principalToText(id)}: ${limitError(2n * PAGE, 3n * PAGE).message}`)

    const settings = (limit: bigint) => encodeCandid([T.update_settings_args], [{
      canister_id: principal(id), sender_canister_version: [],
      settings: {
        controllers: [], compute_allocation: [], memory_allocation: [], freezing_threshold: [], reserved_cycles_limit: [],
        minimum_incoming_canister_call_cycles: [], log_visibility: [], snapshot_visibility: [], status_visibility: [],
        wasm_memory_limit: [limit], wasm_memory_threshold: [], environment_variables: [],
      },
    }])
    // The spec's bounds: at most 2^48, and a non-zero limit not below the heap in use (2 pages).
    expect(d.call(new Uint8Array(0), 'update_settings', settings((1n << 48n) + 1n))).toMatchObject({ status: 'rejected', errorCode: 'IC0408' })
    expect(d.call(new Uint8Array(0), 'update_settings', settings(PAGE))).toMatchObject({ status: 'rejected', errorCode: 'IC0408' })
    expect(d.call(new Uint8Array(0), 'update_settings', settings(4n * PAGE)).status).toBe('replied')
    expect(value(grow(2))).toBe(2n)
    expect(grow(1)).toMatchObject({ status: 'rejected', errorCode: 'IC0539' })
    const status = decodeCandid([T.canister_status_result], replyBytes(d.management('canister_status', id)))[0] as { settings: { wasm_memory_limit: bigint }; memory_size: bigint }
    expect(status.settings.wasm_memory_limit).toBe(4n * PAGE)
  })
})
