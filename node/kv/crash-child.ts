// Child process of the crash test (crash.test.ts): resumes the deterministic workload from the latest
// checkpoint in a LevelDB directory and keeps executing rounds and writing checkpoints until it is
// killed (SIGKILL) or reaches the last round. Reports `loaded H`, `begin H` (a checkpoint write starts) and `ckpt H` (it is durable) on stdout.
// Usage: node crash-child.ts <dir> <seed> <lastRound> <checkpointEvery> <pagesPerRound> [packs]
// With `packs`, chunk bodies go to pack files in <dir>/chunks and LevelDB lives in <dir>/db, as in
// the node.

import { CheckpointStore } from '../../state/checkpoint.ts'
import { applyRound, fromSnapshot, genesis, snapshotOf } from '../../state/testing.ts'
import { ChunkPacks } from './chunk-packs.ts'
import { LevelKvStore } from './level.ts'
import { join } from 'node:path'

const [dir, seedArg, lastArg, everyArg, pagesArg, layout] = process.argv.slice(2)
const seed = Number(seedArg)
const last = BigInt(lastArg)
const every = BigInt(everyArg)
const pagesPerRound = Number(pagesArg)

const packs = layout === 'packs'
const kv = await LevelKvStore.open(packs ? join(dir, 'db') : dir)
const bodies = packs ? await ChunkPacks.open(join(dir, 'chunks')) : undefined
const store = new CheckpointStore(kv, { keep: 2, bodies })
const loaded = await store.load()
const s = loaded ? fromSnapshot(loaded.snapshot) : genesis()
process.stdout.write(`loaded ${s.height}\n`)
while (s.height < last) {
  applyRound(s, seed, { pagesPerRound })
  if (s.height % every === 0n) {
    process.stdout.write(`begin ${s.height}\n`) // stdout to a pipe is synchronous on Linux
    await store.write(snapshotOf(s), s.dirty)
    s.dirty = new Map()
    process.stdout.write(`ckpt ${s.height}\n`)
  }
}
await bodies?.close()
await kv.close()
process.stdout.write('done\n')
