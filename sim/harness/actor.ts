// Candid actors over the harness, shaped like @dfinity/agent's (and PocketIC's): one async method per
// service method, arguments encoded and replies decoded with @dfinity/candid, queries and updates told
// apart by the IDL's annotations, and the caller switchable per actor. Returning promises keeps a test
// written against the harness runnable against a real network with an agent-made actor.

import { IDL } from '@dfinity/candid'
import { Principal } from '@dfinity/principal'
import { CapsaError } from '../../protocol/errors.ts'
import type { PrincipalLike, SubnetCore } from './core.ts'
import { principalBytes } from './core.ts'

export type IdlFactory = IDL.InterfaceFactory

/** The methods every harness actor has besides the service's own. */
export interface ActorControls {
  /** Calls from now on come from this identity or principal. */
  setIdentity(who: PrincipalLike): void
  /** PocketIC's name for the same. */
  setPrincipal(who: PrincipalLike): void
  readonly canisterId: Principal
}

type AnyMethod = (...args: never[]) => Promise<unknown>
export type ServiceShape = { [method: string]: AnyMethod }

/** `T` is the service type bindgen or didc generate (`_SERVICE`); untyped methods otherwise. */
export type Actor<T = ServiceShape> = T & ActorControls

export interface ActorOptions {
  /** The caller; the subnet's identity at the time of each call when absent. */
  sender?: PrincipalLike
}

function decodeReply(types: IDL.Type[], bytes: Uint8Array): unknown {
  const values = IDL.decode(types, bytes)
  if (values.length === 0) return undefined
  return values.length === 1 ? values[0] : values
}

export function createActor<T = ServiceShape>(subnet: SubnetCore, idlFactory: IdlFactory, canisterId: PrincipalLike, opts: ActorOptions = {}): Actor<T> {
  const id = principalBytes(canisterId)
  const service = idlFactory({ IDL })
  let sender = opts.sender === undefined ? undefined : principalBytes(opts.sender)
  const controls: ActorControls = {
    setIdentity(who) {
      sender = principalBytes(who)
    },
    setPrincipal(who) {
      sender = principalBytes(who)
    },
    canisterId: Principal.fromUint8Array(id),
  }
  const actor: Record<string, unknown> = {}
  for (const [name, func] of service._fields) {
    const query = func.annotations.includes('query') || func.annotations.includes('composite_query')
    actor[name] = async (...args: unknown[]): Promise<unknown> => {
      if (args.length < func.argTypes.length) {
        throw new CapsaError('INVALID_ARGUMENT', `${name} takes ${func.argTypes.length} argument(s), got ${args.length}`)
      }
      const arg = new Uint8Array(IDL.encode(func.argTypes, args))
      const call = { sender: sender ?? subnet.identity }
      const reply = query ? subnet.queryCall(id, name, arg, call) : subnet.updateCall(id, name, arg, call)
      return decodeReply(func.retTypes, reply)
    }
  }
  return Object.assign(actor, controls) as Actor<T>
}
