import { describe, expect, it } from 'vitest'
import { describePlan, planScenario, runScenario } from './scenario.ts'

// Random scenarios (faults, partitions, Byzantine nodes), split over two files so they run in
// parallel; CI sweeps hundreds through `node sim/cluster/main.ts --sweep`. A failure names its seed.
const SEEDS = Number(process.env.CAPSA_SIM_SEEDS ?? 12)
const FROM = 1000

describe('seed sweep', () => {
  it(`${SEEDS} random scenarios from seed ${FROM} keep safety and regain liveness`, () => {
    const failures: string[] = []
    for (let seed = FROM; seed < FROM + SEEDS; seed++) {
      const plan = planScenario(seed, 3, 1500)
      const r = runScenario(plan, { maxMs: 120_000 })
      if (!r.ok) failures.push(`seed ${seed} (${describePlan(plan)}): ${r.error}\nreplay: node sim/cluster/main.ts --seed ${seed} --heights 3 --horizon 1500`)
    }
    expect(failures).toEqual([])
  })
})
