// The AssemblyScript examples (canisters/examples) deployed and called through the capsa CLI as a user
// would: a copy of the folder, `capsa start --background --nodes 1`, `capsa deploy` (its capsa.json
// builds all four), then `capsa canister call` with Candid text in and pretty-printed Candid text out:
// the counter, the key-value store across an upgrade, the ICRC-1 ledger (mint, transfer, errors) and
// the proxy calling the counter (and a canister that does not exist). Each command is a child process
// with its own CAPSA_HOME; every node is killed at the end.

import { afterAll, describe, expect, it } from 'vitest'
import { execFile } from 'node:child_process'
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { Principal } from '@dfinity/principal'
import { killProjectNetwork } from './support/local-subnet.ts'

const REPO = resolve(import.meta.dirname, '..')
const MAIN = join(REPO, 'sdk', 'cli', 'main.ts')
const EXAMPLES = join(REPO, 'canisters', 'examples')
const root = mkdtempSync(join(tmpdir(), 'capsa-examples-'))
const home = join(root, 'home')
const project = join(root, 'examples')
const NAMES = ['counter', 'kv', 'icrc1', 'proxy']

interface Run { code: number; stdout: string; stderr: string }

function capsa(args: string[], timeout = 30_000): Promise<Run> {
  return new Promise((res) => {
    execFile(process.execPath, [MAIN, ...args], { cwd: project, env: { ...process.env, CAPSA_HOME: home }, timeout }, (err, stdout, stderr) => {
      res({ code: err === null ? 0 : typeof err.code === 'number' ? err.code : 1, stdout: stdout.trim(), stderr })
    })
  })
}

async function ok(args: string[], timeout?: number): Promise<string> {
  const r = await capsa(args, timeout)
  if (r.code !== 0) throw new Error(`capsa ${args.join(' ')} exited ${r.code}\n${r.stderr}\n${r.stdout}`)
  return r.stdout
}

const call = (canister: string, method: string, arg?: string, ...flags: string[]) =>
  ok(['canister', 'call', canister, method, ...(arg === undefined ? [] : [arg]), ...flags])

// The examples import the repository's CDK as "../../cdk/index", outside the folder, and `capsa build`
// compiles only files under the project root (it stages them in .cache/capsa-stage). So the copy gets
// the CDK inside it, as `capsa new --template assemblyscript` does, with the import path to match.
function copyExamples(): void {
  cpSync(EXAMPLES, project, { recursive: true, filter: (src) => !src.includes(`${EXAMPLES}/.capsa`) })
  mkdirSync(join(project, 'cdk'))
  const cdk = join(REPO, 'canisters', 'cdk')
  for (const f of readdirSync(cdk)) if (f.endsWith('.ts')) cpSync(join(cdk, f), join(project, 'cdk', f))
  for (const name of NAMES) {
    const file = join(project, name, `${name}.ts`)
    const src = readFileSync(file, 'utf8')
    if (!src.includes('from "../../cdk/index"')) throw new Error(`${name}.ts no longer imports "../../cdk/index": update copyExamples`)
    writeFileSync(file, src.replaceAll('from "../../cdk/index"', 'from "../cdk/index"'))
  }
}

afterAll(async () => {
  await capsa(['stop'], 15_000)
  killProjectNetwork(project)
  rmSync(root, { recursive: true, force: true })
}, 20_000)

const ids: Record<string, string> = {}
let me = ''
let alice = ''

describe('the AssemblyScript examples through the capsa CLI', () => {
  it('start (one node), then deploy builds and installs all four from capsa.json', async () => {
    copyExamples()
    // The identities do not need the network: made while it starts.
    const [startOut, principals] = await Promise.all([
      ok(['start', '--background', '--nodes', '1', '--json'], 30_000),
      (async () => [await ok(['identity', 'get-principal']), await ok(['identity', 'new', 'alice'])])(),
    ])
    ;[me, alice] = principals
    expect(me).not.toBe(alice)
    const started = JSON.parse(startOut) as { ready: boolean; urls: string[] }
    expect(started.ready).toBe(true)
    expect(started.urls).toHaveLength(1)

    const r = await capsa(['deploy'], 90_000)
    expect(r.code, r.stderr).toBe(0)
    for (const name of NAMES) {
      expect(r.stderr).toContain(`Building canister ${name} (AssemblyScript)...`)
      expect(r.stdout).toMatch(new RegExp(`^  ${name}: [a-z0-9-]+-cai \\(install\\)$`, 'm'))
    }
    const saved = JSON.parse(readFileSync(join(project, '.capsa', 'canister_ids.json'), 'utf8')) as Record<string, { local: string }>
    for (const name of NAMES) ids[name] = saved[name].local
    expect(new Set(Object.values(ids)).size).toBe(4)
    expect(r.stderr).not.toMatch(/Creating the "default" identity/) // made above, and used
  }, 120_000)

  it('counter: inc counts, get reads the count', async () => {
    expect(await call('counter', 'inc')).toBe('(1 : nat)')
    expect(await call('counter', 'inc')).toBe('(2 : nat)')
    expect(await call('counter', 'get')).toBe('(2 : nat)')
  }, 45_000)

  it('kv: data put before `deploy kv --mode upgrade` is still there after it; the counter heap is not', async () => {
    expect(await call('kv', 'put', '("greeting", blob "hello")')).toBe('()')
    expect(await call('kv', 'put', '("bytes", vec { 1; 2; 255 })')).toBe('()')
    expect(await call('kv', 'get', '("greeting")')).toBe('(opt blob "hello")')

    const [kv, counter] = await Promise.all([
      ok(['deploy', 'kv', '--mode', 'upgrade', '--upgrade-unchanged', '--json'], 60_000),
      ok(['deploy', 'counter', '--mode', 'upgrade', '--upgrade-unchanged', '--json'], 60_000),
    ])
    expect(JSON.parse(kv).canisters).toEqual([{ name: 'kv', id: ids.kv, action: 'upgrade' }])
    expect(JSON.parse(counter).canisters).toEqual([{ name: 'counter', id: ids.counter, action: 'upgrade' }])

    const [keys, greeting, bytes, missing, count] = await Promise.all([
      call('kv', 'keys'), call('kv', 'get', '("greeting")'), call('kv', 'get', '("bytes")'), call('kv', 'get', '("nope")'),
      call('counter', 'get'),
    ])
    expect(keys).toBe('(vec { "greeting"; "bytes" })')
    expect(greeting).toBe('(opt blob "hello")')
    expect(bytes).toBe('(opt blob "\\01\\02\\ff")')
    expect(missing).toBe('(null)')
    expect(count).toBe('(0 : nat)') // the counter keeps its count in the heap, which an upgrade replaces
  }, 90_000)

  it('icrc1: mint, balances, a transfer, and the ICRC-1 errors as Candid variants', async () => {
    const [symbol, fee, minter, before] = await Promise.all([
      call('icrc1', 'icrc1_symbol'), call('icrc1', 'icrc1_fee'), call('icrc1', 'icrc1_minting_account'),
      call('icrc1', 'icrc1_balance_of', `(record { owner = principal "${me}"; subaccount = null })`),
    ])
    expect(symbol).toBe('("EXT")')
    expect(fee).toBe('(10_000 : nat)')
    expect(minter).toBe('(opt record { owner = principal "2vxsx-fae"; subaccount = null })')
    expect(before).toBe('(0 : nat)')

    // The minting account is the anonymous principal: a transfer from it mints.
    const mint = `(record { from_subaccount = null; to = record { owner = principal "${me}"; subaccount = null }; amount = 1_000_000; fee = null; memo = null; created_at_time = null })`
    expect(await call('icrc1', 'icrc1_transfer', mint, '--identity', 'anonymous')).toBe('(variant { Ok = 0 : nat })')

    expect(await call('icrc1', 'icrc1_transfer', `(record { to = record { owner = principal "${alice}" }; amount = 250_000 })`)).toBe('(variant { Ok = 1 : nat })')
    const balance = (who: string) => call('icrc1', 'icrc1_balance_of', `(record { owner = principal "${who}" })`)
    const [mine, hers, supply] = await Promise.all([balance(me), balance(alice), call('icrc1', 'icrc1_total_supply')])
    expect(mine).toBe('(740_000 : nat)') // 1_000_000 - 250_000 - the 10_000 fee
    expect(hers).toBe('(250_000 : nat)')
    expect(supply).toBe('(990_000 : nat)') // the fee is burnt

    // Alice holds 250_000 and cannot send it all: the fee comes on top.
    const [tooMuch, badFee] = await Promise.all([
      call('icrc1', 'icrc1_transfer', `(record { to = record { owner = principal "${me}" }; amount = 250_000 })`, '--identity', 'alice'),
      call('icrc1', 'icrc1_transfer', `(record { to = record { owner = principal "${me}" }; amount = 5; fee = opt 1 })`, '--identity', 'alice'),
    ])
    expect(tooMuch).toBe('(\n  variant {\n    Err = variant { InsufficientFunds = record { balance = 250_000 : nat } }\n  },\n)')
    expect(badFee).toBe('(variant { Err = variant { BadFee = record { expected_fee = 10_000 : nat } } })')
    expect(await balance(alice)).toBe('(250_000 : nat)')
  }, 90_000)

  it('proxy: call_inc advances the counter; a call to a canister that does not exist comes back as its reject', async () => {
    expect(await call('counter', 'get')).toBe('(0 : nat)')
    expect(await call('proxy', 'call_inc', `(principal "${ids.counter}")`)).toBe('(1 : nat)')
    expect(await call('counter', 'get')).toBe('(1 : nat)')

    // Same subnet range as the examples' ids, an index nothing created.
    const nowhere = Principal.fromUint8Array(Uint8Array.of(0, 0, 0, 0, 0, 0, 0x03, 0xe8, 1, 1)).toText()
    expect(Object.values(ids)).not.toContain(nowhere)
    const r = await capsa(['canister', 'call', 'proxy', 'call_inc', `(principal "${nowhere}")`])
    expect(r.code).toBe(1)
    expect(r.stdout).toBe('')
    // The callee's DESTINATION_INVALID (3) reached IncHandler.onReject, which rejected the original call (4).
    expect(r.stderr).toMatch(new RegExp(`^Error: .*call_inc.*\\(reject code 4, IC0406\\): counter call failed: 3 Canister ${nowhere} not found$`, 'm'))
    expect(r.stderr).not.toMatch(/^\s+at /m)
    const [pending, count] = await Promise.all([call('proxy', 'pending'), call('counter', 'get')])
    expect(pending).toBe('(0 : nat)') // the callback ran and closed the call context
    expect(count).toBe('(1 : nat)')
  }, 60_000)

  it('stop ends the node', async () => {
    expect(await ok(['stop'], 15_000)).toMatch(/Stopped 1 node/)
    const after = await capsa(['canister', 'call', 'counter', 'get'])
    expect(after.code).toBe(1)
    expect(after.stderr).toMatch(/local network is not running/)
  }, 30_000)
})
