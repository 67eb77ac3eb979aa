import { IDL } from '@dfinity/candid'
import { Principal } from '@dfinity/principal'
import { describe, expect, it } from 'vitest'
import { decodeCandid, encodeCandid } from '../../protocol/candid.ts'
import { isCapsaError } from '../../protocol/errors.ts'
import { methodSignature, parseDid } from './did.ts'
import { ICRC1_DID, MOTOKO_DID } from './fixtures.ts'
import { printReply } from './print.ts'
import { encodeArgs } from './typed.ts'

describe('parseDid on an ICRC-1 ledger interface', () => {
  const did = parseDid(ICRC1_DID)

  it('finds every method with its modes and arity', () => {
    expect(Object.keys(did.service).sort()).toEqual([
      'get_value', 'icrc1_balance_of', 'icrc1_decimals', 'icrc1_fee', 'icrc1_metadata', 'icrc1_minting_account',
      'icrc1_name', 'icrc1_supported_standards', 'icrc1_symbol', 'icrc1_total_supply', 'icrc1_transfer', 'notify',
      'subscribe', 'walk', 'weird name',
    ])
    expect(did.service.icrc1_balance_of.annotations).toEqual(['query'])
    expect(did.service.get_value.annotations).toEqual(['composite_query'])
    expect(did.service['weird name'].annotations).toEqual(['oneway'])
    expect(did.service.icrc1_transfer.annotations).toEqual([])
    expect(did.service.notify.argTypes.map((t) => t.display())).toEqual(['nat'])
    expect(did.service.icrc1_balance_of.argTypes.map((t) => t.display())).toEqual(['record {owner:principal; subaccount:opt vec nat8}'])
    expect(did.init.map((t) => t.display())).toEqual([did.types.InitArgs.display()])
  })

  it('resolves aliases structurally and makes only recursive types knots', () => {
    expect(did.types.Subaccount.display()).toBe('vec nat8')
    expect(did.types.Timestamp).toBe(IDL.Nat64)
    expect(did.types.Value).toBeInstanceOf(IDL.RecClass)
    expect(did.types.Account).not.toBeInstanceOf(IDL.RecClass)
  })

  it('produces types that encode what the interface describes', () => {
    const alice = Principal.fromText('aaaaa-aa')
    const arg = { from_subaccount: [], to: { owner: alice, subaccount: [new Uint8Array(32)] }, amount: 5n, fee: [], memo: [], created_at_time: [7n] }
    const bytes = encodeCandid(did.service.icrc1_transfer.argTypes, [arg])
    const [back] = decodeCandid(did.service.icrc1_transfer.argTypes, bytes) as [typeof arg]
    expect(back.amount).toBe(5n)
    expect(back.created_at_time).toEqual([7n])
    const nested = { Array: [{ Nat: 1n }, { Map: [['k', { Array: [] }]] }] }
    const vb = encodeCandid([did.types.Value], [nested])
    expect(decodeCandid([did.types.Value], vb)).toEqual([nested])
    const tree = { value: 1n, children: [[{ value: 2n, children: [] }], []] }
    expect(decodeCandid([did.types.Tree], encodeCandid([did.types.Tree], [tree]))).toEqual([tree])
  })

  it('parses a file with only type definitions and a service referring to a named service type', () => {
    const d = parseDid('type S = service { f : () -> () }; service : S')
    expect(Object.keys(d.service)).toEqual(['f'])
    expect(Object.keys(parseDid('type A = nat;').service)).toEqual([])
  })

  it('rejects bad definitions with positions', () => {
    const cases: Array<[string, string]> = [
      ['type A = record { a : B };', '1:23: unbound type B'],
      ['type A = nat; type A = int;', '1:20: duplicate type definition A'],
      ['type A = B; type B = A; service : { f : (A) -> () }', 'type A is cyclic without a constructor'],
      ['service : { f : (nat) -> (); f : () -> () }', '1:30: duplicate method f'],
      ['import "other.did";', '1:1: imports in .did files need a loader; inline the imported definitions'],
      ['type T = record { a : nat', "1:26: expected ';', found end of input"],
    ]
    for (const [src, message] of cases) {
      let err: unknown
      try { parseDid(src) } catch (e) { err = e }
      expect(isCapsaError(err, 'CANDID_SYNTAX'), src).toBe(true)
      expect((err as Error).message).toBe(message)
    }
  })
})

describe('parseDid on moc output', () => {
  it('reads an actor class with recursive types, quoted and numeric field names', () => {
    const d = parseDid(MOTOKO_DID)
    expect(Object.keys(d.service)).toEqual(['balance', 'cq', 'events', 'ow', 'res', 'weird'])
    expect(d.init.map((t) => t.display())).toEqual(['record {fee:nat; name:text}'])
    expect(d.service.cq.retTypes.map((t) => t.display())).toEqual(['int8', 'float64'])
    expect(d.service.cq.annotations).toEqual(['composite_query'])
    const weird = d.service.weird.retTypes
    expect(printReply(encodeArgs('(record { "type" = 1; 0 = "z" })', weird), weird)).toBe('(record { 0 = "z"; "type" = 1 : nat })')
    const list = d.service.events.argTypes.slice(0, 1)
    expect(printReply(encodeArgs('(opt record { 1; opt record { 2; null } })', list, d.env), list))
      .toBe('(opt record { 1 : nat; opt record { 2 : nat; null } })')
  })

  it('handles a service type that refers to itself', () => {
    const d = parseDid('type S = service { next : () -> (S) query }; service : S')
    const next = d.service.next
    const bytes = encodeArgs('(service "aaaaa-aa")', next.retTypes, d.env)
    expect(printReply(bytes, next.retTypes)).toBe('(service "aaaaa-aa")')
    expect(printReply(bytes)).toBe('(service "aaaaa-aa")')
  })
})

describe('imports', () => {
  it('reads imported type definitions through the loader, once per file', () => {
    const files: Record<string, string> = {
      'common.did': 'import "base.did"; type Account = record { owner : principal; sub : opt Sub };',
      'base.did': 'import "common.did"; type Sub = blob;',
    }
    const loaded: string[] = []
    const d = parseDid('import "common.did"; service : { balance : (Account) -> (nat) query }', {
      load: (path) => { loaded.push(path); return files[path] },
    })
    expect(loaded).toEqual(['common.did', 'base.did'])
    expect(d.service.balance.argTypes.map((t) => t.display())).toEqual(['record {sub:opt vec nat8; owner:principal}'])
  })
})

describe('methodSignature', () => {
  it('tells queries, composite queries, oneways and updates apart', () => {
    const did = parseDid(ICRC1_DID)
    const modes = ['icrc1_balance_of', 'get_value', 'weird name', 'icrc1_transfer'].map((m) => {
      const s = methodSignature(did, m)
      return [s.query, s.oneway, s.args.length, s.rets.length]
    })
    expect(modes).toEqual([[true, false, 1, 1], [true, false, 1, 1], [false, true, 1, 0], [false, false, 1, 1]])
    let err: unknown
    try { methodSignature(did, 'toString') } catch (e) { err = e }
    expect(isCapsaError(err, 'INVALID_ARGUMENT')).toBe(true)
  })
})
