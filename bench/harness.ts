// Shared helpers for benchmarks. Every benchmark is a `*.bench.ts` script run by `bench/run.ts` in
// its own Node process. With CAPSA_BENCH_SMOKE=1 (CI) each measurement runs briefly, to prove the
// benchmark still works, not to produce figures worth quoting.

export const smoke = process.env.CAPSA_BENCH_SMOKE === '1'

export interface Measurement {
  name: string
  ops: number
  seconds: number
  perSecond: number
  msPerOp: number
}

/** Runs `fn` repeatedly for at least `minMs` (smoke: a few iterations) and reports throughput. */
export async function measure(name: string, fn: () => unknown | Promise<unknown>, opts: { minMs?: number; minOps?: number; library?: string } = {}): Promise<Measurement> {
  const minMs = smoke ? 0 : (opts.minMs ?? 1500)
  const minOps = smoke ? 1 : (opts.minOps ?? 3)
  await fn() // warm-up
  let ops = 0
  const start = process.hrtime.bigint()
  let elapsedMs = 0
  while (ops < minOps || elapsedMs < minMs) {
    await fn()
    ops++
    elapsedMs = Number(process.hrtime.bigint() - start) / 1e6
  }
  const m = { name, ops, seconds: elapsedMs / 1000, perSecond: (ops * 1000) / elapsedMs, msPerOp: elapsedMs / ops }
  const lib = opts.library ? `  [${opts.library}]` : ''
  console.log(`${name.padEnd(56)} ${fmt(m.perSecond).padStart(12)} ops/s ${m.msPerOp.toFixed(3).padStart(10)} ms/op${lib}`)
  return m
}

/** Prints a figure against its target: `ratio` > 1 means better than the target when higherIsBetter. */
export function against(name: string, value: number, unit: string, target: number, higherIsBetter: boolean): void {
  const ok = higherIsBetter ? value >= target : value <= target
  const ratio = value / target
  console.log(`${name.padEnd(56)} ${fmt(value).padStart(12)} ${unit}  target ${higherIsBetter ? '≥' : '≤'} ${fmt(target)} ${unit}  ratio ${ratio.toFixed(2)} ${ok ? 'ok' : 'MISSED'}`)
}

export function fmt(n: number): string {
  if (n >= 100) return Math.round(n).toLocaleString('en-US')
  if (n >= 1) return n.toFixed(2)
  return n.toPrecision(3)
}

export function header(title: string): void {
  console.log(`\n== ${title}${smoke ? ' (smoke mode: figures not meaningful)' : ''}`)
  console.log(`node ${process.versions.node}, v8 ${process.versions.v8}`)
}
