import { beforeAll, describe, expect, it } from 'vitest'
import { IDL } from '@dfinity/candid'
import { readFile } from 'node:fs/promises'
import path from 'node:path'
import { Principal } from '@dfinity/principal'
import { compileAssemblyScript, REPO_ROOT } from '../../sdk/build/assemblyscript.ts'
import { CallRejectedError, CapsaTestSubnet, RejectCode } from './index.ts'
import type { IdlFactory } from './index.ts'


// The ICRC-1 ledger example as its author would test it with the testing library: installed with a
// Candid init argument, called by several principals through actors, against the subnet's clock
// (created_at_time windows), and upgraded. sdk/build/cdk-icrc1.test.ts checks the same module on a
// bare ic0 host; this runs it through ingress, the scheduler and the management canister.

interface Account { owner: Principal; subaccount: [] | [Uint8Array] }
interface TransferArg {
  from_subaccount: [] | [Uint8Array]; to: Account; amount: bigint; fee: [] | [bigint]; memo: [] | [Uint8Array]; created_at_time: [] | [bigint]
}
type TransferResult = { Ok: bigint } | { Err: Record<string, unknown> }
interface Ledger {
  icrc1_symbol(): Promise<string>
  icrc1_fee(): Promise<bigint>
  icrc1_total_supply(): Promise<bigint>
  icrc1_minting_account(): Promise<[] | [Account]>
  icrc1_balance_of(a: Account): Promise<bigint>
  icrc1_transfer(a: TransferArg): Promise<TransferResult>
}

const Account = IDL.Record({ owner: IDL.Principal, subaccount: IDL.Opt(IDL.Vec(IDL.Nat8)) })
const InitArgs = IDL.Record({
  minting_account: Account, initial_balances: IDL.Vec(IDL.Tuple(Account, IDL.Nat)), transfer_fee: IDL.Nat,
  token_name: IDL.Text, token_symbol: IDL.Text, decimals: IDL.Nat8,
})
const ledgerIdl: IdlFactory = ({ IDL }) => {
  const TransferError = IDL.Variant({
    BadFee: IDL.Record({ expected_fee: IDL.Nat }), BadBurn: IDL.Record({ min_burn_amount: IDL.Nat }),
    InsufficientFunds: IDL.Record({ balance: IDL.Nat }), TooOld: IDL.Null, CreatedInFuture: IDL.Record({ ledger_time: IDL.Nat64 }),
    Duplicate: IDL.Record({ duplicate_of: IDL.Nat }), TemporarilyUnavailable: IDL.Null,
    GenericError: IDL.Record({ error_code: IDL.Nat, message: IDL.Text }),
  })
  const TransferArg = IDL.Record({
    from_subaccount: IDL.Opt(IDL.Vec(IDL.Nat8)), to: Account, amount: IDL.Nat, fee: IDL.Opt(IDL.Nat),
    memo: IDL.Opt(IDL.Vec(IDL.Nat8)), created_at_time: IDL.Opt(IDL.Nat64),
  })
  return IDL.Service({
    icrc1_symbol: IDL.Func([], [IDL.Text], ['query']),
    icrc1_fee: IDL.Func([], [IDL.Nat], ['query']),
    icrc1_total_supply: IDL.Func([], [IDL.Nat], ['query']),
    icrc1_minting_account: IDL.Func([], [IDL.Opt(Account)], ['query']),
    icrc1_balance_of: IDL.Func([Account], [IDL.Nat], ['query']),
    icrc1_transfer: IDL.Func([TransferArg], [IDL.Variant({ Ok: IDL.Nat, Err: TransferError })], []),
  })
}

const MINTER = Principal.fromText('aaaaa-aa')
const ALICE = Principal.fromUint8Array(Uint8Array.of(0xa1, 0x1c, 0xe0, 0x02))
const BOB = Principal.fromUint8Array(Uint8Array.of(0xb0, 0xb0, 0x02))
const SUB = new Uint8Array(32).fill(7)
const acct = (owner: Principal, sub?: Uint8Array): Account => ({ owner, subaccount: sub === undefined ? [] : [sub] })
const HOUR_NS = 3_600_000_000_000n

function transfer(to: Account, amount: bigint, more: Partial<TransferArg> = {}): TransferArg {
  return { from_subaccount: [], to, amount, fee: [], memo: [], created_at_time: [], ...more }
}

const init = (balances: [Account, bigint][], symbol = 'CAP') => new Uint8Array(IDL.encode([InitArgs], [{
  minting_account: acct(MINTER), initial_balances: balances, transfer_fee: 10n, token_name: 'Capsa Token', token_symbol: symbol, decimals: 8,
}]))

let wasm: Uint8Array
beforeAll(async () => {
  const dir = path.join(REPO_ROOT, 'canisters/examples/icrc1')
  wasm = await compileAssemblyScript(path.join(dir, 'icrc1.ts'), { candidService: await readFile(path.join(dir, 'icrc1.did'), 'utf8') })
}, 180_000)

function setup() {
  const subnet = CapsaTestSubnet.create({ seed: 'icrc1' })
  const { canisterId, actor } = subnet.setupCanister<Ledger>({ idlFactory: ledgerIdl, wasm, arg: init([[acct(ALICE), 1_000n], [acct(BOB, SUB), 50n]]) })
  const as = (who: Principal) => subnet.createActor<Ledger>(ledgerIdl, canisterId, { sender: who })
  return { subnet, canisterId, actor, alice: as(ALICE), bob: as(BOB), minter: as(MINTER) }
}

describe('ICRC-1 ledger example through the testing library', () => {
  it('install runs canister_init with the Candid init argument; without one the install is rejected', async () => {
    const { subnet, actor } = setup()
    expect(await actor.icrc1_symbol()).toBe('CAP')
    expect(await actor.icrc1_fee()).toBe(10n)
    expect(await actor.icrc1_minting_account()).toEqual([acct(MINTER)])
    expect(await actor.icrc1_total_supply()).toBe(1_050n)
    expect(await actor.icrc1_balance_of(acct(BOB, SUB))).toBe(50n)
    expect(await actor.icrc1_balance_of(acct(BOB))).toBe(0n) // another subaccount, another account

    const empty = subnet.createCanister()
    const refused = (() => {
      try {
        subnet.installCode({ canisterId: empty, wasm })
      } catch (e) {
        return e
      }
    })()
    expect(refused).toBeInstanceOf(CallRejectedError)
    expect(refused).toMatchObject({ rejectCode: RejectCode.CANISTER_ERROR })
    expect(subnet.canisterStatus({ canisterId: empty }).moduleHash).toBeUndefined() // the failed install left no code
  })

  it('each caller spends its own balance; fees are burnt; mint and burn go through the minting account', async () => {
    const { actor, alice, bob, minter } = setup()
    expect(await alice.icrc1_transfer(transfer(acct(BOB), 100n))).toEqual({ Ok: 0n })
    expect(await actor.icrc1_balance_of(acct(ALICE))).toBe(890n)
    expect(await actor.icrc1_balance_of(acct(BOB))).toBe(100n)
    expect(await actor.icrc1_total_supply()).toBe(1_040n)

    // Bob's default account and his subaccount 7 are separate; only the one named pays.
    expect(await bob.icrc1_transfer(transfer(acct(ALICE), 95n))).toEqual({ Err: { InsufficientFunds: { balance: 100n } } })
    expect(await bob.icrc1_transfer(transfer(acct(ALICE), 40n, { from_subaccount: [SUB] }))).toEqual({ Ok: 1n })
    expect(await actor.icrc1_balance_of(acct(BOB, SUB))).toBe(0n)
    expect(await actor.icrc1_balance_of(acct(BOB))).toBe(100n)

    expect(await minter.icrc1_transfer(transfer(acct(BOB), 5_000n, { fee: [10n] }))).toEqual({ Err: { BadFee: { expected_fee: 0n } } })
    expect(await minter.icrc1_transfer(transfer(acct(BOB), 5_000n))).toEqual({ Ok: 2n })
    expect(await bob.icrc1_transfer(transfer(acct(MINTER), 9n))).toEqual({ Err: { BadBurn: { min_burn_amount: 10n } } })
    expect(await bob.icrc1_transfer(transfer(acct(MINTER), 100n))).toEqual({ Ok: 3n })
    expect(await actor.icrc1_balance_of(acct(BOB))).toBe(5_000n)
    expect(await actor.icrc1_total_supply()).toBe(1_040n - 10n + 5_000n - 100n)
    // The anonymous principal (the subnet's default identity) owns nothing.
    expect(await actor.icrc1_transfer(transfer(acct(ALICE), 1n))).toEqual({ Err: { InsufficientFunds: { balance: 0n } } })
  })

  it('created_at_time is judged against the subnet clock: CreatedInFuture, then valid, then TooOld a day later', async () => {
    const { subnet, actor, alice } = setup()
    const created = subnet.time() + HOUR_NS
    const early = await alice.icrc1_transfer(transfer(acct(BOB), 1n, { created_at_time: [created] }))
    expect(early).toEqual({ Err: { CreatedInFuture: { ledger_time: subnet.time() } } })

    subnet.advanceTime(3_600_000)
    expect(await alice.icrc1_transfer(transfer(acct(BOB), 1n, { created_at_time: [created] }))).toEqual({ Ok: 0n })

    subnet.advanceTime(25 * 3_600_000)
    expect(await alice.icrc1_transfer(transfer(acct(BOB), 1n, { created_at_time: [created] }))).toEqual({ Err: { TooOld: null } })
    expect(await actor.icrc1_balance_of(acct(BOB))).toBe(1n)
  })

  it('a malformed subaccount traps: the update is rejected and nothing moves', async () => {
    const { actor, alice } = setup()
    const bad = await alice.icrc1_transfer(transfer({ owner: BOB, subaccount: [Uint8Array.of(1, 2, 3)] }, 5n)).catch((e: unknown) => e)
    expect(bad).toBeInstanceOf(CallRejectedError)
    expect(bad).toMatchObject({ rejectCode: RejectCode.CANISTER_ERROR })
    expect((bad as CallRejectedError).rejectMessage).toMatch(/subaccount must be 32 bytes/)
    expect(await actor.icrc1_balance_of(acct(ALICE))).toBe(1_000n)
  })

  it('balances survive an upgrade (stable memory); a reinstall starts over from the new init argument', async () => {
    const { subnet, canisterId, actor, alice } = setup()
    expect(await alice.icrc1_transfer(transfer(acct(BOB), 300n))).toEqual({ Ok: 0n })
    subnet.upgradeCanister({ canisterId, wasm })
    expect(await actor.icrc1_balance_of(acct(ALICE))).toBe(690n)
    expect(await actor.icrc1_balance_of(acct(BOB))).toBe(300n)
    expect(await actor.icrc1_total_supply()).toBe(1_040n)
    expect(await alice.icrc1_transfer(transfer(acct(BOB), 1n))).toEqual({ Ok: 1n }) // the index continues

    subnet.reinstallCode({ canisterId, wasm, arg: init([[acct(BOB), 7n]], 'NEW') })
    expect(await actor.icrc1_symbol()).toBe('NEW')
    expect(await actor.icrc1_balance_of(acct(ALICE))).toBe(0n)
    expect(await actor.icrc1_balance_of(acct(BOB))).toBe(7n)
    expect(await actor.icrc1_total_supply()).toBe(7n)
  })
})
