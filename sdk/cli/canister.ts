// `capsa canister …`: lifecycle through the management canister, and calls with Candid text typed by
// the project's .did, a --candid file, or the canister's own candid:service metadata.

import { createHash } from 'node:crypto'
import { existsSync, readFileSync } from 'node:fs'
import { resolve } from 'node:path'
import type { Principal } from '@dfinity/principal'
import { encodeArgs, formatReply, isReplyFormat, methodSignature, parseDid, type DidFile, type ReplyFormat } from '../candid/index.ts'
import { lastBuild } from './build.ts'
import { callError, candidMetadata, type CanisterStatusResult, type Connection, type InstallMode, management, parsePrincipal, queryRaw, updateRaw } from './client.ts'
import { canisterId, saveCanisterId, loadProject, type Project } from './project.ts'
import { fail, findProjectRoot, type Globals, progress, UserError } from './util.ts'

export interface Target {
  id: Principal
  /** The project canister's name, when the target was named. */
  name?: string
  project?: Project
}

function tryProject(g: Globals): Project | undefined {
  return findProjectRoot(g.cwd) === undefined ? undefined : loadProject(g)
}

/** A canister given by project name or by principal text. */
export function resolveTarget(g: Globals, network: string, nameOrId: string): Target {
  const project = tryProject(g)
  if (project?.canisters.some((x) => x.name === nameOrId)) {
    const id = canisterId(project.root, nameOrId, network)
    if (id === undefined) fail(`canister ${nameOrId} has no id on network ${network}`, `create it with \`capsa canister create ${nameOrId}\` or \`capsa deploy ${nameOrId}\``)
    return { id: parsePrincipal(id, 'canister id'), name: nameOrId, project }
  }
  if (!/^[a-z0-9]{5}(-[a-z0-9]{1,5})+$/.test(nameOrId)) {
    fail(`${JSON.stringify(nameOrId)} is neither a canister of this project nor a canister id`, project ? `known canisters: ${project.canisters.map((x) => x.name).join(', ')}` : 'run inside a project, or pass a canister id')
  }
  return { id: parsePrincipal(nameOrId, 'canister id'), project }
}

export async function createCanister(g: Globals, c: Connection, name: string, cycles?: bigint): Promise<Principal> {
  const project = loadProject(g)
  if (!project.canisters.some((x) => x.name === name)) fail(`${project.file} has no canister named ${JSON.stringify(name)}`, `known canisters: ${project.canisters.map((x) => x.name).join(', ')}`)
  let id: Principal
  try {
    ;({ canister_id: id } = await management(c).provisional_create_canister_with_cycles({ amount: cycles === undefined ? [] : [cycles], settings: [], specified_id: [], sender_canister_version: [] }))
  } catch (e) {
    throw callError(e, `creating canister ${name}`)
  }
  saveCanisterId(project.root, name, c.network, id.toText())
  return id
}

export async function canisterStatus(c: Connection, id: Principal): Promise<CanisterStatusResult> {
  try {
    return await management(c).canister_status({ canister_id: id })
  } catch (e) {
    throw callError(e, `canister_status of ${id.toText()}`)
  }
}

export function moduleHash(s: CanisterStatusResult): string | undefined {
  return s.module_hash.length === 0 ? undefined : Buffer.from(s.module_hash[0]).toString('hex')
}

export function sha256Hex(b: Uint8Array): string {
  return createHash('sha256').update(b).digest('hex')
}

export function statusJson(id: Principal, s: CanisterStatusResult): Record<string, unknown> {
  return {
    id: id.toText(), status: Object.keys(s.status)[0], controllers: s.settings.controllers.map((p) => p.toText()),
    module_hash: moduleHash(s) ?? null, memory_size: s.memory_size.toString(), cycles: s.cycles.toString(),
    freezing_threshold: s.settings.freezing_threshold.toString(),
  }
}

export function statusText(j: Record<string, unknown>): string {
  return [
    `Canister status call result for ${j.id}.`,
    `Status: ${String(j.status).replace(/^./, (x) => x.toUpperCase())}`,
    `Controllers: ${(j.controllers as string[]).join(' ')}`,
    `Memory Size: ${j.memory_size} Bytes`,
    `Balance: ${j.cycles} Cycles`,
    `Freezing threshold: ${j.freezing_threshold}`,
    `Module hash: ${j.module_hash === null ? 'None' : `0x${j.module_hash}`}`,
  ].join('\n')
}

export async function lifecycle(c: Connection, id: Principal, op: 'start_canister' | 'stop_canister' | 'delete_canister'): Promise<void> {
  try {
    await management(c)[op]({ canister_id: id })
  } catch (e) {
    throw callError(e, `${op} of ${id.toText()}`)
  }
}

/** The canister's log (fetch_canister_logs, a query; controllers only unless the log is public). */
export async function canisterLogs(c: Connection, id: Principal): Promise<{ idx: bigint; timestampNanos: bigint; text: string }[]> {
  try {
    const r = await management(c).fetch_canister_logs({ canister_id: id })
    return r.canister_log_records.map((x) => ({ idx: x.idx, timestampNanos: x.timestamp_nanos, text: new TextDecoder().decode(new Uint8Array(x.content)) }))
  } catch (e) {
    throw callError(e, `fetching the logs of ${id.toText()}`)
  }
}

/** update_settings: controllers added, removed or replaced (dfx's flags), and the freezing threshold. */
export async function updateSettings(c: Connection, id: Principal, o: { add: string[]; remove: string[]; set?: string[]; freezingThreshold?: bigint }): Promise<void> {
  let controllers: [] | [Principal[]] = []
  if (o.set !== undefined || o.add.length > 0 || o.remove.length > 0) {
    const base = o.set !== undefined ? o.set.map((t) => parsePrincipal(t, '--set-controller')) : (await canisterStatus(c, id)).settings.controllers
    const removed = new Set(o.remove.map((t) => parsePrincipal(t, '--remove-controller').toText()))
    const next = [...base, ...o.add.map((t) => parsePrincipal(t, '--add-controller'))].filter((p, i, all) => !removed.has(p.toText()) && all.findIndex((q) => q.toText() === p.toText()) === i)
    if (next.length === 0) fail('that would leave the canister without controllers', 'keep at least one controller (usually your own identity)')
    controllers = [next]
  }
  try {
    await management(c).update_settings({ canister_id: id, settings: { controllers, freezing_threshold: o.freezingThreshold === undefined ? [] : [o.freezingThreshold] }, sender_canister_version: [] })
  } catch (e) {
    throw callError(e, `update_settings of ${id.toText()}`)
  }
}

export type ModeFlag = 'auto' | 'install' | 'reinstall' | 'upgrade'

export function parseMode(m: string | undefined): ModeFlag {
  const mode = m ?? 'auto'
  if (mode !== 'auto' && mode !== 'install' && mode !== 'reinstall' && mode !== 'upgrade') fail(`--mode ${mode} is not a mode`, 'use auto, install, reinstall or upgrade')
  return mode
}

/** Installs `wasm`; in auto mode an empty canister is installed and one with code upgraded. Returns
 *  the mode used, or undefined when the same module is already installed and `force` is false. */
export async function installWasm(c: Connection, id: Principal, wasm: Uint8Array, arg: Uint8Array, mode: ModeFlag, eop: boolean, force: boolean): Promise<'install' | 'reinstall' | 'upgrade' | undefined> {
  let chosen: 'install' | 'reinstall' | 'upgrade' = mode === 'auto' ? 'install' : mode
  if (mode === 'auto' || mode === 'upgrade') {
    const current = moduleHash(await canisterStatus(c, id))
    if (mode === 'auto') chosen = current === undefined ? 'install' : 'upgrade'
    if (current !== undefined && current === sha256Hex(wasm) && !force) return undefined
  }
  const m: InstallMode = chosen === 'install' ? { install: null } : chosen === 'reinstall' ? { reinstall: null }
    : { upgrade: [{ skip_pre_upgrade: [], wasm_memory_persistence: eop ? [{ keep: null }] : [] }] }
  try {
    if (wasm.length <= CHUNKED_ABOVE) await management(c).install_code({ mode: m, canister_id: id, wasm_module: wasm, arg, sender_canister_version: [] })
    else await installChunked(c, id, wasm, arg, m)
  } catch (e) {
    throw callError(e, `${chosen} of ${id.toText()}`)
  }
  return chosen
}

// A module too large for one ingress message goes through the canister's chunk store, as dfx does.
const CHUNKED_ABOVE = 1_800_000
const CHUNK_BYTES = 1024 * 1024

async function installChunked(c: Connection, id: Principal, wasm: Uint8Array, arg: Uint8Array, mode: InstallMode): Promise<void> {
  const mgmt = management(c)
  await mgmt.clear_chunk_store({ canister_id: id })
  const hashes: { hash: Uint8Array | number[] }[] = []
  for (let at = 0; at < wasm.length; at += CHUNK_BYTES) {
    progress(`  uploading chunk ${hashes.length + 1} of ${Math.ceil(wasm.length / CHUNK_BYTES)}`)
    hashes.push(await mgmt.upload_chunk({ canister_id: id, chunk: wasm.subarray(at, at + CHUNK_BYTES) }))
  }
  const wasmHash = new Uint8Array(createHash('sha256').update(wasm).digest())
  await mgmt.install_chunked_code({ mode, target_canister: id, store_canister: [], chunk_hashes_list: hashes, wasm_module_hash: wasmHash, arg, sender_canister_version: [] })
  await mgmt.clear_chunk_store({ canister_id: id })
}

/** Candid text from --argument or --argument-file (default `()`). */
export function argumentText(g: Globals, argument?: string, argumentFile?: string): string {
  if (argument !== undefined && argumentFile !== undefined) fail('--argument and --argument-file were both given', 'pass only one')
  if (argumentFile !== undefined) {
    const path = resolve(g.cwd, argumentFile)
    if (!existsSync(path)) fail(`--argument-file ${argumentFile} does not exist`, 'pass the path of a file holding Candid text, e.g. (42, "text")')
    return readFileSync(path, 'utf8')
  }
  return argument ?? '()'
}

export function encodeText(text: string, did: DidFile | undefined, types: DidFile['init'] | undefined, what: string): Uint8Array {
  try {
    return encodeArgs(text, types, did?.env)
  } catch (e) {
    throw new UserError(`${what}: ${(e as Error).message}`, types ? `the expected argument types are (${types.map((t) => t.display()).join(', ')})` : 'write the argument in Candid text, e.g. \'(42, "text")\'')
  }
}

export function parseDidText(text: string, source: string): DidFile {
  try {
    return parseDid(text)
  } catch (e) {
    fail(`the interface from ${source} does not parse: ${(e as Error).message}`, 'fix the .did file, or pass another with --candid')
  }
}

/** The interface for calls: --candid, the project's built .did, or the canister's metadata. */
export async function interfaceOf(g: Globals, c: Connection, t: Target, candidFile?: string): Promise<DidFile | undefined> {
  if (candidFile !== undefined) {
    const path = resolve(g.cwd, candidFile)
    if (!existsSync(path)) fail(`--candid ${candidFile} does not exist`, 'pass the path of a .did file')
    return parseDidText(readFileSync(path, 'utf8'), candidFile)
  }
  if (t.name !== undefined && t.project !== undefined) {
    const cfg = t.project.canisters.find((x) => x.name === t.name)!
    const built = lastBuild(t.project, cfg)
    if (built?.candid !== undefined) return parseDidText(built.candid, `the build of ${t.name}`)
    if (cfg.candid !== undefined && existsSync(resolve(t.project.root, cfg.candid))) return parseDidText(readFileSync(resolve(t.project.root, cfg.candid), 'utf8'), cfg.candid)
  }
  const meta = await candidMetadata(c, t.id)
  return meta === undefined ? undefined : parseDidText(meta, `the candid:service metadata of ${t.id.toText()}`)
}

export interface CallOptions { argument?: string; argumentFile?: string; query?: boolean; update?: boolean; output?: string; candid?: string }

export function replyFormat(o?: string): ReplyFormat {
  const f = o === undefined || o === 'candid' ? 'pp' : o
  if (!isReplyFormat(f)) fail(`--output ${o} is not an output format`, 'use candid, idl, json or raw')
  return f
}

export async function callCanister(g: Globals, c: Connection, t: Target, method: string, o: CallOptions): Promise<string> {
  const format = replyFormat(o.output)
  if (o.query && o.update) fail('--query and --update were both given', 'pass only one')
  const did = await interfaceOf(g, c, t, o.candid)
  let sig
  if (did !== undefined && Object.keys(did.service).length > 0) {
    if (!Object.hasOwn(did.service, method)) fail(`canister ${t.name ?? t.id.toText()} has no method ${JSON.stringify(method)}`, `its methods: ${Object.keys(did.service).sort().join(', ')}`)
    sig = methodSignature(did, method)
  }
  const text = argumentText(g, o.argument, o.argumentFile)
  const arg = encodeText(text, did, sig?.args, `the argument of ${method}`)
  const asQuery = o.query === true || (sig?.query === true && o.update !== true)
  const reply = asQuery ? await queryRaw(c, t.id, method, arg) : await updateRaw(c, t.id, method, arg)
  try {
    return formatReply(reply, format, sig?.rets)
  } catch (e) {
    throw new UserError(`the reply of ${method} does not decode: ${(e as Error).message}`, 'try --output raw, or pass the right interface with --candid')
  }
}

export function installSource(g: Globals, t: Target, wasmFile?: string): { wasm: Uint8Array; candid?: string; eop: boolean } {
  if (wasmFile !== undefined) {
    const path = resolve(g.cwd, wasmFile)
    if (!existsSync(path)) fail(`--wasm ${wasmFile} does not exist`, 'pass the path of a .wasm module')
    const wasm = new Uint8Array(readFileSync(path))
    return { wasm, eop: Buffer.from(wasm).includes('enhanced-orthogonal-persistence') }
  }
  if (t.name === undefined || t.project === undefined) fail('no module to install', 'pass --wasm <file>, or name a project canister that was built with `capsa build`')
  const built = lastBuild(t.project, t.project.canisters.find((x) => x.name === t.name)!)
  if (built === undefined) fail(`canister ${t.name} has not been built`, `run \`capsa build ${t.name}\` first, or use \`capsa deploy ${t.name}\``)
  return built
}
