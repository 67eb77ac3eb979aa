// Random scenarios drawn from a seed: subnet size, link behaviour, up to f faulty nodes (crashes,
// crash-and-restart, silence, equivocation, conflicting shares, bad signatures) and at most one
// partition that heals. Safety is checked throughout; liveness is required once faults settle.

import type { Behaviour } from './byzantine.ts'
import { Cluster, InvariantViolation } from './cluster.ts'
import type { DelayDistribution } from './network.ts'
import { SimRng } from './rng.ts'

export type Fault = Exclude<Behaviour, 'honest'> | 'crash' | 'crashRestart'

export interface ScenarioPlan {
  readonly seed: number
  readonly n: number
  readonly delay: DelayDistribution
  readonly loss: number
  readonly duplication: number
  readonly faults: readonly { readonly node: number; readonly fault: Fault; readonly atMs: number; readonly restartMs: number }[]
  readonly partition?: { readonly groups: number[][]; readonly atMs: number; readonly healMs: number }
  readonly targetHeight: number
  /** Local clock offset per node (ms): block times and delays follow each node's own clock. */
  readonly skewMs: readonly number[]
}

export interface ScenarioResult {
  readonly plan: ScenarioPlan
  readonly ok: boolean
  readonly error?: string
  readonly reached: bigint
  readonly virtualMs: number
  readonly wallMs: number
  readonly cluster: Cluster
}

const FAULTS: readonly Fault[] = ['crash', 'crashRestart', 'silent', 'equivocate', 'conflictingShares', 'badSignatures']

/** `horizonMs` is the window in which faults start; smaller horizons make quicker runs. */
export function planScenario(seed: number, targetHeight = 8, horizonMs = 6000): ScenarioPlan {
  const r = new SimRng(BigInt(seed) ^ 0x5eed5eedn)
  const n = r.pick([4, 4, 4, 7])
  const f = Math.floor((n - 1) / 3)
  const delay: DelayDistribution = r.pick<DelayDistribution>([
    { kind: 'uniform', minMs: 1, maxMs: 50 },
    { kind: 'exponential', minMs: 1, meanExtraMs: 40 },
    { kind: 'fixed', ms: 5 },
    { kind: 'uniform', minMs: 20, maxMs: 300 },
  ])
  const loss = r.pick([0, 0, 0.02, 0.1])
  const duplication = r.pick([0, 0, 0.05])
  const nodes = Array.from({ length: n }, (_, i) => i)
  for (let i = n - 1; i > 0; i--) {
    const j = r.below(i + 1)
    ;[nodes[i], nodes[j]] = [nodes[j], nodes[i]]
  }
  const k = r.below(f + 1)
  const faults = nodes.slice(0, k).map((node) => ({ node, fault: r.pick(FAULTS), atMs: r.below(horizonMs), restartMs: Math.floor(horizonMs / 2) + r.below(horizonMs * 3) }))
  let partition: ScenarioPlan['partition']
  if (r.chance(0.3)) {
    const cut = 1 + r.below(n - 1)
    partition = { groups: [nodes.slice(0, cut).sort(), nodes.slice(cut).sort()], atMs: 500 + r.below(horizonMs), healMs: Math.floor(horizonMs / 3) + r.below(horizonMs * 2) }
  }
  const skewMs = nodes.map(() => r.pick([0, 0, 0, 40, -40, 300]))
  return { seed, n, delay, loss, duplication, faults, partition, targetHeight, skewMs }
}

export function describePlan(p: ScenarioPlan): string {
  const d = p.delay.kind === 'fixed' ? `${p.delay.ms}ms` : p.delay.kind === 'uniform' ? `${p.delay.minMs}-${p.delay.maxMs}ms` : `${p.delay.minMs}+exp(${p.delay.meanExtraMs})ms`
  const faults = p.faults.map((x) => `${x.node}:${x.fault}@${x.atMs}${x.fault === 'crashRestart' ? `→${x.atMs + x.restartMs}` : ''}`).join(',') || 'none'
  const part = p.partition ? ` partition ${JSON.stringify(p.partition.groups)}@${p.partition.atMs}+${p.partition.healMs}` : ''
  const skew = p.skewMs.some((x) => x !== 0) ? ` skew=${p.skewMs.join('/')}ms` : ''
  return `n=${p.n} delay=${d} loss=${p.loss} dup=${p.duplication} faults=${faults}${part}${skew}`
}

export function runScenario(plan: ScenarioPlan, { maxMs = 180_000 }: { maxMs?: number } = {}): ScenarioResult {
  const start = performance.now()
  const cluster = new Cluster({ n: plan.n, seed: plan.seed, network: { delay: plan.delay, loss: plan.loss, duplication: plan.duplication }, ingressEveryMs: 400 })
  const q = cluster.queue
  plan.skewMs.forEach((ms, i) => (cluster.node(i).skewNs = BigInt(ms) * 1_000_000n))
  const ms = (x: number) => BigInt(x) * 1_000_000n
  for (const x of plan.faults) {
    const node = cluster.node(x.node)
    if (x.fault === 'crash' || x.fault === 'crashRestart') {
      q.schedule(ms(x.atMs), () => node.crash())
      if (x.fault === 'crashRestart') q.schedule(ms(x.atMs + x.restartMs), () => node.restart())
    } else q.schedule(ms(x.atMs), () => node.byzantine(x.fault as Behaviour))
  }
  if (plan.partition) {
    const p = plan.partition
    q.schedule(ms(p.atMs), () => cluster.partition(...p.groups))
    q.schedule(ms(p.atMs + p.healMs), () => cluster.heal())
  }
  let error: string | undefined
  let ok = false
  try {
    // Let every scheduled fault happen, then demand progress beyond the target.
    const settle = Math.max(0, ...plan.faults.map((x) => x.atMs + (x.fault === 'crashRestart' ? x.restartMs : 0)), plan.partition ? plan.partition.atMs + plan.partition.healMs : 0)
    cluster.runFor(settle + 1)
    const target = BigInt(plan.targetHeight) + cluster.maxDelivered()
    ok = cluster.runUntil(target, { maxMs })
    if (!ok) error = `liveness: live honest nodes did not all reach height ${target} within ${maxMs} ms virtual\n${cluster.summary()}`
  } catch (e) {
    error = e instanceof InvariantViolation ? e.message : `seed ${plan.seed}: ${(e as Error).stack ?? String(e)}`
  }
  return { plan, ok: ok && error === undefined, error, reached: cluster.minDelivered(), virtualMs: cluster.nowMs, wallMs: performance.now() - start, cluster }
}

/** Runs `count` planned scenarios from seed `from`; returns one line per failure, with its replay command. */
export function sweepFailures(from: number, count: number, heights = 3, horizonMs = 1500): string[] {
  const failures: string[] = []
  for (let seed = from; seed < from + count; seed++) {
    const plan = planScenario(seed, heights, horizonMs)
    const r = runScenario(plan, { maxMs: 120_000 })
    if (!r.ok) failures.push(`seed ${seed} (${describePlan(plan)}): ${r.error}\nreplay: npm run sim -- --seed ${seed} --heights ${heights} --horizon ${horizonMs}`)
  }
  return failures
}
