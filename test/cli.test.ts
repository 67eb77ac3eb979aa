// The capsa CLI driven as a user drives it, each command a child process in a fresh directory with its
// own CAPSA_HOME: new (motoko) -> start -> deploy -> call -> edit + deploy (upgrade keeps the count)
// -> stop -> start (state kept) -> call -> stop; the AssemblyScript template the same way; canister
// info; generate (bindings that type-check and call the canister); a dfx.json project; a module over
// 2 MiB installed in chunks; identities; user errors without stack traces. One network serves all.

import { afterAll, describe, expect, it } from 'vitest'
import { execFile } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'

const REPO = resolve(import.meta.dirname, '..')
const MAIN = join(REPO, 'sdk', 'cli', 'main.ts')
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

const net = ['--network-dir', join(project, '.capsa', 'network')]
const BIG_DATA_BYTES = 2_621_440

/** A module with an n-byte data segment whose last 4 bytes are n as LEB128; `size` replies (n : nat). */
async function bigModule(n: number): Promise<Uint8Array> {
  const data = new Uint8Array(n)
  let x = 12345
  for (let i = 0; i < n - 4; i++) data[i] = (x = (Math.imul(x, 1103515245) + 12345) >>> 0) >>> 24 // incompressible
  data.set([(n & 0x7f) | 0x80, ((n >> 7) & 0x7f) | 0x80, ((n >> 14) & 0x7f) | 0x80, (n >> 21) & 0x7f], n - 4)
  const bytes = Array.from(data, (b) => `\\${b.toString(16).padStart(2, '0')}`).join('')
  const { default: wabtInit } = await import('wabt')
  const mod = (await wabtInit()).parseWat('big.wat', `(module
    (import "ic0" "msg_reply_data_append" (func $append (param i32 i32)))
    (import "ic0" "msg_reply" (func $reply))
    (memory ${Math.ceil((n + 16) / 65536)})
    (data (i32.const 0) "DIDL\\00\\01\\7d")
    (data (i32.const 16) "${bytes}")
    (func (export "canister_query size")
      (call $append (i32.const 0) (i32.const 7))
      (call $append (i32.const ${16 + n - 4}) (i32.const 4))
      (call $reply)))`)
  try {
    return new Uint8Array(mod.toBinary({}).buffer)
  } finally {
    mod.destroy()
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
  }, 120_000)

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
  }, 60_000)

  it('canister info reports certified controllers and module hash; --history the changes (canister_info through the proxy)', async () => {
    const status = JSON.parse(await ok(['canister', 'status', canister, '--json'])) as { module_hash: string; controllers: string[] }
    // Plain info reads the certified state tree, as dfx does: no proxy canister is made for it.
    const certified = await capsa(['canister', 'info', canister])
    expect(certified.code, certified.stderr).toBe(0)
    expect(certified.stdout.trim()).toBe(`Controllers: ${status.controllers.join(' ')}\nModule hash: 0x${status.module_hash}`)
    expect(certified.stderr).not.toMatch(/proxy/)
    const first = await capsa(['canister', 'info', canister, '--history', '--json'])
    expect(first.code, first.stderr).toBe(0)
    expect(first.stderr).toMatch(/Setting up the proxy canister/)
    const info = JSON.parse(first.stdout) as { module_hash: string; controllers: string[]; total_num_changes: string; recent_changes: { kind: string; canister_version: string; details: { mode?: Record<string, null>; module_hash?: string; controllers?: string[] } }[] }
    expect(info.module_hash).toBe(status.module_hash)
    expect(info.controllers).toEqual(status.controllers)
    // create, install, upgrade, then update-settings added a controller and removed it again
    expect(info.total_num_changes).toBe('5')
    expect(info.recent_changes.map((c) => c.kind)).toEqual(['creation', 'code_deployment', 'code_deployment', 'controllers_change', 'controllers_change'])
    expect(info.recent_changes.map((c) => Object.keys(c.details.mode ?? {})[0])).toEqual([undefined, 'install', 'upgrade', undefined, undefined])
    expect(info.recent_changes[2].details.module_hash).toBe(status.module_hash)
    expect(info.recent_changes[3].details.controllers).toContain('2vxsx-fae')
    expect(info.recent_changes[4].details.controllers).toEqual(status.controllers)
    // The text form, by id; the proxy made the first time is used again.
    const id = await ok(['canister', 'id', canister])
    const text = await capsa(['canister', 'info', id, '--history'])
    expect(text.code, text.stderr).toBe(0)
    expect(text.stderr).not.toMatch(/Setting up/)
    expect(text.stdout).toContain(`Controllers: ${status.controllers.join(' ')}\nModule hash: 0x${status.module_hash}\nTotal changes: 5\nRecent changes:`)
    expect(text.stdout).toMatch(/version \d+ {2}code upgrade, module hash 0x[0-9a-f]{64} {2}\(by user [a-z0-9-]+\)/)
  }, 60_000)

  it('generate writes bindgen TypeScript bindings that type-check and call the canister', async () => {
    const r = JSON.parse(await ok(['generate', canister, '--json'])) as { dir: string; generated: { name: string; files: string[] }[] }
    expect(r.dir).toBe(join(project, 'src', 'bindings'))
    expect(r.generated[0].files).toEqual(['src/bindings/demo_backend.did', 'src/bindings/demo_backend.ts', 'src/bindings/declarations/demo_backend.did.ts'])
    expect(await ok(['generate', '--help'])).toMatch(/src\/bindings/)
    // A consumer as a user writes it; the @ts-expect-error fails the check if the bindings lost their types.
    symlinkSync(join(REPO, 'node_modules'), join(project, 'node_modules'))
    writeFileSync(join(project, 'tsconfig.json'), JSON.stringify({ compilerOptions: { target: 'es2022', module: 'esnext', moduleResolution: 'bundler', strict: true, noEmit: true, skipLibCheck: true, types: [] }, include: ['src/**/*.ts'] }))
    writeFileSync(join(project, 'src', 'use.ts'), [
      "import { createActor } from './bindings/demo_backend'",
      "const actor = createActor('aaaaa-aa', { agentOptions: { host: 'http://127.0.0.1:1' } })",
      'export const n: Promise<bigint> = actor.inc()',
      "export const t: Promise<string> = actor.greet('x')",
      '// @ts-expect-error greet takes text',
      'actor.greet(42)',
    ].join('\n'))
    const tsc = await new Promise<Run>((res) => execFile(process.execPath, [join(REPO, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', project], { timeout: 60_000 }, (err, stdout, stderr) => res({ code: err === null ? 0 : 1, stdout, stderr })))
    expect(tsc.code, tsc.stdout + tsc.stderr).toBe(0)
    // The bindings call the running canister.
    const net = JSON.parse(readFileSync(join(project, '.capsa', 'network', 'network.json'), 'utf8')) as { rootKey: string; nodes: { url: string }[] }
    const { createActor } = (await import(join(project, 'src', 'bindings', 'demo_backend.ts'))) as { createActor: (id: string, o: object) => { get(): Promise<bigint>; greet(n: string): Promise<string> } }
    const actor = createActor(await ok(['canister', 'id', canister]), { agentOptions: { host: net.nodes[0].url, rootKey: new Uint8Array(Buffer.from(net.rootKey, 'hex')) } })
    expect(await actor.get()).toBe(2n)
    expect(await actor.greet('bindings')).toBe('Hi, bindings!')
  }, 60_000)

  it('an existing dfx.json project (Motoko, init_arg) deploys unchanged', async () => {
    const dfx = join(root, 'dfx-project')
    mkdirSync(join(dfx, 'src'), { recursive: true })
    writeFileSync(join(dfx, 'dfx.json'), JSON.stringify({ version: 1, canisters: { hello: { type: 'motoko', main: 'src/hello.mo', init_arg: '("Howdy")' } } }))
    writeFileSync(join(dfx, 'src', 'hello.mo'), 'persistent actor class Hello(greeting : Text) { public query func hi(n : Text) : async Text { greeting # ", " # n } }')
    const r = await capsa(['deploy', ...net], dfx)
    expect(r.code, r.stderr).toBe(0)
    expect(r.stdout).toMatch(/hello: [a-z0-9-]+-cai \(install\)/)
    expect(await ok(['canister', 'call', 'hello', 'hi', '("dfx")', ...net], dfx)).toBe('("Howdy, dfx")')
  }, 60_000)

  it('the assemblyscript template deploys, and an upgrade keeps its stable-memory count', async () => {
    await ok(['new', 'asdemo', '--template', 'assemblyscript'], root)
    const dir = join(root, 'asdemo')
    const r = await capsa(['deploy', ...net], dir)
    expect(r.code, r.stderr).toBe(0)
    expect(r.stderr).toMatch(/Building canister asdemo_backend \(AssemblyScript\)/)
    expect(await ok(['canister', 'call', 'asdemo_backend', 'inc', ...net], dir)).toBe('(1 : nat)')
    const up = JSON.parse(await ok(['deploy', '--mode', 'upgrade', '--upgrade-unchanged', '--json', ...net], dir))
    expect(up.canisters[0].action).toBe('upgrade')
    expect(await ok(['canister', 'call', 'asdemo_backend', 'inc', ...net], dir)).toBe('(2 : nat)')
  }, 60_000)

  // Over 2 MiB: deploy goes through upload_chunk/install_chunked_code. The bulk is a data segment (a
  // custom section that large is refused), and the method replies with bytes from its far end.
  it('a module over 2 MiB deploys in chunks and answers', async () => {
    const dir = join(root, 'big')
    mkdirSync(dir)
    writeFileSync(join(dir, 'big.wasm'), await bigModule(BIG_DATA_BYTES))
    writeFileSync(join(dir, 'big.did'), 'service : { size : () -> (nat) query }\n')
    writeFileSync(join(dir, 'capsa.json'), JSON.stringify({ canisters: { big: { type: 'custom', wasm: 'big.wasm', candid: 'big.did' } } }))
    const r = await capsa(['deploy', ...net], dir)
    expect(r.code, r.stderr).toBe(0)
    expect(r.stderr).toMatch(/uploading chunk 3 of 3/)
    expect(r.stdout).toMatch(/big: [a-z0-9-]+-cai \(install\)/)
    expect(await ok(['canister', 'call', 'big', 'size', ...net], dir)).toBe('(2_621_440 : nat)')
  }, 60_000)

  it('user errors say what happened and what to do, exit 1, without a stack', async () => {
    const nobody = 'hdjeo-vyaaa-aaaaa-aapua-cai' // canister 1000: never created here
    const [noMethod, badArg, unknownCmd, subnets, noCanister, noInfo] = await Promise.all([
      capsa(['canister', 'call', canister, 'nope']),
      capsa(['canister', 'call', canister, 'greet', '(42)']),
      capsa(['frobnicate']),
      capsa(['start', '--subnets', '2', '--background']),
      capsa(['canister', 'call', nobody, 'get', '--update', '--candid', join(project, 'src', 'bindings', `${canister}.did`)]),
      capsa(['canister', 'info', nobody, '--history']),
    ])
    expectUserError(subnets, /--subnets 2: only one subnet is supported for now/)
    // Refused before consensus: an answer at once, not a wait for a status that never comes.
    expectUserError(noCanister, /the call to get was rejected \(reject code 3, IC0301\): Canister hdjeo-vyaaa-aaaaa-aapua-cai not found/)
    expectUserError(noInfo, /canister_info of hdjeo-vyaaa-aaaaa-aapua-cai was rejected \(reject code 3\): Canister hdjeo-vyaaa-aaaaa-aapua-cai not found/)
    expect(noInfo.stderr).not.toMatch(/Setting up the proxy/)
    expectUserError(await capsa(['canister', 'info', nobody]), /canister hdjeo-vyaaa-aaaaa-aapua-cai does not exist on this network/)
    expectUserError(noMethod, /has no method "nope"/)
    expect(noMethod.stderr).toMatch(/its methods: get, greet, inc/)
    expectUserError(badArg, /argument of greet/)
    expectUserError(unknownCmd, /unknown command "frobnicate"/)
    const outside = await capsa(['deploy'], root)
    expectUserError(outside, /no capsa.json or dfx.json/)
  }, 45_000)

  it('stop ends every node; status reports it', async () => {
    expect(await ok(['stop'])).toMatch(/Stopped 1 node/)
    expect([...seen].some(alive)).toBe(false)
    const s = await capsa(['status', '--json'])
    expect(s.code).toBe(1)
    expect(JSON.parse(s.stdout).running).toBe(false)
    expectUserError(await capsa(['canister', 'call', canister, 'get']), /local network is not running/)
  }, 30_000)

  // Every node of the subnet restarts at once: each resumes from its CUP and the consensus artifacts
  // it persisted above it, and the canister's state comes back from the checkpoint plus replay.
  it('start again (--subnets 1): the canisters and their counts are still there', async () => {
    await ok(['start', '--background', '--subnets', '1'])
    pids().forEach((p) => seen.add(p))
    const as = join(root, 'asdemo')
    const [motoko, asCount, big] = await Promise.all([
      ok(['canister', 'call', canister, 'inc']),
      ok(['canister', 'call', 'asdemo_backend', 'inc', ...net], as),
      ok(['canister', 'call', 'big', 'size', ...net], join(root, 'big')),
    ])
    expect(motoko).toBe('(3 : nat)')
    expect(asCount).toBe('(3 : nat)') // the AssemblyScript counter's stable memory came back too
    expect(big).toBe('(2_621_440 : nat)')
    expect(await ok(['stop'])).toMatch(/Stopped 1 node/)
  }, 90_000)

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
  }, 45_000)
})
