import { describe, expect, it } from 'vitest'
import { Ed25519KeyIdentity } from '@dfinity/identity'
import { decodeCandid, encodeCandid, IDL } from '../protocol/candid.ts'
import { principalToText, canisterIdFromIndex } from '../protocol/principal.ts'
import { compileMotoko, MOTOKO_COUNTER as COUNTER, MOTOKO_MULTI as MULTI } from '../sim/motoko.ts'
import { testCanisterWat, wat } from './test-canister.ts'
import { anonymousIngress, replyBytes, RoundDriver, signedIngress } from './scheduler-testing.ts'
import type { IngressStatus } from './replicated-state.ts'
import { toHex } from '../protocol/hash.ts'
import { limits } from '../protocol/limits.ts'

const TRAPPER = `(module
  (import "ic0" "msg_reply" (func $reply))
  (import "ic0" "msg_reply_data_append" (func $append (param i32 i32)))
  (import "ic0" "trap" (func $trap (param i32 i32)))
  (memory 1)
  (data (i32.const 100) "boom")
  (func $bump (i32.store (i32.const 0) (i32.add (i32.load (i32.const 0)) (i32.const 1))))
  (func (export "canister_update bump") (call $bump) (call $append (i32.const 0) (i32.const 4)) (call $reply))
  (func (export "canister_update bump_then_trap") (call $bump) (call $trap (i32.const 100) (i32.const 4)))
  (func (export "canister_update bump_then_unreachable") (call $bump) unreachable))`


const nat = (s: IngressStatus): bigint => decodeCandid([IDL.Nat], replyBytes(s))[0] as bigint
const text = (t: string) => encodeCandid([IDL.Text], [t])

function counter(d: RoundDriver, mode: 'classic' | 'eop' = 'classic'): Uint8Array {
  const id = d.createCanister()
  expect(d.install(id, compileMotoko(COUNTER, mode).wasm).status).toBe('replied')
  return id
}

describe('executeRound: ingress', () => {
  it.each(['classic', 'eop'] as const)('creates, installs and calls a Motoko counter through batches (%s)', (mode) => {
    const d = new RoundDriver()
    const id = counter(d, mode)
    expect([nat(d.call(id, 'inc')), nat(d.call(id, 'inc')), nat(d.call(id, 'inc'))]).toEqual([1n, 2n, 3n])
  })

  it('executes real signed envelopes and records received, then replied', async () => {
    const d = new RoundDriver()
    const id = counter(d)
    const identity = Ed25519KeyIdentity.generate()
    const msgs = await Promise.all([1, 2].map((nonce) => signedIngress(identity, { canisterId: id, method: 'inc', arg: encodeCandid([], []), nonce })))
    const r = d.round(msgs)
    const phases = r.ingressStatuses.map((s) => s.status.status)
    expect(phases).toEqual(['received', 'received', 'replied', 'replied'])
    expect(r.ingressStatuses[2].sender).toEqual(identity.getPrincipal().toUint8Array())
    expect(r.ingressStatuses[2].effectiveCanisterId).toEqual(id)
    expect(nat(d.status(msgs[1].id)!)).toBe(2n)
  })

  it('rejects calls to missing canisters, missing methods and empty canisters with the IC codes', () => {
    const d = new RoundDriver()
    const missing = canisterIdFromIndex(999)
    expect(d.call(missing, 'inc')).toEqual({ status: 'rejected', rejectCode: 3, errorCode: 'IC0301', rejectMessage: `Canister ${principalToText(missing)} not found` })
    const empty = d.createCanister()
    expect(d.call(empty, 'inc')).toMatchObject({ rejectCode: 5, errorCode: 'IC0537', rejectMessage: expect.stringMatching(new RegExp(`^Error from Canister ${principalToText(empty)}: .*no Wasm module`)) })
    const id = counter(d)
    expect(d.call(id, 'nope')).toMatchObject({ rejectCode: 5, errorCode: 'IC0536', rejectMessage: `Error from Canister ${principalToText(id)}: Canister has no update method 'nope'` })
  })

  it('a trapping update is rejected with code 5 and leaves the canister state unchanged', async () => {
    const d = new RoundDriver()
    const id = d.createCanister()
    expect(d.install(id, await wat(TRAPPER), new Uint8Array(0)).status).toBe('replied')
    expect(d.call(id, 'bump').status).toBe('replied')
    const rt = d.state.canisters.get(toHex(id))!
    const heap = rt.state.heap.hash()
    const trapped = d.call(id, 'bump_then_trap')
    expect(trapped).toMatchObject({ status: 'rejected', rejectCode: 5, errorCode: 'IC0503', rejectMessage: `Error from Canister ${principalToText(id)}: Canister called \`ic0.trap\` with message: 'boom'` })
    expect(d.call(id, 'bump_then_unreachable')).toMatchObject({ rejectCode: 5, errorCode: 'IC0502' })
    expect(rt.state.heap.hash()).toEqual(heap)
    expect(d.call(id, 'bump')).toEqual({ status: 'replied', reply: new Uint8Array([2, 0, 0, 0]) })
  })

  it('runs canister_heartbeat every round, and query methods called as updates', async () => {
    const d = new RoundDriver()
    const id = d.createCanister()
    expect(d.install(id, await wat(testCanisterWat()), new Uint8Array(0)).status).toBe('replied')
    const heartbeats = () => new DataView(replyBytes(d.call(id, 'report')).buffer).getUint32(0, true)
    const before = heartbeats()
    d.round()
    d.round()
    expect(heartbeats()).toBe(before + 3)
  })
})

describe('executeRound: calls between canisters, raw_rand, timers', () => {
  it('a canister awaits another canister on the same subnet', () => {
    const d = new RoundDriver()
    const callee = counter(d)
    const caller = d.createCanister()
    expect(d.install(caller, compileMotoko(MULTI, 'classic').wasm).status).toBe('replied')
    const msg = anonymousIngress({ canisterId: caller, method: 'callInc', arg: text(principalToText(callee)), nonce: 1 })
    const r = d.round([msg])
    expect(nat(d.status(msg.id)!)).toBe(1n)
    expect(r.ingressStatuses.map((s) => s.status.status)).toEqual(['received', 'processing', 'replied'])
    expect(nat(d.call(caller, 'callInc', text(principalToText(callee))))).toBe(2n)
    expect(nat(d.call(callee, 'inc'))).toBe(3n)
  })

  it('raw_rand answers canisters with batch-derived bytes, and refuses ingress', () => {
    const d = new RoundDriver()
    const id = d.createCanister()
    expect(d.install(id, compileMotoko(MULTI, 'classic').wasm).status).toBe('replied')
    const a = decodeCandid([IDL.Vec(IDL.Nat8)], replyBytes(d.call(id, 'rand')))[0] as Uint8Array
    const b = decodeCandid([IDL.Vec(IDL.Nat8)], replyBytes(d.call(id, 'rand')))[0] as Uint8Array
    expect(a).toHaveLength(32)
    expect(b).toHaveLength(32)
    expect(a).not.toEqual(b)
    expect(d.call(new Uint8Array(0), 'raw_rand')).toMatchObject({ status: 'rejected', rejectCode: 4, errorCode: 'IC0406' })
  })

  it('a Motoko timer fires once the batch time passes it', () => {
    const d = new RoundDriver()
    const id = d.createCanister()
    expect(d.install(id, compileMotoko(MULTI, 'classic').wasm).status).toBe('replied')
    expect(d.call(id, 'arm', encodeCandid([IDL.Nat], [5n])).status).toBe('replied')
    expect(nat(d.call(id, 'firedCount'))).toBe(0n)
    for (let i = 0; i < 5; i++) d.round()
    expect(nat(d.call(id, 'firedCount'))).toBe(1n)
    for (let i = 0; i < 8; i++) d.round()
    expect(nat(d.call(id, 'firedCount'))).toBe(1n)
  })
})

describe('executeRound: budget and determinism', () => {
  it('leaves messages beyond the instruction budget queued, in order, for the next round', () => {
    const d = new RoundDriver()
    const id = counter(d)
    d.config = { maxInstructionsPerRound: 20_000_000n, maxIterations: 100, overheadPerExecution: 2_000_000n }
    const msgs = Array.from({ length: 30 }, (_, i) => anonymousIngress({ canisterId: id, method: 'inc', arg: encodeCandid([], []), nonce: 100 + i }))
    const first = d.round(msgs)
    expect(first.pendingMessages).toBeGreaterThan(0)
    expect(first.instructionsUsed).toBeLessThan(20_000_000n + 50_000_000n)
    let rounds = 1
    while (d.round().pendingMessages > 0) rounds++
    expect(rounds).toBeGreaterThan(1)
    expect(msgs.map((m) => nat(d.status(m.id)!))).toEqual(msgs.map((_, i) => BigInt(i + 1)))
  })

  it('rejects ingress beyond the input queue bound with IC0201', () => {
    const d = new RoundDriver()
    const id = counter(d)
    d.config = { maxInstructionsPerRound: 1n, maxIterations: 1, overheadPerExecution: 2_000_000n }
    const msgs = Array.from({ length: limits.maxInputQueueLength + 2 }, (_, i) => anonymousIngress({ canisterId: id, method: 'inc', arg: encodeCandid([], []), nonce: 1000 + i }))
    d.round(msgs)
    const overflow = msgs.slice(limits.maxInputQueueLength).map((m) => d.status(m.id))
    expect(overflow).toEqual([0, 1].map(() => ({ status: 'rejected', rejectCode: 2, errorCode: 'IC0201', rejectMessage: `Canister ${principalToText(id)} ingress queue is full` })))
    expect([d.status(msgs[0].id)?.status, d.status(msgs[1].id)?.status]).toEqual(['replied', 'received'])
  })

  it('forgets completed calls once their expiry is more than the margin in the past', () => {
    const d = new RoundDriver()
    const id = counter(d)
    const msg = anonymousIngress({ canisterId: id, method: 'inc', arg: encodeCandid([], []), nonce: 7, expiry: d.time + 10_000_000_000n })
    d.round([msg])
    expect(d.status(msg.id)?.status).toBe('replied')
    d.stepNs = 60_000_000_000n
    for (let i = 0; i < 5; i++) d.round()
    expect(d.status(msg.id)?.status).toBe('replied')
    d.round()
    expect(d.status(msg.id)).toBeUndefined()
    expect(d.state.ingressCompleted.map((e) => e.key)).not.toContain(toHex(msg.id))
  })

  it('the same batches give byte-identical ingress statuses and page maps', () => {
    const run = () => {
      const d = new RoundDriver()
      const callee = counter(d)
      const caller = d.createCanister()
      d.install(caller, compileMotoko(MULTI, 'classic').wasm)
      d.call(caller, 'callInc', text(principalToText(callee)))
      d.call(caller, 'rand')
      d.call(caller, 'arm', encodeCandid([IDL.Nat], [1n]))
      d.round(Array.from({ length: 5 }, (_, i) => anonymousIngress({ canisterId: callee, method: 'inc', arg: encodeCandid([], []), nonce: i })))
      d.round()
      d.round()
      const statuses = [...d.state.ingress.entries()].sort()
      const pages = [...d.state.canisters.entries()].sort().map(([k, rt]) => [k, rt.state.heap.hash(), rt.state.stable.hash(), rt.state.globals])
      return { statuses, pages }
    }
    const a = run()
    const b = run()
    expect(a.statuses.length).toBeGreaterThan(8)
    expect(b).toEqual(a)
  })
})
