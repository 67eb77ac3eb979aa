// `capsa start|stop|status|logs`: a local network of replica processes in `.capsa/network/`. The
// genesis (registry, keys, one directory per node) is written once; every start reuses it, so the
// canisters' state survives stop/start. `network.json` there is the state file other tools read.

import { spawn, spawnSync } from 'node:child_process'
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, readSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { join, resolve } from 'node:path'
import { fail, type Globals, networkDir, progress, sleep, UserError } from './util.ts'

const REPO = resolve(import.meta.dirname, '..', '..')
const GENESIS = join(REPO, 'node', 'genesis-main.ts')
const NODE_MAIN = join(REPO, 'node', 'main.ts')
const READY_TIMEOUT_MS = 60_000
const STOP_TIMEOUT_MS = 10_000
const STALL_MS = 20_000

export interface NodeEntry {
  index: number
  id: string
  url: string
  http: string
  p2p: string[]
  config: string
  log: string
  pid: number | null
}

/** The contents of `network.json`. */
export interface NetworkState {
  version: 1
  dir: string
  subnetId: string
  rootKey: string
  running: boolean
  startedAt: string | null
  nodes: NodeEntry[]
}

interface Registry {
  rootKeyDer: string
  subnets: { id: string; nodes: { id: string; http: string; p2p: string[] }[] }[]
}

export function stateFile(dir: string): string {
  return join(dir, 'network.json')
}

export function readState(dir: string): NetworkState | undefined {
  try {
    return JSON.parse(readFileSync(stateFile(dir), 'utf8')) as NetworkState
  } catch {
    return undefined
  }
}

function writeState(s: NetworkState): void {
  const path = stateFile(s.dir)
  // Written aside and renamed (atomic): a reader never sees a half-written file.
  writeFileSync(`${path}.${process.pid}.tmp`, JSON.stringify(s, null, 2) + '\n')
  renameSync(`${path}.${process.pid}.tmp`, path)
}

/** A pid is ours only if it is alive and runs node/main.ts (pids are reused after a reboot). A zombie
 *  (exited, not yet reaped by init, as detached children of a finished CLI are) counts as dead; a
 *  process still tearing down (empty cmdline, not yet a zombie) does not. */
export function isNodeProcess(pid: number | null): boolean {
  if (pid === null) return false
  try {
    process.kill(pid, 0)
  } catch {
    return false
  }
  let stat: string
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
  } catch {
    return true // no /proc (macOS): trust the pid
  }
  if (/^\d+ \(.*\) [ZX]/s.test(stat)) return false
  const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8')
  return cmdline === '' || cmdline.includes('main.ts')
}

function portFree(port: number): Promise<boolean> {
  return new Promise((res) => {
    const s = createServer()
    s.once('error', () => res(false))
    s.listen(port, '127.0.0.1', () => s.close(() => res(true)))
  })
}

async function freeBasePort(count: number): Promise<number> {
  for (let attempt = 0; attempt < 200; attempt++) {
    const base = 20_000 + ((process.pid * 7919 + attempt * 104_729) % 30_000)
    let ok = true
    for (let p = base; p < base + count && ok; p++) ok = await portFree(p)
    if (ok) return base
  }
  fail('no free range of local ports found for the network', 'close other local servers and try again')
}

export async function health(url: string): Promise<{ healthy: boolean; certifiedHeight: number; finalizedHeight: number } | undefined> {
  try {
    const r = await fetch(`${url}/_/health`, { signal: AbortSignal.timeout(1_000) })
    const j = (await r.json()) as { healthy: boolean; certifiedHeight: string; finalizedHeight: string }
    return { healthy: j.healthy, certifiedHeight: Number(j.certifiedHeight), finalizedHeight: Number(j.finalizedHeight) }
  } catch {
    return undefined
  }
}

function runGenesis(dir: string, nodes: number, basePort: number): void {
  const r = spawnSync(process.execPath, [GENESIS, '--nodes', String(nodes), '--dir', dir, '--base-port', String(basePort), '--force'], { encoding: 'utf8' })
  if (r.status !== 0) fail(`creating the network failed: ${(r.stderr || r.stdout).trim()}`)
  // Genesis writes its local timings (block delays, idle block delay, CUP interval); several nodes
  // sharing a laptop's cores get a little more notary slack.
  for (let i = 0; i < nodes; i++) {
    const path = join(dir, `node-0-${i}`, 'node.json')
    const config = JSON.parse(readFileSync(path, 'utf8')) as { consensus?: Record<string, number> }
    const consensus = { ...config.consensus, ...(nodes > 1 ? { initialNotaryDelayMs: 150 } : {}) }
    writeFileSync(path, JSON.stringify({ ...config, consensus, progressLogMs: 10_000 }, null, 2) + '\n')
  }
}

function stateFromRegistry(dir: string): NetworkState {
  const reg = JSON.parse(readFileSync(join(dir, 'registry.json'), 'utf8')) as Registry
  const subnet = reg.subnets[0]
  mkdirSync(join(dir, 'logs'), { recursive: true })
  const old = readState(dir)
  return {
    version: 1, dir, subnetId: subnet.id, rootKey: reg.rootKeyDer, running: false, startedAt: null,
    nodes: subnet.nodes.map((n, i) => ({
      index: i, id: n.id, http: n.http, url: `http://${n.http}`, p2p: n.p2p,
      config: join(dir, `node-0-${i}`, 'node.json'), log: join(dir, 'logs', `node-${i}.log`), pid: old?.nodes[i]?.pid ?? null,
    })),
  }
}

export interface StartOptions { nodes?: number; subnets?: number; background: boolean; clean: boolean }

export async function start(g: Globals, o: StartOptions): Promise<NetworkState> {
  const dir = networkDir(g)
  // Canisters on different subnets would need XNet streams, which the node does not run yet.
  if (o.subnets !== undefined && o.subnets < 1) fail(`--subnets ${o.subnets}: a network needs one subnet`, 'leave out --subnets, or use --subnets 1')
  if (o.subnets !== undefined && o.subnets !== 1) {
    fail(`--subnets ${o.subnets}: only one subnet is supported for now (calls between subnets are not implemented yet)`, 'leave out --subnets, or use --subnets 1; for more capacity use --nodes 4')
  }
  if (o.nodes !== undefined && !(Number.isInteger(o.nodes) && o.nodes >= 1 && o.nodes <= 16)) {
    fail(`--nodes ${o.nodes} is not a valid subnet size`, 'use --nodes 1 (fastest) or --nodes 4 (tolerates one faulty node); at most 16')
  }
  const existing = readState(dir)
  if (existing?.nodes.some((n) => isNodeProcess(n.pid))) {
    if (!o.clean) {
      if (!o.background) fail(`the network in ${dir} is already running`, 'use `capsa status` to see it, or `capsa stop` first')
      progress(`The network in ${dir} is already running.`)
      return existing
    }
    await stop(g)
  }
  if (o.clean) rmSync(dir, { recursive: true, force: true })
  if (!existsSync(join(dir, 'registry.json'))) {
    const nodes = o.nodes ?? 1
    mkdirSync(dir, { recursive: true })
    progress(`Creating a ${nodes}-node network in ${dir}`)
    runGenesis(dir, nodes, await freeBasePort(2 * nodes))
  }
  const state = stateFromRegistry(dir)
  if (o.nodes !== undefined && o.nodes !== state.nodes.length) {
    fail(`the network in ${dir} has ${state.nodes.length} node(s), not ${o.nodes}`, 'run `capsa start --clean --nodes N` to replace it (its canisters are lost)')
  }
  for (const n of state.nodes) {
    const port = Number(n.http.slice(n.http.lastIndexOf(':') + 1))
    if (!(await portFree(port))) fail(`port ${port} for node ${n.index} is in use by another program`, 'stop that program, or run `capsa start --clean` to pick new ports')
  }
  for (const n of state.nodes) {
    const out = openSync(n.log, 'a')
    // Detached in its own process group: the network outlives this command (and a crash of it).
    const child = spawn(process.execPath, [NODE_MAIN, '--config', n.config], { cwd: REPO, detached: true, stdio: ['ignore', out, out] })
    closeSync(out)
    child.unref()
    n.pid = child.pid ?? null
  }
  state.running = true
  state.startedAt = new Date().toISOString()
  writeState(state)
  progress(`Starting ${state.nodes.length} node(s); logs in ${join(dir, 'logs')}`)
  await waitReady(state)
  return state
}

// Ready means certifying now: every node at certified height >= 1 and past the height it reported
// first, since a restarted node reports its stored catch-up height at once, even if it is stuck there.
async function waitReady(state: NetworkState): Promise<void> {
  const deadline = Date.now() + READY_TIMEOUT_MS
  const first: (number | undefined)[] = state.nodes.map(() => undefined)
  let lastProgress = Date.now()
  let best = -1
  for (;;) {
    const hs = await Promise.all(state.nodes.map((n) => health(n.url)))
    hs.forEach((h, i) => {
      if (h !== undefined && first[i] === undefined) first[i] = h.certifiedHeight
    })
    if (hs.every((h, i) => h !== undefined && h.certifiedHeight >= Math.max(1, first[i]! + 1))) return
    const top = Math.max(...hs.map((h) => h?.certifiedHeight ?? -1))
    if (top > best) {
      best = top
      lastProgress = Date.now()
    }
    const stalled = hs.every((h) => h !== undefined) && Date.now() - lastProgress > STALL_MS
    const dead = state.nodes.find((n) => !isNodeProcess(n.pid))
    if (dead !== undefined || stalled || Date.now() > deadline) {
      const n = dead ?? state.nodes[Math.max(0, hs.findIndex((h, i) => h === undefined || h.certifiedHeight <= (first[i] ?? 0)))]
      const tail = tailLines(n.log, 12)
      await stopState(state)
      const what = dead !== undefined ? `node ${n.index} exited while starting`
        : stalled ? `the network answers but has certified no new block for ${STALL_MS / 1000} s (stuck at height ${best})`
        : `the network did not certify a block within ${READY_TIMEOUT_MS / 1000} s`
      throw new UserError(`${what}; the nodes were stopped. Last lines of ${n.log}:\n${tail}`, 'fix the cause shown above, or run `capsa start --clean` for a fresh network (its canisters are lost)')
    }
    await sleep(150)
  }
}

export function tailLines(path: string, lines: number): string {
  try {
    return readFileSync(path, 'utf8').trimEnd().split('\n').slice(-lines).join('\n')
  } catch {
    return '(no log)'
  }
}

async function stopState(state: NetworkState): Promise<number> {
  let stopped = 0
  for (const n of state.nodes) {
    if (isNodeProcess(n.pid)) {
      process.kill(n.pid!, 'SIGTERM')
      stopped++
    }
  }
  const deadline = Date.now() + STOP_TIMEOUT_MS
  while (state.nodes.some((n) => isNodeProcess(n.pid)) && Date.now() < deadline) await sleep(50)
  for (const n of state.nodes) {
    if (isNodeProcess(n.pid)) process.kill(n.pid!, 'SIGKILL')
    n.pid = null
  }
  state.running = false
  writeState(state)
  return stopped
}

export async function stop(g: Globals): Promise<number> {
  const dir = networkDir(g)
  const state = readState(dir)
  if (state === undefined) fail(`no network in ${dir}`, 'start one with `capsa start`')
  return stopState(state)
}

/** The running network's state, or a user error saying how to start it. */
export function runningNetwork(g: Globals): NetworkState {
  const dir = networkDir(g)
  const state = readState(dir)
  if (state === undefined || !state.nodes.some((n) => isNodeProcess(n.pid))) {
    fail(`the local network is not running (looked in ${dir})`, 'start it with `capsa start --background`')
  }
  return state
}

export async function status(g: Globals): Promise<{ dir: string; running: boolean; subnetId?: string; nodes: (NodeEntry & { alive: boolean; healthy: boolean; certifiedHeight: number | null; finalizedHeight: number | null })[] }> {
  const dir = networkDir(g)
  const state = readState(dir)
  if (state === undefined) return { dir, running: false, nodes: [] }
  const nodes = await Promise.all(state.nodes.map(async (n) => {
    const alive = isNodeProcess(n.pid)
    const h = alive ? await health(n.url) : undefined
    return { ...n, pid: alive ? n.pid : null, alive, healthy: h?.healthy ?? false, certifiedHeight: h?.certifiedHeight ?? null, finalizedHeight: h?.finalizedHeight ?? null }
  }))
  return { dir, running: nodes.some((n) => n.alive), subnetId: state.subnetId, nodes }
}

export async function logs(g: Globals, node: number, tail: number | undefined, follow: boolean): Promise<void> {
  const dir = networkDir(g)
  const state = readState(dir)
  if (state === undefined) fail(`no network in ${dir}`, 'start one with `capsa start`')
  const n = state.nodes[node]
  if (n === undefined) fail(`the network has no node ${node}`, `use --node 0${state.nodes.length > 1 ? ` to ${state.nodes.length - 1}` : ''}`)
  if (!existsSync(n.log)) fail(`node ${node} has no log yet (${n.log})`, 'start the network with `capsa start`')
  const text = readFileSync(n.log, 'utf8')
  process.stdout.write(tail === undefined ? text : text.trimEnd().split('\n').slice(-tail).join('\n') + '\n')
  if (!follow) return
  let offset = statSync(n.log).size
  for (;;) {
    await sleep(250)
    const size = statSync(n.log).size
    if (size > offset) {
      const fd = openSync(n.log, 'r')
      const buf = Buffer.alloc(size - offset)
      readSync(fd, buf, 0, buf.length, offset)
      closeSync(fd)
      process.stdout.write(buf)
      offset = size
    }
  }
}
