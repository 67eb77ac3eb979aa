import { beforeAll, describe, expect, it } from 'vitest'
import { readFile } from 'node:fs/promises'
import path from 'node:path'
import { IDL } from '@dfinity/candid'
import { Principal } from '@dfinity/principal'
import { compileAssemblyScript, REPO_ROOT } from './assemblyscript.ts'
import { TestHost } from './ic0-test-host.ts'

const DIR = path.join(REPO_ROOT, 'canisters/examples/icrc1')
let wasm: Uint8Array

beforeAll(async () => {
  wasm = await compileAssemblyScript(path.join(DIR, 'icrc1.ts'), { candidService: await readFile(path.join(DIR, 'icrc1.did'), 'utf8') })
}, 180_000)

const Account = IDL.Record({ owner: IDL.Principal, subaccount: IDL.Opt(IDL.Vec(IDL.Nat8)) })
const InitArgs = IDL.Record({
  minting_account: Account,
  initial_balances: IDL.Vec(IDL.Tuple(Account, IDL.Nat)),
  transfer_fee: IDL.Nat,
  token_name: IDL.Text,
  token_symbol: IDL.Text,
  decimals: IDL.Nat8,
})
const TransferArg = IDL.Record({
  from_subaccount: IDL.Opt(IDL.Vec(IDL.Nat8)),
  to: Account,
  amount: IDL.Nat,
  fee: IDL.Opt(IDL.Nat),
  memo: IDL.Opt(IDL.Vec(IDL.Nat8)),
  created_at_time: IDL.Opt(IDL.Nat64),
})
const TransferError = IDL.Variant({
  BadFee: IDL.Record({ expected_fee: IDL.Nat }),
  BadBurn: IDL.Record({ min_burn_amount: IDL.Nat }),
  InsufficientFunds: IDL.Record({ balance: IDL.Nat }),
  TooOld: IDL.Null,
  CreatedInFuture: IDL.Record({ ledger_time: IDL.Nat64 }),
  Duplicate: IDL.Record({ duplicate_of: IDL.Nat }),
  TemporarilyUnavailable: IDL.Null,
  GenericError: IDL.Record({ error_code: IDL.Nat, message: IDL.Text }),
})
const TransferResult = IDL.Variant({ Ok: IDL.Nat, Err: TransferError })
const MetadataValue = IDL.Variant({ Nat: IDL.Nat, Int: IDL.Int, Text: IDL.Text, Blob: IDL.Vec(IDL.Nat8) })

const MINTER = Principal.fromText('aaaaa-aa')
const ALICE = Principal.fromText('2vxsx-fae')
const BOB = Principal.fromText('rrkah-fqaaa-aaaaa-aaaaq-cai')
const acct = (owner: Principal, sub?: number) =>
  ({ owner, subaccount: sub === undefined ? [] : [new Uint8Array(32).fill(sub)] })
const enc = (t: IDL.Type[], v: unknown[]) => new Uint8Array(IDL.encode(t, v))

function ledger(host: TestHost) {
  const q = (m: string, rt: IDL.Type, t: IDL.Type[] = [], v: unknown[] = []) =>
    IDL.decode([rt], host.run(`canister_query ${m}`, enc(t, v)).reply!)[0]
  return {
    q,
    balance: (a: unknown) => q('icrc1_balance_of', IDL.Nat, [Account], [a]),
    supply: () => q('icrc1_total_supply', IDL.Nat),
    transfer: (from: Principal, arg: Partial<Record<string, unknown>>) => {
      host.caller = from.toUint8Array()
      const full = { from_subaccount: [], fee: [], memo: [], created_at_time: [], ...arg }
      return IDL.decode([TransferResult], host.run('canister_update icrc1_transfer', enc([TransferArg], [full])).reply!)[0]
    },
  }
}

function installed(): TestHost {
  const host = new TestHost(wasm)
  host.run('canister_init', enc([InitArgs], [{
    minting_account: acct(MINTER),
    initial_balances: [[acct(ALICE), 1000n], [acct(BOB, 7), 50n]],
    transfer_fee: 10n,
    token_name: 'Capsa Token',
    token_symbol: 'CAP',
    decimals: 8,
  }]))
  return host
}

describe('ICRC-1 ledger in AssemblyScript', () => {
  it('exports canister_init and the icrc1_* methods, imports only ic0', () => {
    const m = new WebAssembly.Module(wasm as Uint8Array<ArrayBuffer>)
    const names = WebAssembly.Module.exports(m).filter((e) => e.kind === 'function').map((e) => e.name)
    expect(names).toContain('canister_init')
    expect(names).toContain('canister_update icrc1_transfer')
    expect(names).toContain('canister_query icrc1_balance_of')
    expect(names.filter((n) => !/^canister_(init|update icrc1_|query icrc1_)/.test(n))).toEqual([])
    expect(WebAssembly.Module.imports(m).filter((i) => i.module !== 'ic0')).toEqual([])
  })

  it('answers the metadata queries', () => {
    const l = ledger(installed())
    expect(l.q('icrc1_name', IDL.Text)).toBe('Capsa Token')
    expect(l.q('icrc1_symbol', IDL.Text)).toBe('CAP')
    expect(l.q('icrc1_decimals', IDL.Nat8)).toBe(8)
    expect(l.q('icrc1_fee', IDL.Nat)).toBe(10n)
    expect(l.q('icrc1_minting_account', IDL.Opt(Account))).toEqual([acct(MINTER)])
    expect(l.q('icrc1_metadata', IDL.Vec(IDL.Tuple(IDL.Text, MetadataValue)))).toEqual([
      ['icrc1:name', { Text: 'Capsa Token' }], ['icrc1:symbol', { Text: 'CAP' }],
      ['icrc1:decimals', { Nat: 8n }], ['icrc1:fee', { Nat: 10n }],
    ])
    expect(l.q('icrc1_supported_standards', IDL.Vec(IDL.Record({ name: IDL.Text, url: IDL.Text }))))
      .toEqual([{ name: 'ICRC-1', url: 'https://github.com/dfinity/ICRC-1' }])
  })

  it('transfers with fee, mints, burns and reports errors; balances survive an upgrade', () => {
    const host = installed()
    const l = ledger(host)
    expect(l.supply()).toBe(1050n)
    expect(l.balance(acct(BOB, 7))).toBe(50n)
    // an absent subaccount and the all-zero one are the same account
    expect(l.balance(acct(ALICE))).toBe(l.balance({ owner: ALICE, subaccount: [new Uint8Array(32)] }))

    expect(l.transfer(ALICE, { to: acct(BOB), amount: 100n })).toEqual({ Ok: 0n })
    expect(l.balance(acct(ALICE))).toBe(890n)
    expect(l.balance(acct(BOB))).toBe(100n)
    expect(l.supply()).toBe(1040n) // the fee is burnt

    expect(l.transfer(ALICE, { to: acct(BOB), amount: 1n, fee: [3n] })).toEqual({ Err: { BadFee: { expected_fee: 10n } } })
    expect(l.transfer(ALICE, { to: acct(BOB), amount: 881n })).toEqual({ Err: { InsufficientFunds: { balance: 890n } } })
    expect(l.transfer(MINTER, { to: acct(BOB, 7), amount: 500n })).toEqual({ Ok: 1n })
    expect(l.supply()).toBe(1540n)
    expect(l.transfer(BOB, { from_subaccount: [new Uint8Array(32).fill(7)], to: acct(MINTER), amount: 5n }))
      .toEqual({ Err: { BadBurn: { min_burn_amount: 10n } } })
    expect(l.transfer(BOB, { from_subaccount: [new Uint8Array(32).fill(7)], to: acct(MINTER), amount: 550n })).toEqual({ Ok: 2n })
    expect(l.balance(acct(BOB, 7))).toBe(0n)
    expect(l.supply()).toBe(990n)
    expect(l.transfer(ALICE, { to: acct(BOB), amount: 1n, created_at_time: [host.time - 25n * 3600n * 10n ** 9n] }))
      .toEqual({ Err: { TooOld: null } })
    expect(l.transfer(ALICE, { to: acct(BOB), amount: 1n, created_at_time: [host.time + 10n ** 12n] }))
      .toEqual({ Err: { CreatedInFuture: { ledger_time: host.time } } })

    const after = ledger(new TestHost(wasm, host.stable))
    expect(after.balance(acct(ALICE))).toBe(890n)
    expect(after.balance(acct(BOB))).toBe(100n)
    expect(after.supply()).toBe(990n)
    expect(after.transfer(ALICE, { to: acct(BOB), amount: 1n })).toEqual({ Ok: 3n })
  })
})
