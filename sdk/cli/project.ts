// A project: `capsa.json` (or an existing `dfx.json`), its canisters, where their build outputs go
// (`.capsa/build/<name>/`), and the canister ids per network in `.capsa/canister_ids.json`, shaped like
// dfx's canister_ids.json: `{ "<name>": { "<network>": "<id>" } }`.

import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { fail, findProjectRoot, type Globals } from './util.ts'

export type CanisterKind = 'motoko' | 'assemblyscript' | 'custom'

export interface CanisterConfig {
  name: string
  type: CanisterKind
  /** motoko / assemblyscript entry file, relative to the project root. */
  main?: string
  /** custom: the built module; any type: a .did that overrides the generated one. */
  wasm?: string
  candid?: string
  /** custom: shell commands run before reading `wasm`. */
  build?: string[]
  /** Motoko persistence: enhanced orthogonal persistence (default) or classical. */
  persistence: 'eop' | 'classic'
  initArg?: string
  dependencies: string[]
}

export interface Project {
  root: string
  file: 'capsa.json' | 'dfx.json'
  canisters: CanisterConfig[]
}

interface RawCanister {
  type?: string
  main?: string
  wasm?: string
  candid?: string
  build?: string | string[]
  persistence?: string
  init_arg?: string
  dependencies?: string[]
}

export function loadProject(g: Globals): Project {
  const root = findProjectRoot(g.cwd)
  if (root === undefined) fail('no capsa.json or dfx.json here or in a parent directory', 'run this inside a project, or create one with `capsa new <name>`')
  const file = existsSync(join(root, 'capsa.json')) ? 'capsa.json' : 'dfx.json'
  let raw: { canisters?: Record<string, RawCanister> }
  try {
    raw = JSON.parse(readFileSync(join(root, file), 'utf8')) as typeof raw
  } catch (e) {
    fail(`${join(root, file)} is not valid JSON: ${(e as Error).message}`, `fix ${file}`)
  }
  const canisters: CanisterConfig[] = []
  for (const [name, c] of Object.entries(raw.canisters ?? {})) {
    const where = `${file}: canister ${JSON.stringify(name)}`
    const type = c.type ?? (c.main?.endsWith('.mo') ? 'motoko' : undefined)
    if (type !== 'motoko' && type !== 'assemblyscript' && type !== 'custom') {
      fail(`${where} has type ${JSON.stringify(c.type)}, which capsa cannot build`, 'use "motoko", "assemblyscript" or "custom" (with "wasm" and "candid")')
    }
    if (type !== 'custom' && typeof c.main !== 'string') fail(`${where} needs a "main" entry file`, `add "main": "src/main.${type === 'motoko' ? 'mo' : 'ts'}"`)
    if (type === 'custom' && typeof c.wasm !== 'string') fail(`${where} needs a "wasm" path`, 'add "wasm": "path/to/module.wasm"')
    if (c.persistence !== undefined && c.persistence !== 'eop' && c.persistence !== 'classic') fail(`${where}: "persistence" must be "eop" or "classic"`, `fix it in ${file}`)
    canisters.push({
      name, type, main: c.main, wasm: c.wasm, candid: c.candid,
      build: typeof c.build === 'string' ? [c.build] : c.build,
      persistence: c.persistence === 'classic' ? 'classic' : 'eop',
      initArg: c.init_arg, dependencies: c.dependencies ?? [],
    })
  }
  if (canisters.length === 0) fail(`${file} defines no canisters`, 'add one under "canisters"')
  return { root, file, canisters }
}

export function findCanister(p: Project, name: string): CanisterConfig {
  const c = p.canisters.find((x) => x.name === name)
  if (c === undefined) fail(`${p.file} has no canister named ${JSON.stringify(name)}`, `known canisters: ${p.canisters.map((x) => x.name).join(', ')}`)
  return c
}

/** Canisters in an order where dependencies come first. */
export function deployOrder(p: Project, only?: string): CanisterConfig[] {
  const out: CanisterConfig[] = []
  const visit = (c: CanisterConfig, path: string[]) => {
    if (out.includes(c)) return
    if (path.includes(c.name)) fail(`canister dependencies form a cycle: ${[...path, c.name].join(' -> ')}`, `fix "dependencies" in ${p.file}`)
    for (const d of c.dependencies) visit(findCanister(p, d), [...path, c.name])
    out.push(c)
  }
  for (const c of only !== undefined ? [findCanister(p, only)] : p.canisters) visit(c, [])
  return out
}

export function buildDir(p: Project, name: string): string {
  return join(p.root, '.capsa', 'build', name)
}

// ---- canister ids

function idsPath(root: string): string {
  return join(root, '.capsa', 'canister_ids.json')
}

type Ids = Record<string, Record<string, string>>

function readIds(root: string): Ids {
  for (const path of [idsPath(root), join(root, 'canister_ids.json')]) {
    try {
      return JSON.parse(readFileSync(path, 'utf8')) as Ids
    } catch {
      // try the next
    }
  }
  return {}
}

export function canisterId(root: string, name: string, network: string): string | undefined {
  const own = readIdsFile(idsPath(root))[name]?.[network]
  if (own !== undefined) return own
  // A dfx project keeps ids of remote networks in canister_ids.json at its root.
  return readIdsFile(join(root, 'canister_ids.json'))[name]?.[network]
}

function readIdsFile(path: string): Ids {
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as Ids
  } catch {
    return {}
  }
}

export function saveCanisterId(root: string, name: string, network: string, id: string | undefined): void {
  const ids = readIdsFile(idsPath(root))
  if (id === undefined) {
    if (ids[name] !== undefined) delete ids[name][network]
  } else {
    ids[name] = { ...ids[name], [network]: id }
  }
  mkdirSync(join(root, '.capsa'), { recursive: true })
  writeFileSync(`${idsPath(root)}.tmp`, JSON.stringify(ids, null, 2) + '\n')
  renameSync(`${idsPath(root)}.tmp`, idsPath(root))
}

export { readIds }
