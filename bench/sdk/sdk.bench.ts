// The CLI as a user meets it: `capsa start` of a 4-node network until it is ready (every node
// certifying), `capsa deploy` of the quickstart Motoko counter (compile, create, install), and the
// round trip of one `capsa canister call` (process start, agent, certified reply, Candid output).
// Goal (Capsa issue 7): start to ready ≤ 3 s for 4 nodes. Every process started here is stopped.

import { spawnSync } from 'node:child_process'
import { cpSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { against, fmt, header, smoke } from '../harness.ts'
import { killProjectNetwork } from '../../test/support/local-subnet.ts'

header('sdk: the capsa CLI against a local 4-node network')

const ROOT = resolve(import.meta.dirname, '..', '..')
const dir = mkdtempSync(join(tmpdir(), 'capsa-sdk-bench-'))
const project = join(dir, 'quickstart')
const env = { ...process.env, CAPSA_HOME: join(dir, 'home') }
cpSync(join(ROOT, 'canisters', 'quickstart'), project, { recursive: true, filter: (src) => !src.includes('.capsa') })

function capsa(args: string[]): { ms: number; stdout: string } {
  const t0 = performance.now()
  const r = spawnSync(process.execPath, [join(ROOT, 'sdk', 'cli', 'main.ts'), ...args], { cwd: project, env, encoding: 'utf8', timeout: 120_000 })
  const ms = performance.now() - t0
  if (r.status !== 0) throw new Error(`capsa ${args.join(' ')} failed (${r.status}): ${r.stdout}${r.stderr}`)
  return { ms, stdout: r.stdout }
}

try {
  const start = capsa(['start', '--background', '--nodes', '4'])
  against('capsa start --nodes 4, until every node certifies', start.ms / 1000, 's', 3, false)
  const deploy = capsa(['deploy'])
  console.log(`capsa deploy of the Motoko counter (compile, create, install): ${fmt(deploy.ms / 1000)} s`)
  const calls: number[] = []
  for (let i = 0; i < (smoke ? 2 : 10); i++) calls.push(capsa(['canister', 'call', 'counter', 'inc']).ms)
  calls.sort((a, b) => a - b)
  console.log(`capsa canister call counter inc, round trip (new process each): p50 ${fmt(calls[Math.floor(calls.length / 2)])} ms, min ${fmt(calls[0])} ms, n=${calls.length}`)
  const queries: number[] = []
  for (let i = 0; i < (smoke ? 2 : 10); i++) queries.push(capsa(['canister', 'call', 'counter', 'get', '--query']).ms)
  queries.sort((a, b) => a - b)
  console.log(`capsa canister call counter get --query, round trip: p50 ${fmt(queries[Math.floor(queries.length / 2)])} ms`)
} finally {
  try {
    capsa(['stop'])
  } catch {
    killProjectNetwork(project) // stop failed: no node outlives the benchmark
  }
  rmSync(dir, { recursive: true, force: true })
}
