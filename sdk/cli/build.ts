// `capsa build`: Motoko with the `motoko` npm compiler (one instance per process: loading it costs
// about half a second and its state is global), AssemblyScript with sdk/build, custom canisters by
// their own commands. Outputs go to .capsa/build/<name>/<name>.{wasm,did}; a build whose inputs
// did not change is skipped.

import { execSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join, relative, resolve, sep } from 'node:path'
import { addCustomSection, customSections } from '../build/wasm-sections.ts'
import { buildDir, type CanisterConfig, type Project } from './project.ts'
import { fail, progress, UserError } from './util.ts'

const require = createRequire(import.meta.url)
const REPO = resolve(import.meta.dirname, '..', '..')
const CDK = join(REPO, 'canisters', 'cdk')

export interface BuildOutput {
  wasm: Uint8Array
  candid: string | undefined
  wasmPath: string
  /** Motoko EOP modules need `wasm_memory_persistence = keep` on upgrade. */
  eop: boolean
}

interface Moc {
  write(path: string, src: string): void
  wasm(path: string, mode: string): { wasm: Uint8Array; candid: string }
  check(path: string): { source: string; severity: number; range: { start: { line: number; character: number } }; code: string; category?: string; message: string }[]
  loadPackage(pkg: unknown): void
  setPublicMetadata(names: string[]): void
  compiler: { gcFlags(flag: string): void }
}
let moc: { mo: Moc; mode: string } | undefined

function compiler(mode: 'eop' | 'classic'): Moc {
  if (moc !== undefined && moc.mode === mode) return moc.mo
  // A classic compile leaves moc unable to compile EOP, so a mode change gets a fresh instance.
  for (const k of Object.keys(require.cache)) if (k.includes(`node_modules${sep}motoko${sep}`)) delete require.cache[k]
  const mo = require('motoko') as Moc
  mo.loadPackage(require('motoko/packages/latest/core.json'))
  mo.compiler.gcFlags(mode === 'classic' ? 'classicOP' : 'enhancedOP')
  // dfx publishes the interface: `capsa canister call` on another machine reads it from the canister.
  mo.setPublicMetadata(['candid:service'])
  moc = { mo, mode }
  return mo
}

function sourceFiles(dir: string, ext: string, root = dir): string[] {
  const out: string[] = []
  for (const name of readdirSync(dir)) {
    if (name.startsWith('.') || name === 'node_modules') continue
    const p = join(dir, name)
    if (statSync(p).isDirectory()) out.push(...sourceFiles(p, ext, root))
    else if (name.endsWith(ext)) out.push(relative(root, p))
  }
  return out.sort()
}

function inputsHash(p: Project, files: string[], extra: string): string {
  const h = createHash('sha256').update(extra)
  for (const f of files) h.update(`\0${f}\0`).update(readFileSync(join(p.root, f)))
  return h.digest('hex')
}

function cached(dir: string, name: string, hash: string): BuildOutput | undefined {
  try {
    const meta = JSON.parse(readFileSync(join(dir, 'build.json'), 'utf8')) as { hash: string; eop: boolean }
    if (meta.hash !== hash) return undefined
    const wasmPath = join(dir, `${name}.wasm`)
    const candid = existsSync(join(dir, `${name}.did`)) ? readFileSync(join(dir, `${name}.did`), 'utf8') : undefined
    return { wasm: new Uint8Array(readFileSync(wasmPath)), candid, wasmPath, eop: meta.eop }
  } catch {
    return undefined
  }
}

function save(dir: string, name: string, hash: string, wasm: Uint8Array, candid: string | undefined, eop: boolean): BuildOutput {
  mkdirSync(dir, { recursive: true })
  const wasmPath = join(dir, `${name}.wasm`)
  writeFileSync(wasmPath, wasm)
  if (candid !== undefined) writeFileSync(join(dir, `${name}.did`), candid)
  writeFileSync(join(dir, 'build.json'), JSON.stringify({ hash, eop }) + '\n')
  return { wasm, candid, wasmPath, eop }
}

function motoko(p: Project, c: CanisterConfig, dir: string): BuildOutput {
  const main = c.main!
  if (!existsSync(join(p.root, main))) fail(`canister ${c.name}: ${main} does not exist`, `create it, or fix "main" in ${p.file}`)
  const files = sourceFiles(p.root, '.mo')
  const version = (require('motoko/package.json') as { version: string }).version
  const hash = inputsHash(p, files, `motoko ${version} ${c.persistence} ${main}`)
  const hit = cached(dir, c.name, hash)
  if (hit) {
    progress(`Building canister ${c.name} (Motoko): unchanged`)
    return hit
  }
  progress(`Building canister ${c.name} (Motoko, ${c.persistence === 'eop' ? 'enhanced orthogonal persistence' : 'classical persistence'})...`)
  const mo = compiler(c.persistence)
  for (const f of files) mo.write(`/project/${f.split(sep).join('/')}`, readFileSync(join(p.root, f), 'utf8'))
  const path = `/project/${main}`
  const errors = mo.check(path).filter((d) => d.severity === 1)
  if (errors.length > 0) {
    const text = errors.slice(0, 10).map((d) => `${d.source.replace('/project/', '')}:${d.range.start.line + 1}:${d.range.start.character + 1}: ${d.category ?? 'error'} [${d.code}] ${d.message}`).join('\n')
    throw new UserError(`Motoko compilation of ${c.name} failed:\n${text}`, 'fix the errors above and run the command again', 'COMPILE_FAILED')
  }
  let out: { wasm: Uint8Array; candid: string }
  try {
    out = mo.wasm(path, 'ic')
  } catch (e) {
    throw new UserError(`Motoko compilation of ${c.name} failed: ${(e as Error).message}`, 'fix the error above and run the command again', 'COMPILE_FAILED')
  }
  const candid = c.candid !== undefined ? readFileSync(join(p.root, c.candid), 'utf8') : out.candid
  return save(dir, c.name, hash, new Uint8Array(out.wasm), candid, c.persistence === 'eop')
}

async function assemblyscript(p: Project, c: CanisterConfig, dir: string): Promise<BuildOutput> {
  if (!existsSync(join(p.root, c.main!))) fail(`canister ${c.name}: ${c.main} does not exist`, `create it, or fix "main" in ${p.file}`)
  const files = sourceFiles(p.root, '.ts').filter((f) => !f.endsWith('.test.ts'))
  const candid = c.candid !== undefined ? readFileSync(join(p.root, c.candid), 'utf8') : undefined
  // A project inside this repository (canisters/examples) compiles in place and may import the CDK
  // from canisters/cdk, so the CDK's sources count as its inputs too.
  const inRepo = !relative(REPO, p.root).startsWith('..')
  const cdk = inRepo ? sourceFiles(CDK, '.ts').map((f) => `${f}\0${readFileSync(join(CDK, f), 'utf8')}`).join('\0') : ''
  const hash = inputsHash(p, files, `asc ${c.main} ${candid ?? ''} ${cdk}`)
  const hit = cached(dir, c.name, hash)
  if (hit) {
    progress(`Building canister ${c.name} (AssemblyScript): unchanged`)
    return hit
  }
  progress(`Building canister ${c.name} (AssemblyScript)...`)
  // sdk/build compiles files under the repository only: stage the sources of a project outside it.
  const stage = inRepo ? p.root : join(REPO, '.cache', 'capsa-stage', createHash('sha256').update(p.root).digest('hex').slice(0, 16))
  if (!inRepo) rmSync(stage, { recursive: true, force: true })
  for (const f of inRepo ? [] : files) {
    mkdirSync(dirname(join(stage, f)), { recursive: true })
    copyFileSync(join(p.root, f), join(stage, f))
  }
  let wasm: Uint8Array
  try {
    // Loading the AssemblyScript compiler takes seconds: only builds that need it pay for it.
    const { compileAssemblyScript } = await import('../build/assemblyscript.ts')
    wasm = await compileAssemblyScript(join(stage, c.main!), { candidService: candid, cacheDir: null })
  } catch (e) {
    // Diagnostics name staged paths: show the project's own, without the inner headline.
    const staged = relative(REPO, stage) + sep
    const text = (e as Error).message.split(staged).join('').split(stage + sep).join('').replace(/^AssemblyScript compilation of .* failed:\n?/, '')
    throw new UserError(`AssemblyScript compilation of ${c.name} failed:\n${text}`, 'fix the errors above and run the command again', 'COMPILE_FAILED')
  } finally {
    if (!inRepo) rmSync(stage, { recursive: true, force: true })
  }
  return save(dir, c.name, hash, wasm, candid, false)
}

function custom(p: Project, c: CanisterConfig, dir: string): BuildOutput {
  for (const cmd of c.build ?? []) {
    progress(`Building canister ${c.name}: ${cmd}`)
    try {
      execSync(cmd, { cwd: p.root, stdio: ['ignore', 'inherit', 'inherit'] })
    } catch {
      fail(`canister ${c.name}: the build command \`${cmd}\` failed`, 'fix it and run the command again')
    }
  }
  const wasmPath = join(p.root, c.wasm!)
  if (!existsSync(wasmPath)) fail(`canister ${c.name}: ${c.wasm} does not exist after the build`, `check "wasm" and "build" in ${p.file}`)
  let wasm: Uint8Array = new Uint8Array(readFileSync(wasmPath))
  let candid = c.candid !== undefined ? readFileSync(join(p.root, c.candid), 'utf8') : undefined
  const sections = customSections(wasm)
  const embedded = sections.find((s) => s.name.endsWith(' candid:service'))
  if (candid === undefined && embedded) candid = new TextDecoder().decode(embedded.content)
  if (candid !== undefined && !embedded) wasm = addCustomSection(wasm, 'icp:public candid:service', new TextEncoder().encode(candid))
  const eop = sections.some((s) => s.name.endsWith('enhanced-orthogonal-persistence'))
  return save(dir, c.name, createHash('sha256').update(wasm).digest('hex'), wasm, candid, eop)
}

export async function buildCanister(p: Project, c: CanisterConfig): Promise<BuildOutput> {
  const dir = buildDir(p, c.name)
  switch (c.type) {
    case 'motoko': return motoko(p, c, dir)
    case 'assemblyscript': return assemblyscript(p, c, dir)
    case 'custom': return custom(p, c, dir)
  }
}

/** The last build of a canister, for commands that do not build (install, call). */
export function lastBuild(p: Project, c: CanisterConfig): BuildOutput | undefined {
  const dir = buildDir(p, c.name)
  const wasmPath = join(dir, `${c.name}.wasm`)
  if (!existsSync(wasmPath)) return undefined
  let eop = false
  try {
    eop = (JSON.parse(readFileSync(join(dir, 'build.json'), 'utf8')) as { eop: boolean }).eop
  } catch {
    // unknown: treat as classic
  }
  const did = join(dir, `${c.name}.did`)
  return { wasm: new Uint8Array(readFileSync(wasmPath)), candid: existsSync(did) ? readFileSync(did, 'utf8') : undefined, wasmPath, eop }
}
