// Talking to a network over HTTP with @dfinity/agent: the agent for --network, the management
// canister (calls routed to the target canister's effective id), raw update/query calls, and the
// candid:service metadata of a canister.

import { Actor, type ActorSubclass, CanisterStatus, HttpAgent, type Identity, polling, pollForResponse } from '@dfinity/agent'
import { IDL } from '@dfinity/candid'
import { Principal } from '@dfinity/principal'
import { loadIdentity } from './identity.ts'
import { isNodeProcess, runningNetwork } from './network.ts'
import { fail, type Globals, UserError } from './util.ts'

const CALL_TIMEOUT_MS = 120_000

// The agent's own BLS check (noble, pure JS) takes about a second in a fresh process, which is what
// every CLI command is; protocol/bls.ts (mcl, WebAssembly; cross-checked against noble in its tests)
// checks the same certificate in a few milliseconds after a ~0.1 s start.
async function blsVerify(pk: Uint8Array, sig: Uint8Array, msg: Uint8Array): Promise<boolean> {
  const bls = await import('../../protocol/bls.ts')
  return bls.blsVerify(sig, msg, pk)
}

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
  let rootKey: Uint8Array | undefined
  if (network === 'local') {
    // The state file has the root key and the nodes: no status round trip before the first call.
    const state = runningNetwork(g)
    url = state.nodes.find((n) => isNodeProcess(n.pid))!.url
    rootKey = new Uint8Array(Buffer.from(state.rootKey, 'hex'))
  } else if (network === 'ic') {
    url = 'https://icp-api.io'
  } else if (/^https?:\/\//.test(network)) {
    url = network.replace(/\/$/, '')
  } else {
    fail(`unknown network ${JSON.stringify(network)}`, 'use --network local, --network ic, or --network http://host:port')
  }
  const identity = loadIdentity(g)
  try {
    const agent = await HttpAgent.create({ host: url, identity, rootKey, shouldFetchRootKey: network !== 'ic' && rootKey === undefined })
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

function rejectError(what: string, rejectCode: number, message: string, errorCode?: string): UserError {
  const hint = rejectCode === 3 ? 'check the canister id and that the canister exists on this network (`capsa canister status`)'
    : rejectCode === 5 ? 'the canister refused or trapped: check the method, the argument and that the canister is running (`capsa canister status`)'
    : rejectCode === 4 ? 'the canister (or the management canister) rejected the call: see its message above, and check that your identity may make it (--identity)'
    : 'see the reject message above'
  return new UserError(`${what} was rejected (reject code ${rejectCode}${errorCode ? `, ${errorCode}` : ''}): ${message}`, hint)
}

/** Turns an agent error into a one-paragraph user error (reject code and message when there is one). */
export function callError(e: unknown, what: string): UserError {
  const code = (e as { cause?: { code?: { rejectCode?: number; rejectMessage?: string; rejectErrorCode?: string } } })?.cause?.code
  if (code?.rejectMessage !== undefined) return rejectError(what, code.rejectCode ?? 0, code.rejectMessage, code.rejectErrorCode)
  if (e instanceof UserError) return e
  const msg = e instanceof Error ? e.message.split('\n').filter((l) => l.trim() !== '').slice(0, 4).join('\n') : String(e)
  const timedOut = /timed out/i.test(msg)
  return new UserError(`${what} failed: ${msg}`, timedOut
    ? 'the network took the call but gave no answer in time: check `capsa status` and `capsa logs --node 0`'
    : 'check that the network is up (`capsa status`) and that the canister exists')
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
    upload_chunk: I.Func([I.Record({ canister_id: I.Principal, chunk: I.Vec(I.Nat8) })], [I.Record({ hash: I.Vec(I.Nat8) })], []),
    clear_chunk_store: I.Func([id], [], []),
    install_chunked_code: I.Func([I.Record({
      mode: I.Variant({ install: I.Null, reinstall: I.Null, upgrade }), target_canister: I.Principal, store_canister: I.Opt(I.Principal),
      chunk_hashes_list: I.Vec(I.Record({ hash: I.Vec(I.Nat8) })), wasm_module_hash: I.Vec(I.Nat8), arg: I.Vec(I.Nat8), sender_canister_version: I.Opt(I.Nat64),
    })], [], []),
    start_canister: I.Func([id], [], []),
    stop_canister: I.Func([id], [], []),
    delete_canister: I.Func([id], [], []),
    update_settings: I.Func([I.Record({
      canister_id: I.Principal,
      settings: I.Record({ controllers: I.Opt(I.Vec(I.Principal)), freezing_threshold: I.Opt(I.Nat) }),
      sender_canister_version: I.Opt(I.Nat64),
    })], [], []),
    fetch_canister_logs: I.Func([id], [I.Record({
      canister_log_records: I.Vec(I.Record({ idx: I.Nat64, timestamp_nanos: I.Nat64, content: I.Vec(I.Nat8) })),
    })], ['query']),
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
  upload_chunk(a: { canister_id: Principal; chunk: Uint8Array }): Promise<{ hash: Uint8Array | number[] }>
  clear_chunk_store(a: Id): Promise<void>
  install_chunked_code(a: { mode: InstallMode; target_canister: Principal; store_canister: []; chunk_hashes_list: { hash: Uint8Array | number[] }[]; wasm_module_hash: Uint8Array; arg: Uint8Array; sender_canister_version: [] }): Promise<void>
  start_canister(a: Id): Promise<void>
  stop_canister(a: Id): Promise<void>
  delete_canister(a: Id): Promise<void>
  update_settings(a: { canister_id: Principal; settings: { controllers: [] | [Principal[]]; freezing_threshold: [] | [bigint] }; sender_canister_version: [] }): Promise<void>
  fetch_canister_logs(a: Id): Promise<{ canister_log_records: { idx: bigint; timestamp_nanos: bigint; content: Uint8Array | number[] }[] }>
}

export function management(c: Connection): ActorSubclass<Management> {
  // The management canister is addressed through the canister a call is about.
  const effective = (_m: string, args: unknown[]) => {
    const a = args[0] as { canister_id?: Principal; target_canister?: Principal } | undefined
    return { effectiveCanisterId: a?.canister_id ?? a?.target_canister ?? Principal.fromText('aaaaa-aa') }
  }
  return Actor.createActor<Management>(mgmtIdl, { agent: c.agent, canisterId: Principal.fromText('aaaaa-aa'), callTransform: effective, queryTransform: effective, blsVerify })
}

/** An update call; resolves to the reply bytes (the reject becomes a user error). */
export async function updateRaw(c: Connection, canisterId: Principal, methodName: string, arg: Uint8Array): Promise<Uint8Array> {
  try {
    const { requestId, response } = await c.agent.call(canisterId, { methodName, arg, effectiveCanisterId: canisterId })
    // A call refused before it reached consensus (no such canister, stopped, inspect_message said no)
    // comes back as a 200 with a reject body, which the agent hands over without throwing; its status
    // would never appear, so polling for it would only time out.
    const body = response.body as { status?: string; reject_code?: number; reject_message?: string; error_code?: string } | null
    if (body?.status === 'non_replicated_rejection') throw rejectError(`the call to ${methodName}`, body.reject_code ?? 0, body.reject_message ?? '', body.error_code)
    // The agent's default waits five minutes for an answer; a local call that has none after two is lost.
    const strategy = polling.strategy.chain(polling.strategy.backoff(200, 1.3), polling.strategy.timeout(CALL_TIMEOUT_MS))
    const { reply } = await pollForResponse(c.agent, canisterId, requestId, { strategy, blsVerify })
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
  throw new UserError(`the query ${methodName} was rejected (reject code ${r.reject_code}${r.error_code ? `, ${r.error_code}` : ''}): ${r.reject_message}`, 'check the method name (queries must be declared as such; try without --query) and the argument')
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
