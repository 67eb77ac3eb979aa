// Canister setup for the node benchmark, through @dfinity/agent as a user would do it: provisional
// creation on the management canister (effective id: the target canister) and install_code.

import { Actor, HttpAgent } from '@dfinity/agent'
import { IDL } from '@dfinity/candid'
import { Ed25519KeyIdentity } from '@dfinity/identity'
import { Principal } from '@dfinity/principal'
import type { LocalSubnet } from '../../test/support/local-subnet.ts'

function managementCanister(agent: HttpAgent) {
  const idl: IDL.InterfaceFactory = ({ IDL: I }) => I.Service({
    provisional_create_canister_with_cycles: I.Func([I.Record({ amount: I.Opt(I.Nat), settings: I.Opt(I.Record({ controllers: I.Opt(I.Vec(I.Principal)) })), specified_id: I.Opt(I.Principal), sender_canister_version: I.Opt(I.Nat64) })], [I.Record({ canister_id: I.Principal })], []),
    install_code: I.Func([I.Record({ mode: I.Variant({ install: I.Null }), canister_id: I.Principal, wasm_module: I.Vec(I.Nat8), arg: I.Vec(I.Nat8), sender_canister_version: I.Opt(I.Nat64) })], [], []),
  })
  const effective = (_m: string, args: unknown[]) => ({ effectiveCanisterId: (args[0] as { canister_id?: Principal } | undefined)?.canister_id ?? Principal.fromText('aaaaa-aa') })
  return Actor.createActor(idl, { agent, canisterId: Principal.fromText('aaaaa-aa'), callTransform: effective, queryTransform: effective }) as unknown as {
    provisional_create_canister_with_cycles(a: object): Promise<{ canister_id: Principal }>
    install_code(a: object): Promise<void>
  }
}

export async function installCounters(s: LocalSubnet, count: number, wasm: Uint8Array): Promise<{ agent: HttpAgent; ids: Principal[] }> {
  const agent = await HttpAgent.create({ host: s.url(0), identity: Ed25519KeyIdentity.generate(), shouldFetchRootKey: true })
  const ic = managementCanister(agent)
  const ids: Principal[] = []
  for (let k = 0; k < count; k++) {
    const { canister_id } = await ic.provisional_create_canister_with_cycles({ amount: [], settings: [], specified_id: [], sender_canister_version: [] })
    await ic.install_code({ mode: { install: null }, canister_id, wasm_module: wasm, arg: new Uint8Array(IDL.encode([], [])), sender_canister_version: [] })
    ids.push(canister_id)
  }
  return { agent, ids }
}

