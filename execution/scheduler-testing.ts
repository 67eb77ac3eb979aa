// Helpers for driving executeRound in tests and benchmarks: ingress envelopes (anonymous, or signed
// by an @dfinity/identity identity), a one-subnet state, and a driver that runs batches with
// advancing height and time. Not used by the replica itself.

import type { Batch, IngressMessage } from '../protocol/consensus-types.ts'
import { encodeCbor } from '../protocol/cbor.ts'
import type { CborValue } from '../protocol/cbor.ts'
import { decodeCandid, encodeCandid, IDL } from '../protocol/candid.ts'
import { Principal } from '@dfinity/principal'
import { sha256, toHex } from '../protocol/hash.ts'
import type { Height, TimeNs } from '../protocol/ids.ts'
import { ANONYMOUS_PRINCIPAL, subnetCanisterRange } from '../protocol/principal.ts'
import { requestId } from '../protocol/request-id.ts'
import { newReplicatedState } from './replicated-state.ts'
import type { IngressStatus, ReplicatedState } from './replicated-state.ts'
import { executeRound } from './scheduler.ts'
import type { RoundResult, SchedulerConfig } from './scheduler.ts'
import { ManagementTypes as T } from './management/index.ts'

export const START_TIME = 1_700_000_000_000_000_000n
const MINUTE = 60_000_000_000n

export interface CallSpec {
  canisterId: Uint8Array
  method: string
  arg: Uint8Array
  sender?: Uint8Array
  nonce?: number
  expiry?: bigint
}

function content(c: CallSpec): { [key: string]: CborValue } {
  const m: { [key: string]: CborValue } = {
    request_type: 'call',
    canister_id: c.canisterId,
    method_name: c.method,
    arg: c.arg,
    sender: c.sender ?? ANONYMOUS_PRINCIPAL,
    ingress_expiry: c.expiry ?? START_TIME + 1_000_000n * MINUTE,
  }
  if (c.nonce !== undefined) m.nonce = new Uint8Array(new Uint32Array([c.nonce]).buffer)
  return m
}

/** An anonymous envelope: content only, no signature (what consensus hands on for sender 0x04). */
export function anonymousIngress(c: CallSpec): IngressMessage {
  const body = content({ ...c, sender: ANONYMOUS_PRINCIPAL })
  return { id: requestId(body), bytes: encodeCbor({ content: body }) }
}

/** An unsigned envelope from any sender: consensus checked signatures before the batch, and
 *  execution trusts the sender field of a batch message. */
export function unsignedIngress(c: CallSpec): IngressMessage {
  const body = content(c)
  return { id: requestId(body), bytes: encodeCbor({ content: body }) }
}

interface SigningIdentity {
  getPrincipal(): { toUint8Array(): Uint8Array }
  transformRequest(r: unknown): Promise<unknown>
}

/** An envelope signed by `identity` as the agent would send it. */
export async function signedIngress(identity: SigningIdentity, c: Omit<CallSpec, 'sender'>): Promise<IngressMessage> {
  const body = content({ ...c, sender: identity.getPrincipal().toUint8Array() })
  const { body: signed } = (await identity.transformRequest({ endpoint: 'call', request: {}, body })) as { body: CborValue }
  return { id: requestId(body), bytes: encodeCbor(signed) }
}

export const SUBNET_ID = new Uint8Array(29).fill(7)

export function testSubnetState(instrument = true): ReplicatedState {
  return newReplicatedState({ subnetId: SUBNET_ID, canisterRanges: [subnetCanisterRange(0)], runtimeOptions: { instrument } })
}

/** Runs batches against one state with height +1 and time + `stepNs` each. */
export class RoundDriver {
  readonly state: ReplicatedState
  height = 0n
  time = START_TIME
  stepNs = 1_000_000_000n
  config: SchedulerConfig | undefined
  nonce = 0

  constructor(state: ReplicatedState = testSubnetState()) {
    this.state = state
  }

  round(messages: IngressMessage[] = []): RoundResult {
    this.height++
    this.time += this.stepNs
    const randomness = sha256(new TextEncoder().encode(`beacon ${this.height}`))
    const batch: Batch = { height: this.height as Height, time: this.time as TimeNs, randomness, messages }
    return executeRound(this.state, batch, this.config)
  }

  status(id: Uint8Array): IngressStatus | undefined {
    return this.state.ingress.get(toHex(id))?.status
  }

  /** Submits one message and runs rounds until its status is final (at most `maxRounds`). */
  submit(msg: IngressMessage, maxRounds = 10): IngressStatus {
    this.round([msg])
    for (let i = 1; i < maxRounds; i++) {
      const s = this.status(msg.id)!
      if (s.status === 'replied' || s.status === 'rejected') return s
      this.round()
    }
    return this.status(msg.id)!
  }

  call(canisterId: Uint8Array, method: string, arg: Uint8Array = encodeCandid([], []), sender?: Uint8Array): IngressStatus {
    const spec = { canisterId, method, arg, nonce: this.nonce++ }
    if (sender === undefined) return this.submit(anonymousIngress(spec))
    const body = content({ ...spec, sender })
    // Consensus checked signatures already; execution trusts the sender field of a batch message.
    return this.submit({ id: requestId(body), bytes: encodeCbor({ content: body }) })
  }

  /** provisional_create_canister_with_cycles from `sender` (anonymous by default); the new id. */
  createCanister(sender?: Uint8Array, amount?: bigint): Uint8Array {
    const arg = encodeCandid([T.provisional_create_canister_with_cycles_args], [{ amount: amount === undefined ? [] : [amount], settings: [], specified_id: [], sender_canister_version: [] }])
    const s = this.call(new Uint8Array(0), 'provisional_create_canister_with_cycles', arg, sender)
    return (decodeCandid([T.create_canister_result], replyBytes(s))[0] as { canister_id: { toUint8Array(): Uint8Array } }).canister_id.toUint8Array()
  }

  install(canisterId: Uint8Array, wasm: Uint8Array, arg = encodeCandid([], []), mode: unknown = { install: null }, sender?: Uint8Array): IngressStatus {
    const a = encodeCandid([T.install_code_args], [{ mode, canister_id: principal(canisterId), wasm_module: wasm, arg, sender_canister_version: [] }])
    return this.call(new Uint8Array(0), 'install_code', a, sender)
  }

  management(method: string, canisterId: Uint8Array, sender?: Uint8Array): IngressStatus {
    return this.call(new Uint8Array(0), method, encodeCandid([IDL.Record({ canister_id: IDL.Principal })], [{ canister_id: principal(canisterId) }]), sender)
  }
}

export const principal = (b: Uint8Array): Principal => Principal.fromUint8Array(b)

export function replyBytes(s: IngressStatus): Uint8Array {
  if (s.status !== 'replied') throw new Error(`expected a reply, got ${JSON.stringify(s)}`)
  return s.reply
}

