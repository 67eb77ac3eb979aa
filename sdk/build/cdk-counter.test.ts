import { beforeAll, describe, expect, it } from 'vitest'
import { readFile } from 'node:fs/promises'
import path from 'node:path'
import { IDL } from '@dfinity/candid'
import { compileAssemblyScript, REPO_ROOT } from './assemblyscript.ts'
import { HostTrap, TestHost } from './ic0-test-host.ts'

const DIR = path.join(REPO_ROOT, 'canisters/examples/counter')
let wasm: Uint8Array
let did: string

beforeAll(async () => {
  did = await readFile(path.join(DIR, 'counter.did'), 'utf8')
  wasm = await compileAssemblyScript(path.join(DIR, 'counter.ts'), { candidService: did })
}, 180_000)

describe('counter canister (AssemblyScript)', () => {
  it('has exactly the IC entry points, ic0-only imports and the candid:service section', () => {
    const m = new WebAssembly.Module(wasm as Uint8Array<ArrayBuffer>)
    const fnExports = WebAssembly.Module.exports(m).filter((e) => e.kind === 'function').map((e) => e.name).sort()
    expect(fnExports).toEqual(['canister_query get', 'canister_update inc'])
    const imports = WebAssembly.Module.imports(m)
    expect(imports.length).toBeGreaterThan(0)
    expect(imports.filter((i) => i.module !== 'ic0')).toEqual([])
    const sections = WebAssembly.Module.customSections(m, 'icp:public candid:service')
    expect(sections).toHaveLength(1)
    expect(new TextDecoder().decode(sections[0])).toBe(did)
  })

  it('counts: inc ×3 then get replies 3', () => {
    const host = new TestHost(wasm)
    const empty = new Uint8Array(IDL.encode([], []))
    const incs = [1, 2, 3].map(() => host.run('canister_update inc', empty))
    expect(incs.map((o) => IDL.decode([IDL.Nat], o.reply!)[0])).toEqual([1n, 2n, 3n])
    const got = host.run('canister_query get', empty)
    expect(IDL.decode([IDL.Nat], got.reply!)).toEqual([3n])
  })

  it('traps with a message on an argument that is not Candid', () => {
    const host = new TestHost(wasm)
    expect(() => host.run('canister_update inc', Uint8Array.of(1, 2, 3))).toThrow(HostTrap)
    expect(() => host.run('canister_update inc', Uint8Array.of(1, 2, 3, 4, 5))).toThrow(/DIDL magic/)
  })
})
