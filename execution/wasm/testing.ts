// Test and benchmark support (not used by the runtime): WAT compilation through the `wabt` npm
// package and a stub ic0 import object built from a module's declared imports.

import type { ModuleInfo, ValTypeName } from './parse.ts'

import type wabtInit from 'wabt'

type Wabt = Awaited<ReturnType<typeof wabtInit>>
let wabt: Promise<Wabt> | undefined

export async function wat(text: string): Promise<Uint8Array> {
  wabt ??= import('wabt').then((m) => (m.default as unknown as typeof wabtInit)())
  const w = await wabt
  const features = { multi_value: true, bulk_memory: true, sign_extension: true, sat_float_to_int: true, reference_types: true, tail_call: true, memory64: true, multi_memory: true, simd: true, threads: true }
  const mod = w.parseWat('test.wat', text, features)
  try {
    return mod.toBinary({ write_debug_names: true }).buffer
  } finally {
    mod.destroy()
  }
}

const zero: Record<ValTypeName, unknown> = { i32: 0, i64: 0n, f32: 0, f64: 0, funcref: null, externref: null }

/** Every imported function becomes a no-op returning zeros of its result types. */
export function stubImports(info: ModuleInfo, overrides: Record<string, (...args: unknown[]) => unknown> = {}): WebAssembly.Imports {
  const imports: Record<string, Record<string, WebAssembly.ImportValue>> = {}
  for (const imp of info.imports) {
    if (imp.kind !== 'func') continue
    const results = imp.type?.results ?? []
    const fn = overrides[imp.name] ?? (() => (results.length === 0 ? undefined : results.length === 1 ? zero[results[0]] : results.map((r) => zero[r])))
    ;(imports[imp.module] ??= {})[imp.name] = fn as WebAssembly.ImportValue
  }
  return imports
}

/** Compiles AssemblyScript source without the env.abort import (stub runtime, -O3), cached like Motoko. */
export async function assemblyScriptWasm(source: string): Promise<Uint8Array> {
  return cached(`asc\n${source}`, async () => {
    const asc = (await import('assemblyscript/asc')).default
    const out = await asc.compileString({ 'input.ts': source }, { runtime: 'stub', optimizeLevel: 3, noAssert: true, use: ['abort='] })
    if (out.error || !out.binary) throw new Error(`asc failed: ${out.error?.message ?? ''}\n${out.stderr.toString()}`)
    return out.binary
  })
}

async function cached(key: string, build: () => Promise<Uint8Array>): Promise<Uint8Array> {
  const { createHash } = await import('node:crypto')
  const { mkdirSync, readFileSync, writeFileSync, existsSync } = await import('node:fs')
  const { join } = await import('node:path')
  const dir = new URL('../../.cache/motoko/', import.meta.url).pathname
  const file = join(dir, `${createHash('sha256').update(key).digest('hex').slice(0, 32)}.wasm`)
  if (existsSync(file)) return new Uint8Array(readFileSync(file))
  const bytes = await build()
  mkdirSync(dir, { recursive: true })
  writeFileSync(file, bytes)
  return bytes
}

export interface Instance {
  exports: Record<string, unknown> & {
    __capsa_instructions: WebAssembly.Global
    __capsa_stack_depth: WebAssembly.Global
    __capsa_trap_reason: WebAssembly.Global
  }
}

/** Instantiates an instrumented module with stub imports for `info`'s declared imports. */
export async function instantiate(bytes: Uint8Array, info: ModuleInfo, overrides?: Record<string, (...args: unknown[]) => unknown>): Promise<Instance> {
  const { instance } = await WebAssembly.instantiate(bytes as Uint8Array<ArrayBuffer>, stubImports(info, overrides))
  return instance as unknown as Instance
}
