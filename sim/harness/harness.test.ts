import { beforeAll, describe, expect, it } from 'vitest'
import { Principal } from '@dfinity/principal'
import { verifyCertificate } from '../../protocol/certificate.ts'
import { lookupPath } from '../../protocol/hash-tree.ts'
import { testCanisterWat, wat } from '../../execution/test-canister.ts'
import { CallRejectedError, CapsaTestSubnet, IcErrorCode, RejectCode } from './index.ts'
import { cyclesConfig, FREE_FEES } from '../../execution/cycles.ts'

// The execution tests' System API canister: `bump` moves a heap counter, a global and stable memory
// together and replies with them; `report` (query) reads them; heartbeats also bump.
let wasm: Uint8Array
beforeAll(async () => {
  wasm = await wat(testCanisterWat())
})

const NONE = new Uint8Array(0)
const counter = (reply: Uint8Array): number => new DataView(reply.buffer, reply.byteOffset).getUint32(0, true)
const rejectOf = (f: () => unknown): CallRejectedError => {
  try {
    f()
  } catch (e) {
    if (e instanceof CallRejectedError) return e
    throw e
  }
  throw new Error('expected a reject')
}
const user = (n: number): Principal => Principal.selfAuthenticating(new Uint8Array(32).fill(n))

function installed(seed = 'wat'): { subnet: CapsaTestSubnet; id: Principal } {
  const subnet = CapsaTestSubnet.create({ seed })
  const id = subnet.createCanister()
  subnet.installCode({ canisterId: id, wasm })
  return { subnet, id }
}

describe('the networkless harness', () => {
  it('runs updates as ingress through rounds and queries against the committed state', () => {
    const { subnet, id } = installed()
    const h = subnet.height()
    const first = counter(subnet.updateCall(id, 'bump', NONE))
    expect(subnet.height()).toBe(h + 1n) // a plain update is answered in the round it arrives in
    expect(counter(subnet.queryCall(id, 'report', NONE))).toBe(first)
    // A query runs non-replicated: its writes never persist.
    subnet.queryCall(id, 'bump_in_query', NONE)
    expect(counter(subnet.queryCall(id, 'report', NONE))).toBe(first)
  })

  it('puts several submitted calls into one round', () => {
    const { subnet, id } = installed()
    const h = subnet.height()
    const calls = [1, 2, 3].map(() => subnet.submitCall(id, 'bump', NONE))
    const replies = calls.map((c) => counter(subnet.awaitCall(c)))
    expect(subnet.height()).toBe(h + 1n)
    expect(replies[1] - replies[0]).toBe(1)
    expect(replies[2] - replies[1]).toBe(1)
    expect(() => subnet.awaitCall(calls[0])).toThrow(/awaited already/)
    // A call that is not answered within the bound is reported, not waited on forever.
    const late = subnet.submitCall(id, 'bump', NONE)
    expect(() => subnet.awaitCall(late, 0)).toThrow(/still 'unknown' after 0 rounds/)
    expect(counter(subnet.awaitCall(late))).toBe(replies[2] + 2) // one heartbeat, then this bump
  })

  it('drives the clock: rounds run at the harness time, which only moves forward', () => {
    const { subnet, id } = installed()
    const timeOf = (reply: Uint8Array) => new DataView(reply.buffer, reply.byteOffset).getBigUint64(0, true)
    const t0 = timeOf(subnet.updateCall(id, 'info', NONE))
    expect(t0).toBe(subnet.time())
    subnet.advanceTime(90_000)
    const t1 = timeOf(subnet.updateCall(id, 'info', NONE))
    expect(t1 - t0).toBe(90_000_000_000n)
    // An unmoved clock still gives every round a later time, as consensus does.
    const t2 = timeOf(subnet.updateCall(id, 'info', NONE))
    expect(t2).toBe(t1 + 1n)
    subnet.setTimeNs(t2 + 5n)
    expect(subnet.getTime()).toBe(Number((t2 + 5n) / 1_000_000n))
    expect(() => subnet.setTimeNs(t0)).toThrow(/cannot go back/)
  })

  it('surfaces rejects with the IC reject and error codes, and a trap changes nothing', () => {
    const { subnet, id } = installed()
    expect(rejectOf(() => subnet.updateCall(id, 'reject', NONE))).toMatchObject({ rejectCode: RejectCode.CANISTER_REJECT, rejectMessage: 'nope' })
    // The heartbeat bumps the counter once per round; the trapped bump must add nothing on top.
    const before = counter(subnet.queryCall(id, 'report', NONE))
    const h = subnet.height()
    const trap = rejectOf(() => subnet.updateCall(id, 'bump_then_trap', NONE))
    expect(trap).toMatchObject({ rejectCode: RejectCode.CANISTER_ERROR, errorCode: IcErrorCode.CanisterCalledTrap })
    expect(trap.message).toMatch(/boom/)
    expect(counter(subnet.queryCall(id, 'report', NONE))).toBe(before + Number(subnet.height() - h))
    expect(rejectOf(() => subnet.updateCall(id, 'no_such_method', NONE)).errorCode).toBe(IcErrorCode.CanisterMethodNotFound)
    expect(rejectOf(() => subnet.queryCall(id, 'no_such_query', NONE)).errorCode).toBe(IcErrorCode.CanisterMethodNotFound)
    expect(rejectOf(() => subnet.installCode({ canisterId: id, wasm, sender: user(5) })).errorCode).toBe(IcErrorCode.CanisterInvalidController)
  })

  it('charges cycles with the IC\'s fees by default and nothing under the free cost table', () => {
    for (const [cycles, charged] of [[undefined, true], [cyclesConfig(FREE_FEES), false]] as const) {
      const subnet = CapsaTestSubnet.create({ cycles })
      const owner = user(1)
      const id = subnet.createCanister({ sender: owner, cycles: 5_000_000_000_000n })
      subnet.installCode({ canisterId: id, wasm, sender: owner })
      subnet.updateCall(id, 'bump', NONE)
      subnet.advanceTime(86_400_000)
      subnet.tick()
      expect(subnet.getCyclesBalance(id, owner) < 5_000_000_000_000n).toBe(charged)
    }
  })

  it('manages a canister through its lifecycle with the caller as controller', () => {
    const subnet = CapsaTestSubnet.create()
    const owner = user(1)
    const id = subnet.createCanister({ sender: owner, cycles: 5_000_000_000_000n })
    expect(rejectOf(() => subnet.updateCall(id, 'bump', NONE)).errorCode).toBe(IcErrorCode.CanisterWasmModuleNotFound)
    subnet.installCode({ canisterId: id, wasm, sender: owner })
    const status = subnet.canisterStatus({ canisterId: id, sender: owner })
    expect(status).toMatchObject({ status: 'running' })
    expect(status.controllers.map((p) => p.toText())).toEqual([owner.toText()])
    expect(status.moduleHash).toHaveLength(32)
    expect(status.cycles).toBeLessThanOrEqual(5_000_000_000_000n)
    subnet.stopCanister({ canisterId: id, sender: owner })
    expect(subnet.canisterStatus({ canisterId: id, sender: owner }).status).toBe('stopped')
    expect(rejectOf(() => subnet.updateCall(id, 'bump', NONE)).errorCode).toBe(IcErrorCode.CanisterStopped)
    subnet.startCanister({ canisterId: id, sender: owner })
    expect(counter(subnet.updateCall(id, 'bump', NONE))).toBeGreaterThan(0)
    subnet.uninstallCode({ canisterId: id, sender: owner })
    expect(subnet.canisterStatus({ canisterId: id, sender: owner }).moduleHash).toBeUndefined()
    subnet.stopCanister({ canisterId: id, sender: owner })
    subnet.deleteCanister({ canisterId: id, sender: owner })
    const shared = subnet.createCanister({ controllers: [owner, user(2)] })
    expect(subnet.canisterStatus({ canisterId: shared, sender: user(2) }).controllers.map((p) => p.toText()).sort()).toEqual([owner.toText(), user(2).toText()].sort())
    expect(rejectOf(() => subnet.canisterStatus({ canisterId: shared })).errorCode).toBe(IcErrorCode.CanisterInvalidController)
    const gone = rejectOf(() => subnet.updateCall(id, 'bump', NONE))
    expect(gone).toMatchObject({ rejectCode: RejectCode.DESTINATION_INVALID, errorCode: IcErrorCode.CanisterNotFound })
  })

  it('collects debug_print output per round and serves the canister log to controllers', () => {
    const seen: string[] = []
    const subnet = CapsaTestSubnet.create({ onLog: (l) => seen.push(`${l.height}:${l.text}`) })
    const id = subnet.createCanister()
    subnet.installCode({ canisterId: id, wasm })
    subnet.updateCall(id, 'print', NONE)
    expect(subnet.debugPrints(id)).toEqual(['init ran', 'nope'])
    expect(seen).toHaveLength(2)
    const logs = subnet.fetchCanisterLogs({ canisterId: id })
    expect(logs.map((r) => r.text)).toEqual(['init ran', 'nope'])
    expect(logs[1].idx).toBe(logs[0].idx + 1n)
    expect(rejectOf(() => subnet.fetchCanisterLogs({ canisterId: id, sender: user(3) })).rejectCode).toBe(RejectCode.CANISTER_REJECT)
  })

  it('delivers calls between canisters within rounds, rejects included', () => {
    const { subnet, id } = installed()
    const other = subnet.createCanister()
    subnet.installCode({ canisterId: other, wasm })
    // `call` calls method "m" on the given canister and replies at once with call_perform's result;
    // the callee has no "m", and its reject comes back to the caller's callback in the same round.
    const h = subnet.height()
    expect(counter(subnet.updateCall(id, 'call', other.toUint8Array()))).toBe(0)
    expect(subnet.height()).toBe(h + 1n)
    expect(subnet.lastRound!.iterations).toBe(2)
    expect(subnet.lastRound!.pendingMessages).toBe(0)
    // A call to a canister that does not exist is refused at call time, not left hanging.
    subnet.stopCanister({ canisterId: other })
    subnet.deleteCanister({ canisterId: other })
    expect(counter(subnet.updateCall(id, 'call', other.toUint8Array()))).toBe(0)
    expect(subnet.lastRound!.pendingMessages).toBe(0)
  })

  it('certifies state: certified data in the tree, and read_state certificates under the root key', () => {
    const { subnet, id } = installed()
    const data = new TextEncoder().encode('certified!')
    subnet.updateCall(id, 'certify', data)
    expect(subnet.certifiedData(id)).toEqual(data)
    const cert = subnet.readState([[new TextEncoder().encode('canister'), id.toUint8Array(), new TextEncoder().encode('certified_data')]])
    const verified = verifyCertificate(cert, subnet.rootKey())
    expect(verified.time).toBe(subnet.time())
    const found = lookupPath([new TextEncoder().encode('canister'), id.toUint8Array(), new TextEncoder().encode('certified_data')], verified.certificate.tree)
    expect(found).toEqual({ status: 'found', value: data })
    // Every committed round changes /time, so the state hash moves with the rounds.
    const hash = subnet.stateHash()
    subnet.tick()
    expect(subnet.stateHash()).not.toEqual(hash)
  })

  it('is what the package exports as capsa/testing', async () => {
    const lib = await import('capsa/testing')
    expect(lib.CapsaTestSubnet).toBe(CapsaTestSubnet)
  })

  it('is deterministic: equal seeds and calls give equal hashes at every height', () => {
    const run = () => {
      const { subnet, id } = installed('same')
      const hashes: string[] = []
      for (let i = 0; i < 5; i++) {
        const calls = [subnet.submitCall(id, 'bump', NONE), subnet.submitCall(id, 'echo', Uint8Array.of(i))]
        calls.forEach((c) => subnet.awaitCall(c))
        subnet.advanceTime(250)
        subnet.tick()
        hashes.push(Buffer.from(subnet.fullStateHash()).toString('hex'))
      }
      return hashes
    }
    const a = run()
    expect(new Set(a).size).toBe(a.length)
    expect(run()).toEqual(a)
  })
})
