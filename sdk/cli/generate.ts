// `capsa generate [canister]`: TypeScript bindings through @icp-sdk/bindgen's library, the tool that
// replaced `dfx generate`. The interface comes from where `canister call` finds it: the canister's
// build (built first if it never was), its .did file, or, for a canister id, its candid:service
// metadata. Output goes to `src/bindings/` as bindgen documents it: `<name>.ts` (createActor and
// the typed client class) and `declarations/<name>.did.ts` (the IDL factory and raw types).

import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join, relative, resolve } from 'node:path'
import { buildCanister, lastBuild } from './build.ts'
import { parseDidText, resolveTarget } from './canister.ts'
import { candidMetadata, connect } from './client.ts'
import { findCanister, loadProject } from './project.ts'
import { fail, findProjectRoot, type Globals, progress, UserError } from './util.ts'

export const DEFAULT_BINDINGS_DIR = join('src', 'bindings')

export interface Generated { name: string; source: string; files: string[] }

interface Source { name: string; candid: string; source: string }

async function projectSources(g: Globals, only?: string): Promise<Source[]> {
  const project = loadProject(g)
  const out: Source[] = []
  for (const c of only === undefined ? project.canisters : [findCanister(project, only)]) {
    let built = lastBuild(project, c)
    if (built?.candid === undefined && c.candid !== undefined && existsSync(resolve(project.root, c.candid))) {
      out.push({ name: c.name, candid: readFileSync(resolve(project.root, c.candid), 'utf8'), source: c.candid })
      continue
    }
    built ??= await buildCanister(project, c)
    if (built.candid === undefined) fail(`canister ${c.name} has no Candid interface`, `add "candid": "path/to/${c.name}.did" to it in ${project.file}`)
    out.push({ name: c.name, candid: built.candid, source: `the build of ${c.name}` })
  }
  return out
}

/** A canister id (not a project canister): its interface from the network's certified metadata. */
async function remoteSource(g: Globals, nameOrId: string): Promise<Source> {
  const c = await connect(g)
  const t = resolveTarget(g, c.network, nameOrId)
  const candid = await candidMetadata(c, t.id)
  if (candid === undefined) fail(`canister ${t.id.toText()} publishes no candid:service metadata`, 'generate from its .did file inside a project that names it, or ask its developer for the .did')
  return { name: t.name ?? t.id.toText().replace(/-/g, '_'), candid, source: `the candid:service metadata of ${t.id.toText()}` }
}

function isProjectCanister(g: Globals, name: string): boolean {
  return findProjectRoot(g.cwd) !== undefined && loadProject(g).canisters.some((x) => x.name === name)
}

export async function generate(g: Globals, canister: string | undefined, outDir: string | undefined): Promise<{ dir: string; generated: Generated[] }> {
  const sources = canister === undefined || isProjectCanister(g, canister) ? await projectSources(g, canister) : [await remoteSource(g, canister)]
  const base = findProjectRoot(g.cwd) ?? resolve(g.cwd)
  const dir = outDir !== undefined ? resolve(g.cwd, outDir) : join(base, DEFAULT_BINDINGS_DIR)
  // Loading bindgen's Wasm costs a few hundred milliseconds: only this command pays for it.
  const { generate: bindgen } = await import('@icp-sdk/bindgen/core')
  const generated: Generated[] = []
  for (const s of sources) {
    parseDidText(s.candid, s.source) // a clear error here beats one from inside bindgen's Wasm
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(s.name)) fail(`${JSON.stringify(s.name)} cannot name a TypeScript module`, 'rename the canister (letters, digits and _)')
    // bindgen names its output after the .did file; the .did is kept next to the bindings, as dfx did.
    mkdirSync(dir, { recursive: true })
    const did = join(dir, `${s.name}.did`)
    writeFileSync(did, s.candid)
    try {
      await bindgen({ didFile: did, outDir: dir, output: { force: true, declarations: { typescript: true } } })
    } catch (e) {
      throw new UserError(`generating bindings for ${s.name} from ${s.source} failed: ${(e as Error).message}`, 'check the interface with `capsa canister call` or fix the .did file')
    }
    const files = [did, join(dir, `${s.name}.ts`), join(dir, 'declarations', `${s.name}.did.ts`)].map((f) => relative(base, f))
    progress(`Generated bindings for ${s.name} from ${s.source}.`)
    generated.push({ name: s.name, source: s.source, files })
  }
  return { dir, generated }
}

export const GENERATE_HELP = `capsa generate [canister] [--out-dir dir]

TypeScript bindings for a project's canisters (or one of them, or a canister id) through @icp-sdk/bindgen.
The interface is the canister's build (built first if needed), its "candid" .did file, or, for a canister
id, its candid:service metadata on the network.

Output, in <project>/src/bindings/ unless --out-dir says otherwise (the layout bindgen documents):
  <name>.did                       the interface the bindings were made from
  <name>.ts                        createActor(canisterId, { agentOptions }) and the typed client class
  declarations/<name>.did.ts       idlFactory and the raw Candid types (_SERVICE)

The generated code imports @icp-sdk/core (npm i @icp-sdk/core) and is meant for a bundler or for
TypeScript with "moduleResolution": "bundler". Example:
  import { createActor } from './bindings/<name>'
  const actor = createActor(canisterId, { agentOptions: { host: 'http://127.0.0.1:<port>', shouldFetchRootKey: true } })`
