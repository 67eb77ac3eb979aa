// Checks the two structural rules of ARCHITECTURE.md that the type checker cannot see:
//   1. imports flow one way between component folders;
//   2. replicated folders never read the wall clock, randomness, timers, the environment or the disk,
//      because every node must reach the same state hash at every height.
// Test files (*.test.ts) are exempt: they drive components from outside and may use any helper.
// Prints every violation with the rule's reason; exits 1 if there is any.

import { readdirSync, readFileSync, statSync } from 'node:fs'
import { dirname, join, relative, resolve, sep } from 'node:path'

// `--root DIR` checks another tree (the checker's own test builds one with known violations).
const rootArg = process.argv.indexOf('--root')
const root = rootArg > 0 ? resolve(process.argv[rootArg + 1]) : resolve(dirname(new URL(import.meta.url).pathname), '..')

const mayImport: Record<string, string[]> = {
  protocol: [],
  execution: ['protocol'],
  state: ['protocol', 'execution'],
  consensus: ['protocol'],
  node: ['protocol', 'execution', 'state', 'consensus'],
  sim: ['protocol', 'execution', 'state', 'consensus'],
  sdk: ['protocol'],
  canisters: [],
  testnet: ['sdk', 'protocol'],
}
const replicated = new Set(['execution', 'state', 'consensus'])

interface Ban { pattern: RegExp; what: string }
const bans: Ban[] = [
  { pattern: /\bDate\b/, what: 'Date (wall clock): time arrives in the batch or through an injected Clock' },
  { pattern: /\bperformance\s*\.\s*now\b/, what: 'performance.now (wall clock): use the instruction counter or an injected Clock' },
  { pattern: /\bMath\s*\.\s*random\b/, what: 'Math.random: randomness arrives in the batch (random beacon) or through an injected Rng' },
  { pattern: /\brandom(Bytes|UUID|Int|Fill)\b|\bgetRandomValues\b/, what: 'crypto randomness: replicas would diverge; use the batch randomness or an injected Rng' },
  { pattern: /\bset(Timeout|Interval|Immediate)\b|\bqueueMicrotask\b/, what: 'timers: scheduling must depend on the block, not on timing' },
  { pattern: /\bprocess\s*\.\s*(env|hrtime|uptime|cpuUsage|memoryUsage)\b/, what: 'process state: configuration must be passed in explicitly, the same on every node' },
  { pattern: /from\s+['"](node:)?(fs|fs\/promises|net|http|https|http2|dgram|dns|child_process|os)['"]/, what: 'I/O module: only node/ does I/O; replicated code works on values' },
]

function files(dir: string): string[] {
  const out: string[] = []
  for (const name of readdirSync(dir)) {
    if (name === 'node_modules' || name.startsWith('.')) continue
    const p = join(dir, name)
    if (statSync(p).isDirectory()) out.push(...files(p))
    else if (/\.(ts|mts|js|mjs)$/.test(name) && !name.endsWith('.d.ts')) out.push(p)
  }
  return out
}

// Comments and string contents could mention banned names harmlessly; strip them before matching bans
// (import specifiers are read from the original text).
function stripCommentsAndStrings(src: string): string {
  return src
    .replace(/\/\*[\s\S]*?\*\//g, ' ')
    .replace(/(^|[^:\\])\/\/.*$/gm, '$1')
    .replace(/`(?:\\[\s\S]|[^`\\])*`/g, '``')
    .replace(/'(?:\\.|[^'\\\n])*'/g, "''")
    .replace(/"(?:\\.|[^"\\\n])*"/g, '""')
}

const importRe = /(?:import|export)\s[^'"]*?from\s*['"]([^'"]+)['"]|import\s*\(\s*['"]([^'"]+)['"]\s*\)|import\s+['"]([^'"]+)['"]/g

const violations: string[] = []
for (const component of Object.keys(mayImport)) {
  const dir = join(root, component)
  let list: string[]
  try { list = files(dir) } catch { continue }
  for (const file of list) {
    if (/\.test\.(ts|js)$/.test(file)) continue
    const rel = relative(root, file)
    const src = readFileSync(file, 'utf8')
    for (const m of src.matchAll(importRe)) {
      const spec = m[1] ?? m[2] ?? m[3]
      if (!spec || !spec.startsWith('.')) continue
      const target = relative(root, resolve(dirname(file), spec)).split(sep)[0]
      if (target === component || !(target in mayImport)) continue
      if (!mayImport[component].includes(target)) {
        violations.push(`${rel}: imports ${spec} — ${component}/ may import ${mayImport[component].length ? mayImport[component].join(', ') + '/' : 'nothing internal'} only (ARCHITECTURE.md: imports flow one way)`)
      }
    }
    if (!replicated.has(component)) continue
    const code = stripCommentsAndStrings(src)
    const lines = code.split('\n')
    const original = src.split('\n')
    lines.forEach((line, i) => {
      for (const ban of bans) {
        const target = ban.what.startsWith('I/O') ? original[i] : line
        if (ban.pattern.test(target)) violations.push(`${rel}:${i + 1}: ${ban.what} (replicated code must be deterministic)`)
      }
    })
  }
}

if (violations.length) {
  console.error(`check:boundaries: ${violations.length} violation(s)`)
  for (const v of violations) console.error(`  ${v}`)
  process.exit(1)
}
console.log('check:boundaries: import directions and determinism bans hold')
