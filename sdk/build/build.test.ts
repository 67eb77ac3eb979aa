import { afterAll, describe, expect, it } from 'vitest'
import { mkdir, readdir, rm, writeFile } from 'node:fs/promises'
import path from 'node:path'
import { compileAssemblyScript, REPO_ROOT } from './assemblyscript.ts'
import { icExportName } from './ic-export-names.ts'
import { addCustomSection, customSections } from './wasm-sections.ts'
import { isCapsaError } from '../../protocol/errors.ts'
import { TestHost } from './ic0-test-host.ts'

const SCRATCH = path.join(REPO_ROOT, '.cache', 'asc-build-test', String(process.pid))

afterAll(async () => {
  await rm(SCRATCH, { recursive: true, force: true })
})

describe('icExportName', () => {
  it('renames entry points and leaves other names alone', () => {
    expect(icExportName('canister_update__inc')).toBe('canister_update inc')
    expect(icExportName('canister_query__get_all')).toBe('canister_query get_all')
    expect(icExportName('canister_composite_query__q')).toBe('canister_composite_query q')
    expect(icExportName('canister_update__a__b')).toBe('canister_update a__b')
    expect(icExportName('canister_init')).toBe('canister_init')
    expect(icExportName('canister_update_inc')).toBe('canister_update_inc')
  })
})

describe('addCustomSection', () => {
  it('appends sections that WebAssembly.Module can read back', () => {
    const empty: Uint8Array = Uint8Array.of(0, 0x61, 0x73, 0x6d, 1, 0, 0, 0)
    const big = new Uint8Array(300).map((_, i) => i & 0xff) // size needs a 2-byte LEB128
    const w = addCustomSection(addCustomSection(empty, 'icp:public candid:service', new TextEncoder().encode('service : {}')), 'x', big)
    const m = new WebAssembly.Module(w)
    expect(new TextDecoder().decode(WebAssembly.Module.customSections(m, 'icp:public candid:service')[0])).toBe('service : {}')
    expect(new Uint8Array(WebAssembly.Module.customSections(m, 'x')[0])).toEqual(big)
    expect(customSections(w).map((s) => s.name)).toEqual(['icp:public candid:service', 'x'])
  })

  it('rejects bytes that are not a module', () => {
    expect(() => addCustomSection(Uint8Array.of(1, 2, 3), 'x', new Uint8Array(0))).toThrow(/not a WebAssembly binary/)
  })
})

describe('compileAssemblyScript', () => {
  it('reports compile errors as file:line:column diagnostics', async () => {
    await mkdir(SCRATCH, { recursive: true })
    const file = path.join(SCRATCH, 'bad.ts')
    await writeFile(file, 'export function canister_query__x(): void {\n  let a: i32 = "s";\n  missing();\n}\n')
    const rel = path.relative(REPO_ROOT, file)
    const err = await compileAssemblyScript(file, { cacheDir: null }).catch((e: unknown) => e)
    expect(isCapsaError(err, 'COMPILE_FAILED')).toBe(true)
    const msg = (err as Error).message
    expect(msg).toContain(`${rel}:2:16: error AS2322`)
    expect(msg).toContain(`${rel}:3:3: error AS2304: Cannot find name 'missing'.`)
    expect(msg).not.toMatch(/\n\s+at /) // no stack trace text in the message
  })

  it('caches by source hash and recompiles when a source changes', async () => {
    await mkdir(SCRATCH, { recursive: true })
    const cacheDir = path.join(SCRATCH, 'cache')
    const file = path.join(SCRATCH, 'tiny.ts')
    const src = (n: number): string => `@external("ic0", "msg_reply") declare function msg_reply(): void;\n` +
      `export let v: i32 = ${n};\nexport function canister_update__f(): void { msg_reply(); }\n`
    const value = (w: Uint8Array): number => ((new TestHost(w).instance.exports.v as WebAssembly.Global).value as number)
    await writeFile(file, src(1))
    const first = await compileAssemblyScript(file, { cacheDir, optimizeLevel: 0 })
    expect(value(first)).toBe(1)
    expect((await readdir(cacheDir)).filter((f) => f.endsWith('.wasm'))).toHaveLength(1)
    const again = await compileAssemblyScript(file, { cacheDir, optimizeLevel: 0 })
    expect(again).toEqual(first)
    await writeFile(file, src(2))
    const changed = await compileAssemblyScript(file, { cacheDir, optimizeLevel: 0 })
    expect(value(changed)).toBe(2)
    const e = WebAssembly.Module.exports(new WebAssembly.Module(changed)).map((x) => x.name)
    expect(e).toContain('canister_update f')
    expect(e).not.toContain('icAbort')
  })
})
