// The one place where a canister module becomes something the runtime can instantiate: gunzip,
// validate, instrument (execution/wasm/: metering, deterministic stack limit, NaN canonicalization,
// memory.grow limit, dirty-page tracking), then export the mutable globals so persistence can save
// them. `instrument: false` runs the module as given (tests of the interim path, debugging): no
// metering and dirty pages found by comparing the whole heap.

import { CapsaError } from '../protocol/errors.ts'
import { limits } from '../protocol/limits.ts'
import { sha256, toHex } from '../protocol/hash.ts'
import { rewriteForRuntime, readModuleShape, globalExportName } from './module-shape.ts'
import type { ModuleShape } from './module-shape.ts'
import { validateImports } from './system-api.ts'
import { IC0 } from './system-api-table.ts'
import { decompressIfGzip, exportNames, instrument, parseModule, validateCanisterModule } from './wasm/index.ts'

export interface PreparedModule {
  module: WebAssembly.Module
  shape: ModuleShape
  /** Export names of the mutable globals persistence saves, in `state.globals` order. */
  globalExports: string[]
  /** Carries the `enhanced-orthogonal-persistence` metadata: upgrades must say what happens to
   *  the heap, and only such a module may keep it. */
  enhancedOrthogonalPersistence: boolean
  /** Absent when the module runs uninstrumented. */
  instrumentation: Instrumentation | undefined
}

export interface Instrumentation {
  exports: typeof exportNames
  /** Whether the dirty-page list exists (the module has a memory). */
  dirtyPages: boolean
  /** Byte offset of the u32 list of dirty page indices in the dirty-pages memory. */
  dirtyListOffset: number
}

const CANISTER_EXPORT = /^canister_(init|pre_upgrade|post_upgrade|inspect_message|heartbeat|global_timer|on_low_wasm_memory|(update|query|composite_query) .*)$/su
const IC0_NAMES = new Set(Object.keys(IC0))

function checkExports(shape: ModuleShape): void {
  const methods = new Set<string>()
  for (const e of shape.exports) {
    if (!e.name.startsWith('canister_')) continue
    if (e.kind !== 0 || !CANISTER_EXPORT.test(e.name)) throw new CapsaError('INVALID_ARGUMENT', `Wasm module exports an invalid function '${e.name}'`)
    const m = /^canister_(?:update|query|composite_query) (.*)$/su.exec(e.name)
    if (m !== null) {
      if (methods.has(m[1])) throw new CapsaError('INVALID_ARGUMENT', `Wasm module exports method '${m[1]}' more than once`)
      methods.add(m[1])
    }
  }
}

// Prepared modules by (instrumentation, SHA-256 of the bytes), most recently used last. Preparing
// is a pure function of those, and a PreparedModule is immutable, so canisters running the same
// module share one compiled module: installing or loading thousands of copies compiles it once.
const preparedByHash = new Map<string, PreparedModule>()
const MAX_PREPARED = 64

/** Parses, checks the canister rules, instruments and compiles (or reuses the result for the same
 *  bytes). Throws CapsaError. */
export function prepareModule(wasm: Uint8Array, opts: { instrument?: boolean } = {}): PreparedModule {
  const key = `${opts.instrument === false ? 'plain' : 'instrumented'}:${toHex(sha256(wasm))}`
  const hit = preparedByHash.get(key)
  if (hit !== undefined) {
    preparedByHash.delete(key)
    preparedByHash.set(key, hit)
    return hit
  }
  const prepared = prepareUncached(wasm, opts)
  preparedByHash.set(key, prepared)
  if (preparedByHash.size > MAX_PREPARED) preparedByHash.delete(preparedByHash.keys().next().value!)
  return prepared
}

function prepareUncached(wasm: Uint8Array, opts: { instrument?: boolean }): PreparedModule {
  const raw = decompressIfGzip(wasm)
  const original = readModuleShape(raw)
  validateImports(original)
  checkExports(original)
  let bytes = raw
  let instrumentation: Instrumentation | undefined
  const info = parseModule(raw)
  const enhancedOrthogonalPersistence = info.customSections.some((c) => /^icp:(public|private) enhanced-orthogonal-persistence$/u.test(c.name))
  if (opts.instrument !== false) {
    validateCanisterModule(info, { ic0Names: IC0_NAMES })
    const r = instrument(raw, { initialInstructions: limits.maxInstructionsPerInstall })
    bytes = r.bytes
    instrumentation = { exports: r.exports, dirtyPages: r.dirtyPages, dirtyListOffset: r.dirtyListOffset }
  }
  const shape = readModuleShape(bytes)
  const rewritten = rewriteForRuntime(bytes, shape)
  let module: WebAssembly.Module
  try {
    module = new WebAssembly.Module(rewritten as Uint8Array<ArrayBuffer>)
  } catch (e) {
    throw new CapsaError('INVALID_ARGUMENT', `Wasm module failed to compile: ${(e as Error).message}`)
  }
  const exportedByName = new Map(shape.exports.filter((x) => x.kind === 3).map((x) => [x.index, x.name]))
  const globalExports = shape.globals
    .filter((g) => g.mutable && g.type !== 'v128')
    .map((g) => exportedByName.get(g.index) ?? globalExportName(g.index))
    .filter((name) => !Object.values(exportNames).includes(name as never))
  return { module, shape: { ...shape, memory64: original.memory64 }, globalExports, enhancedOrthogonalPersistence, instrumentation }
}

const functionExports = new WeakMap<PreparedModule, ReadonlySet<string>>()

/** Whether the module exports a function `name`, without instantiating it (asking whether an
 *  evicted canister has canister_heartbeat must not rebuild its instance). */
export function exportsFunction(prepared: PreparedModule, name: string): boolean {
  let names = functionExports.get(prepared)
  if (names === undefined) {
    names = new Set(WebAssembly.Module.exports(prepared.module).filter((e) => e.kind === 'function').map((e) => e.name))
    functionExports.set(prepared, names)
  }
  return names.has(name)
}

export interface ModuleMetadata {
  /** `icp:public <name>` and `icp:private <name>` custom sections: name → content. */
  readonly sections: ReadonlyMap<string, Uint8Array>
  /** Names of the private ones, readable by controllers only. */
  readonly private: ReadonlySet<string>
}

/** The certified metadata of an installed module (state/ puts it under /canister/<id>/metadata). */
export function moduleMetadata(wasm: Uint8Array): ModuleMetadata {
  const sections = new Map<string, Uint8Array>()
  const priv = new Set<string>()
  for (const s of parseModule(decompressIfGzip(wasm)).customSections) {
    const m = /^icp:(public|private) (.*)$/su.exec(s.name)
    if (m === null) continue
    sections.set(m[2], s.data)
    if (m[1] === 'private') priv.add(m[2])
  }
  return { sections, private: priv }
}
