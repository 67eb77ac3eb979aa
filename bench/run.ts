// Runs every benchmark (`bench/**/*.bench.ts`) in its own process, so one benchmark's heap and JIT
// state cannot skew another's. `--smoke` (or CAPSA_BENCH_SMOKE=1) runs each one briefly, as CI does.
// A benchmark name filter may follow: `npm run bench -- crypto`.

import { spawnSync } from 'node:child_process'
import { readdirSync, statSync } from 'node:fs'
import { join, relative } from 'node:path'

const root = new URL('.', import.meta.url).pathname
const args = process.argv.slice(2)
const smoke = args.includes('--smoke') || process.env.CAPSA_BENCH_SMOKE === '1'
const filters = args.filter((a) => !a.startsWith('--'))

function find(dir: string): string[] {
  const out: string[] = []
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name)
    if (statSync(p).isDirectory()) out.push(...find(p))
    else if (name.endsWith('.bench.ts')) out.push(p)
  }
  return out
}

const files = find(root).filter((f) => filters.length === 0 || filters.some((x) => relative(root, f).includes(x)))
let passed = 0
let failed = 0
for (const file of files) {
  const name = relative(root, file)
  console.log(`\n### bench ${name}`)
  const r = spawnSync(process.execPath, [file], {
    stdio: 'inherit',
    env: { ...process.env, CAPSA_BENCH_SMOKE: smoke ? '1' : '0' },
    timeout: smoke ? 300_000 : 3_600_000,
  })
  if (r.status === 0) passed++
  else {
    failed++
    console.log(`bench ${name} FAILED (exit ${r.status ?? r.signal})`)
  }
}
console.log(`\nbenchmarks: ${passed} passed, ${failed} failed`)
process.exit(failed === 0 ? 0 : 1)
