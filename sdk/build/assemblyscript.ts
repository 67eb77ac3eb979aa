// Compiles an AssemblyScript canister to IC-compatible Wasm: ic0-only imports (AssemblyScript's
// `env.abort` is routed to the CDK's ic0.trap wrapper), entry points renamed to
// `canister_update <name>` etc., and metadata custom sections (`icp:public candid:service`).
// Outputs are cached by the hashes of every source file the compiler read.

import asc from 'assemblyscript/asc'
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises'
import path from 'node:path'
import { CapsaError } from '../../protocol/errors.ts'
import { sha256, toHex } from '../../protocol/hash.ts'
import { IcExportNames } from './ic-export-names.ts'
import { addCustomSection } from './wasm-sections.ts'

/** The repository root: asc's base directory, so CDK paths like `canisters/cdk/abort` resolve. */
export const REPO_ROOT = path.resolve(import.meta.dirname, '../..')
export const DEFAULT_CACHE_DIR = path.join(REPO_ROOT, '.cache', 'asc')
// Passed as a second entry so the abort routing works even if the canister never imports the CDK;
// the exports this adds are removed again by IcExportNames.
const ABORT_ENTRY = 'canisters/cdk/abort.ts'
const ABORT_FUNCTION = 'canisters/cdk/abort/icAbort'
// Bump when the post-processing (transform, sections) changes, to invalidate cached outputs.
const PIPELINE_VERSION = 'capsa-asc-2'

export interface MetadataSection {
  name: string
  content: Uint8Array | string
  visibility?: 'public' | 'private'
}

export interface CompileOptions {
  /** `incremental` (default) frees memory; `stub` never does, so garbage would persist forever. */
  runtime?: 'incremental' | 'minimal' | 'stub'
  optimizeLevel?: 0 | 1 | 2 | 3
  shrinkLevel?: 0 | 1 | 2
  /** Candid service description, embedded as `icp:public candid:service`. */
  candidService?: string
  metadata?: MetadataSection[]
  /** Extra asc command-line arguments. */
  ascArgs?: string[]
  /** null disables caching. */
  cacheDir?: string | null
}

export interface Diagnostic {
  category: 'error' | 'warning' | 'info'
  code: number
  message: string
  file?: string
  line?: number
  column?: number
}

type AscTransform = NonNullable<NonNullable<Parameters<typeof asc.main>[1]>['transforms']>[number]

const CATEGORY = ['info', 'info', 'warning', 'error'] as const

function formatDiagnostic(d: Diagnostic): string {
  const where = d.file ? `${d.file}:${d.line}:${d.column}: ` : ''
  return `${where}${d.category} AS${d.code}: ${d.message}`
}

function toBytes(c: Uint8Array | string): Uint8Array {
  return typeof c === 'string' ? new TextEncoder().encode(c) : c
}

// asc keeps module-level state while it runs; compiles in one process are run one at a time.
let queue: Promise<unknown> = Promise.resolve()

/** Compiles `entryFile` (a path; relative paths are taken from the repository root). */
export function compileAssemblyScript(entryFile: string, opts: CompileOptions = {}): Promise<Uint8Array<ArrayBuffer>> {
  const run = queue.then(() => compileNow(entryFile, opts))
  queue = run.catch(() => undefined)
  return run
}

async function compileNow(entryFile: string, opts: CompileOptions): Promise<Uint8Array<ArrayBuffer>> {
  const entry = path.relative(REPO_ROOT, path.resolve(REPO_ROOT, entryFile)).split(path.sep).join('/')
  if (entry.startsWith('../')) {
    throw new CapsaError('INVALID_ARGUMENT', `compileAssemblyScript: ${entryFile} is outside ${REPO_ROOT}`)
  }
  const args = [
    entry, ABORT_ENTRY,
    '--runtime', opts.runtime ?? 'incremental',
    '--optimizeLevel', String(opts.optimizeLevel ?? 3),
    '--shrinkLevel', String(opts.shrinkLevel ?? 0),
    '--use', `abort=${ABORT_FUNCTION}`,
    // The IC's callbacks are table indices; an exported table lets hosts and tools reach them.
    '--exportTable',
    '--noColors',
    ...(opts.ascArgs ?? []),
    '--outFile', 'out.wasm',
  ]
  const sections: { name: string; content: Uint8Array }[] = []
  if (opts.candidService !== undefined) {
    sections.push({ name: 'icp:public candid:service', content: toBytes(opts.candidService) })
  }
  for (const m of opts.metadata ?? []) {
    sections.push({ name: `icp:${m.visibility ?? 'public'} ${m.name}`, content: toBytes(m.content) })
  }

  const cacheDir = opts.cacheDir === undefined ? DEFAULT_CACHE_DIR : opts.cacheDir
  // The cache holds the compiler's output; sections are cheap to add, so they are not in the key.
  const key = toHex(sha256(toBytes(JSON.stringify({ v: PIPELINE_VERSION, asc: asc.version, args }))))
  const withSections = (wasm: Uint8Array): Uint8Array<ArrayBuffer> => {
    let out: Uint8Array<ArrayBuffer> = new Uint8Array(wasm)
    for (const s of sections) out = addCustomSection(out, s.name, s.content)
    return out
  }
  if (cacheDir !== null) {
    const hit = await readCache(cacheDir, key)
    if (hit) return withSections(hit)
  }

  const read = new Map<string, string>()
  const texts = new Map<string, string>()
  const outputs = new Map<string, Uint8Array>()
  const diagnostics: Diagnostic[] = []
  const log: string[] = []
  const result = await asc.main(args, {
    readFile: async (name, baseDir) => {
      const full = path.resolve(REPO_ROOT, baseDir, name)
      try {
        const text = await readFile(full, 'utf8')
        const rel = path.relative(REPO_ROOT, full).split(path.sep).join('/')
        read.set(rel, toHex(sha256(toBytes(text))))
        texts.set(rel, text)
        return text
      } catch {
        return null
      }
    },
    writeFile: (name, contents) => {
      outputs.set(name, toBytes(contents))
    },
    listFiles: () => [],
    stdout: { write: (c) => void log.push(String(c)) },
    stderr: { write: (c) => void log.push(String(c)) },
    reportDiagnostic: (d) => {
      const r = d.range
      let file: string | undefined
      let line: number | undefined
      let column: number | undefined
      if (r) {
        // The reporter gets a plain copy of the range (offsets only): compute line/column here.
        file = r.source.normalizedPath
        const before = (texts.get(file) ?? '').slice(0, r.start).split('\n')
        line = before.length
        column = before[before.length - 1].length + 1
      }
      diagnostics.push({ category: CATEGORY[d.category] ?? 'error', code: d.code, message: d.message, file, line, column })
    },
    transforms: [new IcExportNames(['icAbort', '__setArgumentsLength']) as unknown as AscTransform],
  })
  const errors = diagnostics.filter((d) => d.category === 'error')
  const wasm = outputs.get('out.wasm')
  if (result.error || errors.length > 0 || !wasm) {
    const lines = errors.length > 0 ? errors.map(formatDiagnostic) : [String(result.error?.message ?? 'no output'), ...log]
    throw new CapsaError('COMPILE_FAILED', `AssemblyScript compilation of ${entry} failed:\n${lines.join('\n')}`,
      { diagnostics: errors })
  }
  if (cacheDir !== null) await writeCache(cacheDir, key, read, wasm)
  return withSections(wasm)
}

interface CacheManifest {
  deps: Record<string, string>
}

async function readCache(dir: string, key: string): Promise<Uint8Array<ArrayBuffer> | undefined> {
  try {
    const manifest = JSON.parse(await readFile(path.join(dir, `${key}.json`), 'utf8')) as CacheManifest
    for (const [file, hash] of Object.entries(manifest.deps)) {
      const text = await readFile(path.join(REPO_ROOT, file), 'utf8').catch(() => undefined)
      if (text === undefined || toHex(sha256(toBytes(text))) !== hash) return undefined
    }
    return new Uint8Array(await readFile(path.join(dir, `${key}.wasm`)))
  } catch {
    return undefined
  }
}

// Written wasm first, manifest last, each via rename, so a reader never sees a half-written entry.
async function writeCache(dir: string, key: string, deps: Map<string, string>, wasm: Uint8Array): Promise<void> {
  await mkdir(dir, { recursive: true })
  const tmp = `.${process.pid}.${key}`
  await writeFile(path.join(dir, `${tmp}.wasm`), wasm)
  await rename(path.join(dir, `${tmp}.wasm`), path.join(dir, `${key}.wasm`))
  const manifest: CacheManifest = { deps: Object.fromEntries(deps) }
  await writeFile(path.join(dir, `${tmp}.json`), JSON.stringify(manifest))
  await rename(path.join(dir, `${tmp}.json`), path.join(dir, `${key}.json`))
}
