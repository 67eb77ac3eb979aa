// Compiles Motoko actors for tests with the `motoko` npm package, caching modules by source hash
// in .cache/motoko/ (a compile takes seconds; loading the compiler alone about half a second).

import { createRequire } from 'node:module'
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { join } from 'node:path'
import { sha256, toHex } from '../protocol/hash.ts'

/** `eop`: the compiler's default, enhanced orthogonal persistence (wasm64).
 *  `classic`: classical persistence (wasm32), `gcFlags('classicOP')`. */
export type MotokoMode = 'eop' | 'classic'

export interface MotokoOutput {
  wasm: Uint8Array
  candid: string
}

const require = createRequire(import.meta.url)
const CACHE_DIR = fileURLToPath(new URL('../.cache/motoko/', import.meta.url))

interface Moc {
  write(path: string, src: string): void
  wasm(path: string, mode: string): { wasm: Uint8Array; candid: string }
  loadPackage(pkg: unknown): void
  compiler: { gcFlags(flag: string): void }
}
// One compiler instance per mode: after a classic compile, moc 4.10 fails every later EOP compile in
// the same instance ("Fatal error (exit 1)"), so the modes never share one.
const mocs = new Map<MotokoMode, Moc>()

function compiler(mode: MotokoMode): Moc {
  let mo = mocs.get(mode)
  if (mo === undefined) {
    for (const k of Object.keys(require.cache)) if (k.includes(`${'node_modules'}/motoko/`)) delete require.cache[k]
    mo = require('motoko') as Moc
    mo.loadPackage(require('motoko/packages/latest/core.json'))
    mo.compiler.gcFlags(mode === 'classic' ? 'classicOP' : 'enhancedOP')
    mocs.set(mode, mo)
  }
  return mo
}

function mocVersion(): string {
  return (require('motoko/package.json') as { version: string }).version
}

/** Compiles `source` (a Motoko actor) or returns the cached module. Compile errors throw an Error
 *  carrying the compiler's diagnostics. */
export function compileMotoko(source: string, mode: MotokoMode = 'eop'): MotokoOutput {
  const key = toHex(sha256(new TextEncoder().encode(`${mocVersion()}\0${mode}\0${source}`)))
  const wasmPath = join(CACHE_DIR, `${key}.wasm`)
  const didPath = join(CACHE_DIR, `${key}.did`)
  try {
    return { wasm: new Uint8Array(readFileSync(wasmPath)), candid: readFileSync(didPath, 'utf8') }
  } catch {
    // not cached yet
  }
  const mo = compiler(mode)
  mo.write('/main.mo', source)
  let out: { wasm: Uint8Array; candid: string }
  try {
    out = mo.wasm('/main.mo', 'ic')
  } catch (e) {
    // moc's errors are either diagnostics arrays or Errors whose stack holds the minified compiler.
    const detail = e instanceof Error ? e.message : JSON.stringify(e)
    throw new Error(`Motoko compilation failed: ${detail.slice(0, 2000)}`)
  }
  mkdirSync(CACHE_DIR, { recursive: true })
  // Write under a temporary name and rename, so a parallel test never reads a half-written file.
  const tmp = `${wasmPath}.${process.pid}.tmp`
  writeFileSync(`${didPath}`, out.candid)
  writeFileSync(tmp, out.wasm)
  renameSync(tmp, wasmPath)
  return { wasm: new Uint8Array(out.wasm), candid: out.candid }
}

// Canisters many tests and benchmarks share: a counter (update inc, query get), and one that calls
// another actor, draws raw_rand and arms a timer.
export const MOTOKO_COUNTER = `persistent actor { var n : Nat = 0; public func inc() : async Nat { n += 1; n }; public query func get() : async Nat { n } }`
export const MOTOKO_MULTI = `import Timer "mo:core/Timer";
persistent actor {
  var fired : Nat = 0;
  transient let ic = actor "aaaaa-aa" : actor { raw_rand : () -> async Blob };
  public func callInc(target : Text) : async Nat { await (actor (target) : actor { inc : () -> async Nat }).inc() };
  public func rand() : async Blob { await ic.raw_rand() };
  public func arm(s : Nat) : async () { ignore Timer.setTimer<system>(#seconds s, func () : async () { fired += 1 }) };
  public func firedCount() : async Nat { fired };
}`
