// Four replica processes over libp2p on 127.0.0.1, driven by unmodified clients: @dfinity/agent 3.4.3
// and @icp-sdk/core 6.1.0 create a canister, install a Motoko counter, call it (synchronous call and
// async call + polling), query it (the agent verifies the node's signature), read canister_status and
// upgrade it with its state kept. One node is SIGKILLed: calls keep succeeding; restarted, it catches
// up and its state hash equals the others'. Bad HTTP input gets the spec's answers. A second process
// on a data directory in use is refused, and SIGTERM shuts a node down cleanly.

import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { existsSync } from 'node:fs'
import { request as httpRequest } from 'node:http'
import { join } from 'node:path'
import { Actor, Cbor, HttpAgent, pollForResponse } from '@dfinity/agent'
import { IDL } from '@dfinity/candid'
import { Ed25519KeyIdentity } from '@dfinity/identity'
import { Principal } from '@dfinity/principal'
import * as icp from '@icp-sdk/core/agent'
import { IDL as icpIDL } from '@icp-sdk/core/candid'
import { Principal as IcpPrincipal } from '@icp-sdk/core/principal'
import { asMap, decodeCbor } from '../protocol/cbor.ts'
import { toHex } from '../protocol/hash.ts'
import { compileMotoko, MOTOKO_COUNTER as COUNTER } from '../sim/motoko.ts'
import { LocalSubnet, until } from './support/local-subnet.ts'

const N = 4
const counterIdl: IDL.InterfaceFactory = ({ IDL: I }) => I.Service({ inc: I.Func([], [I.Nat], []), get: I.Func([], [I.Nat], ['query']) })
type Counter = { inc(): Promise<bigint>; get(): Promise<bigint> }
// What the test needs of a client library: @dfinity/agent 3.4.3 and @icp-sdk/core 6.1.0 have the same
// surface, so one flow runs through each, with that library's own IDL and Principal classes.
interface ClientLib {
  name: string
  HttpAgent: { create(o: object): Promise<any> }
  Actor: { createActor(idl: any, c: object): any }
  pollForResponse(agent: any, canisterId: any, requestId: any): Promise<{ reply: Uint8Array }>
  IDL: typeof IDL
  Principal: { fromText(t: string): any }
}
const dfinity: ClientLib = { name: '@dfinity/agent 3.4.3', HttpAgent, Actor, pollForResponse, IDL, Principal }
const icpSdk: ClientLib = { name: '@icp-sdk/core 6.1.0', HttpAgent: icp.HttpAgent, Actor: icp.Actor, pollForResponse: icp.pollForResponse, IDL: icpIDL as unknown as typeof IDL, Principal: IcpPrincipal }

// The management canister as a client sees it (result records decode by Candid subtyping: fields
// not named here are skipped); calls go to the target canister's effective id.
function managementCanister(lib: ClientLib, agent: unknown) {
  const managementIdl = ({ IDL: I }: { IDL: typeof IDL }) => {
    const settings = I.Record({ controllers: I.Opt(I.Vec(I.Principal)) })
    const upgrade = I.Opt(I.Record({ skip_pre_upgrade: I.Opt(I.Bool), wasm_memory_persistence: I.Opt(I.Variant({ keep: I.Null, replace: I.Null })) }))
    return I.Service({
      provisional_create_canister_with_cycles: I.Func([I.Record({ amount: I.Opt(I.Nat), settings: I.Opt(settings), specified_id: I.Opt(I.Principal), sender_canister_version: I.Opt(I.Nat64) })], [I.Record({ canister_id: I.Principal })], []),
      install_code: I.Func([I.Record({ mode: I.Variant({ install: I.Null, reinstall: I.Null, upgrade }), canister_id: I.Principal, wasm_module: I.Vec(I.Nat8), arg: I.Vec(I.Nat8), sender_canister_version: I.Opt(I.Nat64) })], [], []),
      canister_status: I.Func([I.Record({ canister_id: I.Principal })], [I.Record({
        status: I.Variant({ running: I.Null, stopping: I.Null, stopped: I.Null }), module_hash: I.Opt(I.Vec(I.Nat8)), settings: I.Record({ controllers: I.Vec(I.Principal) }), cycles: I.Nat,
      })], []),
    })
  }
  const effective = (_m: string, args: unknown[]) => ({ effectiveCanisterId: (args[0] as { canister_id?: unknown } | undefined)?.canister_id ?? lib.Principal.fromText('aaaaa-aa') })
  return lib.Actor.createActor(managementIdl, { agent, canisterId: lib.Principal.fromText('aaaaa-aa'), callTransform: effective, queryTransform: effective })
}
const UPGRADE_KEEP = { upgrade: [{ skip_pre_upgrade: [], wasm_memory_persistence: [{ keep: null }] }] }

// The node answers 413 as soon as the announced length exceeds its limit and closes the connection:
// a client still writing the body gets EPIPE and may lose the response. So this one announces 6 MiB,
// sends only the first KiB, and reads the answer.
function postOversized(url: string, announced: number): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { method: 'POST', headers: { 'content-type': 'application/cbor', 'content-length': announced } }, (res) => {
      let text = ''
      res.on('data', (d: Buffer) => (text += d.toString()))
      res.on('end', () => {
        resolve({ status: res.statusCode ?? 0, text })
        req.destroy()
      })
    })
    req.on('error', (e) => setTimeout(() => reject(e), 5_000))
    req.write(Buffer.alloc(1024))
  })
}

describe('replica processes over libp2p, with real clients', () => {
  // Short delays for a test on a shared machine, yet slow enough for four processes on two cores.
  const subnet = new LocalSubnet({ nodes: N, consensus: { unitDelayMs: 300, initialNotaryDelayMs: 150, cupInterval: 10, statusIntervalMs: 500 } })

  /** Waits until nodes a and b are healthy and report the same state hash at a height both certified. */
  const sameStateHash = (a: number, b: number) => until(async () => {
    const hs = await Promise.all([a, b].map((i) => subnet.health(i)))
    if (hs.some((h) => h === undefined || !h.healthy)) return false
    const common = Math.min(hs[0]!.certifiedHeight, hs[1]!.certifiedHeight)
    const hashes = await Promise.all([a, b].map(async (i) => (await fetch(`${subnet.url(i)}/_/state_hash/${common}`)).text()))
    return hashes[0] === hashes[1] && hashes[0].includes('stateHash')
  }, 40_000, () => subnet.logs())
  const identity = Ed25519KeyIdentity.generate()
  let wasm: Uint8Array
  let canisterId: Principal

  beforeAll(async () => {
    await subnet.create()
    wasm = compileMotoko(COUNTER, 'eop').wasm
  })
  afterAll(() => subnet.close())

  const agentAt = (i: number) => HttpAgent.create({ host: subnet.url(i), identity, shouldFetchRootKey: true, verifyQuerySignatures: true })

  it('four nodes start, finalize and certify', async () => {
    for (let i = 0; i < N; i++) subnet.start(i)
    await until(async () => (await Promise.all([0, 1, 2, 3].map((i) => subnet.health(i)))).every((h) => h !== undefined && h.certifiedHeight >= 2), 30_000, () => subnet.logs())
    const out = subnet.procs[0]!.out
    expect(out).toMatch(/http listening on http:\/\/127\.0\.0\.1:\d+/)
    expect(out).toMatch(/p2p listening on \/ip4\/127\.0\.0\.1\/tcp\/\d+/)
    const status = await fetch(`${subnet.url(1)}/api/v2/status`)
    const body = asMap(decodeCbor(new Uint8Array(await status.arrayBuffer())), 'status')
    expect(toHex(body.root_key as Uint8Array)).toBe(subnet.rootKeyDer)
    expect(body.replica_health_status).toBe('healthy')
    const metrics = await (await fetch(`${subnet.url(2)}/metrics`)).text()
    expect(Number(/capsa_finalized_height\{[^}]*\} (\d+)/.exec(metrics)?.[1])).toBeGreaterThanOrEqual(2)
    expect(Number(/capsa_peers_connected\{[^}]*\} (\d+)/.exec(metrics)?.[1])).toBe(N - 1)
  }, 32_000)

  // The whole flow through one client: root key, provisional creation, install, update calls through
  // /api/v3 (certified reply at once) and /api/v2 + polling, a query with its node signature checked,
  // canister_status, and an upgrade that keeps the counter.
  async function clientFlow(lib: ClientLib, node: number): Promise<Principal> {
    const agent = await lib.HttpAgent.create({ host: subnet.url(node), identity, shouldFetchRootKey: true, verifyQuerySignatures: true })
    expect(toHex(new Uint8Array(agent.rootKey))).toBe(subnet.rootKeyDer)
    const ic = managementCanister(lib, agent)
    const { canister_id } = await ic.provisional_create_canister_with_cycles({ amount: [], settings: [], specified_id: [], sender_canister_version: [] })
    const empty = new Uint8Array(lib.IDL.encode([], []))
    await ic.install_code({ mode: { install: null }, canister_id, wasm_module: wasm, arg: empty, sender_canister_version: [] })
    const counter = lib.Actor.createActor(({ IDL: I }: { IDL: typeof IDL }) => I.Service({ inc: I.Func([], [I.Nat], []), get: I.Func([], [I.Nat], ['query']) }), { agent, canisterId: canister_id }) as Counter
    expect(await counter.inc()).toBe(1n)
    const { requestId } = await agent.call(canister_id, { methodName: 'inc', arg: empty, callSync: false })
    const polled = await lib.pollForResponse(agent, canister_id, requestId)
    expect(lib.IDL.decode([lib.IDL.Nat], polled.reply)[0]).toBe(2n)
    expect(await counter.get()).toBe(2n)
    const status = await ic.canister_status({ canister_id })
    expect(Object.keys(status.status)[0]).toBe('running')
    expect(toHex(new Uint8Array(status.module_hash[0]))).toBe(toHex(new Uint8Array(await crypto.subtle.digest('SHA-256', wasm as Uint8Array<ArrayBuffer>))))
    expect(status.settings.controllers.map((p: { toText(): string }) => p.toText())).toEqual([identity.getPrincipal().toText()])
    await ic.install_code({ mode: UPGRADE_KEEP, canister_id, wasm_module: wasm, arg: empty, sender_canister_version: [] })
    expect(await counter.get()).toBe(2n)
    expect(await counter.inc()).toBe(3n)
    return Principal.fromText(canister_id.toText())
  }

  it('@dfinity/agent 3.4.3: create, install a Motoko counter, call (sync and polling), query, status, upgrade', async () => {
    canisterId = await clientFlow(dfinity, 0)
  }, 60_000)

  it('@icp-sdk/core 6.1.0: the same flow through the other client, on another node', async () => {
    const other = await clientFlow(icpSdk, 1)
    expect(other.toText()).not.toBe(canisterId.toText())
  }, 60_000)

  it('a SIGKILLed node does not stop the subnet; restarted, it catches up to the same state hash', async () => {
    await subnet.kill(3)
    const agent = await agentAt(1)
    const counter = Actor.createActor<Counter>(counterIdl, { agent, canisterId })
    const before = await counter.get()
    for (let k = 1n; k <= 3n; k++) expect(await counter.inc()).toBe(before + k)

    subnet.start(3)
    await sameStateHash(0, 3)
    const restarted = Actor.createActor<Counter>(counterIdl, { agent: await agentAt(3), canisterId })
    expect(await restarted.get()).toBe(before + 3n)
    expect(await restarted.inc()).toBe(before + 4n)
  }, 60_000)

  it('bad input over HTTP gets the spec status and a clear message; the node keeps serving', async () => {
    const url = `${subnet.url(0)}/api/v2/canister/${canisterId.toText()}/call`
    const post = (body: Uint8Array | string, type = 'application/cbor') => fetch(url, { method: 'POST', headers: { 'content-type': type }, body: Buffer.from(body) })
    const content = (over: Record<string, unknown> = {}) => ({
      request_type: 'call', canister_id: canisterId.toUint8Array(), method_name: 'inc', arg: new Uint8Array(IDL.encode([], [])),
      sender: identity.getPrincipal().toUint8Array(), ingress_expiry: BigInt(Date.now() + 60_000) * 1_000_000n, nonce: crypto.getRandomValues(new Uint8Array(8)), ...over,
    })
    const signed = async (c: Record<string, unknown>) => ((await identity.transformRequest({ endpoint: 'call', request: {}, body: c } as never)) as { body: Record<string, unknown> }).body
    const expectStatus = async (r: Response, code: number, text: RegExp) => {
      expect(r.status).toBe(code)
      expect(await r.text()).toMatch(text)
    }
    await expectStatus(await post(Uint8Array.of(0xd9, 0xd9, 0xf7, 0xa1, 0xff)), 400, /CBOR|cbor/)
    await expectStatus(await post(Cbor.encode(await signed(content())), 'application/json'), 400, /content type/)
    const big = await postOversized(url, 6 * 1024 * 1024)
    expect(big.status).toBe(413)
    expect(big.text).toMatch(/exceeds the limit/)
    const forged = await signed(content())
    forged.sender_sig = new Uint8Array(64)
    await expectStatus(await post(Cbor.encode(forged)), 400, /signature/)
    await expectStatus(await post(Cbor.encode(await signed(content({ ingress_expiry: BigInt(Date.now() - 600_000) * 1_000_000n })))), 400, /ingress_expiry|expir/)
    await expectStatus(await post(Cbor.encode(await signed(content({ ingress_expiry: BigInt(Date.now() + 3_600_000) * 1_000_000n })))), 400, /ingress_expiry|expir/)
    const other = Principal.fromText('ryjl3-tyaaa-aaaaa-aaaba-cai')
    await expectStatus(await fetch(`${subnet.url(0)}/api/v2/canister/${other.toText()}/call`, { method: 'POST', headers: { 'content-type': 'application/cbor' }, body: Buffer.from(Cbor.encode(await signed(content()))) }), 400, /does not match/)
    // An unknown canister in this subnet's range: a non-replicated rejection with the IC's code.
    const unknown = Principal.fromUint8Array(Uint8Array.from([...canisterId.toUint8Array().slice(0, 7), 0x99, 1, 1]))
    const r = await fetch(`${subnet.url(0)}/api/v2/canister/${unknown.toText()}/call`, { method: 'POST', headers: { 'content-type': 'application/cbor' }, body: Buffer.from(Cbor.encode(await signed(content({ canister_id: unknown.toUint8Array() })))) })
    expect(r.status).toBe(200)
    const reject = asMap(decodeCbor(new Uint8Array(await r.arrayBuffer())), 'reject')
    expect(reject.error_code).toBe('IC0301')
    // Still serving.
    const counter = Actor.createActor<Counter>(counterIdl, { agent: await agentAt(0), canisterId })
    expect(await counter.get()).toBeGreaterThan(0n)
  }, 40_000)

  it('refuses a second process on a data directory in use', async () => {
    const second = subnet.spawn(3)
    subnet.extra.push(second)
    expect(await second.exit).toBe(1)
    expect(second.out).toMatch(/data directory .* is in use by another node \(pid \d+\)/)
    expect(subnet.procs[3]!.child.exitCode).toBe(null)
  }, 10_000)

  it('shuts down cleanly on SIGTERM, releasing the data directory', async () => {
    expect(await subnet.kill(0, 'SIGTERM')).toBe(0)
    expect(existsSync(join(subnet.nodeDirs[0], 'data', 'LOCK.capsa'))).toBe(false)
  }, 8_000)

  it('restarted after SIGTERM, a node resumes from its shutdown checkpoint and agrees with the others', async () => {
    const p = subnet.start(0)
    await until(async () => /resuming from the shutdown checkpoint at height \d+/.test(p.out), 20_000, () => subnet.logs())
    await sameStateHash(0, 1)
    const counter = Actor.createActor<Counter>(counterIdl, { agent: await agentAt(0), canisterId })
    const before = await counter.get()
    expect(await counter.inc()).toBe(before + 1n)
  }, 60_000)
})
