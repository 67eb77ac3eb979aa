// `capsa generate` without a network: a project canister's .did through @icp-sdk/bindgen into
// src/bindings/, checked by compiling a consumer with tsc and by loading the IDL factory it wrote.

import { afterAll, describe, expect, it } from 'vitest'
import { execFileSync } from 'node:child_process'
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { IDL } from '@icp-sdk/core/candid'
import { generate } from './generate.ts'
import { UserError } from './util.ts'

const REPO = resolve(import.meta.dirname, '..', '..')
const root = mkdtempSync(join(tmpdir(), 'capsa-generate-'))
afterAll(() => rmSync(root, { recursive: true, force: true }))

const DID = `type Account = record { owner : principal; subaccount : opt blob };
type Result = variant { ok : nat; err : text };
service : {
  transfer : (Account, nat) -> (Result);
  balance : (Account) -> (nat) query;
}
`

function project(did: string): string {
  const dir = mkdtempSync(join(root, 'p-'))
  mkdirSync(join(dir, 'src'))
  writeFileSync(join(dir, 'ledger.did'), did)
  writeFileSync(join(dir, 'capsa.json'), JSON.stringify({ canisters: { ledger: { type: 'custom', wasm: 'ledger.wasm', candid: 'ledger.did' } } }))
  return dir
}

describe('capsa generate', () => {
  it('writes bindings from the project .did that a TypeScript consumer compiles against', async () => {
    const dir = project(DID)
    const r = await generate({ json: false, cwd: join(dir, 'src') }, undefined, undefined)
    expect(r.dir).toBe(join(dir, 'src', 'bindings'))
    expect(r.generated).toEqual([{ name: 'ledger', source: 'ledger.did', files: ['src/bindings/ledger.did', 'src/bindings/ledger.ts', 'src/bindings/declarations/ledger.did.ts'] }])
    expect(readFileSync(join(dir, 'src', 'bindings', 'ledger.did'), 'utf8')).toBe(DID)
    expect(readFileSync(join(dir, 'src', 'bindings', 'ledger.ts'), 'utf8')).toMatch(/export function createActor\(/)

    const { idlFactory } = (await import(join(dir, 'src', 'bindings', 'declarations', 'ledger.did.ts'))) as { idlFactory: IDL.InterfaceFactory }
    const service = idlFactory({ IDL })
    expect(service._fields.map(([name, f]) => `${name}${f.annotations.includes('query') ? ' query' : ''}`)).toEqual(['balance query', 'transfer'])

    symlinkSync(join(REPO, 'node_modules'), join(dir, 'node_modules'))
    writeFileSync(join(dir, 'tsconfig.json'), JSON.stringify({ compilerOptions: { target: 'es2022', module: 'esnext', moduleResolution: 'bundler', strict: true, noEmit: true, skipLibCheck: true, types: [] }, include: ['src/**/*.ts'] }))
    writeFileSync(join(dir, 'src', 'use.ts'), [
      "import { Principal } from '@icp-sdk/core/principal'",
      "import { createActor } from './bindings/ledger'",
      "const ledger = createActor('aaaaa-aa')",
      "const owner = Principal.fromText('2vxsx-fae')",
      'export const r = ledger.transfer({ owner }, 5n).then((x) => (x.__kind__ === "ok" ? x.ok + 1n : x.err.length))',
      'export const b: Promise<bigint> = ledger.balance({ owner, subaccount: new Uint8Array(32) })',
      '// @ts-expect-error the amount is a nat (bigint)',
      'ledger.transfer({ owner }, "5")',
    ].join('\n'))
    execFileSync(process.execPath, [join(REPO, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', dir], { encoding: 'utf8' })
  }, 60_000)

  it('a .did that does not parse is a user error naming the file', async () => {
    const dir = project('service : { f : (nat) -> (nat }')
    const e = await generate({ json: false, cwd: dir }, 'ledger', undefined).catch((x: unknown) => x)
    expect(e).toBeInstanceOf(UserError)
    expect((e as UserError).message).toMatch(/the interface from ledger\.did does not parse/)
  })
})
