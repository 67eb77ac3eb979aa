import { describe, expect, it } from 'vitest'
import { spawnSync } from 'node:child_process'
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

const script = new URL('../scripts/check-boundaries.ts', import.meta.url).pathname

function check(files: Record<string, string>): { code: number | null; out: string } {
  const dir = mkdtempSync(join(tmpdir(), 'capsa-boundaries-'))
  try {
    for (const [path, text] of Object.entries(files)) {
      mkdirSync(join(dir, path, '..'), { recursive: true })
      writeFileSync(join(dir, path), text)
    }
    const r = spawnSync(process.execPath, [script, '--root', dir], { encoding: 'utf8' })
    return { code: r.status, out: r.stdout + r.stderr }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

describe('check:boundaries', () => {
  it('passes the repository itself', () => {
    const r = spawnSync(process.execPath, [script], { encoding: 'utf8' })
    expect(r.stderr).toBe('')
    expect(r.status).toBe(0)
  })

  it('accepts allowed directions and bans mentioned only in comments or strings', () => {
    const r = check({
      'protocol/a.ts': 'export const a = 1\n',
      'execution/b.ts': "import { a } from '../protocol/a.ts'\n// Date.now() is banned here\nconst s = 'Math.random'\n",
      'node/c.ts': "import '../execution/b.ts'\nconst t = Date.now()\n",
    })
    expect(r.out).toContain('hold')
    expect(r.code).toBe(0)
  })

  it('rejects an import against the direction, naming the rule', () => {
    const r = check({ 'consensus/x.ts': "import { y } from '../execution/y.ts'\n", 'execution/y.ts': 'export const y = 1\n' })
    expect(r.code).toBe(1)
    expect(r.out).toMatch(/consensus\/x\.ts: imports \.\.\/execution\/y\.ts — consensus\/ may import protocol\/ only/)
  })

  it('rejects each nondeterministic source in replicated folders', () => {
    const r = check({
      'state/s.ts': [
        'const a = Date.now()',
        'const b = performance.now()',
        'const c = Math.random()',
        "import { randomBytes } from 'node:crypto'",
        'setTimeout(() => {}, 1)',
        'const e = process.env.X',
        "import { readFileSync } from 'node:fs'",
      ].join('\n'),
    })
    expect(r.code).toBe(1)
    for (const what of ['Date', 'performance.now', 'Math.random', 'crypto randomness', 'timers', 'process state', 'I/O module']) {
      expect(r.out).toContain(what)
    }
    expect(r.out.match(/state\/s\.ts:\d+/g)?.length).toBe(7)
  })
})
