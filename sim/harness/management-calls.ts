// The management canister's calls as the testing library makes them, shared by the in-process subnet
// and the one over HTTP: each builds a method name and Candid argument, and decodes the reply, the
// same way whichever transport carries it.

import { IDL } from '@dfinity/candid'
import { Principal } from '@dfinity/principal'
import { decodeCandid, encodeCandid } from '../../protocol/candid.ts'
import { moduleMetadata } from '../../execution/module-seam.ts'
import { ManagementTypes as T } from '../../execution/management/index.ts'
import { principalBytes, type PrincipalLike } from './core.ts'

export interface ManagementCall {
  method: string
  arg: Uint8Array
  /** The canister the call is about (its effective canister id over HTTP); absent for creation. */
  target?: Uint8Array
}

export interface CreateCanisterOptions {
  /** Default: the caller only. */
  controllers?: PrincipalLike[]
  /** Default: the management canister's provisional amount. */
  cycles?: bigint
  sender?: PrincipalLike
}

export interface InstallOptions {
  canisterId: PrincipalLike
  wasm: Uint8Array
  /** Candid-encoded init (or post_upgrade) argument; empty Candid when absent. */
  arg?: Uint8Array
  sender?: PrincipalLike
}

export interface UpgradeOptions extends InstallOptions {
  skipPreUpgrade?: boolean
  /** What happens to the Wasm heap. Absent: `keep` for modules with the
   *  `enhanced-orthogonal-persistence` metadata (Motoko's default), as dfx decides; unset otherwise. */
  wasmMemoryPersistence?: 'keep' | 'replace'
}

export interface CanisterStatus {
  status: 'running' | 'stopping' | 'stopped'
  moduleHash: Uint8Array | undefined
  controllers: Principal[]
  cycles: bigint
  memorySize: bigint
  version: bigint
}

export interface CanisterLogRecord {
  idx: bigint
  timestampNanos: bigint
  content: Uint8Array
  text: string
}

type Mode = { install: null } | { reinstall: null } | { upgrade: [] | [{ skip_pre_upgrade: [] | [boolean]; wasm_memory_persistence: [] | [{ keep: null } | { replace: null }] }] }

const EMPTY_ARG = encodeCandid([], [])
const principal = (p: PrincipalLike): Principal => Principal.fromUint8Array(principalBytes(p))

export function createCanisterCall(opts: CreateCanisterOptions): ManagementCall {
  // Every setting is optional; naming them from the type keeps this in step with ic.did.
  const unset = Object.fromEntries((T.canister_settings as IDL.RecordClass)._fields.map(([name]) => [name, []]))
  const settings = opts.controllers === undefined ? [] : [{ ...unset, controllers: [opts.controllers.map(principal)] }]
  const arg = encodeCandid([T.provisional_create_canister_with_cycles_args], [{
    amount: opts.cycles === undefined ? [] : [opts.cycles], settings, specified_id: [], sender_canister_version: [],
  }])
  return { method: 'provisional_create_canister_with_cycles', arg }
}

export function createdCanister(reply: Uint8Array): Principal {
  return (decodeCandid([T.create_canister_result], reply)[0] as { canister_id: Principal }).canister_id
}

export const installMode = (): Mode => ({ install: null })
export const reinstallMode = (): Mode => ({ reinstall: null })

export function upgradeMode(opts: UpgradeOptions): Mode {
  const persistence = opts.wasmMemoryPersistence ?? (moduleMetadata(opts.wasm).sections.has('enhanced-orthogonal-persistence') ? 'keep' : undefined)
  return {
    upgrade: [{
      skip_pre_upgrade: opts.skipPreUpgrade === undefined ? [] : [opts.skipPreUpgrade],
      wasm_memory_persistence: persistence === undefined ? [] : [persistence === 'keep' ? { keep: null } : { replace: null }],
    }],
  }
}

export function installCall(opts: InstallOptions, mode: Mode): ManagementCall {
  const arg = encodeCandid([T.install_code_args], [{ mode, canister_id: principal(opts.canisterId), wasm_module: opts.wasm, arg: opts.arg ?? EMPTY_ARG, sender_canister_version: [] }])
  return { method: 'install_code', arg, target: principalBytes(opts.canisterId) }
}

/** A call whose argument is just `record { canister_id }` (start, stop, delete, canister_status, …). */
export function canisterCall(method: string, canisterId: PrincipalLike): ManagementCall {
  const arg = encodeCandid([IDL.Record({ canister_id: IDL.Principal })], [{ canister_id: principal(canisterId) }])
  return { method, arg, target: principalBytes(canisterId) }
}

export function canisterStatusOf(reply: Uint8Array): CanisterStatus {
  const r = decodeCandid([T.canister_status_result], reply)[0] as {
    status: Record<string, null>; module_hash: [] | [Uint8Array]; settings: { controllers: Principal[] }; cycles: bigint; memory_size: bigint; version: bigint
  }
  return {
    status: Object.keys(r.status)[0] as CanisterStatus['status'],
    moduleHash: r.module_hash.length === 0 ? undefined : new Uint8Array(r.module_hash[0]),
    controllers: r.settings.controllers,
    cycles: r.cycles,
    memorySize: r.memory_size,
    version: r.version,
  }
}

export function canisterLogsOf(reply: Uint8Array): CanisterLogRecord[] {
  const r = decodeCandid([T.fetch_canister_logs_result], reply)[0] as { canister_log_records: { idx: bigint; timestamp_nanos: bigint; content: Uint8Array }[] }
  return r.canister_log_records.map((x) => ({
    idx: x.idx, timestampNanos: x.timestamp_nanos, content: new Uint8Array(x.content), text: new TextDecoder().decode(new Uint8Array(x.content)),
  }))
}
