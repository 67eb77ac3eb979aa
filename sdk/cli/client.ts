// Talking to a network over HTTP with @dfinity/agent: the agent for --network, the management
// canister (calls routed to the target canister's effective id), raw update/query calls, and the
// candid:service metadata of a canister.

import { Actor, type ActorSubclass, CanisterStatus, HttpAgent, type Identity, pollForResponse } from '@dfinity/agent'
import { IDL } from '@dfinity/candid'
import { Principal } from '@dfinity/principal'
import { loadIdentity } from './identity.ts'
import { health, runningNetwork } from './network.ts'
import { fail, type Globals, UserError } from './util.ts'

export interface Connection {
  agent: HttpAgent
  identity: Identity
  /** `local`, or the URL given to --network: the key canister ids are stored under. */
  network: string
  url: string
}

/** --network: `local` (the project's network, default), `ic`, or an http(s) URL. */
export async function connect(g: Globals): Promise<Connection> {
  const network = g.network ?? 'local'
  let url: string
  if (network === 'local') {
    const state = runningNetwork(g)
    const healthy = await Promise.all(state.nodes.map(async (n) => ((await health(n.url))?.healthy ? n.url : undefined)))
    const first = healthy.find((u) => u !== undefined)
    if (first === undefined) fail('the local network is running but no node answers as healthy yet', 'wait a moment, or check `capsa status` and `capsa logs --node 0`')
    url = first
  } else if (network === 'ic') {
    url = 'https://icp-api.io'
  } else if (/^https?:\/\//.test(network)) {
    url = network.replace(/\/$/, '')
  } else {
    fail(`unknown network ${JSON.stringify(network)}`, 'use --network local, --network ic, or --network http://host:port')
  }
  const identity = loadIdentity(g)
  try {
    const agent = await HttpAgent.create({ host: url, identity, shouldFetchRootKey: network !== 'ic' })
    return { agent, identity, network, url }
  } catch (e) {
    fail(`cannot reach ${url}: ${(e as Error).message.split('\n')[0]}`, network === 'local' ? 'check `capsa status`' : 'check the URL and that the network is up')
  }
}

export function parsePrincipal(text: string, what: string): Principal {
  try {
    return Principal.fromText(text)
  } catch {
    fail(`${JSON.stringify(text)} is not a valid ${what}`, 'a principal looks like rrkah-fqaaa-aaaaa-aaaaq-cai')
  }
}

/** Turns an agent error into a one-paragraph user error (reject code and message when there is one). */
export function callError(e: unknown, what: string): UserError {
  const code = (e as { cause?: { code?: { rejectCode?: number; rejectMessage?: string; rejectErrorCode?: string } } })?.cause?.code
  if (code?.rejectMessage !== undefined) {
    return new UserError(`${what} was rejected (reject code ${code.rejectCode}${code.rejectErrorCode ? `, ${code.rejectErrorCode}` : ''}): ${code.rejectMessage}`)
  }
  if (e instanceof UserError) return e
  const msg = e instanceof Error ? e.message.split('\n').filter((l) => l.trim() !== '').slice(0, 4).join('\n') : String(e)
  return new UserError(`${what} failed: ${msg}`)
}

const settings = IDL.Record({ controllers: IDL.Opt(IDL.Vec(IDL.Principal)) })
const mgmtIdl: IDL.InterfaceFactory = ({ IDL: I }) => {
  const id = I.Record({ canister_id: I.Principal })
  const upgrade = I.Opt(I.Record({ skip_pre_upgrade: I.Opt(I.Bool), wasm_memory_persistence: I.Opt(I.Variant({ keep: I.Null, replace: I.Null })) }))
  return I.Service({
    provisional_create_canister_with_cycles: I.Func([I.Record({ amount: I.Opt(I.Nat), settings: I.Opt(settings), specified_id: I.Opt(I.Principal), sender_canister_version: I.Opt(I.Nat64) })], [id], []),
    install_code: I.Func([I.Record({ mode: I.Variant({ install: I.Null, reinstall: I.Null, upgrade }), canister_id: I.Principal, wasm_module: I.Vec(I.Nat8), arg: I.Vec(I.Nat8), sender_canister_version: I.Opt(I.Nat64) })], [], []),
    canister_status: I.Func([id], [I.Record({
      status: I.Variant({ running: I.Null, stopping: I.Null, stopped: I.Null }),
      module_hash: I.Opt(I.Vec(I.Nat8)),
      settings: I.Record({ controllers: I.Vec(I.Principal), freezing_threshold: I.Nat }),
      memory_size: I.Nat,
      cycles: I.Nat,
    })], []),
    start_canister: I.Func([id], [], []),
    stop_canister: I.Func([id], [], []),
    delete_canister: I.Func([id], [], []),
  })
}

export type InstallMode = { install: null } | { reinstall: null } | { upgrade: [] | [{ skip_pre_upgrade: [] | [boolean]; wasm_memory_persistence: [] | [{ keep: null } | { replace: null }] }] }
export interface CanisterStatusResult {
  status: { running: null } | { stopping: null } | { stopped: null }
  module_hash: [] | [Uint8Array | number[]]
  settings: { controllers: Principal[]; freezing_threshold: bigint }
  memory_size: bigint
  cycles: bigint
}
type Id = { canister_id: Principal }
export interface Management {
  provisional_create_canister_with_cycles(a: { amount: [] | [bigint]; settings: [] | [{ controllers: [] | [Principal[]] }]; specified_id: [] | [Principal]; sender_canister_version: [] }): Promise<Id>
  install_code(a: { mode: InstallMode; canister_id: Principal; wasm_module: Uint8Array; arg: Uint8Array; sender_canister_version: [] }): Promise<void>
  canister_status(a: Id): Promise<CanisterStatusResult>
  start_canister(a: Id): Promise<void>
  stop_canister(a: Id): Promise<void>
  delete_canister(a: Id): Promise<void>
}

export function management(c: Connection): ActorSubclass<Management> {
  // The management canister is addressed through the canister a call is about.
  const effective = (_m: string, args: unknown[]) => ({ effectiveCanisterId: (args[0] as { canister_id?: Principal } | undefined)?.canister_id ?? Principal.fromText('aaaaa-aa') })
  return Actor.createActor<Management>(mgmtIdl, { agent: c.agent, canisterId: Principal.fromText('aaaaa-aa'), callTransform: effective, queryTransform: effective })
}

/** An update call; resolves to the reply bytes (the reject becomes a user error). */
export async function updateRaw(c: Connection, canisterId: Principal, methodName: string, arg: Uint8Array): Promise<Uint8Array> {
  try {
    const { requestId } = await c.agent.call(canisterId, { methodName, arg, effectiveCanisterId: canisterId })
    const { reply } = await pollForResponse(c.agent, canisterId, requestId)
    return new Uint8Array(reply)
  } catch (e) {
    throw callError(e, `the call to ${methodName}`)
  }
}

export async function queryRaw(c: Connection, canisterId: Principal, methodName: string, arg: Uint8Array): Promise<Uint8Array> {
  let r
  try {
    r = await c.agent.query(canisterId, { methodName, arg, effectiveCanisterId: canisterId })
  } catch (e) {
    throw callError(e, `the query ${methodName}`)
  }
  if (r.status === 'replied') return new Uint8Array(r.reply.arg)
  throw new UserError(`the query ${methodName} was rejected (reject code ${r.reject_code}${r.error_code ? `, ${r.error_code}` : ''}): ${r.reject_message}`)
}

/** The canister's public `candid:service` metadata, or undefined when it has none. */
export async function candidMetadata(c: Connection, canisterId: Principal): Promise<string | undefined> {
  try {
    const m = await CanisterStatus.request({ canisterId, agent: c.agent, paths: ['candid'] })
    const v = m.get('candid')
    return typeof v === 'string' ? v : undefined
  } catch {
    return undefined
  }
}
