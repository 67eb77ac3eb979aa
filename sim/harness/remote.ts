// The testing library against a real network: the same method names and argument shapes as
// `CapsaTestSubnet`, talking to a node over HTTP with @dfinity/agent. A test written with `await` on
// every subnet call runs in-process or against `capsa start` by changing the line that makes the subnet:
//
//   const subnet = CapsaTestSubnet.create()                      // in process
//   const subnet = await RemoteTestSubnet.connect(url)           // a local network (capsa status shows the url)
//
// Time is the network's own: `advanceTime` cannot move it and says so; `tick` waits for the next
// certified height. Calls need signing identities (a bare principal cannot sign a request).

import { Actor as AgentActor, HttpAgent, type Identity } from '@dfinity/agent'
import { IDL } from '@dfinity/candid'
import { Ed25519KeyIdentity } from '@dfinity/identity'
import { Principal } from '@dfinity/principal'
import { moduleMetadata } from '../../execution/module-seam.ts'
import { CapsaError } from '../../protocol/errors.ts'
import type { Actor, ActorOptions, IdlFactory, ServiceShape } from './actor.ts'
import { principalBytes, type PrincipalLike } from './core.ts'
import type { CanisterStatus, CanisterTarget, CreateCanisterOptions, InstallOptions, SetupOptions, UpgradeOptions } from './subnet.ts'

type Sender = PrincipalLike | Identity | undefined

const managementIdl: IdlFactory = ({ IDL: I }) => {
  const settings = I.Record({ controllers: I.Opt(I.Vec(I.Principal)) })
  const upgrade = I.Opt(I.Record({ skip_pre_upgrade: I.Opt(I.Bool), wasm_memory_persistence: I.Opt(I.Variant({ keep: I.Null, replace: I.Null })) }))
  const target = I.Record({ canister_id: I.Principal })
  return I.Service({
    provisional_create_canister_with_cycles: I.Func([I.Record({ amount: I.Opt(I.Nat), settings: I.Opt(settings), specified_id: I.Opt(I.Principal), sender_canister_version: I.Opt(I.Nat64) })], [target], []),
    install_code: I.Func([I.Record({ mode: I.Variant({ install: I.Null, reinstall: I.Null, upgrade }), canister_id: I.Principal, wasm_module: I.Vec(I.Nat8), arg: I.Vec(I.Nat8), sender_canister_version: I.Opt(I.Nat64) })], [], []),
    start_canister: I.Func([target], [], []),
    stop_canister: I.Func([target], [], []),
    delete_canister: I.Func([target], [], []),
    canister_status: I.Func([target], [I.Record({
      status: I.Variant({ running: I.Null, stopping: I.Null, stopped: I.Null }), module_hash: I.Opt(I.Vec(I.Nat8)),
      settings: I.Record({ controllers: I.Vec(I.Principal) }), cycles: I.Nat, memory_size: I.Nat,
    })], []),
  })
}

const isIdentity = (x: unknown): x is Identity => typeof x === 'object' && x !== null && 'transformRequest' in x && 'getPrincipal' in x

export class RemoteTestSubnet {
  readonly url: string
  #identity: Identity
  readonly #agents = new Map<string, HttpAgent>()

  private constructor(url: string, identity: Identity) {
    this.url = url
    this.#identity = identity
  }

  /** A client of the node at `url` (any node of the subnet); fetches and trusts its root key. */
  static async connect(url: string, opts: { identity?: Identity } = {}): Promise<RemoteTestSubnet> {
    const s = new RemoteTestSubnet(url, opts.identity ?? Ed25519KeyIdentity.generate())
    await s.#agent(s.#identity)
    return s
  }

  setIdentity(who: Identity): void {
    this.#identity = this.#signer(who)
  }

  #signer(who: Sender): Identity {
    if (who === undefined) return this.#identity
    if (isIdentity(who)) return who
    throw new CapsaError('INVALID_ARGUMENT', `a real network needs a signing identity for ${Principal.fromUint8Array(principalBytes(who)).toText()}, not a bare principal: pass an Identity (e.g. Ed25519KeyIdentity)`)
  }

  async #agent(who: Identity): Promise<HttpAgent> {
    const key = who.getPrincipal().toText()
    let a = this.#agents.get(key)
    if (a === undefined) {
      a = await HttpAgent.create({ host: this.url, identity: who, shouldFetchRootKey: true })
      this.#agents.set(key, a)
    }
    return a
  }

  async #management(sender: Sender): Promise<Record<string, (arg: unknown) => Promise<any>>> {
    const effective = (_m: string, args: unknown[]) => ({ effectiveCanisterId: (args[0] as { canister_id?: Principal } | undefined)?.canister_id ?? Principal.fromText('aaaaa-aa') })
    return AgentActor.createActor(managementIdl, { agent: await this.#agent(this.#signer(sender)), canisterId: Principal.fromText('aaaaa-aa'), callTransform: effective, queryTransform: effective }) as never
  }

  async createCanister(opts: CreateCanisterOptions = {}): Promise<Principal> {
    const settings = opts.controllers === undefined ? [] : [{ controllers: [opts.controllers.map((c) => Principal.fromUint8Array(principalBytes(c)))] }]
    const m = await this.#management(opts.sender)
    const r = await m.provisional_create_canister_with_cycles({ amount: opts.cycles === undefined ? [] : [opts.cycles], settings, specified_id: [], sender_canister_version: [] })
    return Principal.fromText(r.canister_id.toText())
  }

  async #install(opts: InstallOptions, mode: unknown): Promise<void> {
    const m = await this.#management(opts.sender)
    const arg = opts.arg ?? new Uint8Array(IDL.encode([], []))
    await m.install_code({ mode, canister_id: Principal.fromUint8Array(principalBytes(opts.canisterId)), wasm_module: opts.wasm, arg, sender_canister_version: [] })
  }
  installCode(opts: InstallOptions): Promise<void> {
    return this.#install(opts, { install: null })
  }
  reinstallCode(opts: InstallOptions): Promise<void> {
    return this.#install(opts, { reinstall: null })
  }
  upgradeCanister(opts: UpgradeOptions): Promise<void> {
    const persistence = opts.wasmMemoryPersistence ?? (moduleMetadata(opts.wasm).sections.has('enhanced-orthogonal-persistence') ? 'keep' : undefined)
    return this.#install(opts, {
      upgrade: [{
        skip_pre_upgrade: opts.skipPreUpgrade === undefined ? [] : [opts.skipPreUpgrade],
        wasm_memory_persistence: persistence === undefined ? [] : [persistence === 'keep' ? { keep: null } : { replace: null }],
      }],
    })
  }

  async #onCanister(method: string, t: CanisterTarget): Promise<any> {
    return (await this.#management(t.sender))[method]({ canister_id: Principal.fromUint8Array(principalBytes(t.canisterId)) })
  }
  async startCanister(t: CanisterTarget): Promise<void> {
    await this.#onCanister('start_canister', t)
  }
  async stopCanister(t: CanisterTarget): Promise<void> {
    await this.#onCanister('stop_canister', t)
  }
  async deleteCanister(t: CanisterTarget): Promise<void> {
    await this.#onCanister('delete_canister', t)
  }
  async canisterStatus(t: CanisterTarget): Promise<Omit<CanisterStatus, 'version'>> {
    const r = await this.#onCanister('canister_status', t)
    return {
      status: Object.keys(r.status)[0] as CanisterStatus['status'],
      moduleHash: r.module_hash.length > 0 ? new Uint8Array(r.module_hash[0]) : undefined,
      controllers: r.settings.controllers.map((p: Principal) => Principal.fromText(p.toText())),
      cycles: r.cycles,
      memorySize: r.memory_size,
    }
  }

  /** A Candid actor through @dfinity/agent; `setIdentity` switches the signing identity. */
  async createActor<S = ServiceShape>(idlFactory: IdlFactory, canisterId: PrincipalLike, opts: ActorOptions = {}): Promise<Actor<S>> {
    const id = Principal.fromUint8Array(principalBytes(canisterId))
    let actor = AgentActor.createActor(idlFactory, { agent: await this.#agent(this.#signer(opts.sender)), canisterId: id }) as Record<string, unknown>
    const controls = {
      canisterId: id,
      setIdentity: async (who: Identity) => {
        actor = AgentActor.createActor(idlFactory, { agent: await this.#agent(this.#signer(who)), canisterId: id }) as Record<string, unknown>
      },
    }
    return new Proxy(controls, {
      get: (target, prop) => (prop in target ? target[prop as keyof typeof target] : actor[prop as string]),
    }) as unknown as Actor<S>
  }

  async setupCanister<S = ServiceShape>(opts: SetupOptions): Promise<{ canisterId: Principal; actor: Actor<S> }> {
    const canisterId = await this.createCanister(opts)
    await this.installCode({ canisterId, wasm: opts.wasm, arg: opts.arg, sender: opts.sender })
    return { canisterId, actor: await this.createActor<S>(opts.idlFactory, canisterId, { sender: opts.sender }) }
  }

  /** Waits until the subnet has certified a new height (the real network's round). */
  async tick(): Promise<void> {
    const height = async () => Number(((await (await fetch(`${this.url}/_/health`)).json()) as { certifiedHeight: string }).certifiedHeight)
    const start = await height()
    for (let i = 0; i < 200 && (await height()) <= start; i++) await new Promise((r) => setTimeout(r, 50))
  }

  advanceTime(_ms: number): never {
    throw new CapsaError('INVALID_ARGUMENT', 'a real network keeps its own time: advanceTime works only on an in-process CapsaTestSubnet')
  }
}
