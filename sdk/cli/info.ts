// `capsa canister info`: controllers and module hash from the certified state tree (read_state, as dfx
// does: anyone may ask, nothing is created). With `--history`, the management canister's canister_info
// adds the canister's history; the interface lets only canisters call it, so the CLI asks through a
// small proxy canister (canisters/capsa-proxy) that it creates once per network and identity, saying
// so; its id is kept in the network directory (local) or in $CAPSA_HOME (other networks).

import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { IDL } from '@dfinity/candid'
import { Principal } from '@dfinity/principal'
import { CanisterStatus } from '@dfinity/agent'
import { callError, type Connection, management, parsePrincipal, updateRaw } from './client.ts'
import { capsaHome, type Globals, networkDir, progress, UserError } from './util.ts'

const PROXY_SOURCE = resolve(import.meta.dirname, '..', '..', 'canisters', 'capsa-proxy', 'proxy.ts')
/** Changes asked for: the spec keeps at least 20, and so do we. */
const CHANGES = 20n

const change = IDL.Record({
  timestamp_nanos: IDL.Nat64,
  canister_version: IDL.Nat64,
  origin: IDL.Variant({
    from_user: IDL.Record({ user_id: IDL.Principal }),
    from_canister: IDL.Record({ canister_id: IDL.Principal, canister_version: IDL.Opt(IDL.Nat64) }),
  }),
  details: IDL.Variant({
    creation: IDL.Record({ controllers: IDL.Vec(IDL.Principal) }),
    code_uninstall: IDL.Null,
    code_deployment: IDL.Record({ mode: IDL.Variant({ install: IDL.Null, reinstall: IDL.Null, upgrade: IDL.Null }), module_hash: IDL.Vec(IDL.Nat8) }),
    load_snapshot: IDL.Record({ canister_version: IDL.Nat64, snapshot_id: IDL.Vec(IDL.Nat8), taken_at_timestamp: IDL.Nat64 }),
    controllers_change: IDL.Record({ controllers: IDL.Vec(IDL.Principal) }),
    rename_canister: IDL.Record({ canister_id: IDL.Principal, total_num_changes: IDL.Nat64 }),
  }),
})
const infoArgs = IDL.Record({ canister_id: IDL.Principal, num_requested_changes: IDL.Opt(IDL.Nat64) })
const infoResult = IDL.Record({ total_num_changes: IDL.Nat64, recent_changes: IDL.Vec(change), module_hash: IDL.Opt(IDL.Vec(IDL.Nat8)), controllers: IDL.Vec(IDL.Principal) })

type Bytes = Uint8Array | number[]
interface RawChange {
  timestamp_nanos: bigint
  canister_version: bigint
  origin: { from_user: { user_id: Principal } } | { from_canister: { canister_id: Principal; canister_version: [] | [bigint] } }
  details: Record<string, Record<string, unknown> | null>
}
interface RawInfo { total_num_changes: bigint; recent_changes: RawChange[]; module_hash: [] | [Bytes]; controllers: Principal[] }

/** One change of the canister's history, as JSON. */
export interface CanisterChange {
  timestamp_nanos: string
  canister_version: string
  origin: { user: string } | { canister: string }
  kind: string
  details: Record<string, unknown>
}

/** canister_info as JSON: principals as text, hashes as hex, 64-bit numbers as decimal strings. */
export interface CanisterInfo {
  id: string
  controllers: string[]
  module_hash: string | null
  /** Only with --history (canister_info). */
  total_num_changes?: string
  recent_changes?: CanisterChange[]
}

const hex = (b: Bytes): string => Buffer.from(b).toString('hex')

function jsonValue(v: unknown): unknown {
  if (typeof v === 'bigint') return v.toString()
  if (v instanceof Principal) return v.toText()
  if (v instanceof Uint8Array) return hex(v)
  if (Array.isArray(v)) return v.map(jsonValue)
  if (v !== null && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, jsonValue(x)]))
  return v
}

export function infoJson(id: Principal, r: RawInfo): CanisterInfo {
  return {
    id: id.toText(),
    controllers: r.controllers.map((p) => p.toText()),
    module_hash: r.module_hash.length === 0 ? null : hex(r.module_hash[0]),
    total_num_changes: r.total_num_changes.toString(),
    recent_changes: r.recent_changes.map((c) => {
      const [kind, details] = Object.entries(c.details)[0]
      return {
        timestamp_nanos: c.timestamp_nanos.toString(),
        canister_version: c.canister_version.toString(),
        origin: 'from_user' in c.origin ? { user: c.origin.from_user.user_id.toText() } : { canister: c.origin.from_canister.canister_id.toText() },
        kind,
        details: (jsonValue(details ?? {}) as Record<string, unknown>),
      }
    }),
  }
}

function describe(c: CanisterChange): string {
  const d = c.details
  switch (c.kind) {
    case 'creation': return `created with controllers ${(d.controllers as string[]).join(' ')}`
    case 'code_uninstall': return 'code uninstalled'
    case 'code_deployment': return `code ${Object.keys(d.mode as object)[0]}, module hash 0x${d.module_hash as string}`
    case 'controllers_change': return `controllers set to ${(d.controllers as string[]).join(' ')}`
    case 'load_snapshot': return `snapshot 0x${d.snapshot_id as string} loaded`
    default: return c.kind
  }
}

/** The text dfx prints for `canister info` (controllers, module hash), then the history if asked for. */
export function infoText(j: CanisterInfo): string {
  const lines = [`Controllers: ${j.controllers.join(' ')}`, `Module hash: ${j.module_hash === null ? 'None' : `0x${j.module_hash}`}`]
  if (j.total_num_changes === undefined) return lines.join('\n')
  lines.push(`Total changes: ${j.total_num_changes}`)
  if ((j.recent_changes ?? []).length > 0) lines.push('Recent changes:')
  for (const c of j.recent_changes ?? []) {
    const when = new Date(Number(BigInt(c.timestamp_nanos) / 1_000_000n)).toISOString()
    const who = 'user' in c.origin ? `user ${c.origin.user}` : `canister ${c.origin.canister}`
    lines.push(`  ${when}  version ${c.canister_version}  ${describe(c)}  (by ${who})`)
  }
  return lines.join('\n')
}

// ---- the proxy canister

function proxyFile(g: Globals, c: Connection): { path: string; key: string } {
  const me = c.identity.getPrincipal().toText()
  return c.network === 'local' ? { path: join(networkDir(g), 'proxy.json'), key: me } : { path: join(capsaHome(), 'proxies.json'), key: `${c.network} ${me}` }
}

function readProxies(path: string): Record<string, string> {
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as Record<string, string>
  } catch {
    return {}
  }
}

function saveProxy(path: string, key: string, id: string): void {
  const all = { ...readProxies(path), [key]: id }
  mkdirSync(dirname(path), { recursive: true })
  writeFileSync(`${path}.tmp`, JSON.stringify(all, null, 2) + '\n')
  renameSync(`${path}.tmp`, path)
}

async function createProxy(g: Globals, c: Connection): Promise<Principal> {
  progress('Setting up the proxy canister capsa uses for canister_info (once per network and identity)...')
  if (!existsSync(PROXY_SOURCE)) throw new UserError(`the proxy canister's source ${PROXY_SOURCE} is missing`, 'reinstall capsa')
  const { compileAssemblyScript } = await import('../build/assemblyscript.ts')
  const wasm = await compileAssemblyScript(PROXY_SOURCE, { candidService: readFileSync(PROXY_SOURCE.replace(/\.ts$/, '.did'), 'utf8') })
  const mgmt = management(c)
  try {
    const { canister_id: id } = await mgmt.provisional_create_canister_with_cycles({ amount: [], settings: [], specified_id: [], sender_canister_version: [] })
    await mgmt.install_code({ mode: { install: null }, canister_id: id, wasm_module: wasm, arg: new Uint8Array(IDL.encode([], [])), sender_canister_version: [] })
    const f = proxyFile(g, c)
    saveProxy(f.path, f.key, id.toText())
    progress(`Proxy canister: ${id.toText()}`)
    return id
  } catch (e) {
    throw callError(e, 'creating the proxy canister')
  }
}

// The stored proxy is gone (another network under the same key) or lost its code: make a new one.
// Only rejects of the call to the proxy itself count, not the management canister's reject it passes on.
const stale = (e: unknown): boolean => e instanceof UserError && !/the callee rejected the call/.test(e.message) && /IC0301|IC0536|IC0537/.test(e.message)

async function forward(c: Connection, proxy: Principal, callee: Principal, method: string, arg: Uint8Array): Promise<Uint8Array> {
  const reply = await updateRaw(c, proxy, 'forward', new Uint8Array(IDL.encode([IDL.Principal, IDL.Text, IDL.Vec(IDL.Nat8)], [callee, method, arg])))
  const [bytes] = IDL.decode([IDL.Vec(IDL.Nat8)], reply) as [Bytes]
  return new Uint8Array(bytes)
}

/** Calls a canisters-only management method through the proxy, creating the proxy when needed. */
async function viaProxy(g: Globals, c: Connection, method: string, arg: Uint8Array): Promise<Uint8Array> {
  const f = proxyFile(g, c)
  const stored = readProxies(f.path)[f.key]
  const aaaaa = Principal.fromText('aaaaa-aa')
  if (stored !== undefined) {
    try {
      return await forward(c, parsePrincipal(stored, 'proxy canister id'), aaaaa, method, arg)
    } catch (e) {
      if (!stale(e)) throw e
    }
  }
  return forward(c, await createProxy(g, c), aaaaa, method, arg)
}

/** Controllers and module hash, certified, from read_state: what dfx's `canister info` shows. */
export async function canisterInfoCertified(c: Connection, id: Principal): Promise<CanisterInfo> {
  let m: Map<unknown, unknown>
  try {
    m = (await CanisterStatus.request({ canisterId: id, agent: c.agent, paths: ['controllers', 'module_hash'] })) as Map<unknown, unknown>
  } catch (e) {
    throw callError(e, `reading the state of ${id.toText()}`)
  }
  const controllers = m.get('controllers')
  // The state tree has no controllers entry for a canister that does not exist.
  if (!Array.isArray(controllers)) {
    throw new UserError(`canister ${id.toText()} does not exist on this network`, 'check the canister id or name (`capsa canister id <name>`) and --network')
  }
  const hash = m.get('module_hash')
  return { id: id.toText(), controllers: (controllers as Principal[]).map((p) => p.toText()), module_hash: typeof hash === 'string' ? hash.replace(/^0x/, '') : null }
}

/** canister_info (with the history) through the proxy canister. */
export async function canisterInfo(g: Globals, c: Connection, id: Principal): Promise<CanisterInfo> {
  const arg = new Uint8Array(IDL.encode([infoArgs], [{ canister_id: id, num_requested_changes: [CHANGES] }]))
  let reply: Uint8Array
  try {
    reply = await viaProxy(g, c, 'canister_info', arg)
  } catch (e) {
    // The management canister's reject, passed on by the proxy, is what the user needs to see.
    const inner = e instanceof UserError ? /the callee rejected the call \(reject code (\d+)\): (.*)$/s.exec(e.message) : null
    if (inner !== null) throw new UserError(`canister_info of ${id.toText()} was rejected (reject code ${inner[1]}): ${inner[2]}`, inner[1] === '3' ? 'check the canister id: no canister by that id exists on this network' : 'see the reject message above')
    throw e instanceof UserError ? e : callError(e, `canister_info of ${id.toText()}`)
  }
  return decodeInfo(id, reply)
}

export function decodeInfo(id: Principal, reply: Uint8Array): CanisterInfo {
  const [r] = IDL.decode([infoResult], reply) as unknown as [RawInfo]
  return infoJson(id, r)
}
