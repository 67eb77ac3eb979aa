// The testing library against a real network: the same method names and argument shapes as
// `CapsaTestSubnet`, talking to a node over HTTP with @dfinity/agent. A test written with `await` on
// every subnet call runs in-process or against `capsa start` by changing the line that makes the subnet:
//
//   const subnet = CapsaTestSubnet.create()                      // in process
//   const subnet = await RemoteTestSubnet.connect(url)           // a local network (capsa status shows the url)
//
// Time is the network's own: `advanceTime` cannot move it and says so; `tick` waits for the next
// certified height. Calls need signing identities (a bare principal cannot sign a request).

import { Actor as AgentActor, HttpAgent, pollForResponse, type Identity } from '@dfinity/agent'
import { Ed25519KeyIdentity } from '@dfinity/identity'
import { Principal } from '@dfinity/principal'
import { CapsaError } from '../../protocol/errors.ts'
import type { Actor, ActorOptions, IdlFactory, ServiceShape } from './actor.ts'
import { principalBytes, type PrincipalLike } from './core.ts'
import {
  canisterCall, canisterStatusOf, createCanisterCall, createdCanister, installCall, installMode, reinstallMode, upgradeMode,
} from './management-calls.ts'
import type { CanisterStatus, CreateCanisterOptions, InstallOptions, ManagementCall, UpgradeOptions } from './management-calls.ts'
import type { CanisterTarget, SetupOptions } from './subnet.ts'

type Sender = PrincipalLike | Identity | undefined

const MANAGEMENT = Principal.fromText('aaaaa-aa')

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

  // A management call over HTTP, addressed through the canister it is about (or aaaaa-aa for
  // creation); the argument and the reply's decoding are the in-process subnet's own.
  async #update(call: ManagementCall, sender: Sender): Promise<Uint8Array> {
    const agent = await this.#agent(this.#signer(sender))
    const effectiveCanisterId = call.target === undefined ? MANAGEMENT : Principal.fromUint8Array(call.target)
    const { requestId } = await agent.call(MANAGEMENT, { methodName: call.method, arg: call.arg, effectiveCanisterId, callSync: false })
    return new Uint8Array((await pollForResponse(agent, effectiveCanisterId, requestId)).reply)
  }

  async createCanister(opts: CreateCanisterOptions = {}): Promise<Principal> {
    return createdCanister(await this.#update(createCanisterCall(opts), opts.sender))
  }
  async installCode(opts: InstallOptions): Promise<void> {
    await this.#update(installCall(opts, installMode()), opts.sender)
  }
  async reinstallCode(opts: InstallOptions): Promise<void> {
    await this.#update(installCall(opts, reinstallMode()), opts.sender)
  }
  async upgradeCanister(opts: UpgradeOptions): Promise<void> {
    await this.#update(installCall(opts, upgradeMode(opts)), opts.sender)
  }
  async startCanister(t: CanisterTarget): Promise<void> {
    await this.#update(canisterCall('start_canister', t.canisterId), t.sender)
  }
  async stopCanister(t: CanisterTarget): Promise<void> {
    await this.#update(canisterCall('stop_canister', t.canisterId), t.sender)
  }
  async deleteCanister(t: CanisterTarget): Promise<void> {
    await this.#update(canisterCall('delete_canister', t.canisterId), t.sender)
  }
  async canisterStatus(t: CanisterTarget): Promise<CanisterStatus> {
    return canisterStatusOf(await this.#update(canisterCall('canister_status', t.canisterId), t.sender))
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
