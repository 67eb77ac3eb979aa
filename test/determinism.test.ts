import { describe, expect, it } from 'vitest'
import { execFileSync } from 'node:child_process'
import { workloadDigest } from './determinism-workload.ts'

// Every node must reach the same state at every height: the same workload run twice in this process
// and once in a fresh process (new heap, new JIT tiering) must give a byte-identical digest of the
// ingress statuses and of every canister's memory, stable memory and globals.
describe('determinism of execution', () => {
  it('gives the same state digest twice in one process and in a separate process', async () => {
    const a = await workloadDigest()
    const b = await workloadDigest()
    expect(b).toBe(a)
    const script = new URL('./determinism-workload.ts', import.meta.url).pathname
    const c = execFileSync(process.execPath, [script], { encoding: 'utf8', timeout: 120_000 }).trim()
    expect(c).toBe(a)
  })
})
