// The capsa CLI driven as a user drives it, each command a child process in a fresh directory with its
// own CAPSA_HOME: new (motoko) -> start -> deploy -> call -> edit + deploy (upgrade keeps the count)
// -> stop -> start (state kept) -> call -> stop; the AssemblyScript template; a dfx.json project;
// identities; user errors without stack traces.

import { afterAll, describe, expect, it } from 'vitest'
import { execFile } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'

const MAIN = resolve(import.meta.dirname, '..', 'sdk', 'cli', 'main.ts')
const root = mkdtempSync(join(tmpdir(), 'capsa-cli-'))
const home = join(root, 'home')
const project = join(root, 'demo')
const canister = 'demo_backend'

interface Run { code: number; stdout: string; stderr: string }

function capsa(args: string[], cwd = project): Promise<Run> {
  return new Promise((res) => {
    execFile(process.execPath, [MAIN, ...args], { cwd, env: { ...process.env, CAPSA_HOME: home }, timeout: 60_000 }, (err, stdout, stderr) => {
      res({ code: err === null ? 0 : typeof err.code === 'number' ? err.code : 1, stdout: stdout.trim(), stderr })
    })
  })
}

async function ok(args: string[], cwd?: string): Promise<string> {
  const r = await capsa(args, cwd)
  if (r.code !== 0) throw new Error(`capsa ${args.join(' ')} exited ${r.code}\n${r.stderr}\n${r.stdout}`)
  return r.stdout
}

function expectUserError(r: Run, message: RegExp): void {
  expect(r.code).toBe(1)
  expect(r.stderr).toMatch(message)
  expect(r.stderr).toMatch(/^What to do: /m)
  expect(r.stderr).not.toMatch(/^\s+at /m)
}

function pids(): number[] {
  try {
    const s = JSON.parse(readFileSync(join(project, '.capsa', 'network', 'network.json'), 'utf8')) as { nodes: { pid: number | null }[] }
    return s.nodes.map((n) => n.pid).filter((p): p is number => p !== null)
  } catch {
    return []
  }
}

// A node whose parent (the CLI) has exited may linger as a zombie until init reaps it: that is dead.
const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0)
  } catch {
    return false
  }
  try {
    return !/^\d+ \(.*\) [ZX]/s.test(readFileSync(`/proc/${pid}/stat`, 'utf8'))
  } catch {
    return true
  }
}

const seen = new Set<number>()
afterAll(async () => {
  await capsa(['stop'])
  for (const pid of [...seen, ...pids()]) if (alive(pid)) process.kill(pid, 'SIGKILL')
  rmSync(root, { recursive: true, force: true })
}, 20_000)

describe('capsa CLI, end to end', () => {
  it('new -> start -> deploy -> call -> edit and deploy again (upgrade keeps the count)', async () => {
    expect(await ok(['new', 'demo', '--template', 'motoko'], root)).toMatch(/Created project demo/)
    expect(JSON.parse(readFileSync(join(project, 'capsa.json'), 'utf8')).canisters[canister].type).toBe('motoko')
    expect(existsSync(join(project, 'README.md'))).toBe(true)

    const started = JSON.parse(await ok(['start', '--background', '--json']))
    expect(started.ready).toBe(true)
    expect(started.urls).toHaveLength(1)
    pids().forEach((p) => seen.add(p))
    expect(pids().length).toBe(1)
    const health = (await (await fetch(`${started.urls[0]}/_/health`)).json()) as { certifiedHeight: string }
    expect(Number(health.certifiedHeight)).toBeGreaterThanOrEqual(1)

    const first = await capsa(['deploy'])
    expect(first.code, first.stderr).toBe(0)
    expect(first.stdout).toMatch(new RegExp(`${canister}: [a-z0-9-]+-cai \\(install\\)`))
    expect(first.stderr).toMatch(/Building canister demo_backend \(Motoko/)
    const id = JSON.parse(readFileSync(join(project, '.capsa', 'canister_ids.json'), 'utf8'))[canister].local as string
    expect(await ok(['canister', 'id', canister])).toBe(id)

    expect(await ok(['canister', 'call', canister, 'inc'])).toBe('(1 : nat)')
    expect(await ok(['canister', 'call', id, 'inc'])).toBe('(2 : nat)') // by id: interface from candid:service metadata
    expect(await ok(['canister', 'call', canister, 'greet', '("world")'])).toBe('("Hello, world!")')

    // Edit the source: deploy upgrades (auto mode), the count survives, the new code runs.
    const mainMo = join(project, 'src', canister, 'main.mo')
    writeFileSync(mainMo, readFileSync(mainMo, 'utf8').replace('"Hello, "', '"Hi, "'))
    const second = await capsa(['deploy', '--json'])
    expect(second.code, second.stderr).toBe(0)
    expect(JSON.parse(second.stdout).canisters).toEqual([{ name: canister, id, action: 'upgrade' }])
    expect(await ok(['canister', 'call', canister, 'get', '--output', 'json'])).toBe(JSON.stringify(['2'], null, 2))
    expect(await ok(['canister', 'call', canister, 'greet', '("world")'])).toBe('("Hi, world!")')

    const status = JSON.parse(await ok(['canister', 'status', canister, '--json']))
    expect(status.status).toBe('running')
    expect(status.module_hash).toMatch(/^[0-9a-f]{64}$/)
    expect(await ok(['logs', '--node', '0', '--tail', '50'])).toMatch(/http listening on/)
  }, 60_000)

  it('canister update-settings changes controllers as dfx does; canister logs reads the log', async () => {
    const other = '2vxsx-fae'
    await ok(['canister', 'update-settings', canister, '--add-controller', other, '--freezing-threshold', '86400'])
    const status = JSON.parse(await ok(['canister', 'status', canister, '--json'])) as { controllers: string[]; freezing_threshold: string }
    expect(status.controllers).toContain(other)
    expect(status.freezing_threshold).toBe('86400')
    await ok(['canister', 'update-settings', canister, '--remove-controller', other])
    expect((JSON.parse(await ok(['canister', 'status', canister, '--json'])) as { controllers: string[] }).controllers).not.toContain(other)
    const logs = JSON.parse(await ok(['canister', 'logs', canister, '--json']))
    expect(Array.isArray(logs)).toBe(true)
  }, 30_000)

  it('an existing dfx.json project (Motoko, init_arg) deploys unchanged', async () => {
    const dfx = join(root, 'dfx-project')
    mkdirSync(join(dfx, 'src'), { recursive: true })
    writeFileSync(join(dfx, 'dfx.json'), JSON.stringify({ version: 1, canisters: { hello: { type: 'motoko', main: 'src/hello.mo', init_arg: '("Howdy")' } } }))
    writeFileSync(join(dfx, 'src', 'hello.mo'), 'persistent actor class Hello(greeting : Text) { public query func hi(n : Text) : async Text { greeting # ", " # n } }')
    const net = ['--network-dir', join(project, '.capsa', 'network')]
    const r = await capsa(['deploy', ...net], dfx)
    expect(r.code, r.stderr).toBe(0)
    expect(r.stdout).toMatch(/hello: [a-z0-9-]+-cai \(install\)/)
    expect(await ok(['canister', 'call', 'hello', 'hi', '("dfx")', ...net], dfx)).toBe('("Howdy, dfx")')
  }, 40_000)

  it('the assemblyscript template deploys, and an upgrade keeps its stable-memory count', async () => {
    const net = ['--network-dir', join(project, '.capsa', 'network')]
    await ok(['new', 'asdemo', '--template', 'assemblyscript'], root)
    const dir = join(root, 'asdemo')
    const r = await capsa(['deploy', ...net], dir)
    expect(r.code, r.stderr).toBe(0)
    expect(r.stderr).toMatch(/Building canister asdemo_backend \(AssemblyScript\)/)
    expect(await ok(['canister', 'call', 'asdemo_backend', 'inc', ...net], dir)).toBe('(1 : nat)')
    const up = JSON.parse(await ok(['deploy', '--mode', 'upgrade', '--upgrade-unchanged', '--json', ...net], dir))
    expect(up.canisters[0].action).toBe('upgrade')
    expect(await ok(['canister', 'call', 'asdemo_backend', 'inc', ...net], dir)).toBe('(2 : nat)')
  }, 40_000)

  it('user errors say what happened and what to do, exit 1, without a stack', async () => {
    const [noMethod, badArg, unknownCmd] = await Promise.all([
      capsa(['canister', 'call', canister, 'nope']),
      capsa(['canister', 'call', canister, 'greet', '(42)']),
      capsa(['frobnicate']),
    ])
    expectUserError(noMethod, /has no method "nope"/)
    expect(noMethod.stderr).toMatch(/its methods: get, greet, inc/)
    expectUserError(badArg, /argument of greet/)
    expectUserError(unknownCmd, /unknown command "frobnicate"/)
    const outside = await capsa(['deploy'], root)
    expectUserError(outside, /no capsa.json or dfx.json/)
  }, 30_000)

  it('stop ends every node; status reports it', async () => {
    expect(await ok(['stop'])).toMatch(/Stopped 1 node/)
    expect([...seen].some(alive)).toBe(false)
    const s = await capsa(['status', '--json'])
    expect(s.code).toBe(1)
    expect(JSON.parse(s.stdout).running).toBe(false)
    expectUserError(await capsa(['canister', 'call', canister, 'get']), /local network is not running/)
  }, 20_000)

  // Every node of the subnet restarts at once: each resumes from its CUP and the consensus artifacts
  // it persisted above it, and the canister's state comes back from the checkpoint plus replay.
  it('start again: the canister and its count are still there', async () => {
    await ok(['start', '--background'])
    pids().forEach((p) => seen.add(p))
    expect(await ok(['canister', 'call', canister, 'inc'])).toBe('(3 : nat)')
    expect(await ok(['stop'])).toMatch(/Stopped 1 node/)
  }, 40_000)

  it('identities: new, use, whoami, get-principal, export/import keep the principal', async () => {
    const alice = await ok(['identity', 'new', 'alice'], root)
    expect(alice).toMatch(/^[a-z0-9-]+$/)
    await ok(['identity', 'use', 'alice'], root)
    expect(await ok(['identity', 'whoami'], root)).toBe('alice')
    expect(await ok(['identity', 'get-principal'], root)).toBe(alice)
    const pem = await ok(['identity', 'export', 'alice'], root)
    expect(pem).toMatch(/^-----BEGIN PRIVATE KEY-----\n[A-Za-z0-9+/=\n]+\n-----END PRIVATE KEY-----$/)
    writeFileSync(join(root, 'alice.pem'), pem + '\n')
    expect(await ok(['identity', 'import', 'bob', join(root, 'alice.pem')], root)).toBe(alice)
    expect(await ok(['identity', 'get-principal', '--identity', 'bob'], root)).toBe(alice)
    expect((await ok(['identity', 'list'], root)).split('\n')).toEqual(['alice *', 'anonymous', 'bob', 'default'])
    expect(await ok(['identity', 'get-principal', '--identity', 'anonymous'], root)).toBe('2vxsx-fae')
    expectUserError(await capsa(['identity', 'new', 'alice'], root), /already exists/)
    expectUserError(await capsa(['identity', 'get-principal', '--identity', 'carol'], root), /no identity named "carol"/)
  }, 30_000)
})
