// A local subnet of replica processes for tests: a fresh genesis on free 127.0.0.1 ports, each node
// a `capsa-node` child process whose output is kept, started, killed and restarted on demand, and
// every process killed when the test ends.

import { type ChildProcess, spawn } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { CONSENSUS_TIMING, createGenesis, writeGenesis } from '../../node/genesis.ts'

const ROOT = resolve(import.meta.dirname, '..', '..')
const MAIN = join(ROOT, 'node', 'main.ts')

export interface NodeProcess {
  child: ChildProcess
  out: string
  exit: Promise<number | null>
}

export async function freePorts(count: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from({ length: count }, () => new Promise<ReturnType<typeof createServer>>((res, rej) => {
      const s = createServer()
      s.once('error', rej)
      s.listen(0, '127.0.0.1', () => res(s))
    })),
  )
  const ports = servers.map((s) => (s.address() as { port: number }).port)
  await Promise.all(servers.map((s) => new Promise((r) => s.close(r))))
  return ports
}

export function until(cond: () => Promise<boolean> | boolean, ms: number, what: () => string): Promise<void> {
  const deadline = Date.now() + ms
  return new Promise((resolve, reject) => {
    const tick = async () => {
      if (await cond()) return resolve()
      if (Date.now() > deadline) return reject(new Error(`timed out after ${ms} ms: ${what()}`))
      setTimeout(tick, 100)
    }
    void tick()
  })
}

/** Kills whatever nodes a `capsa start` left running for a project (tests and benchmarks clean up with it). */
export function killProjectNetwork(project: string): void {
  try {
    const state = JSON.parse(readFileSync(join(project, '.capsa', 'network', 'network.json'), 'utf8')) as { nodes: { pid?: number }[] }
    for (const n of state.nodes) {
      try {
        if (n.pid) process.kill(n.pid, 'SIGKILL')
      } catch {
        // already gone
      }
    }
  } catch {
    // never started
  }
}

export interface LocalSubnetOptions {
  nodes: number
  /** Default: the local timings the genesis command writes. */
  consensus?: { unitDelayMs?: number; initialNotaryDelayMs?: number; cupInterval?: number; statusIntervalMs?: number }
}

export class LocalSubnet {
  readonly dir = mkdtempSync(join(tmpdir(), 'capsa-subnet-'))
  readonly procs: (NodeProcess | undefined)[] = []
  readonly extra: NodeProcess[] = []
  readonly httpPorts: number[] = []
  readonly configs: string[] = []
  readonly nodeDirs: string[] = []
  rootKeyDer = ''
  readonly n: number
  readonly #opts: LocalSubnetOptions

  constructor(opts: LocalSubnetOptions) {
    this.n = opts.nodes
    this.#opts = opts
  }

  async create(): Promise<void> {
    const g = createGenesis({ nodesPerSubnet: this.n, basePort: 1 })
    const ports = await freePorts(2 * this.n)
    g.registry.subnets[0].nodes.forEach((node, i) => {
      node.p2p = [`/ip4/127.0.0.1/tcp/${ports[2 * i]}`]
      node.http = `127.0.0.1:${ports[2 * i + 1]}`
      this.httpPorts.push(ports[2 * i + 1])
    })
    this.rootKeyDer = g.registry.rootKeyDer
    const written = writeGenesis(this.dir, g)
    for (const d of written.nodeDirs) {
      const path = join(d, 'node.json')
      const config = { registry: '../registry.json', identity: 'identity.json', dataDir: 'data', consensus: this.#opts.consensus ?? CONSENSUS_TIMING.local, progressLogMs: 2_000 }
      writeFileSync(path, JSON.stringify(config, null, 2))
      this.configs.push(path)
      this.nodeDirs.push(d)
    }
  }

  url(i: number): string {
    return `http://127.0.0.1:${this.httpPorts[i]}`
  }

  spawn(i: number): NodeProcess {
    const child = spawn(process.execPath, [MAIN, '--config', this.configs[i]], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] })
    const p: NodeProcess = { child, out: '', exit: new Promise((r) => child.once('exit', (code) => r(code))) }
    const keep = (b: Buffer) => {
      p.out = (p.out + b.toString()).slice(-20_000)
    }
    child.stdout!.on('data', keep)
    child.stderr!.on('data', keep)
    return p
  }

  start(i: number): NodeProcess {
    const p = this.spawn(i)
    this.procs[i] = p
    return p
  }

  async kill(i: number, signal: NodeJS.Signals = 'SIGKILL'): Promise<number | null> {
    const p = this.procs[i]
    if (p === undefined) return null
    p.child.kill(signal)
    const code = await p.exit
    this.procs[i] = undefined
    return code
  }

  async health(i: number): Promise<{ finalizedHeight: number; certifiedHeight: number; healthy: boolean } | undefined> {
    try {
      const r = await fetch(`${this.url(i)}/_/health`, { signal: AbortSignal.timeout(1_000) })
      const j = (await r.json()) as { finalizedHeight: string; certifiedHeight: string; healthy: boolean }
      return { finalizedHeight: Number(j.finalizedHeight), certifiedHeight: Number(j.certifiedHeight), healthy: j.healthy }
    } catch {
      return undefined
    }
  }

  async heights(): Promise<number[]> {
    return Promise.all(Array.from({ length: this.n }, async (_, i) => (await this.health(i))?.finalizedHeight ?? -1))
  }

  logs(): string {
    return this.procs.map((p, i) => `--- node ${i}:\n${p?.out.slice(-2500) ?? '(not running)'}`).join('\n')
  }

  async close(): Promise<void> {
    for (const p of [...this.procs, ...this.extra]) {
      if (p !== undefined && p.child.exitCode === null && p.child.signalCode === null) {
        p.child.kill('SIGKILL')
        await p.exit
      }
    }
    rmSync(this.dir, { recursive: true, force: true })
  }
}
