// The README's main command: `npm start` starts a local 4-node network, deploys the quickstart counter,
// calls it and prints how to call it; `npm stop` stops it. Run here on a copy of the project.

import { afterAll, describe, expect, it } from 'vitest'
import { spawnSync } from 'node:child_process'
import { cpSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { killProjectNetwork } from './support/local-subnet.ts'

const ROOT = resolve(import.meta.dirname, '..')
const dir = mkdtempSync(join(tmpdir(), 'capsa-quickstart-'))
const project = join(dir, 'quickstart')
const env = { ...process.env, CAPSA_HOME: join(dir, 'home') }
const run = (args: string[]) => spawnSync(process.execPath, [join(ROOT, 'scripts', 'start.ts'), '--project', project, ...args], { env, encoding: 'utf8', timeout: 150_000 })

afterAll(() => {
  // Whatever happened, no node keeps running.
  killProjectNetwork(project)
  rmSync(dir, { recursive: true, force: true })
})

describe('npm start', () => {
  it('starts a 4-node network, deploys the counter, calls it, and says how to call it; npm stop stops it', () => {
    cpSync(join(ROOT, 'canisters', 'quickstart'), project, { recursive: true, filter: (src) => !src.includes('.capsa') })
    const started = run([])
    expect(started.status, started.stdout + started.stderr).toBe(0)
    expect(started.stdout).toContain('(1 : nat)')
    expect(started.stdout).toContain('("Hello, world!")')
    expect(started.stdout).toMatch(/npx capsa canister call counter inc/)
    const stopped = run(['--stop'])
    expect(stopped.status, stopped.stdout + stopped.stderr).toBe(0)
    expect(stopped.stdout).toMatch(/Stopped 4 node\(s\)/)
  }, 160_000)
})
