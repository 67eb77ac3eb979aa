// Dispatch of `capsa <command> …` to the modules that do the work, and how each result is printed.
// The agent, identity and Candid libraries take about a second to load, so only commands that use
// them import them.

import { readFileSync } from 'node:fs'
import { resolve } from 'node:path'
import type { Values } from './main.ts'
import { logs, start, status, stop } from './network.ts'
import { newProject } from './new.ts'
import { deployOrder, loadProject, saveCanisterId } from './project.ts'
import { fail, type Globals, progress } from './util.ts'

function out(g: Globals, json: unknown, text: string): void {
  console.log(g.json ? JSON.stringify(json, null, 2) : text)
}

function arg(p: string[], i: number, what: string, usage: string): string {
  const v = p[i]
  if (v === undefined) fail(`missing ${what}`, `usage: capsa ${usage}`)
  return v
}

function intOption(v: string | undefined, name: string): number | undefined {
  if (v === undefined) return undefined
  const n = Number(v)
  if (!Number.isInteger(n) || n < 0) fail(`--${name} must be a whole number, got ${JSON.stringify(v)}`)
  return n
}

function cyclesOption(v: string | undefined): bigint | undefined {
  if (v === undefined) return undefined
  const t = v.replace(/_/g, '')
  if (!/^\d+$/.test(t)) fail(`--with-cycles must be a whole number, got ${JSON.stringify(v)}`)
  return BigInt(t)
}

export async function run(g: Globals, p: string[], v: Values): Promise<number> {
  const [cmd] = p
  switch (cmd) {
    case 'start': {
      const state = await start(g, { nodes: intOption(v.nodes, 'nodes'), subnets: intOption(v.subnets, 'subnets'), background: v.background === true, clean: v.clean === true })
      const urls = state.nodes.map((n) => n.url)
      out(g, { ready: true, dir: state.dir, subnetId: state.subnetId, urls }, `Network ready: ${state.nodes.length} node(s), subnet ${state.subnetId}\n${urls.map((u, i) => `  node ${i}: ${u}`).join('\n')}\nState file: ${state.dir}/network.json`)
      if (v.background) return 0
      progress('Running in the foreground; press Ctrl+C to stop (or run `capsa stop`).')
      await new Promise<void>((res) => {
        const done = () => res()
        process.once('SIGINT', done)
        process.once('SIGTERM', done)
        // `capsa stop` from another terminal ends the nodes; follow them.
        const poll = setInterval(async () => {
          const s = await status(g)
          if (!s.running) {
            clearInterval(poll)
            res()
          }
        }, 1000)
      })
      await stop(g)
      progress('Network stopped.')
      return 0
    }
    case 'stop': {
      const n = await stop(g)
      out(g, { stopped: n }, n === 0 ? 'The network was not running.' : `Stopped ${n} node(s).`)
      return 0
    }
    case 'status': {
      const s = await status(g)
      const text = !s.running ? `No network running (${s.dir}).` : [`Network in ${s.dir}: subnet ${s.subnetId}`,
        ...s.nodes.map((n) => `  node ${n.index}: ${n.url}  pid ${n.pid ?? '-'}  ${n.alive ? (n.healthy ? 'healthy' : 'starting') : 'stopped'}  finalized ${n.finalizedHeight ?? '-'} certified ${n.certifiedHeight ?? '-'}`)].join('\n')
      out(g, s, text)
      return s.running ? 0 : 1
    }
    case 'logs': {
      await logs(g, intOption(v.node, 'node') ?? 0, intOption(v.tail, 'tail'), v.follow === true)
      return 0
    }
    case 'new': {
      const name = arg(p, 1, 'the project name', 'new <name> [--template motoko]')
      const r = newProject(g, name, v.template ?? 'motoko')
      out(g, r, `Created project ${name} in ${r.dir}\n${r.files.map((f) => `  ${f}`).join('\n')}\nNext: cd ${name} && capsa start --background && capsa deploy`)
      return 0
    }
    case 'build': {
      const { buildCanister } = await import('./build.ts')
      const project = loadProject(g)
      const built = []
      for (const c of deployOrder(project, p[1])) built.push({ name: c.name, wasm: (await buildCanister(project, c)).wasmPath })
      out(g, built, built.map((b) => `${b.name}: ${b.wasm}`).join('\n'))
      return 0
    }
    case 'deploy': {
      const { deploy, deploySummary } = await import('./deploy.ts')
      const { parseMode } = await import('./canister.ts')
      const { done, url } = await deploy(g, { canister: p[1], mode: parseMode(v.mode), argument: v.argument, argumentFile: v['argument-file'], upgradeUnchanged: v['upgrade-unchanged'] === true, withCycles: cyclesOption(v['with-cycles']) })
      out(g, { canisters: done, url }, deploySummary(done, url))
      return 0
    }
    case 'generate': {
      const { generate, GENERATE_HELP } = await import('./generate.ts')
      if (v.help) {
        console.log(GENERATE_HELP)
        return 0
      }
      const r = await generate(g, p[1], v['out-dir'])
      out(g, r, `Bindings in ${r.dir}:\n${r.generated.map((x) => x.files.map((f) => `  ${f}`).join('\n')).join('\n')}`)
      return 0
    }
    case 'identity': return identity(g, p, v)
    case 'canister': return canister(g, p, v)
    default:
      fail(`unknown command ${JSON.stringify(cmd)}`, 'see `capsa --help`')
  }
}

async function identity(g: Globals, p: string[], v: Values): Promise<number> {
  const { createIdentity, exportIdentity, importIdentity, listIdentities, loadIdentity, removeIdentity, selectedName, useIdentity } = await import('./identity.ts')
  const sub = arg(p, 1, 'an identity command', 'identity new|use|list|whoami|get-principal|import|export|remove')
  switch (sub) {
    case 'new': {
      const name = arg(p, 2, 'the identity name', 'identity new <name>')
      if (v['storage-mode'] !== undefined && v['storage-mode'] !== 'plaintext') fail(`--storage-mode ${v['storage-mode']} is not supported`, 'capsa stores identities as plaintext PEM; use --storage-mode plaintext or leave it out')
      createIdentity(name, v.force === true)
      progress(`Created identity: "${name}".`)
      out(g, { name, principal: loadIdentity({ ...g, identity: name }).getPrincipal().toText() }, loadIdentity({ ...g, identity: name }).getPrincipal().toText())
      return 0
    }
    case 'use': {
      const name = arg(p, 2, 'the identity name', 'identity use <name>')
      useIdentity(name)
      progress(`Using identity: "${name}".`)
      return 0
    }
    case 'list': {
      const current = selectedName({ ...g, identity: undefined })
      const names = listIdentities()
      out(g, { identities: names, default: current }, names.map((n) => (n === current ? `${n} *` : n)).join('\n'))
      return 0
    }
    case 'whoami': {
      const name = selectedName(g)
      out(g, { name }, name)
      return 0
    }
    case 'get-principal': {
      const principal = loadIdentity(g).getPrincipal().toText()
      out(g, { name: selectedName(g), principal }, principal)
      return 0
    }
    case 'import': {
      const name = arg(p, 2, 'the identity name', 'identity import <name> <file.pem>')
      const file = arg(p, 3, 'the PEM file', 'identity import <name> <file.pem>')
      let pem: string
      try {
        pem = readFileSync(resolve(g.cwd, file), 'utf8')
      } catch {
        fail(`cannot read ${file}`, 'pass the path of a PEM file')
      }
      const id = importIdentity(name, pem, file, v.force === true)
      progress(`Imported identity: "${name}".`)
      out(g, { name, principal: id.getPrincipal().toText() }, id.getPrincipal().toText())
      return 0
    }
    case 'export': {
      process.stdout.write(exportIdentity(arg(p, 2, 'the identity name', 'identity export <name>')))
      return 0
    }
    case 'remove': {
      removeIdentity(arg(p, 2, 'the identity name', 'identity remove <name>'), g)
      progress('Removed.')
      return 0
    }
    default:
      fail(`unknown identity command ${JSON.stringify(sub)}`, 'use new, use, list, whoami, get-principal, import, export or remove')
  }
}

async function canister(g: Globals, p: string[], v: Values): Promise<number> {
  const sub = arg(p, 1, 'a canister command', 'canister create|install|call|status|start|stop|delete|id …')
  const known = ['create', 'install', 'call', 'status', 'info', 'start', 'stop', 'delete', 'id', 'logs', 'update-settings']
  if (!known.includes(sub)) fail(`unknown canister command ${JSON.stringify(sub)}`, `use ${known.join(', ')}`)
  const target = arg(p, 2, 'a canister name or id', `canister ${sub} <name|id>${sub === 'call' ? ' <method> [argument]' : ''}`)
  const { argumentText, callCanister, canisterLogs, canisterStatus, createCanister, encodeText, installSource, installWasm, interfaceOf, lifecycle, parseMode, resolveTarget, statusJson, statusText, updateSettings } = await import('./canister.ts')
  const { connect } = await import('./client.ts')
  if (sub === 'id') {
    const t = resolveTarget(g, g.network ?? 'local', target)
    out(g, { name: t.name ?? null, id: t.id.toText() }, t.id.toText())
    return 0
  }
  const c = await connect(g)
  if (sub === 'create') {
    const id = await createCanister(g, c, target, cyclesOption(v['with-cycles']))
    progress(`Created canister ${target}.`)
    out(g, { name: target, id: id.toText() }, id.toText())
    return 0
  }
  const t = resolveTarget(g, c.network, target)
  switch (sub) {
    case 'call': {
      const method = arg(p, 3, 'the method name', 'canister call <name|id> <method> [argument]')
      if (p[4] !== undefined && v.argument !== undefined) fail('the argument was given twice (positional and --argument)', 'pass only one')
      console.log(await callCanister(g, c, t, method, { argument: p[4] ?? v.argument, argumentFile: v['argument-file'], query: v.query, update: v.update, output: g.json ? 'json' : v.output, candid: v.candid }))
      return 0
    }
    case 'install': {
      const src = installSource(g, t, v.wasm)
      const did = await interfaceOf(g, c, t, v.candid).catch(() => undefined)
      const text = argumentText(g, v.argument, v['argument-file'])
      const arg0 = encodeText(text, did, did?.init.length ? did.init : text.trim() === '()' ? [] : undefined, 'the install argument')
      const mode = await installWasm(c, t.id, src.wasm, arg0, parseMode(v.mode), src.eop, true)
      progress(`Installed code for canister ${t.name ?? t.id.toText()} (${mode}).`)
      return 0
    }
    case 'status': {
      const j = statusJson(t.id, await canisterStatus(c, t.id))
      out(g, j, statusText(j))
      return 0
    }
    case 'info': {
      const { canisterInfo, canisterInfoCertified, infoText } = await import('./info.ts')
      const j = v.history ? await canisterInfo(g, c, t.id) : await canisterInfoCertified(c, t.id)
      out(g, j, infoText(j))
      return 0
    }
    case 'start':
    case 'stop':
      await lifecycle(c, t.id, sub === 'start' ? 'start_canister' : 'stop_canister')
      progress(`${sub === 'start' ? 'Started' : 'Stopped'} canister ${t.name ?? t.id.toText()}.`)
      return 0
    case 'logs': {
      const records = await canisterLogs(c, t.id)
      out(g, records.map((r) => ({ idx: String(r.idx), timestamp_nanos: String(r.timestampNanos), content: r.text })), records.map((r) => `[${r.idx}. ${new Date(Number(r.timestampNanos / 1_000_000n)).toISOString()}]: ${r.text}`).join('\n') || '(no log records)')
      return 0
    }
    case 'update-settings': {
      const threshold = v['freezing-threshold']
      if (threshold !== undefined && !/^\d+$/.test(threshold)) fail(`--freezing-threshold must be a whole number of seconds, got ${JSON.stringify(threshold)}`, 'for example --freezing-threshold 2592000')
      await updateSettings(c, t.id, { add: v['add-controller'] ?? [], remove: v['remove-controller'] ?? [], set: v['set-controller'], freezingThreshold: threshold === undefined ? undefined : BigInt(threshold) })
      progress(`Updated the settings of canister ${t.name ?? t.id.toText()}.`)
      return 0
    }
    case 'delete': {
      await lifecycle(c, t.id, 'delete_canister')
      if (t.name !== undefined && t.project !== undefined) saveCanisterId(t.project.root, t.name, c.network, undefined)
      progress(`Deleted canister ${t.name ?? t.id.toText()}.`)
      return 0
    }
  }
  return 0
}
