// The testing library's subnet: the core harness plus the management canister's methods as a client
// calls them (ingress to aaaaa-aa, through the scheduler like any other update; fetch_canister_logs
// and canister_status as the queries they are), and Candid actors. Names and argument shapes follow
// PocketIC's JS library, so its users find their way.

import { Principal } from '@dfinity/principal'
import { IDL } from '@dfinity/candid'
import { decodeCandid, encodeCandid } from '../../protocol/candid.ts'
import { moduleMetadata } from '../../execution/module-seam.ts'
import { ManagementTypes as T } from '../../execution/management/index.ts'
import { createActor } from './actor.ts'
import type { Actor, ActorOptions, IdlFactory, ServiceShape } from './actor.ts'
import { SubnetCore, principalBytes } from './core.ts'
import type { PrincipalLike, SubnetOptions } from './core.ts'

const MANAGEMENT = new Uint8Array(0)
const EMPTY_ARG = encodeCandid([], [])

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

export interface CanisterTarget {
  canisterId: PrincipalLike
  sender?: PrincipalLike
}

export interface SetupOptions extends CreateCanisterOptions {
  idlFactory: IdlFactory
  wasm: Uint8Array
  arg?: Uint8Array
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

const idArg = (canisterId: PrincipalLike): Uint8Array =>
  encodeCandid([IDL.Record({ canister_id: IDL.Principal })], [{ canister_id: Principal.fromUint8Array(principalBytes(canisterId)) }])

export class CapsaTestSubnet extends SubnetCore {
  /** A new subnet with no canisters; time starts at `startTimeNs`, height at 0. */
  static create(opts: SubnetOptions = {}): CapsaTestSubnet {
    return new CapsaTestSubnet(opts)
  }

  /** provisional_create_canister_with_cycles; the new canister's id. */
  createCanister(opts: CreateCanisterOptions = {}): Principal {
    // Every setting is optional; naming them from the type keeps this in step with ic.did.
    const unset = Object.fromEntries((T.canister_settings as IDL.RecordClass)._fields.map(([name]) => [name, []]))
    const settings = opts.controllers === undefined ? [] : [{
      ...unset, controllers: [opts.controllers.map((c) => Principal.fromUint8Array(principalBytes(c)))],
    }]
    const arg = encodeCandid([T.provisional_create_canister_with_cycles_args], [{
      amount: opts.cycles === undefined ? [] : [opts.cycles], settings, specified_id: [], sender_canister_version: [],
    }])
    const reply = this.updateCall(MANAGEMENT, 'provisional_create_canister_with_cycles', arg, { sender: opts.sender })
    return (decodeCandid([T.create_canister_result], reply)[0] as { canister_id: Principal }).canister_id
  }

  installCode(opts: InstallOptions): void {
    this.#install(opts, { install: null })
  }

  reinstallCode(opts: InstallOptions): void {
    this.#install(opts, { reinstall: null })
  }

  upgradeCanister(opts: UpgradeOptions): void {
    const persistence = opts.wasmMemoryPersistence ?? (isEop(opts.wasm) ? 'keep' : undefined)
    this.#install(opts, {
      upgrade: [{
        skip_pre_upgrade: opts.skipPreUpgrade === undefined ? [] : [opts.skipPreUpgrade],
        wasm_memory_persistence: persistence === undefined ? [] : [persistence === 'keep' ? { keep: null } : { replace: null }],
      }],
    })
  }

  #install(opts: InstallOptions, mode: Mode): void {
    const arg = encodeCandid([T.install_code_args], [{
      mode, canister_id: Principal.fromUint8Array(principalBytes(opts.canisterId)), wasm_module: opts.wasm, arg: opts.arg ?? EMPTY_ARG, sender_canister_version: [],
    }])
    this.updateCall(MANAGEMENT, 'install_code', arg, { sender: opts.sender })
  }

  uninstallCode(t: CanisterTarget): void {
    const arg = encodeCandid([T.uninstall_code_args], [{ canister_id: Principal.fromUint8Array(principalBytes(t.canisterId)), sender_canister_version: [] }])
    this.updateCall(MANAGEMENT, 'uninstall_code', arg, { sender: t.sender })
  }

  startCanister(t: CanisterTarget): void {
    this.updateCall(MANAGEMENT, 'start_canister', idArg(t.canisterId), { sender: t.sender })
  }

  stopCanister(t: CanisterTarget): void {
    this.updateCall(MANAGEMENT, 'stop_canister', idArg(t.canisterId), { sender: t.sender })
  }

  deleteCanister(t: CanisterTarget): void {
    this.updateCall(MANAGEMENT, 'delete_canister', idArg(t.canisterId), { sender: t.sender })
  }

  /** Tops up a canister's balance (provisional_top_up_canister). */
  addCycles(canisterId: PrincipalLike, amount: bigint): void {
    const arg = encodeCandid([T.provisional_top_up_canister_args], [{ canister_id: Principal.fromUint8Array(principalBytes(canisterId)), amount }])
    this.updateCall(MANAGEMENT, 'provisional_top_up_canister', arg)
  }

  /** canister_status as an update call (controllers only), the fields tests usually look at. */
  canisterStatus(t: CanisterTarget): CanisterStatus {
    const reply = this.updateCall(MANAGEMENT, 'canister_status', idArg(t.canisterId), { sender: t.sender })
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

  getCyclesBalance(canisterId: PrincipalLike, sender?: PrincipalLike): bigint {
    return this.canisterStatus({ canisterId, sender }).cycles
  }

  /** fetch_canister_logs (a query, as on the IC): the canister's log records, oldest first. */
  fetchCanisterLogs(t: CanisterTarget): CanisterLogRecord[] {
    const reply = this.queryCall(MANAGEMENT, 'fetch_canister_logs', idArg(t.canisterId), { sender: t.sender })
    const r = decodeCandid([T.fetch_canister_logs_result], reply)[0] as { canister_log_records: { idx: bigint; timestamp_nanos: bigint; content: Uint8Array }[] }
    return r.canister_log_records.map((x) => ({
      idx: x.idx, timestampNanos: x.timestamp_nanos, content: new Uint8Array(x.content), text: new TextDecoder().decode(new Uint8Array(x.content)),
    }))
  }

  /** The debug_print output (and trap messages) of one canister since the subnet was created. */
  debugPrints(canisterId: PrincipalLike): string[] {
    const text = Principal.fromUint8Array(principalBytes(canisterId)).toText()
    return this.logs.filter((l) => l.canisterId.toText() === text).map((l) => l.text)
  }

  createActor<S = ServiceShape>(idlFactory: IdlFactory, canisterId: PrincipalLike, opts: ActorOptions = {}): Actor<S> {
    return createActor<S>(this, idlFactory, canisterId, opts)
  }

  /** Creates a canister, installs `wasm` and returns its id with an actor for it. */
  setupCanister<S = ServiceShape>(opts: SetupOptions): { canisterId: Principal; actor: Actor<S> } {
    const canisterId = this.createCanister(opts)
    this.installCode({ canisterId, wasm: opts.wasm, arg: opts.arg, sender: opts.sender })
    return { canisterId, actor: this.createActor<S>(opts.idlFactory, canisterId, { sender: opts.sender }) }
  }
}

function isEop(wasm: Uint8Array): boolean {
  return moduleMetadata(wasm).sections.has('enhanced-orthogonal-persistence')
}
