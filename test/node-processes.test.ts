// Four replica processes over libp2p on 127.0.0.1: they finalize, survive a SIGKILL of one node (f = 1),
// the killed node catches up after a restart on its data directory, a second process on that directory
// is refused, and SIGTERM shuts a node down cleanly.

import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type ChildProcess, spawn } from 'node:child_process'
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { Cbor } from '@dfinity/agent'
import { Ed25519KeyIdentity } from '@dfinity/identity'
import { asMap, decodeCbor } from '../protocol/cbor.ts'
import { canisterIdFromIndex, principalToText } from '../protocol/principal.ts'
import { toHex } from '../protocol/hash.ts'
import { createGenesis, writeGenesis } from '../node/genesis.ts'

const N = 4
const ROOT = resolve(import.meta.dirname, '..')
const MAIN = join(ROOT, 'node', 'main.ts')

interface Proc {
  child: ChildProcess
  out: string
  exit: Promise<number | null>
}

async function freePorts(count: number): Promise<number[]> {
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

function until(cond: () => Promise<boolean>, ms: number, what: () => string): Promise<void> {
  const deadline = Date.now() + ms
  return new Promise((resolve, reject) => {
    const tick = async () => {
      if (await cond()) return resolve()
      if (Date.now() > deadline) return reject(new Error(`timed out after ${ms} ms: ${what()}`))
      setTimeout(tick, 150)
    }
    void tick()
  })
}

describe('replica processes over libp2p', () => {
  const dir = mkdtempSync(join(tmpdir(), 'capsa-nodes-'))
  const procs: (Proc | undefined)[] = []
  const extra: Proc[] = []
  const httpPorts: number[] = []
  const configs: string[] = []
  const nodeDirs: string[] = []
  let rootKeyDer = ''

  function start(i: number): Proc {
    const child = spawn(process.execPath, [MAIN, '--config', configs[i]], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] })
    const p: Proc = { child, out: '', exit: new Promise((r) => child.once('exit', (code) => r(code))) }
    const keep = (b: Buffer) => {
      p.out = (p.out + b.toString()).slice(-20_000)
    }
    child.stdout!.on('data', keep)
    child.stderr!.on('data', keep)
    return p
  }

  async function finalized(i: number): Promise<number> {
    try {
      const r = await fetch(`http://127.0.0.1:${httpPorts[i]}/_/health`, { signal: AbortSignal.timeout(1_000) })
      return Number(((await r.json()) as { finalizedHeight: string }).finalizedHeight)
    } catch {
      return -1
    }
  }
  const heights = () => Promise.all(Array.from({ length: N }, (_, i) => finalized(i)))
  const logs = () => procs.map((p, i) => `--- node ${i}:\n${p?.out.slice(-1500) ?? '(not running)'}`).join('\n')

  beforeAll(async () => {
    const g = createGenesis({ nodesPerSubnet: N, basePort: 1 })
    const ports = await freePorts(2 * N)
    g.registry.subnets[0].nodes.forEach((node, i) => {
      node.p2p = [`/ip4/127.0.0.1/tcp/${ports[2 * i]}`]
      node.http = `127.0.0.1:${ports[2 * i + 1]}`
      httpPorts.push(ports[2 * i + 1])
    })
    rootKeyDer = g.registry.rootKeyDer
    const written = writeGenesis(dir, g)
    for (const d of written.nodeDirs) {
      const path = join(d, 'node.json')
      // Short delays for a test on a shared machine, yet slow enough for four processes on two cores.
      const config = { registry: '../registry.json', identity: 'identity.json', dataDir: 'data', consensus: { unitDelayMs: 400, initialNotaryDelayMs: 200, cupInterval: 10, statusIntervalMs: 500 }, progressLogMs: 2_000 }
      writeFileSync(path, JSON.stringify(config, null, 2))
      configs.push(path)
      nodeDirs.push(d)
    }
  })

  afterAll(async () => {
    for (const p of [...procs, ...extra]) {
      if (p !== undefined && p.child.exitCode === null && p.child.signalCode === null) {
        p.child.kill('SIGKILL')
        await p.exit
      }
    }
    rmSync(dir, { recursive: true, force: true })
  })

  it('four nodes start and finalize', async () => {
    for (let i = 0; i < N; i++) procs[i] = start(i)
    await until(async () => (await heights()).every((h) => h >= 3), 23_000, logs)
    expect(procs[0]!.out).toMatch(/http listening on http:\/\/127\.0\.0\.1:\d+/)
    expect(procs[0]!.out).toMatch(/p2p listening on \/ip4\/127\.0\.0\.1\/tcp\/\d+/)
    const status = await fetch(`http://127.0.0.1:${httpPorts[1]}/api/v2/status`)
    const body = asMap(decodeCbor(new Uint8Array(await status.arrayBuffer())), 'status')
    expect(toHex(body.root_key as Uint8Array)).toBe(rootKeyDer)
    expect(body.replica_health_status).toBe('healthy')
    const metrics = await (await fetch(`http://127.0.0.1:${httpPorts[2]}/metrics`)).text()
    expect(Number(/capsa_finalized_height\{[^}]*\} (\d+)/.exec(metrics)?.[1])).toBeGreaterThanOrEqual(3)
    expect(Number(/capsa_peers_connected\{[^}]*\} (\d+)/.exec(metrics)?.[1])).toBe(N - 1)
    // A well-formed, signed call passes the HTTP checks and then meets the missing execution layer.
    const identity = Ed25519KeyIdentity.generate()
    const canister = canisterIdFromIndex(1)
    const content = {
      request_type: 'call', canister_id: canister, method_name: 'inc', arg: new Uint8Array([0x44, 0x49, 0x44, 0x4c, 0, 0]),
      sender: identity.getPrincipal().toUint8Array(), ingress_expiry: BigInt(Date.now() + 60_000) * 1_000_000n, nonce: new Uint8Array(16),
    }
    const req = (await identity.transformRequest({ endpoint: 'call', request: {}, body: content } as never)) as { body: Record<string, unknown> }
    const call = await fetch(`http://127.0.0.1:${httpPorts[0]}/api/v2/canister/${principalToText(canister)}/call`, {
      method: 'POST', headers: { 'content-type': 'application/cbor' }, body: Buffer.from(Cbor.encode(req.body)),
    })
    expect(call.status).toBe(503)
    expect(await call.text()).toMatch(/execution not wired yet/)
  }, 24_000)

  it('three nodes keep finalizing after one is killed, and the killed node catches up after a restart', async () => {
    procs[3]!.child.kill('SIGKILL')
    await procs[3]!.exit
    procs[3] = undefined
    const before = Math.max(...(await heights()).slice(0, 3))
    await until(async () => (await heights()).slice(0, 3).every((h) => h >= before + 3), 8_000, logs)

    procs[3] = start(3)
    await until(async () => {
      const h = await heights()
      return h[3] >= 0 && h[3] >= Math.min(h[0], h[1], h[2])
    }, 14_000, logs)
  }, 24_000)

  it('refuses a second process on a data directory in use', async () => {
    const second = start(3)
    extra.push(second)
    expect(await second.exit).toBe(1)
    expect(second.out).toMatch(/data directory .* is in use by another node \(pid \d+\)/)
    // The running owner is unaffected.
    expect(procs[3]!.child.exitCode).toBe(null)
  }, 7_000)

  it('shuts down cleanly on SIGTERM, releasing the data directory', async () => {
    procs[0]!.child.kill('SIGTERM')
    expect(await procs[0]!.exit).toBe(0)
    expect(procs[0]!.out).toMatch(/shutting down \(SIGTERM\)/)
    expect(existsSync(join(nodeDirs[0], 'data', 'LOCK.capsa'))).toBe(false)
    procs[0] = undefined
  }, 5_000)
})
