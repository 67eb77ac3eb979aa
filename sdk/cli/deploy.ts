// `capsa deploy [canister]`: build, create what has no id yet (or whose id the network no longer
// knows, e.g. after `capsa start --clean`), then install or upgrade, dependencies first.

import type { Principal } from '@dfinity/principal'
import { buildCanister } from './build.ts'
import { argumentText, canisterStatus, createCanister, encodeText, installWasm, type ModeFlag, parseDidText } from './canister.ts'
import { connect, parsePrincipal } from './client.ts'
import { canisterId, deployOrder, loadProject, saveCanisterId } from './project.ts'
import { fail, type Globals, progress, UserError } from './util.ts'

export interface DeployOptions { canister?: string; mode: ModeFlag; argument?: string; argumentFile?: string; upgradeUnchanged: boolean; withCycles?: bigint }

export interface Deployed { name: string; id: string; action: 'install' | 'reinstall' | 'upgrade' | 'unchanged' }

function missing(e: unknown): boolean {
  return e instanceof UserError && /not found|does not exist|IC0301|no canister/i.test(e.message)
}

async function exists(c: Awaited<ReturnType<typeof connect>>, id: Principal): Promise<boolean> {
  try {
    await canisterStatus(c, id)
    return true
  } catch (e) {
    if (missing(e)) return false
    throw e
  }
}

export async function deploy(g: Globals, o: DeployOptions): Promise<{ done: Deployed[]; url: string }> {
  const project = loadProject(g)
  const order = deployOrder(project, o.canister)
  if ((o.argument !== undefined || o.argumentFile !== undefined) && o.canister === undefined && order.length > 1) {
    fail('--argument needs a canister name when the project has several canisters', 'run `capsa deploy <canister> --argument …`')
  }
  const built = []
  for (const c of order) built.push({ c, out: await buildCanister(project, c) })
  const conn = await connect(g)
  const done: Deployed[] = []
  for (const { c, out } of built) {
    let idText = canisterId(project.root, c.name, conn.network)
    let id = idText === undefined ? undefined : parsePrincipal(idText, 'canister id')
    if (id !== undefined && !(await exists(conn, id))) {
      progress(`Canister ${c.name} (${id.toText()}) is not on this network any more; creating a new one.`)
      saveCanisterId(project.root, c.name, conn.network, undefined)
      id = undefined
    }
    if (id === undefined) {
      progress(`Creating canister ${c.name}...`)
      id = await createCanister(g, conn, c.name, o.withCycles)
      progress(`Created canister ${c.name}: ${id.toText()}`)
    }
    idText = id.toText()
    const did = out.candid === undefined ? undefined : parseDidText(out.candid, `the interface of ${c.name}`)
    const text = o.argument !== undefined || o.argumentFile !== undefined ? argumentText(g, o.argument, o.argumentFile) : (c.initArg ?? '()')
    const arg = encodeText(text, did, did?.init.length ? did.init : text.trim() === '()' ? [] : undefined, `the init argument of ${c.name}`)
    progress(`Installing code for canister ${c.name} (mode ${o.mode})...`)
    const action = await installWasm(conn, id, out.wasm, arg, o.mode, out.eop, o.upgradeUnchanged)
    progress(action === undefined ? `Module of ${c.name} unchanged: not upgraded (use --upgrade-unchanged to force).` : `${action === 'install' ? 'Installed' : action === 'reinstall' ? 'Reinstalled' : 'Upgraded'} ${c.name}.`)
    done.push({ name: c.name, id: idText, action: action ?? 'unchanged' })
  }
  return { done, url: conn.url }
}

export function deploySummary(done: Deployed[], url: string | undefined): string {
  const lines = ['Deployed canisters:']
  for (const d of done) lines.push(`  ${d.name}: ${d.id} (${d.action})`)
  if (url !== undefined) lines.push(`Network: ${url}`)
  const first = done[0]
  if (first !== undefined) lines.push(`Call one with: capsa canister call ${first.name} <method> '(<arguments>)'`)
  return lines.join('\n')
}
