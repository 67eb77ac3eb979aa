import { describe, expect, it } from 'vitest'
import { ManagementTypes as T } from '../execution/management/index.ts'
import { SUBNET_ID, START_TIME, anonymousIngress } from '../execution/scheduler-testing.ts'
import { encodeCandid } from '../protocol/candid.ts'
import type { Batch } from '../protocol/consensus-types.ts'
import { sha256, toHex } from '../protocol/hash.ts'
import type { Height, TimeNs } from '../protocol/ids.ts'
import { subnetCanisterRange } from '../protocol/principal.ts'
import { MemoryKvStore } from '../sim/kv/memory.ts'
import { CheckpointStore, chunkKey, chunkTable } from '../state/checkpoint.ts'
import { ReplicaApp } from './replica-app.ts'
import type { ReplicaAppOptions } from './replica-app.ts'

const CUP = 4n
const ranges = [subnetCanisterRange(0)]

function options(kv: MemoryKvStore, log: string[] = []): ReplicaAppOptions {
  return {
    init: { subnetId: SUBNET_ID, canisterRanges: ranges },
    subnets: [{ id: SUBNET_ID, info: { publicKeyDer: new Uint8Array(133).fill(1), canisterRanges: ranges, nodes: [] } }],
    checkpoints: new CheckpointStore(kv, { keep: 2 }),
    cupInterval: CUP,
    onFatal: (e) => {
      throw e
    },
    log: (line) => log.push(line),
  }
}

const create = (nonce: number) => {
  const arg = encodeCandid([T.provisional_create_canister_with_cycles_args], [{ amount: [], settings: [], specified_id: [], sender_canister_version: [] }])
  return anonymousIngress({ canisterId: new Uint8Array(0), method: 'provisional_create_canister_with_cycles', arg, nonce })
}
// Canisters are created before the CUP, between the CUP and the shutdown, and after it.
const batches: Batch[] = Array.from({ length: 10 }, (_, i) => {
  const h = BigInt(i + 1)
  return { height: h as Height, time: (START_TIME + h * 1_000_000_000n) as TimeNs, randomness: sha256(Uint8Array.of(i)), messages: [1n, 6n, 7n].includes(h) ? [create(i)] : [] }
})

function reference(): string[] {
  const app = ReplicaApp.genesis(options(new MemoryKvStore()))
  return batches.map((b) => {
    app.deliver(b)
    return toHex(app.stateHash(b.height)!)
  })
}

/** Runs to height 6, shuts down cleanly (close, flush); returns the store as a restart finds it. */
async function runAndShutDown(): Promise<MemoryKvStore> {
  const kv = new MemoryKvStore()
  const app = ReplicaApp.genesis(options(kv))
  for (const b of batches.slice(0, 6)) app.deliver(b)
  app.close()
  await app.flush()
  return kv
}

describe('shutdown checkpoints', () => {
  const want = reference()

  it('a clean shutdown above the CUP writes a checkpoint; the restart resumes there, skips the batches it holds, and reaches the same hashes', async () => {
    const kv = (await runAndShutDown()).restart()
    const log: string[] = []
    const opts = options(kv, log)
    await opts.checkpoints.open()
    expect(opts.checkpoints.heights()).toEqual([4n, 6n])
    const app = await ReplicaApp.open(opts, CUP, Buffer.from(want[3], 'hex'))
    expect(app.lastHeight).toBe(6n)
    expect(toHex(app.stateHash(6n as Height)!)).toBe(want[5])
    // Consensus may still have 5 to certify (it needs this node's hash of it), though its tree is gone.
    expect(toHex(app.stateHash(5n as Height)!)).toBe(want[4])
    expect(toHex(app.stateHash(4n as Height)!)).toBe(want[3])
    expect(app.stateHash(3n as Height)).toBeUndefined()
    expect(log.join('\n')).toContain('resuming from the shutdown checkpoint at height 6')
    // Consensus delivers again from the CUP on: 5 and 6 are skipped, 7 to 10 executed.
    for (const b of batches.slice(4)) app.deliver(b)
    for (let h = 7; h <= 10; h++) expect(toHex(app.stateHash(BigInt(h) as Height)!)).toBe(want[h - 1])
    expect(app.state.canisters.size).toBe(3)
    // Height 8 was a CUP: its tree certifies its own checkpoint's manifest, as on every other node.
    await app.flush()
    expect(opts.checkpoints.heights()).toEqual([6n, 8n])
  })

  it('a damaged shutdown checkpoint is not loaded: the restart falls back to the CUP and replays', async () => {
    const kv = await runAndShutDown()
    const probe = new CheckpointStore(kv, { keep: 2 })
    await probe.open()
    const cupChunks = new Set(chunkTable(probe.info(4n)!.manifest).map((c) => toHex(c.hash)))
    const victim = chunkTable(probe.info(6n)!.manifest).find((c) => !cupChunks.has(toHex(c.hash)))!
    const body = (await kv.get(chunkKey(victim.hash)))!.slice()
    body[0] ^= 1
    await kv.batch([{ type: 'put', key: chunkKey(victim.hash), value: body }])
    const log: string[] = []
    const app = await ReplicaApp.open(options(kv.restart(), log), CUP, Buffer.from(want[3], 'hex'))
    expect(log.join('\n')).toMatch(/shutdown checkpoint at height 6 is unusable .*does not match its hash.*starting from the CUP at 4/)
    expect(app.lastHeight).toBe(4n)
    for (const b of batches.slice(4)) app.deliver(b)
    for (let h = 5; h <= 10; h++) expect(toHex(app.stateHash(BigInt(h) as Height)!)).toBe(want[h - 1])
  })

  it('writes nothing more at a CUP height, and a CUP above the shutdown checkpoint wins', async () => {
    const kv = new MemoryKvStore()
    const opts = options(kv)
    const app = ReplicaApp.genesis(opts)
    for (const b of batches.slice(0, 8)) app.deliver(b)
    app.close()
    await app.flush()
    expect(opts.checkpoints.heights()).toEqual([4n, 8n])

    const later = await runAndShutDown()
    const resumed = await ReplicaApp.open(options(later.restart()), 8n, Buffer.from(want[7], 'hex'))
    // No checkpoint at 8 in this store: not the shutdown one at 6, but a state sync (none configured).
    expect(resumed.syncing).toBe(true)
    resumed.close()
  })
})
