import { describe, expect, it } from 'vitest'
import { sweepFailures } from './scenario.ts'

// Random scenarios (faults, partitions, Byzantine nodes), split over two files so they run in
// parallel; CI sweeps hundreds through `npm run sim -- --sweep`. A failure names its seed.
const SEEDS = Number(process.env.CAPSA_SIM_SEEDS ?? 12)
const FROM = 2000

describe('seed sweep', () => {
  it(`${SEEDS} random scenarios from seed ${FROM} keep safety and regain liveness`, () => {
    expect(sweepFailures(FROM, SEEDS)).toEqual([])
  })
})
