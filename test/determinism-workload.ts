// A fixed workload through executeRound whose outcome is reduced to one digest: the ingress statuses
// and every canister's heap, stable memory and globals after each round. Run directly, it prints the
// digest, so a test can compare a run in another process (fresh V8 heap, JIT and tiering state).

import { createHash } from 'node:crypto'
import { encodeCandid, IDL } from '../protocol/candid.ts'
import { principalToText } from '../protocol/principal.ts'
import { compileMotoko, MOTOKO_COUNTER as COUNTER } from '../sim/motoko.ts'
import { anonymousIngress, RoundDriver } from '../execution/scheduler-testing.ts'
import { wat } from '../execution/test-canister.ts'

const CALLER = `persistent actor {
  transient let ic = actor "aaaaa-aa" : actor { raw_rand : () -> async Blob };
  public func callInc(target : Text) : async Nat { await (actor (target) : actor { inc : () -> async Nat }).inc() };
  public func rand() : async Blob { await ic.raw_rand() };
}`
// Float results whose NaN bits differ by CPU unless canonicalized, written to the heap.
const FLOATS = `(module
  (import "ic0" "msg_reply" (func $reply))
  (memory 2)
  (func (export "canister_update nan")
    (f64.store (i32.const 0) (f64.div (f64.const 0) (f64.const 0)))
    (f32.store (i32.const 8) (f32.sqrt (f32.const -1)))
    (f64.store (i32.const 70000) (f64.mul (f64.load (i32.const 0)) (f64.const 3)))
    (call $reply)))`

export async function workloadDigest(): Promise<string> {
  const d = new RoundDriver()
  const digest = createHash('sha256')
  const snapshot = () => {
    for (const [k, v] of [...d.state.ingress.entries()].sort()) digest.update(k).update(JSON.stringify(v, (_, x) => (typeof x === 'bigint' ? `${x}n` : x instanceof Uint8Array ? Buffer.from(x).toString('hex') : x)))
    for (const [k, rt] of [...d.state.canisters.entries()].sort()) {
      digest.update(k).update(rt.state.heap.hash()).update(rt.state.stable.hash()).update(JSON.stringify(rt.state.globals, (_, x) => (typeof x === 'bigint' ? `${x}n` : x)))
    }
  }
  const counter = d.createCanister()
  d.install(counter, compileMotoko(COUNTER, 'classic').wasm)
  const caller = d.createCanister()
  d.install(caller, compileMotoko(CALLER, 'eop').wasm)
  const floats = d.createCanister()
  d.install(floats, await wat(FLOATS))
  snapshot()
  d.call(caller, 'callInc', encodeCandid([IDL.Text], [principalToText(counter)]))
  d.call(caller, 'rand')
  d.call(floats, 'nan')
  d.round(Array.from({ length: 20 }, (_, i) => anonymousIngress({ canisterId: counter, method: 'inc', arg: encodeCandid([], []), nonce: 500 + i })))
  snapshot()
  d.round()
  snapshot()
  return digest.digest('hex')
}

if (import.meta.url === `file://${process.argv[1]}`) {
  console.log(await workloadDigest())
}
