import { describe, expect, it } from 'vitest'
import { decodeCandid, encodeCandid, IDL } from '../protocol/candid.ts'
import { toHex } from '../protocol/hash.ts'
import type { Cycles } from '../protocol/ids.ts'
import { principalToText, subnetCanisterRange } from '../protocol/principal.ts'
import { compileMotoko } from '../sim/motoko.ts'
import { wat } from './test-canister.ts'
import { anonymousIngress, principal, replyBytes, RoundDriver, SUBNET_ID } from './scheduler-testing.ts'
import { newReplicatedState } from './replicated-state.ts'
import { defaultSchedulerConfig } from './scheduler.ts'
import { queryManagement, ManagementTypes as T } from './management/index.ts'
import {
  APPLICATION_SUBNET_FEES, canisterMemoryUsage, cyclesConfig, formatCycles, idleCyclesBurnedPerDay, memoryCost,
} from './cycles.ts'
import type { CycleFees, CyclesConfig } from './cycles.ts'
import { freezingLimitOf, memoryUsageOf } from './cycles-round.ts'
import { executeQuery, inspectIngress } from './query.ts'

// A callee: `bump` counts and replies with 4 bytes.
const CALLEE = `(module
  (import "ic0" "msg_reply" (func $reply))
  (import "ic0" "msg_reply_data_append" (func $append (param i32 i32)))
  (memory 1)
  (func (export "canister_update bump")
    (i32.store (i32.const 0) (i32.add (i32.load (i32.const 0)) (i32.const 1)))
    (call $append (i32.const 0) (i32.const 4)) (call $reply))
  (func (export "canister_query get") (call $append (i32.const 0) (i32.const 4)) (call $reply)))`

// A caller: \`call\` calls \`bump\` (argument "abc") on the canister whose id is its argument and
// replies "ok" from the callback, or at once with call_perform's error code when that fails.
const CALLER = `(module
  (import "ic0" "msg_arg_data_size" (func $arg_size (result i32)))
  (import "ic0" "msg_arg_data_copy" (func $arg_copy (param i32 i32 i32)))
  (import "ic0" "call_new" (func $call_new (param i32 i32 i32 i32 i32 i32 i32 i32)))
  (import "ic0" "call_data_append" (func $call_data_append (param i32 i32)))
  (import "ic0" "call_perform" (func $call_perform (result i32)))
  (import "ic0" "msg_reply" (func $reply))
  (import "ic0" "msg_reply_data_append" (func $append (param i32 i32)))
  (memory 1)
  (table 2 funcref)
  (elem (i32.const 0) $on_reply $on_reject)
  (data (i32.const 200) "bump")
  (data (i32.const 210) "abc")
  (data (i32.const 220) "ok")
  (func $on_reply (param i32) (call $append (i32.const 220) (i32.const 2)) (call $reply))
  (func $on_reject (param i32) (call $append (i32.const 220) (i32.const 1)) (call $reply))
  (func (export "canister_update call")
    (call $arg_copy (i32.const 0) (i32.const 0) (call $arg_size))
    (call $call_new (i32.const 0) (call $arg_size) (i32.const 200) (i32.const 4) (i32.const 0) (i32.const 0) (i32.const 1) (i32.const 0))
    (call $call_data_append (i32.const 210) (i32.const 3))
    (i32.store (i32.const 100) (call $call_perform))
    (if (i32.ne (i32.load (i32.const 100)) (i32.const 0))
      (then (call $append (i32.const 100) (i32.const 4)) (call $reply)))))`

const FACTORY = `persistent actor {
  transient let ic = actor "aaaaa-aa" : actor {
    create_canister : ({ settings : ?{ controllers : ?[Principal] }; sender_canister_version : ?Nat64 }) -> async { canister_id : Principal };
  };
  public func make(n : Nat) : async Principal {
    (await (with cycles = n) ic.create_canister({ settings = null; sender_canister_version = null })).canister_id
  };
}`

const OWNER = new Uint8Array([0x0a, 0x01])
const T13 = 100_000_000_000_000n
const OVERHEAD = defaultSchedulerConfig.overheadPerExecution

/** Only what a test looks at costs anything: no ingress or storage fees unless asked for. */
function driver(fees: Partial<CycleFees> = {}, subnetSize = 13): { d: RoundDriver; config: CyclesConfig } {
  const config = cyclesConfig({ ...APPLICATION_SUBNET_FEES, ingressMessageReceptionFee: 0n, ingressByteReceptionFee: 0n, gibStoragePerSecondFee: 0n, ...fees }, subnetSize)
  const state = newReplicatedState({ subnetId: SUBNET_ID, canisterRanges: [subnetCanisterRange(0)], runtimeOptions: { instrument: true, cycles: config } })
  return { d: new RoundDriver(state), config }
}

async function installed(d: RoundDriver, source: string, amount?: bigint): Promise<Uint8Array> {
  const id = d.createCanister(OWNER, amount)
  expect(d.install(id, await wat(source), encodeCandid([], []), { install: null }, OWNER).status).toBe('replied')
  return id
}

const runtime = (d: RoundDriver, id: Uint8Array) => d.state.canisters.get(toHex(id))!
const balance = (d: RoundDriver, id: Uint8Array): bigint => runtime(d, id).state.cycles
const setBalance = (d: RoundDriver, id: Uint8Array, v: bigint) => { runtime(d, id).state.cycles = v as Cycles }

/** Runs one ingress call in its own round; the round's figures and the call's final status. */
function oneRound(d: RoundDriver, canisterId: Uint8Array, method: string, arg = encodeCandid([], [])) {
  const msg = anonymousIngress({ canisterId, method, arg, nonce: d.nonce++ })
  const round = d.round([msg])
  return { round, status: d.status(msg.id)! }
}

describe('cycles: execution', () => {
  it.each([13, 26])("an update pays the base fee plus one cycle per instruction, scaled to %s nodes", async (nodes) => {
    const { d } = driver({}, nodes)
    const id = await installed(d, CALLEE)
    const before = balance(d, id)
    const { round, status } = oneRound(d, id, 'bump')
    expect(status.status).toBe('replied')
    expect(round.executions).toBe(1)
    const instructions = round.instructionsUsed - OVERHEAD
    expect(instructions).toBeGreaterThan(0n)
    expect(before - balance(d, id)).toBe(((5_000_000n + instructions) * BigInt(nodes)) / 13n)
  })

  it('a canister that cannot prepay its instruction limit gets IC0207 and nothing changes', async () => {
    const { d, config } = driver({ gibStoragePerSecondFee: 127_000n })
    const id = await installed(d, CALLEE)
    const threshold = freezingLimitOf(d.state, runtime(d, id))
    expect(threshold).toBeGreaterThan(0n)
    const prepay = 5_000_000n + config.maxInstructionsPerMessage
    const short = threshold + prepay - 1n
    setBalance(d, id, short)
    d.stepNs = 0n // no storage charge between these rounds
    const version = runtime(d, id).state.version
    const text = principalToText(id)
    expect(d.call(id, 'bump')).toEqual({ status: 'rejected', rejectCode: 2, errorCode: 'IC0207', rejectMessage: `Canister ${text} is out of cycles` })
    // A controller learns the shortfall.
    expect(d.call(id, 'bump', encodeCandid([], []), OWNER)).toMatchObject({
      errorCode: 'IC0207', rejectMessage: `Canister ${text} is out of cycles: please top up the canister with at least 1 additional cycles`,
    })
    expect(balance(d, id)).toBe(short)
    expect(runtime(d, id).state.version).toBe(version)
    setBalance(d, id, short + 1n)
    expect([...replyBytes(d.call(id, 'bump'))]).toEqual([1, 0, 0, 0])
  })

  it('queries are free', async () => {
    const { d } = driver()
    const id = await installed(d, CALLEE)
    const before = balance(d, id)
    expect(d.call(id, 'get').status).toBe('replied') // a query method called as an update is charged…
    expect(balance(d, id)).toBeLessThan(before)
    const after = balance(d, id)
    expect(executeQuery(d.state, { canisterId: id, method: 'get', arg: new Uint8Array(0), sender: OWNER }, d.time).status).toBe('replied')
    expect(balance(d, id)).toBe(after) // …a query call is not
  })
})

describe('cycles: ingress and freezing', () => {
  it('the receiving canister pays the induction fee per envelope byte', async () => {
    const { d } = driver({ ingressMessageReceptionFee: 1_200_000n, ingressByteReceptionFee: 2_000n })
    const id = await installed(d, CALLEE)
    const before = balance(d, id)
    const msg = anonymousIngress({ canisterId: id, method: 'bump', arg: encodeCandid([], []), nonce: 99 })
    const round = d.round([msg])
    const execution = 5_000_000n + round.instructionsUsed - OVERHEAD
    expect(before - balance(d, id) - execution).toBe(1_200_000n + 2_000n * BigInt(msg.bytes.length))
  })

  it('a frozen canister refuses ingress at induction; canister_status reports what it burns per day', async () => {
    const d = new RoundDriver() // the IC's fees
    const id = await installed(d, CALLEE)
    const rt = runtime(d, id)
    const usage = memoryUsageOf(d.state, rt)
    expect(usage).toBe(canisterMemoryUsage(rt.state, 0n))
    const statusArg = encodeCandid([T.canister_status_args], [{ canister_id: principal(id) }])
    const status = queryManagement(d.state, OWNER, 'canister_status', statusArg) as { bytes: Uint8Array }
    const idle = (decodeCandid([T.canister_status_result], status.bytes)[0] as { idle_cycles_burned_per_day: bigint }).idle_cycles_burned_per_day
    expect(idle).toBe((usage * 127_000n * 86_400n) / (1n << 30n))
    expect(idle).toBe(idleCyclesBurnedPerDay(cyclesConfig(), rt.state, usage))
    // A threshold of 10^18 s makes 100T cycles far too few.
    const settings = encodeCandid([T.update_settings_args], [{ canister_id: principal(id), settings: settingsArg({ freezing_threshold: [10n ** 18n] }), sender_canister_version: [] }])
    expect(d.call(new Uint8Array(0), 'update_settings', settings, OWNER).status).toBe('replied')
    const before = balance(d, id)
    d.stepNs = 0n
    const { round, status: refused } = oneRound(d, id, 'bump')
    expect(refused).toEqual({ status: 'rejected', rejectCode: 2, errorCode: 'IC0207', rejectMessage: `Canister ${principalToText(id)} is out of cycles` })
    expect(round.ingressStatuses.map((s) => s.status.status)).toEqual(['rejected'])
    expect(round.executions).toBe(0)
    expect(balance(d, id)).toBe(before)
    // The node's admission check and the query path refuse it too.
    const q = { canisterId: id, method: 'get', arg: new Uint8Array(0), sender: OWNER }
    expect(inspectIngress(d.state, q, d.time)).toMatchObject({ rejectCode: 2, errorCode: 'IC0207', rejectMessage: expect.stringContaining('is out of cycles: please top up the canister with at least') })
    expect(executeQuery(d.state, q, d.time)).toMatchObject({
      status: 'rejected', errorCode: 'IC0207',
      rejectMessage: `Canister ${principalToText(id)} is unable to process query calls because it's frozen. Please top up the canister with cycles and try again.`,
    })
  })
})

describe('cycles: storage', () => {
  it('memory is charged for the batch time between rounds', async () => {
    const d = new RoundDriver()
    const id = await installed(d, CALLEE)
    const usage = memoryUsageOf(d.state, runtime(d, id))
    const before = balance(d, id)
    d.stepNs = 10n * 86_400n * 1_000_000_000n
    d.round()
    const burnt = before - balance(d, id)
    expect(burnt).toBe(memoryCost(cyclesConfig(), usage, d.stepNs))
    expect(burnt).toBe((usage * 127_000n * 10n * 86_400n) / (1n << 30n))
  })

  it('a canister that cannot pay for its memory is uninstalled and left with 0 cycles', async () => {
    const d = new RoundDriver()
    const id = await installed(d, CALLEE)
    expect([...replyBytes(d.call(id, 'bump', encodeCandid([], []), OWNER))]).toEqual([1, 0, 0, 0])
    setBalance(d, id, 1_000n)
    d.stepNs = 86_400n * 1_000_000_000n
    d.round()
    const rt = runtime(d, id)
    expect(rt.state.cycles).toBe(0n)
    expect(rt.hasModule).toBe(false)
    expect(rt.state.heapWasmPages).toBe(0)
    expect(rt.state.settings.controllers).toEqual([OWNER])
    d.stepNs = 1_000_000_000n
    expect(d.call(id, 'bump', encodeCandid([], []), OWNER)).toMatchObject({ status: 'rejected', errorCode: 'IC0207' })
  })
})

describe('cycles: inter-canister calls', () => {
  it('the caller pays the call, its bytes and the reply bytes; the reservations come back', async () => {
    const { d } = driver()
    const callee = await installed(d, CALLEE)
    const caller = await installed(d, CALLER)
    const [a, b] = [balance(d, caller), balance(d, callee)]
    let instructions = 0n
    let executions = 0
    const msg = anonymousIngress({ canisterId: caller, method: 'call', arg: callee, nonce: 1 })
    for (let r = d.round([msg]); ; r = d.round()) {
      instructions += r.instructionsUsed
      executions += r.executions
      if (d.status(msg.id)!.status === 'replied') break
    }
    expect(new TextDecoder().decode(replyBytes(d.status(msg.id)!))).toBe('ok')
    expect(executions).toBe(3) // call, bump, reply callback
    const calleeInstructions = b - balance(d, callee) - 5_000_000n
    const callerInstructions = instructions - 3n * OVERHEAD - calleeInstructions
    const payload = BigInt('bump'.length + 'abc'.length)
    const replyLength = 4n
    expect(a - balance(d, caller)).toBe(2n * 5_000_000n + callerInstructions + 260_000n + 1_000n * (payload + replyLength))
  })

  it('call_perform returns 2 when the caller cannot pay above its freezing limit, and keeps its cycles', async () => {
    const { d, config } = driver()
    const callee = await installed(d, CALLEE)
    const caller = await installed(d, CALLER)
    const prepay = 5_000_000n + config.maxInstructionsPerMessage
    setBalance(d, caller, prepay + 1_000_000_000n) // the message runs; the call (~6.1B reserved) is refused
    const calleeBefore = balance(d, callee)
    const { round, status } = oneRound(d, caller, 'call', callee)
    expect([...replyBytes(status)]).toEqual([2, 0, 0, 0])
    expect(round.executions).toBe(1)
    // Only the execution was paid: its base fee and instructions.
    expect(balance(d, caller)).toBe(1_000_000_000n + config.maxInstructionsPerMessage - (round.instructionsUsed - OVERHEAD))
    d.round()
    expect(balance(d, callee)).toBe(calleeBefore)
    expect([...replyBytes(d.call(callee, 'get'))]).toEqual([0, 0, 0, 0]) // bump never ran
    // With enough cycles the same call goes through.
    setBalance(d, caller, T13)
    expect(new TextDecoder().decode(replyBytes(d.call(caller, 'call', callee)))).toBe('ok')
  })

  it('a call to a frozen canister is rejected with IC0207 and its cycles refunded', async () => {
    const { d } = driver({ gibStoragePerSecondFee: 127_000n })
    const callee = await installed(d, CALLEE)
    const caller = await installed(d, CALLER)
    setBalance(d, callee, 0n)
    d.stepNs = 0n
    const msg = anonymousIngress({ canisterId: caller, method: 'call', arg: callee, nonce: 1 })
    d.round([msg])
    d.round()
    expect(new TextDecoder().decode(replyBytes(d.status(msg.id)!))).toBe('o') // the reject callback ran
    expect(balance(d, callee)).toBe(0n)
  })
})

describe('cycles: creation', () => {
  it('create_canister deducts the creation fee; too few cycles are refused and refunded', () => {
    const d = new RoundDriver()
    const factory = d.createCanister(OWNER)
    expect(d.install(factory, compileMotoko(FACTORY, 'classic').wasm, encodeCandid([], []), { install: null }, OWNER).status).toBe('replied')
    const make = (n: bigint) => d.call(factory, 'make', encodeCandid([IDL.Nat], [n]), OWNER)
    const made = (decodeCandid([IDL.Principal], replyBytes(make(600_000_000_000n)))[0] as { toUint8Array(): Uint8Array }).toUint8Array()
    expect(balance(d, made)).toBe(100_000_000_000n)
    const before = balance(d, factory)
    expect(make(1_000_000_000n)).toMatchObject({
      status: 'rejected',
      rejectMessage: `Creating a canister requires a fee of ${formatCycles(500_000_000_000n)} that is deducted from the canister's initial balance but only 1_000_000_000 cycles were received with the create_canister request.`,
    })
    // Only fees left the factory, not the billion it attached.
    expect(before - balance(d, factory)).toBeLessThan(100_000_000n)
  })

  it('provisional creation charges no fee', () => {
    const d = new RoundDriver()
    expect(balance(d, d.createCanister(OWNER, 7n))).toBe(7n)
    expect(balance(d, d.createCanister(OWNER))).toBe(T13)
  })
})

function settingsArg(fields: Record<string, unknown>) {
  const all = ['controllers', 'compute_allocation', 'memory_allocation', 'freezing_threshold', 'reserved_cycles_limit', 'minimum_incoming_canister_call_cycles', 'log_visibility', 'snapshot_visibility', 'status_visibility', 'wasm_memory_limit', 'wasm_memory_threshold', 'environment_variables']
  return { ...Object.fromEntries(all.map((k) => [k, []])), ...fields }
}
