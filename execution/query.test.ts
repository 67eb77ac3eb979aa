import { beforeAll, describe, expect, it } from 'vitest'
import { IDL } from '@dfinity/candid'
import { encodeCandid } from '../protocol/candid.ts'
import { principalToText } from '../protocol/principal.ts'
import { compileMotoko, MOTOKO_COUNTER as COUNTER } from '../sim/motoko.ts'
import { ManagementTypes as T } from './management/index.ts'
import { executeQuery, inspectIngress } from './query.ts'
import type { QueryOptions, QueryResult } from './query.ts'
import { getCanister } from './replicated-state.ts'
import { principal, replyBytes, RoundDriver } from './scheduler-testing.ts'
import { testCanisterWat, wat } from './test-canister.ts'

const SENDER = new Uint8Array([9, 8, 7, 6, 5, 4, 3, 2, 1, 1])
const ABSENT = new Uint8Array([0, 0, 0, 0, 0, 0xff, 0xf0, 0, 1, 1])
const enc = (s: string) => new TextEncoder().encode(s)
const dec = (b: Uint8Array) => new TextDecoder().decode(new Uint8Array(b))
const u32 = (b: Uint8Array) => new DataView(b.buffer, b.byteOffset).getUint32(0, true)
const cat = (...parts: Uint8Array[]) => new Uint8Array(parts.flatMap((p) => [...p]))

// Heap: 0.. scratch, 1000 counter, 5000/5004 sum and answer count of `sum2` (composite session state).
// Table: 0 forward a reply ('R' ++ payload), 1 add a reply to the sum, 2 report a reject ('J', code,
// message), 3 trap.
const QUERY_CANISTER = `(module
  (import "ic0" "msg_arg_data_size" (func $arg_size (result i32)))
  (import "ic0" "msg_arg_data_copy" (func $arg_copy (param i32 i32 i32)))
  (import "ic0" "msg_caller_size" (func $caller_size (result i32)))
  (import "ic0" "msg_caller_copy" (func $caller_copy (param i32 i32 i32)))
  (import "ic0" "msg_method_name_size" (func $name_size (result i32)))
  (import "ic0" "msg_method_name_copy" (func $name_copy (param i32 i32 i32)))
  (import "ic0" "msg_reply_data_append" (func $append (param i32 i32)))
  (import "ic0" "msg_reply" (func $reply))
  (import "ic0" "msg_reject" (func $reject (param i32 i32)))
  (import "ic0" "msg_reject_code" (func $reject_code (result i32)))
  (import "ic0" "msg_reject_msg_size" (func $reject_msg_size (result i32)))
  (import "ic0" "msg_reject_msg_copy" (func $reject_msg_copy (param i32 i32 i32)))
  (import "ic0" "accept_message" (func $accept))
  (import "ic0" "call_new" (func $call_new (param i32 i32 i32 i32 i32 i32 i32 i32)))
  (import "ic0" "call_data_append" (func $call_data_append (param i32 i32)))
  (import "ic0" "call_perform" (func $call_perform (result i32)))
  (import "ic0" "trap" (func $trap (param i32 i32)))
  (import "ic0" "data_certificate_present" (func $cert_present (result i32)))
  (memory (export "memory") 1)
  (table 4 funcref)
  (elem (i32.const 0) $on_reply_fwd $on_reply_sum $on_reject $on_reply_trap)
  (data (i32.const 3000) "read_q")
  (data (i32.const 3010) "boom")
  (data (i32.const 3020) "relay")

  (func $reply_n (param $n i32) (call $append (i32.const 0) (local.get $n)) (call $reply))
  (func $bump (param $by i32) (i32.store (i32.const 1000) (i32.add (i32.load (i32.const 1000)) (local.get $by))))
  (func $reply_counter (i32.store (i32.const 0) (i32.load (i32.const 1000))) (call $reply_n (i32.const 4)))

  (func (export "canister_update inc") (call $bump (i32.const 1)) (call $reply_counter))
  (func (export "canister_query read_q") (call $reply_counter))
  (func (export "canister_query write_q") (call $bump (i32.const 100)) (call $reply_counter))
  (func (export "canister_query caller_q")
    (call $caller_copy (i32.const 0) (i32.const 0) (call $caller_size)) (call $reply_n (call $caller_size)))
  (func (export "canister_query silent_q"))
  (func (export "canister_query cert_q") (i32.store8 (i32.const 0) (call $cert_present)) (call $reply_n (i32.const 1)))
  (func (export "canister_query trap_q") (call $trap (i32.const 3010) (i32.const 4)))
  (func (export "canister_query reject_q") (call $reject (i32.const 3010) (i32.const 4)))

  ;; arg: callee principal; calls its read_q twice and replies with the sum once both answered
  (func (export "canister_composite_query sum2")
    (call $arg_copy (i32.const 0) (i32.const 0) (call $arg_size))
    (call $call_new (i32.const 0) (call $arg_size) (i32.const 3000) (i32.const 6) (i32.const 1) (i32.const 0) (i32.const 2) (i32.const 0))
    (drop (call $call_perform))
    (call $call_new (i32.const 0) (call $arg_size) (i32.const 3000) (i32.const 6) (i32.const 1) (i32.const 0) (i32.const 2) (i32.const 0))
    (drop (call $call_perform)))
  ;; arg: callee length n (1 byte), callee, method length m (1 byte), method, payload; one call,
  ;; answered by the callback
  (func $ask (param $reply_fn i32)
    (local $n i32) (local $m i32)
    (call $arg_copy (i32.const 0) (i32.const 0) (call $arg_size))
    (local.set $n (i32.load8_u (i32.const 0)))
    (local.set $m (i32.load8_u (i32.add (i32.const 1) (local.get $n))))
    (call $call_new (i32.const 1) (local.get $n) (i32.add (i32.const 2) (local.get $n)) (local.get $m)
      (local.get $reply_fn) (i32.const 0) (i32.const 2) (i32.const 0))
    (call $call_data_append (i32.add (i32.add (i32.const 2) (local.get $n)) (local.get $m))
      (i32.sub (call $arg_size) (i32.add (i32.add (i32.const 2) (local.get $n)) (local.get $m))))
    (drop (call $call_perform)))
  (func (export "canister_composite_query ask") (call $ask (i32.const 0)))
  (func (export "canister_composite_query ask_then_trap") (call $ask (i32.const 3)))
  ;; arg: 10-byte canister ids; calls relay on the first with the rest, 'E' at the end of the chain
  (func (export "canister_composite_query relay")
    (local $n i32)
    (local.set $n (call $arg_size))
    (if (i32.eqz (local.get $n)) (then (i32.store8 (i32.const 0) (i32.const 69)) (call $reply_n (i32.const 1)) (return)))
    (call $arg_copy (i32.const 0) (i32.const 0) (local.get $n))
    (call $call_new (i32.const 0) (i32.const 10) (i32.const 3020) (i32.const 5) (i32.const 0) (i32.const 0) (i32.const 2) (i32.const 0))
    (call $call_data_append (i32.const 10) (i32.sub (local.get $n) (i32.const 10)))
    (drop (call $call_perform)))

  (func $on_reply_fwd (param $env i32)
    (i32.store8 (i32.const 0) (i32.const 82))
    (call $arg_copy (i32.const 1) (i32.const 0) (call $arg_size))
    (call $reply_n (i32.add (i32.const 1) (call $arg_size))))
  (func $on_reply_sum (param $env i32)
    (call $arg_copy (i32.const 100) (i32.const 0) (i32.const 4))
    (i32.store (i32.const 5000) (i32.add (i32.load (i32.const 5000)) (i32.load (i32.const 100))))
    (i32.store (i32.const 5004) (i32.add (i32.load (i32.const 5004)) (i32.const 1)))
    (if (i32.eq (i32.load (i32.const 5004)) (i32.const 2))
      (then (i32.store (i32.const 0) (i32.load (i32.const 5000))) (call $reply_n (i32.const 4)))))
  (func $on_reject (param $env i32)
    (i32.store8 (i32.const 0) (i32.const 74))
    (i32.store8 (i32.const 1) (call $reject_code))
    (call $reject_msg_copy (i32.const 2) (i32.const 0) (call $reject_msg_size))
    (call $reply_n (i32.add (i32.const 2) (call $reject_msg_size))))
  (func $on_reply_trap (param $env i32) (call $trap (i32.const 3010) (i32.const 4)))

  ;; accepts methods starting with 'i', traps on 't', refuses the rest; writes the heap every time
  (func (export "canister_inspect_message")
    (call $bump (i32.const 1000))
    (call $name_copy (i32.const 0) (i32.const 0) (call $name_size))
    (if (i32.eq (i32.load8_u (i32.const 0)) (i32.const 116)) (then (call $trap (i32.const 3010) (i32.const 4))))
    (if (i32.eq (i32.load8_u (i32.const 0)) (i32.const 105)) (then (call $accept))))
)`

let wasm: Uint8Array

beforeAll(async () => {
  wasm = await wat(QUERY_CANISTER)
})

function setup(n: number): { d: RoundDriver; ids: Uint8Array[] } {
  const d = new RoundDriver()
  const ids = Array.from({ length: n }, () => {
    const id = d.createCanister()
    expect(d.install(id, wasm).status).toBe('replied')
    return id
  })
  return { d, ids }
}

const query = (d: RoundDriver, canisterId: Uint8Array, method: string, arg: Uint8Array = new Uint8Array(0), options?: QueryOptions): QueryResult =>
  executeQuery(d.state, { canisterId, method, arg, sender: SENDER }, d.time, options)

function reply(r: QueryResult): Uint8Array {
  if (r.status !== 'replied') throw new Error(`expected a reply, got ${JSON.stringify(r)}`)
  expect(r.instructions).toBeGreaterThan(0n)
  return r.reply
}

function rejected(r: QueryResult) {
  if (r.status !== 'rejected') throw new Error(`expected a reject, got a reply`)
  return { rejectCode: r.rejectCode, errorCode: r.errorCode, rejectMessage: r.rejectMessage }
}

const askArg = (callee: Uint8Array, method: string, payload: Uint8Array = new Uint8Array(0)): Uint8Array =>
  cat(new Uint8Array([callee.length]), callee, new Uint8Array([method.length]), enc(method), payload)

describe('executeQuery: plain queries', () => {
  it('replies with the sender as caller and never keeps a query write', () => {
    const { d, ids: [a] } = setup(1)
    expect(reply(query(d, a, 'caller_q'))).toEqual(SENDER)
    expect(u32(replyBytes(d.call(a, 'inc')))).toBe(1)
    const heap = getCanister(d.state, a)!.state.heap.hash()
    const version = getCanister(d.state, a)!.state.version
    expect(u32(reply(query(d, a, 'write_q')))).toBe(101)
    expect(u32(reply(query(d, a, 'write_q')))).toBe(101)
    expect(getCanister(d.state, a)!.state.heap.hash()).toEqual(heap)
    expect(getCanister(d.state, a)!.state.version).toBe(version)
    expect(u32(reply(query(d, a, 'read_q')))).toBe(1)
    expect(u32(replyBytes(d.call(a, 'inc')))).toBe(2)
  })

  it('rejects with the IC codes and texts', () => {
    const { d, ids: [a] } = setup(1)
    const text = principalToText(a)
    expect(rejected(query(d, ABSENT, 'read_q'))).toEqual({ rejectCode: 3, errorCode: 'IC0301', rejectMessage: `Canister ${principalToText(ABSENT)} not found` })
    expect(rejected(query(d, a, 'nope'))).toEqual({ rejectCode: 5, errorCode: 'IC0536', rejectMessage: `Error from Canister ${text}: Canister has no query method 'nope'` })
    // An update method is not callable as a query.
    expect(rejected(query(d, a, 'inc'))).toMatchObject({ rejectCode: 5, errorCode: 'IC0536', rejectMessage: expect.stringContaining("has no query method 'inc'") })
    expect(rejected(query(d, a, 'trap_q'))).toEqual({ rejectCode: 5, errorCode: 'IC0503', rejectMessage: `Error from Canister ${text}: Canister called \`ic0.trap\` with message: 'boom'` })
    expect(rejected(query(d, a, 'silent_q'))).toEqual({ rejectCode: 5, errorCode: 'IC0506', rejectMessage: `Canister ${text} did not produce a response` })
    expect(rejected(query(d, a, 'reject_q'))).toEqual({ rejectCode: 4, errorCode: 'IC0406', rejectMessage: 'boom' })
    const empty = d.createCanister()
    expect(rejected(query(d, empty, 'read_q'))).toMatchObject({ rejectCode: 5, errorCode: 'IC0537', rejectMessage: expect.stringContaining('contains no Wasm module') })
  })

  it('answers while stopping, and rejects a stopped canister with IC0508', () => {
    const { d, ids: [a] } = setup(1)
    getCanister(d.state, a)!.state.status = 'stopping'
    expect(u32(reply(query(d, a, 'read_q')))).toBe(0)
    getCanister(d.state, a)!.state.status = 'running'
    expect(d.management('stop_canister', a).status).toBe('replied')
    expect(rejected(query(d, a, 'read_q'))).toEqual({
      rejectCode: 5, errorCode: 'IC0508', rejectMessage: `Canister ${principalToText(a)} is stopped and therefore does not have a CallContextManager`,
    })
  })

  it('routes the management canister to its query methods', () => {
    const { d, ids: [a] } = setup(1)
    const arg = encodeCandid([T.canister_status_args], [{ canister_id: principal(a) }])
    // The anonymous principal created the canister and controls it.
    const anon = new Uint8Array([4])
    const ok = executeQuery(d.state, { canisterId: new Uint8Array(0), method: 'canister_status', arg, sender: anon }, d.time)
    expect(ok.status).toBe('replied')
    const r = rejected(executeQuery(d.state, { canisterId: new Uint8Array(0), method: 'raw_rand', arg: new Uint8Array(0), sender: anon }, d.time))
    expect(r).toEqual({ rejectCode: 5, errorCode: 'IC0536', rejectMessage: "Management canister has no query method 'raw_rand'" })
  })
})

describe('executeQuery: composite queries', () => {
  it('delivers both answers to the callbacks, which share the session; nothing persists', () => {
    const { d, ids: [a, b] } = setup(2)
    for (let i = 0; i < 3; i++) d.call(b, 'inc')
    const heap = getCanister(d.state, a)!.state.heap.hash()
    expect(u32(reply(query(d, a, 'sum2', b)))).toBe(6)
    // A session that leaked its writes would start this one at count 2 and never reply.
    expect(u32(reply(query(d, a, 'sum2', b)))).toBe(6)
    expect(getCanister(d.state, a)!.state.heap.hash()).toEqual(heap)
    expect(u32(replyBytes(d.call(a, 'inc')))).toBe(1)
  })

  it('the callee sees the calling canister as caller; its rejects reach the reject callback', () => {
    const { d, ids: [a, b, c] } = setup(3)
    expect(reply(query(d, a, 'ask', askArg(b, 'caller_q')))).toEqual(cat(enc('R'), a))
    expect(reply(query(d, a, 'ask', askArg(b, 'ask', askArg(c, 'caller_q'))))).toEqual(cat(enc('RR'), b))
    const noQuery = reply(query(d, a, 'ask', askArg(b, 'inc')))
    expect(noQuery[0]).toBe(74)
    expect(noQuery[1]).toBe(5)
    expect(dec(noQuery.subarray(2))).toBe(`Error from Canister ${principalToText(b)}: Canister has no query method 'inc'`)
    const missing = reply(query(d, a, 'ask', askArg(ABSENT, 'read_q')))
    expect([missing[0], missing[1]]).toEqual([74, 3])
    const mgmt = reply(query(d, a, 'ask', askArg(new Uint8Array(0), 'raw_rand')))
    expect(dec(mgmt.subarray(2))).toBe("Management canister has no query method 'raw_rand'")
  })

  it('only the canister the query is addressed to sees the data certificate', () => {
    const { d, ids: [a, b] } = setup(2)
    const dataCertificate = new Uint8Array([1, 2, 3])
    expect(reply(query(d, a, 'cert_q', undefined, { dataCertificate }))).toEqual(new Uint8Array([1]))
    expect(reply(query(d, a, 'cert_q'))).toEqual(new Uint8Array([0]))
    expect(reply(query(d, a, 'ask', askArg(b, 'cert_q'), { dataCertificate }))).toEqual(cat(enc('R'), new Uint8Array([0])))
  })

  it('a trapping callback with nothing outstanding fails the query', () => {
    const { d, ids: [a, b] } = setup(2)
    expect(rejected(query(d, a, 'ask_then_trap', askArg(b, 'read_q')))).toMatchObject({ errorCode: 'IC0503', rejectCode: 5 })
  })

  it('nests composite queries, and enforces depth, loops and the total instruction limit', () => {
    const { d, ids: [a, b, c] } = setup(3)
    expect(dec(reply(query(d, a, 'relay', cat(b, c))))).toBe('RRE')
    expect(rejected(query(d, a, 'relay', cat(b, c), { maxCallDepth: 1 }))).toEqual({
      rejectCode: 5, errorCode: 'IC0525', rejectMessage: 'Composite query calls exceeded the maximum call depth.',
    })
    expect(rejected(query(d, a, 'relay', cat(b, a)))).toEqual({
      rejectCode: 5, errorCode: 'IC0517', rejectMessage: 'Query calls re-entering the same canister are not allowed yet.',
    })
    expect(rejected(query(d, a, 'sum2', b, { maxTotalInstructions: 1_000_000n, overheadPerCall: 1_000_000n }))).toEqual({
      rejectCode: 5, errorCode: 'IC0526', rejectMessage: 'Composite query calls exceeded the instruction limit.',
    })
    // The aborted sessions left nothing behind.
    expect(u32(reply(query(d, a, 'sum2', b)))).toBe(0)
  })
})

describe('inspectIngress', () => {
  it('admits, refuses and rejects like the IC ingress filter, keeping nothing', () => {
    const { d, ids: [a] } = setup(1)
    const text = principalToText(a)
    const inspect = (canisterId: Uint8Array, method: string) => inspectIngress(d.state, { canisterId, method, arg: new Uint8Array(0), sender: SENDER }, d.time)
    const heap = getCanister(d.state, a)!.state.heap.hash()
    expect(inspect(a, 'inc')).toBeUndefined()
    expect(inspect(a, 'read_q')).toEqual({ rejectCode: 4, errorCode: 'IC0406', rejectMessage: `Canister ${text} rejected the message` })
    expect(inspect(a, 'trap_q')).toEqual({ rejectCode: 5, errorCode: 'IC0503', rejectMessage: `Error from Canister ${text}: Canister called \`ic0.trap\` with message: 'boom'` })
    expect(getCanister(d.state, a)!.state.heap.hash()).toEqual(heap)
    expect(u32(reply(query(d, a, 'read_q')))).toBe(0)
    expect(inspect(new Uint8Array(0), 'raw_rand')).toBeUndefined()
    expect(inspect(ABSENT, 'inc')).toEqual({ rejectCode: 3, errorCode: 'IC0301', rejectMessage: `Canister ${principalToText(ABSENT)} not found` })
    const empty = d.createCanister()
    expect(inspect(empty, 'inc')).toEqual({ rejectCode: 5, errorCode: 'IC0537', rejectMessage: 'Requested canister has no wasm module' })
    getCanister(d.state, a)!.state.status = 'stopping'
    expect(inspect(a, 'inc')).toEqual({ rejectCode: 5, errorCode: 'IC0509', rejectMessage: `Canister ${text} is stopping` })
    getCanister(d.state, a)!.state.status = 'running'
    expect(d.management('stop_canister', a).status).toBe('replied')
    expect(inspect(a, 'inc')).toEqual({ rejectCode: 5, errorCode: 'IC0508', rejectMessage: `Canister ${text} is stopped` })
  })

  it('accepts everything when the module has no canister_inspect_message', async () => {
    const d = new RoundDriver()
    const id = d.createCanister()
    const noInspect = testCanisterWat().replace(/\(func \(export "canister_inspect_message"\)[\s\S]*?\(then \(call \$accept_message\)\)\)\)/, '')
    expect(noInspect).not.toContain('canister_inspect_message')
    expect(d.install(id, await wat(noInspect)).status).toBe('replied')
    expect(inspectIngress(d.state, { canisterId: id, method: 'bump', arg: new Uint8Array(0), sender: SENDER }, d.time)).toBeUndefined()
    const withInspect = d.createCanister()
    expect(d.install(withInspect, await wat(testCanisterWat())).status).toBe('replied')
    expect(inspectIngress(d.state, { canisterId: withInspect, method: 'bump', arg: new Uint8Array(0), sender: SENDER }, d.time)?.errorCode).toBe('IC0406')
  })
})

const SUMMER = `import Principal "mo:core/Principal";
persistent actor {
  type Counter = actor { get : shared query () -> async Nat };
  public composite query func sumOf(a : Principal, b : Principal) : async Nat {
    let x : Counter = actor (Principal.toText(a));
    let y : Counter = actor (Principal.toText(b));
    (await x.get()) + (await y.get())
  };
}`

const nat = (bytes: Uint8Array) => IDL.decode([IDL.Nat], new Uint8Array(bytes))[0] as bigint
const NONE = encodeCandid([], [])

describe.each(['classic', 'eop'] as const)('Motoko (%s)', (mode) => {
  it('a counter answers queries after updates; a composite query sums two counters', () => {
    const d = new RoundDriver()
    const [c1, c2, summer] = [d.createCanister(), d.createCanister(), d.createCanister()]
    const counter = compileMotoko(COUNTER, mode).wasm
    expect(d.install(c1, counter).status).toBe('replied')
    expect(d.install(c2, counter).status).toBe('replied')
    expect(d.install(summer, compileMotoko(SUMMER, mode).wasm).status).toBe('replied')
    for (let i = 0; i < 3; i++) d.call(c1, 'inc')
    d.call(c2, 'inc')
    expect(nat(reply(query(d, c1, 'get', NONE)))).toBe(3n)
    expect(nat(replyBytes(d.call(c1, 'inc')))).toBe(4n)
    expect(nat(reply(query(d, c1, 'get', NONE)))).toBe(4n)
    const arg = encodeCandid([IDL.Principal, IDL.Principal], [principal(c1), principal(c2)])
    expect(nat(reply(query(d, summer, 'sumOf', arg)))).toBe(5n)
    expect(nat(reply(query(d, summer, 'sumOf', arg)))).toBe(5n)
    expect(rejected(query(d, c1, 'inc', NONE))).toMatchObject({ errorCode: 'IC0536' })
  })
})
