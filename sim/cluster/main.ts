// Replays one simulated cluster run, or sweeps a range of seeds:
//   npm run sim -- --seed 17
//   npm run sim -- --sweep 0..200 [--heights 8] [--horizon 6000] [--quiet]
// A failure prints its seed; `--seed N` replays it exactly.

import { describePlan, planScenario, runScenario } from './scenario.ts'

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(name)
  return i >= 0 ? process.argv[i + 1] : undefined
}

const heights = Number(arg('--heights') ?? 8)
const horizon = Number(arg('--horizon') ?? 6000)
const verbose = process.argv.includes('--verbose')
// --quiet prints only failures and the summary (CI sweeps hundreds of seeds).
const quiet = process.argv.includes('--quiet')
let seeds: number[]
const sweep = arg('--sweep')
if (sweep !== undefined) {
  const m = /^(\d+)\.\.(\d+)$/.exec(sweep)
  if (m === null) {
    console.error('--sweep expects FROM..TO')
    process.exit(2)
  }
  seeds = []
  for (let s = Number(m[1]); s <= Number(m[2]); s++) seeds.push(s)
} else seeds = [Number(arg('--seed') ?? 0)]

const failed: number[] = []
for (const seed of seeds) {
  const plan = planScenario(seed, heights, horizon)
  const r = runScenario(plan)
  const line = `seed ${seed}: ${describePlan(plan)} → ${r.ok ? 'ok' : 'FAILED'} height=${r.reached} virtual=${(r.virtualMs / 1000).toFixed(1)}s wall=${(r.wallMs / 1000).toFixed(1)}s`
  if (!quiet || !r.ok) console.log(line)
  if (verbose) console.log(r.cluster.summary())
  if (!r.ok) {
    failed.push(seed)
    console.log(r.error)
    console.log(`replay: npm run sim -- --seed ${seed} --heights ${heights} --horizon ${horizon}`)
  }
}
if (seeds.length > 1) console.log(`${seeds.length - failed.length}/${seeds.length} seeds passed${failed.length ? `; failed: ${failed.join(' ')}` : ''}`)
process.exit(failed.length === 0 ? 0 : 1)
