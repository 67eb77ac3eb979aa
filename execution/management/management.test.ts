import { describe, expect, it } from 'vitest'
import { decodeCandid, encodeCandid, IDL } from '../../protocol/candid.ts'
import { sha256, toHex } from '../../protocol/hash.ts'
import { ANONYMOUS_PRINCIPAL, canisterIdFromIndex, principalToText } from '../../protocol/principal.ts'
import { compileMotoko, MOTOKO_COUNTER as COUNTER, MOTOKO_MULTI as MULTI } from '../../sim/motoko.ts'
import { anonymousIngress, principal, replyBytes, RoundDriver } from '../scheduler-testing.ts'
import type { IngressStatus } from '../replicated-state.ts'
import { executeManagement, fetchCanisterLogs, queryManagement, ManagementTypes as T } from './index.ts'
import type { ManagementContext } from './index.ts'

const FACTORY = `import Debug "mo:core/Debug";
persistent actor {
  transient let ic = actor "aaaaa-aa" : actor {
    create_canister : ({ settings : ?{ controllers : ?[Principal] }; sender_canister_version : ?Nat64 }) -> async { canister_id : Principal };
    canister_info : ({ canister_id : Principal; num_requested_changes : ?Nat64 }) -> async { total_num_changes : Nat64; controllers : [Principal]; module_hash : ?Blob };
  };
  public func info(p : Principal) : async (Nat64, Nat, Bool) {
    let r = await ic.canister_info({ canister_id = p; num_requested_changes = ?5 });
    (r.total_num_changes, r.controllers.size(), r.module_hash != null)
  };
  public func make() : async Principal {
    Debug.print("making");
    (await (with cycles = 3_000_000_000_000) ic.create_canister({ settings = null; sender_canister_version = null })).canister_id
  };
}`

const ALICE = new Uint8Array([0xa1, 0x01])
const BOB = new Uint8Array([0xb0, 0x01])
const MGMT = new Uint8Array(0)
const EMPTY = encodeCandid([], [])

const nat = (s: IngressStatus): bigint => decodeCandid([IDL.Nat], replyBytes(s))[0] as bigint
type Status = { status: Record<string, null>; settings: { controllers: { toText(): string }[]; freezing_threshold: bigint }; module_hash: [] | [Uint8Array]; cycles: bigint; memory_size: bigint; memory_metrics: { wasm_binary_size: bigint } }
const status = (s: IngressStatus) => decodeCandid([T.canister_status_result], replyBytes(s))[0] as Status

function settingsArg(fields: Record<string, unknown>) {
  const all = ['controllers', 'compute_allocation', 'memory_allocation', 'freezing_threshold', 'reserved_cycles_limit', 'minimum_incoming_canister_call_cycles', 'log_visibility', 'snapshot_visibility', 'status_visibility', 'wasm_memory_limit', 'wasm_memory_threshold', 'environment_variables']
  return { ...Object.fromEntries(all.map((k) => [k, []])), ...fields }
}

describe('management canister: creation, install, status', () => {
  it('creates with default controller and cycles; install_code and canister_status report the module', () => {
    const d = new RoundDriver()
    const id = d.createCanister(ALICE)
    const wasm = compileMotoko(COUNTER, 'classic').wasm
    // Read before the canister_status ingress below, whose induction fee the canister pays.
    expect(d.state.canisters.get(toHex(id))!.state.cycles).toBe(100_000_000_000_000n)
    const before = status(d.management('canister_status', id, ALICE))
    expect(before.status).toEqual({ running: null })
    expect(before.module_hash).toEqual([])
    expect(before.settings.controllers.map((p) => p.toText())).toEqual([principalToText(ALICE)])
    expect(d.install(id, wasm, EMPTY, { install: null }, ALICE).status).toBe('replied')
    const after = status(d.management('canister_status', id, ALICE))
    expect(after.module_hash).toEqual([sha256(wasm)])
    expect(after.memory_metrics.wasm_binary_size).toBe(BigInt(wasm.length))
    expect(after.memory_size).toBeGreaterThan(BigInt(wasm.length))
    // The ingress pays its induction fee first, so the query right after it sees the same balance.
    const viaIngress = replyBytes(d.management('canister_status', id, ALICE))
    const queried = queryManagement(d.state, ALICE, 'canister_status', encodeCandid([T.canister_status_args], [{ canister_id: principal(id) }]))
    expect(queried).toEqual({ kind: 'reply', bytes: viaIngress, refund: 0n })
    expect(queryManagement(d.state, BOB, 'canister_status', encodeCandid([T.canister_status_args], [{ canister_id: principal(id) }]))).toMatchObject({ kind: 'reject', errorCode: 'IC0512' })
    expect(d.install(id, wasm, EMPTY, { install: null }, ALICE)).toMatchObject({ status: 'rejected', errorCode: 'IC0538' })
    expect(d.install(id, new Uint8Array([1, 2, 3]), EMPTY, { reinstall: null }, ALICE)).toMatchObject({ status: 'rejected', rejectCode: 5, errorCode: 'IC0505' })
  })

  it('refuses non-controllers (IC0512) and canister-only methods from ingress', () => {
    const d = new RoundDriver()
    const id = d.createCanister(ALICE)
    const wasm = compileMotoko(COUNTER, 'classic').wasm
    const denied = d.install(id, wasm, EMPTY, { install: null }, BOB)
    expect(denied).toMatchObject({ status: 'rejected', rejectCode: 5, errorCode: 'IC0512' })
    expect((denied as { rejectMessage: string }).rejectMessage).toMatch(/^Only the controllers of the canister/)
    expect(d.management('canister_status', id, BOB)).toMatchObject({ errorCode: 'IC0512' })
    expect(d.management('stop_canister', id, BOB)).toMatchObject({ errorCode: 'IC0512' })
    const create = encodeCandid([T.create_canister_args], [{ settings: [], sender_canister_version: [] }])
    expect(d.call(MGMT, 'create_canister', create, ALICE)).toMatchObject({ status: 'rejected', rejectCode: 4, errorCode: 'IC0406' })
    expect(d.call(MGMT, 'no_such_method', EMPTY)).toMatchObject({ status: 'rejected', errorCode: 'IC0536' })
    expect(d.call(MGMT, 'install_code', new Uint8Array([1, 2]))).toMatchObject({ status: 'rejected', rejectCode: 4, errorCode: 'IC0408' })
  })

  it('update_settings changes only the given fields and validates them', () => {
    const d = new RoundDriver()
    const id = d.createCanister(ALICE)
    const update = (settings: Record<string, unknown>, sender = ALICE) =>
      d.call(MGMT, 'update_settings', encodeCandid([T.update_settings_args], [{ canister_id: principal(id), settings: settingsArg(settings), sender_canister_version: [] }]), sender)
    expect(update({ controllers: [[principal(ALICE), principal(BOB)]] }).status).toBe('replied')
    expect(update({ freezing_threshold: [77n] }, BOB).status).toBe('replied')
    const s = status(d.management('canister_status', id, BOB))
    expect(s.settings.controllers.map((p) => p.toText())).toEqual([principalToText(ALICE), principalToText(BOB)])
    expect(s.settings.freezing_threshold).toBe(77n)
    const eleven = Array.from({ length: 11 }, (_, i) => principal(new Uint8Array([i + 1])))
    expect(update({ controllers: [eleven] })).toMatchObject({ status: 'rejected', rejectCode: 4 })
    expect(status(d.management('canister_status', id, ALICE)).settings.controllers).toHaveLength(2)
  })

  it('specified ids, top-ups, and ids never reused', () => {
    const d = new RoundDriver()
    const wanted = canisterIdFromIndex(4242)
    const create = (specified: Uint8Array) => d.call(MGMT, 'provisional_create_canister_with_cycles', encodeCandid([T.provisional_create_canister_with_cycles_args], [{ amount: [5n], settings: [], specified_id: [principal(specified)], sender_canister_version: [] }]))
    expect(create(wanted).status).toBe('replied')
    expect(create(wanted)).toMatchObject({ status: 'rejected', errorCode: 'IC0205' })
    const top = encodeCandid([T.provisional_top_up_canister_args], [{ canister_id: principal(wanted), amount: 10n }])
    expect(d.call(MGMT, 'provisional_top_up_canister', top).status).toBe('replied')
    // 15 cycles cannot pay a canister_status ingress; the query is free.
    expect(d.management('canister_status', wanted)).toMatchObject({ status: 'rejected', errorCode: 'IC0207' })
    const queried = queryManagement(d.state, ANONYMOUS_PRINCIPAL, 'canister_status', encodeCandid([T.canister_status_args], [{ canister_id: principal(wanted) }]))
    expect((decodeCandid([T.canister_status_result], (queried as { bytes: Uint8Array }).bytes)[0] as Status).cycles).toBe(15n)
    const a = d.createCanister()
    d.management('stop_canister', a)
    expect(d.management('delete_canister', a).status).toBe('replied')
    const b = d.createCanister()
    expect(toHex(b)).not.toBe(toHex(a))
  })

  it('upgrade keeps stable variables; EOP requires wasm_memory_persistence', () => {
    const d = new RoundDriver()
    for (const mode of ['classic', 'eop'] as const) {
      const id = d.createCanister()
      const wasm = compileMotoko(COUNTER, mode).wasm
      d.install(id, wasm)
      expect(nat(d.call(id, 'inc'))).toBe(1n)
      const plain = d.install(id, wasm, EMPTY, { upgrade: [] })
      if (mode === 'eop') {
        expect(plain).toMatchObject({ status: 'rejected', errorCode: 'IC0504' })
        expect(d.install(id, wasm, EMPTY, { upgrade: [{ skip_pre_upgrade: [], wasm_memory_persistence: [{ keep: null }] }] }).status).toBe('replied')
      } else expect(plain.status).toBe('replied')
      expect(nat(d.call(id, 'inc'))).toBe(2n)
    }
  })
})

describe('management canister: lifecycle', () => {
  it('stop, start, delete', () => {
    const d = new RoundDriver()
    const id = d.createCanister()
    d.install(id, compileMotoko(COUNTER, 'classic').wasm)
    expect(d.management('delete_canister', id)).toMatchObject({ status: 'rejected', errorCode: 'IC0510' })
    expect(d.management('stop_canister', id).status).toBe('replied')
    expect(status(d.management('canister_status', id)).status).toEqual({ stopped: null })
    expect(d.call(id, 'inc')).toMatchObject({ status: 'rejected', rejectCode: 5, errorCode: 'IC0508' })
    expect(d.management('start_canister', id).status).toBe('replied')
    expect(nat(d.call(id, 'inc'))).toBe(1n)
    expect(d.management('stop_canister', id).status).toBe('replied')
    expect(d.management('delete_canister', id).status).toBe('replied')
    expect(d.call(id, 'inc')).toMatchObject({ rejectCode: 3, errorCode: 'IC0301' })
    expect(d.management('canister_status', id)).toMatchObject({ rejectCode: 3, errorCode: 'IC0301' })
  })

  it('a stopping canister finishes its open call contexts, then stops and answers stop_canister', () => {
    const d = new RoundDriver()
    const callee = d.createCanister()
    d.install(callee, compileMotoko(COUNTER, 'classic').wasm)
    const caller = d.createCanister()
    d.install(caller, compileMotoko(MULTI, 'classic').wasm)
    d.config = { maxInstructionsPerRound: 50_000_000_000n, maxIterations: 1, overheadPerExecution: 2_000_000n }
    const call = anonymousIngress({ canisterId: caller, method: 'callInc', arg: encodeCandid([IDL.Text], [principalToText(callee)]), nonce: 1 })
    d.round([call])
    expect(d.status(call.id)?.status).toBe('processing')
    d.config = undefined
    const stop = anonymousIngress({ canisterId: MGMT, method: 'stop_canister', arg: encodeCandid([T.stop_canister_args], [{ canister_id: principal(caller) }]), nonce: 2 })
    const late = anonymousIngress({ canisterId: caller, method: 'rand', arg: EMPTY, nonce: 3 })
    const r = d.round([stop, late])
    const order = r.ingressStatuses.map((s) => `${s.requestId === stop.id ? 'stop' : s.requestId === call.id ? 'call' : 'late'}:${s.status.status}`)
    expect(order).toEqual(['stop:received', 'late:received', 'stop:processing', 'call:replied', 'late:rejected', 'stop:replied'])
    expect(d.status(late.id)).toMatchObject({ errorCode: 'IC0509' })
    expect(nat(d.status(call.id)!)).toBe(1n)
  })

  it('start_canister cancels a pending stop (IC0511); uninstall_code rejects open call contexts', () => {
    const d = new RoundDriver()
    const callee = d.createCanister()
    d.install(callee, compileMotoko(COUNTER, 'classic').wasm)
    const caller = d.createCanister()
    d.install(caller, compileMotoko(MULTI, 'classic').wasm)
    const oneIteration = { maxInstructionsPerRound: 50_000_000_000n, maxIterations: 1, overheadPerExecution: 2_000_000n }
    const oneExecution = { maxInstructionsPerRound: 1n, maxIterations: 1, overheadPerExecution: 2_000_000n }
    const mgmt = (method: string, nonce: number) => anonymousIngress({ canisterId: MGMT, method, arg: encodeCandid([T.stop_canister_args], [{ canister_id: principal(caller) }]), nonce })
    const callInc = (nonce: number) => anonymousIngress({ canisterId: caller, method: 'callInc', arg: encodeCandid([IDL.Text], [principalToText(callee)]), nonce })

    const first = callInc(1)
    d.config = oneIteration
    d.round([first])
    const stop = mgmt('stop_canister', 2)
    d.config = oneExecution
    d.round([stop])
    expect(d.status(stop.id)?.status).toBe('processing')
    expect(d.status(first.id)?.status).toBe('processing')
    const start = mgmt('start_canister', 3)
    d.round([start])
    expect(d.status(stop.id)).toMatchObject({ status: 'rejected', rejectCode: 5, errorCode: 'IC0511' })
    expect(d.status(start.id)?.status).toBe('replied')
    d.config = undefined
    d.round()
    expect(nat(d.status(first.id)!)).toBe(1n)

    const second = callInc(4)
    d.config = oneIteration
    d.round([second])
    expect(d.status(second.id)?.status).toBe('processing')
    const uninstall = mgmt('uninstall_code', 5)
    d.config = oneExecution
    d.round([uninstall])
    expect(d.status(second.id)).toEqual({ status: 'rejected', rejectCode: 4, errorCode: 'IC0406', rejectMessage: 'Canister has been uninstalled.' })
    d.config = undefined
    d.round()
    expect(d.state.canisters.get(toHex(caller))!.state.callContexts.size).toBe(0)
    expect(status(d.management('canister_status', caller)).module_hash).toEqual([])
    expect(nat(d.call(callee, 'inc'))).toBe(3n)
  })

  it('canisters create canisters with attached cycles; logs are readable by controllers', () => {
    const d = new RoundDriver()
    const factory = d.createCanister()
    expect(d.install(factory, compileMotoko(FACTORY, 'classic').wasm).status).toBe('replied')
    const made = (decodeCandid([IDL.Principal], replyBytes(d.call(factory, 'make')))[0] as { toUint8Array(): Uint8Array }).toUint8Array()
    const s = status(d.management('canister_status', made, factory))
    // The attached cycles less the creation fee, less the fee of the canister_status ingress.
    expect(s.cycles).toBeLessThan(2_500_000_000_000n)
    expect(s.cycles).toBeGreaterThan(2_500_000_000_000n - 10_000_000n)
    expect(s.settings.controllers.map((p) => p.toText())).toEqual([principalToText(factory)])
    const arg = encodeCandid([T.fetch_canister_logs_args], [{ canister_id: principal(factory) }])
    const logs = fetchCanisterLogs(d.state, new Uint8Array([4]), arg)
    expect(logs.kind).toBe('reply')
    const records = (decodeCandid([T.fetch_canister_logs_result], (logs as { bytes: Uint8Array }).bytes)[0] as { canister_log_records: { content: Uint8Array }[] }).canister_log_records
    expect(records.map((r) => new TextDecoder().decode(r.content))).toEqual(['making'])
    expect(fetchCanisterLogs(d.state, BOB, arg).kind).toBe('reject')
    expect(d.call(MGMT, 'fetch_canister_logs', arg)).toMatchObject({ status: 'rejected' })
    const info = (id: Uint8Array) => decodeCandid([IDL.Nat64, IDL.Nat, IDL.Bool], replyBytes(d.call(factory, 'info', encodeCandid([IDL.Principal], [principal(id)]))))
    expect(info(made)).toEqual([1n, 1n, false])
    expect(info(factory)).toEqual([2n, 1n, true])
    const infoArg = encodeCandid([T.canister_info_args], [{ canister_id: principal(made), num_requested_changes: [] }])
    expect(d.call(MGMT, 'canister_info', infoArg)).toMatchObject({ status: 'rejected', errorCode: 'IC0406' })
  })
})

describe('management canister: canister_info', () => {
  it('reports the recorded changes as full ic.did records', () => {
    const d = new RoundDriver()
    const id = d.createCanister(ALICE)
    const wasm = compileMotoko(COUNTER, 'classic').wasm
    d.install(id, wasm, EMPTY, { install: null }, ALICE)
    const settings = encodeCandid([T.update_settings_args], [{ canister_id: principal(id), settings: settingsArg({ controllers: [[principal(BOB)]] }), sender_canister_version: [] }])
    expect(d.call(MGMT, 'update_settings', settings, ALICE).status).toBe('replied')
    const responses: unknown[] = []
    const ctx: ManagementContext = { state: d.state, time: d.time as never, randomness: new Uint8Array(32), instructions: 0n, logs: [], respond: (o, v) => responses.push([o, v]) }
    const outcome = executeManagement(ctx, {
      origin: { kind: 'canister', caller: id as never, callbackId: 0n, deadline: 0n }, caller: id, method: 'canister_info',
      arg: encodeCandid([T.canister_info_args], [{ canister_id: principal(id), num_requested_changes: [2n] }]), cycles: 0n as never, deadline: 0n,
    })
    expect(outcome.kind).toBe('reply')
    const info = decodeCandid([T.canister_info_result], (outcome as { bytes: Uint8Array }).bytes)[0] as {
      total_num_changes: bigint; recent_changes: { origin: Record<string, { user_id: { toText(): string } }>; details: Record<string, { module_hash?: Uint8Array; controllers?: unknown[] }> }[]
      module_hash: [Uint8Array]; controllers: { toText(): string }[]
    }
    expect(info.total_num_changes).toBe(3n)
    expect(info.recent_changes.map((c) => Object.keys(c.details)[0])).toEqual(['code_deployment', 'controllers_change'])
    expect(info.recent_changes[0].details.code_deployment.module_hash).toEqual(sha256(wasm))
    expect(info.recent_changes[0].origin.from_user.user_id.toText()).toBe(principalToText(ALICE))
    expect(info.module_hash).toEqual([sha256(wasm)])
    expect(info.controllers.map((p) => p.toText())).toEqual([principalToText(BOB)])
    expect(responses).toEqual([])
  })
})
