// The replicated round: (1) update messages per second through executeRound for a Motoko counter
// (batches of anonymous ingress), (2) the per-message cost of an update that writes one heap page,
// with a 1 MiB heap vs a 1 GiB heap (target ≤ 1.1×: the cost must follow the pages written, not the
// heap size). Smoke mode uses 64 MiB instead of 1 GiB and a few batches.

import { against, fmt, header, smoke } from '../harness.ts'
import { encodeCandid } from '../../protocol/candid.ts'
import type { IngressMessage } from '../../protocol/consensus-types.ts'
import { compileMotoko, MOTOKO_COUNTER } from '../../sim/motoko.ts'
import { wat } from '../../execution/test-canister.ts'
import { anonymousIngress, RoundDriver } from '../../execution/scheduler-testing.ts'

header('execution: executeRound')

const EMPTY = encodeCandid([], [])
let nonce = 0

function batch(canisterId: Uint8Array, method: string, n: number): IngressMessage[] {
  return Array.from({ length: n }, () => anonymousIngress({ canisterId, method, arg: EMPTY, nonce: nonce++ }))
}

/** Runs batches of `perBatch` messages for at least `minMs` (smoke: 2 batches); building the
 *  envelopes is left out of the time. Returns ms per message. */
function perMessage(name: string, d: RoundDriver, id: Uint8Array, method: string, perBatch: number, minMs: number): number {
  d.round(batch(id, method, perBatch)) // warm-up
  let ns = 0n
  let messages = 0
  let batches = 0
  while (smoke ? batches < 2 : ns < BigInt(minMs) * 1_000_000n || batches < 3) {
    const msgs = batch(id, method, perBatch)
    const t0 = process.hrtime.bigint()
    const r = d.round(msgs)
    ns += process.hrtime.bigint() - t0
    if (r.pendingMessages !== 0) throw new Error(`${r.pendingMessages} messages left over`)
    const last = d.status(msgs[msgs.length - 1].id)
    if (last?.status !== 'replied') throw new Error(`last message not replied: ${JSON.stringify(last)}`)
    messages += perBatch
    batches++
  }
  const ms = Number(ns) / 1e6 / messages
  console.log(`${name.padEnd(56)} ${fmt(1000 / ms).padStart(12)} msg/s ${ms.toFixed(4).padStart(10)} ms/msg  (${batches} batches of ${perBatch})`)
  return ms
}

// (1) Motoko counter
for (const mode of ['classic', 'eop'] as const) {
  const d = new RoundDriver()
  const id = d.createCanister()
  const installed = d.install(id, compileMotoko(MOTOKO_COUNTER, mode).wasm)
  if (installed.status !== 'replied') throw new Error(`install failed: ${JSON.stringify(installed)}`)
  for (const n of smoke ? [100] : [100, 500]) {
    const ms = perMessage(`motoko counter inc (${mode}), ${n}/batch`, d, id, 'inc', n, 2000)
    if (n === 500) against(`counter updates/s through executeRound (${mode})`, 1000 / ms, 'msg/s', 1000, true)
  }
}

// (2) one dirty page per message, small vs large heap. The page written moves through 128 pages
// and a global counts messages, so every message dirties exactly one heap page.
const pageWriter = (extraPages: number) => wat(`(module
  (import "ic0" "msg_reply" (func $reply))
  (memory 16)
  (global $n (mut i32) (i32.const 0))
  (func (export "canister_init") (drop (memory.grow (i32.const ${extraPages}))))
  (func (export "canister_update write")
    (global.set $n (i32.add (global.get $n) (i32.const 1)))
    (i32.store (i32.mul (i32.add (i32.const 1) (i32.and (global.get $n) (i32.const 127))) (i32.const 4096)) (global.get $n))
    (call $reply)))`)

const bigMiB = smoke ? 64 : 1024
const heaps = [1, bigMiB]
const drivers: { d: RoundDriver; id: Uint8Array; samples: number[] }[] = []
for (const mib of heaps) {
  const d = new RoundDriver()
  const id = d.createCanister()
  const installed = d.install(id, await pageWriter(mib * 16 - 16), new Uint8Array(0))
  if (installed.status !== 'replied') throw new Error(`install failed: ${JSON.stringify(installed)}`)
  d.round(batch(id, 'write', 100)) // warm-up
  drivers.push({ d, id, samples: [] })
}
// Alternate the two canisters batch by batch and compare medians, so load from other processes on
// the shared cores hits both cases alike.
const rounds = smoke ? 2 : 150
for (let i = 0; i < rounds; i++) {
  for (const x of drivers) {
    const msgs = batch(x.id, 'write', 100)
    const t0 = process.hrtime.bigint()
    const r = x.d.round(msgs)
    x.samples.push(Number(process.hrtime.bigint() - t0) / 1e6 / msgs.length)
    if (r.pendingMessages !== 0 || x.d.status(msgs[msgs.length - 1].id)?.status !== 'replied') throw new Error('page writer did not reply')
  }
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1]
const costs = drivers.map((x, i) => {
  const ms = median(x.samples)
  console.log(`${`write one page, ${heaps[i]} MiB heap (median of ${x.samples.length} batches)`.padEnd(56)} ${fmt(1000 / ms).padStart(12)} msg/s ${ms.toFixed(4).padStart(10)} ms/msg`)
  return ms
})
against(`one-page update: ${bigMiB} MiB heap vs 1 MiB heap`, costs[1] / costs[0], '×', 1.1, false)
