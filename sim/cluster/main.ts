// Replays one simulated cluster run, or sweeps a range of seeds:
//   node sim/cluster/main.ts --seed 17
//   node sim/cluster/main.ts --sweep 0..200 [--heights 8] [--horizon 6000]
// A failure prints its seed; `--seed N` replays it exactly.

import { describePlan, planScenario, runScenario } from './scenario.ts'

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(name)
  return i >= 0 ? process.argv[i + 1] : undefined
}

const heights = Number(arg('--heights') ?? 8)
const horizon = Number(arg('--horizon') ?? 6000)
const verbose = process.argv.includes('--verbose')
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
  console.log(line)
  if (verbose) console.log(r.cluster.summary())
  if (!r.ok) {
    failed.push(seed)
    console.log(r.error)
    console.log(`replay: node sim/cluster/main.ts --seed ${seed} --heights ${heights} --horizon ${horizon}`)
  }
}
if (seeds.length > 1) console.log(`${seeds.length - failed.length}/${seeds.length} seeds passed${failed.length ? `; failed: ${failed.join(' ')}` : ''}`)
process.exit(failed.length === 0 ? 0 : 1)
