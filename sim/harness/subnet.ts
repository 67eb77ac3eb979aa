// The testing library's subnet: the core harness plus the management canister's methods as a client
// calls them (ingress to aaaaa-aa, through the scheduler like any other update; fetch_canister_logs
// and canister_status as the queries they are), and Candid actors. Names and argument shapes follow
// PocketIC's JS library, so its users find their way.

import { Principal } from '@dfinity/principal'
import { encodeCandid } from '../../protocol/candid.ts'
import { CapsaError } from '../../protocol/errors.ts'
import { getCanister } from '../../execution/replicated-state.ts'
import { ManagementTypes as T } from '../../execution/management/index.ts'
import { createActor } from './actor.ts'
import type { Actor, ActorOptions, IdlFactory, ServiceShape } from './actor.ts'
import { SubnetCore, principalBytes } from './core.ts'
import type { PrincipalLike, SubnetOptions } from './core.ts'
import {
  canisterCall, canisterLogsOf, canisterStatusOf, createCanisterCall, createdCanister, installCall, installMode, reinstallMode, upgradeMode,
} from './management-calls.ts'
import type { CanisterLogRecord, CanisterStatus, CreateCanisterOptions, InstallOptions, ManagementCall, UpgradeOptions } from './management-calls.ts'

const MANAGEMENT = new Uint8Array(0)

export type { CanisterLogRecord, CanisterStatus, CreateCanisterOptions, InstallOptions, UpgradeOptions }

export interface CanisterTarget {
  canisterId: PrincipalLike
  sender?: PrincipalLike
}

export interface SetupOptions extends CreateCanisterOptions {
  idlFactory: IdlFactory
  wasm: Uint8Array
  arg?: Uint8Array
}

export class CapsaTestSubnet extends SubnetCore {
  /** A new subnet with no canisters; time starts at `startTimeNs`, height at 0. */
  static create(opts: SubnetOptions = {}): CapsaTestSubnet {
    return new CapsaTestSubnet(opts)
  }

  #update(call: ManagementCall, sender?: PrincipalLike): Uint8Array {
    return this.updateCall(MANAGEMENT, call.method, call.arg, { sender })
  }

  /** provisional_create_canister_with_cycles; the new canister's id. */
  createCanister(opts: CreateCanisterOptions = {}): Principal {
    return createdCanister(this.#update(createCanisterCall(opts), opts.sender))
  }

  installCode(opts: InstallOptions): void {
    this.#update(installCall(opts, installMode()), opts.sender)
  }

  reinstallCode(opts: InstallOptions): void {
    this.#update(installCall(opts, reinstallMode()), opts.sender)
  }

  upgradeCanister(opts: UpgradeOptions): void {
    this.#update(installCall(opts, upgradeMode(opts)), opts.sender)
  }

  uninstallCode(t: CanisterTarget): void {
    const arg = encodeCandid([T.uninstall_code_args], [{ canister_id: Principal.fromUint8Array(principalBytes(t.canisterId)), sender_canister_version: [] }])
    this.updateCall(MANAGEMENT, 'uninstall_code', arg, { sender: t.sender })
  }

  startCanister(t: CanisterTarget): void {
    this.#update(canisterCall('start_canister', t.canisterId), t.sender)
  }

  stopCanister(t: CanisterTarget): void {
    this.#update(canisterCall('stop_canister', t.canisterId), t.sender)
  }

  deleteCanister(t: CanisterTarget): void {
    this.#update(canisterCall('delete_canister', t.canisterId), t.sender)
  }

  /** Tops up a canister's balance (provisional_top_up_canister). */
  addCycles(canisterId: PrincipalLike, amount: bigint): void {
    const arg = encodeCandid([T.provisional_top_up_canister_args], [{ canister_id: Principal.fromUint8Array(principalBytes(canisterId)), amount }])
    this.updateCall(MANAGEMENT, 'provisional_top_up_canister', arg)
  }

  /** canister_status as an update call (controllers only), the fields tests usually look at. */
  canisterStatus(t: CanisterTarget): CanisterStatus {
    return canisterStatusOf(this.#update(canisterCall('canister_status', t.canisterId), t.sender))
  }

  /** The balance as the state holds it, as PocketIC reads it: no call, so reading costs no cycles.
   *  (`sender` is accepted for the remote subnet's signature, which must ask canister_status.) */
  getCyclesBalance(canisterId: PrincipalLike, _sender?: PrincipalLike): bigint {
    const c = getCanister(this.state, principalBytes(canisterId))
    if (c === undefined) throw new CapsaError('INVALID_ARGUMENT', `canister ${Principal.from(canisterId).toText()} does not exist on this subnet`)
    return c.state.cycles
  }

  /** fetch_canister_logs (a query, as on the IC): the canister's log records, oldest first. */
  fetchCanisterLogs(t: CanisterTarget): CanisterLogRecord[] {
    const call = canisterCall('fetch_canister_logs', t.canisterId)
    return canisterLogsOf(this.queryCall(MANAGEMENT, call.method, call.arg, { sender: t.sender }))
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
