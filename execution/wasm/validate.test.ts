import { gzipSync } from 'node:zlib'
import { describe, expect, it } from 'vitest'
import { limits } from '../../protocol/limits.ts'
import { Writer } from './bytes.ts'
import { decompressIfGzip, ic0FunctionNames, instrument, parseModule, validateCanisterModule } from './index.ts'
import { wat } from './testing.ts'

const rejected = expect.objectContaining({ code: 'WASM_REJECTED' })

function withCustom(bytes: Uint8Array, name: string, data: Uint8Array): Uint8Array {
  const body = new Writer().name(name).bytes(data)
  return new Writer().bytes(bytes).byte(0).u32(body.len).bytes(body.view()).result()
}

async function check(text: string, opts?: Parameters<typeof validateCanisterModule>[1]): Promise<void> {
  validateCanisterModule(parseModule(await wat(text)), opts)
}

describe('parseModule', () => {
  it('reports memory, imports, exports, custom sections and start', async () => {
    const bytes = withCustom(await wat(`(module
      (import "ic0" "msg_reply" (func))
      (import "ic0" "debug_print" (func (param i32 i32)))
      (memory (export "memory") 2 16)
      (func $s) (start $s)
      (func (export "canister_query get")))`), 'icp:public candid:service', new TextEncoder().encode('service : {}'))
    const info = parseModule(bytes)
    expect(info.memory64).toBe(false)
    expect(info.memory).toEqual({ initialPages: 2n, maxPages: 16n, exportName: 'memory', imported: false, shared: false })
    expect(info.imports).toEqual([
      { module: 'ic0', name: 'msg_reply', kind: 'func', type: { params: [], results: [] } },
      { module: 'ic0', name: 'debug_print', kind: 'func', type: { params: ['i32', 'i32'], results: [] } },
    ])
    expect(info.exports.map((e) => [e.name, e.kind])).toEqual([['memory', 'memory'], ['canister_query get', 'func']])
    expect(info.hasStart).toBe(true)
    expect(info.functionCount).toBe(2)
    const cs = info.customSections.find((s) => s.name === 'icp:public candid:service')
    expect(new TextDecoder().decode(cs?.data)).toBe('service : {}')
    // Instrumentation keeps custom sections byte for byte.
    expect(parseModule(instrument(bytes).bytes).customSections.find((s) => s.name === cs?.name)?.data).toEqual(cs?.data)
    validateCanisterModule(info)
  })

  it('reports memory64', async () => {
    const info = parseModule(await wat(`(module (memory i64 1))`))
    expect(info.memory64).toBe(true)
    expect(info.memory?.initialPages).toBe(1n)
  })

  it('throws WASM_INVALID on malformed input', () => {
    const invalid = expect.objectContaining({ code: 'WASM_INVALID' })
    expect(() => parseModule(new Uint8Array([0, 0x61, 0x73, 0x6d]))).toThrow(invalid)
    expect(() => parseModule(new Uint8Array([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0, 7, 100]))).toThrow(invalid)
    expect(() => parseModule(new Uint8Array([0, 0x61, 0x73, 0x6d, 0x0d, 0, 1, 0]))).toThrow(invalid)
  })
})

describe('validateCanisterModule', () => {
  it('rejects imports outside ic0 and non-function imports', async () => {
    await expect(check(`(module (import "env" "foo" (func)))`)).rejects.toThrow(rejected)
    await expect(check(`(module (import "env" "foo" (func)))`)).rejects.toThrow(/env\.foo/)
    await expect(check(`(module (import "ic0" "mem" (memory 1)))`)).rejects.toThrow(rejected)
  })

  it('checks ic0 names against the runtime set when given', async () => {
    const ic0Names = new Set(['msg_reply'])
    await check(`(module (import "ic0" "msg_reply" (func)))`, { ic0Names })
    await expect(check(`(module (import "ic0" "msg_reply_typo" (func)))`, { ic0Names })).rejects.toThrow(/msg_reply_typo/)
    await check(`(module (import "ic0" "stable64_grow" (func (param i64) (result i64))))`, { ic0Names: ic0FunctionNames })
    await expect(check(`(module (import "ic0" "stable65_grow" (func)))`, { ic0Names: ic0FunctionNames })).rejects.toThrow(rejected)
  })

  it('accepts the entry points and methods the spec allows', async () => {
    const names = ['canister_init', 'canister_pre_upgrade', 'canister_post_upgrade', 'canister_inspect_message', 'canister_heartbeat',
      'canister_global_timer', 'canister_on_low_wasm_memory', 'canister_update inc', 'canister_query get', 'canister_composite_query cq',
      'canister_update  spaced name', 'canister_query __motoko_stable_var_info', 'not_canister']
    await check(`(module (func $f) ${names.map((n) => `(export ${JSON.stringify(n)} (func $f))`).join(' ')})`)
  })

  it('rejects unknown canister_* exports, wrong types and duplicate method names', async () => {
    for (const name of ['canister_foo', 'canister_update', 'canister_updatex', 'canister_query_get', 'canister_init2']) {
      await expect(check(`(module (func $f) (export ${JSON.stringify(name)} (func $f)))`)).rejects.toThrow(rejected)
    }
    await expect(check(`(module (func $f (param i32)) (export "canister_update a" (func $f)))`)).rejects.toThrow(/\(\) -> \(\)/)
    await expect(check(`(module (func $f (result i32) (i32.const 0)) (export "canister_init" (func $f)))`)).rejects.toThrow(rejected)
    await expect(check(`(module (global $g i32 (i32.const 0)) (export "canister_init" (global $g)))`)).rejects.toThrow(rejected)
    await expect(check(`(module (func $f) (export "canister_update m" (func $f)) (export "canister_query m" (func $f)))`)).rejects.toThrow(/exported twice/)
  })

  it('enforces icp: custom section rules', async () => {
    const base = await wat(`(module)`)
    const data = new Uint8Array(3)
    validateCanisterModule(parseModule(withCustom(withCustom(base, 'icp:public a', data), 'icp:private b', data)))
    expect(() => validateCanisterModule(parseModule(withCustom(withCustom(base, 'icp:public a', data), 'icp:private a', data)))).toThrow(rejected)
    expect(() => validateCanisterModule(parseModule(withCustom(base, 'icp:secret a', data)))).toThrow(rejected)
    let many = base
    for (let i = 0; i < 17; i++) many = withCustom(many, `icp:public s${i}`, data)
    expect(() => validateCanisterModule(parseModule(many))).toThrow(/more than 16/)
    expect(() => validateCanisterModule(parseModule(withCustom(base, 'icp:public big', new Uint8Array(1024 * 1024 + 1))))).toThrow(rejected)
    // Other custom sections (debug info, names) are not limited, as on the IC.
    validateCanisterModule(parseModule(withCustom(base, '.debug_info', new Uint8Array(3 * 1024 * 1024))))
  })

  it('enforces count limits', async () => {
    const globals = Array.from({ length: limits.maxWasmGlobals + 1 }, () => '(global i32 (i32.const 0))').join(' ')
    await expect(check(`(module ${globals})`)).rejects.toThrow(/globals/)
    await expect(check(`(module (memory 1 1 shared))`)).rejects.toThrow(/shared/)
  })
})

describe('decompressIfGzip', () => {
  it('passes raw modules through and gunzips gzip ones', async () => {
    const raw = await wat(`(module (func (export "canister_init")))`)
    expect(decompressIfGzip(raw)).toBe(raw)
    const gz = gzipSync(raw)
    expect([...gz.subarray(0, 3)]).toEqual([0x1f, 0x8b, 0x08])
    expect(decompressIfGzip(gz)).toEqual(raw)
    validateCanisterModule(parseModule(decompressIfGzip(gz)))
  })

  it('rejects a gzip bomb and corrupt gzip', () => {
    const bomb = gzipSync(new Uint8Array(8 * 1024 * 1024))
    expect(bomb.length).toBeLessThan(16 * 1024)
    expect(() => decompressIfGzip(bomb, 1024 * 1024)).toThrow(rejected)
    const corrupt = Uint8Array.from(bomb.subarray(0, 40))
    expect(() => decompressIfGzip(corrupt)).toThrow(expect.objectContaining({ code: 'WASM_INVALID' }))
  })
})
