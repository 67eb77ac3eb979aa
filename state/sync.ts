// State sync: a node that is behind fetches a checkpoint from peers as verifiable chunks. It trusts
// only the manifest hash it got from consensus (a catch-up package); the manifest must hash to it, and
// every chunk must match the size and hash the manifest lists, so a lying peer costs bandwidth only.
// Chunks the node already holds (same hash in a kept checkpoint) are not fetched again.

import { CapsaError } from '../protocol/errors.ts'
import { bytesEqual, toHex } from '../protocol/hash.ts'
import { chunkTable } from './checkpoint.ts'
import type { CheckpointInfo, CheckpointStore } from './checkpoint.ts'
import { decodeManifest, manifestHash, verifyChunk } from './manifest.ts'

/** Where chunks come from (peers over the network in node/, another store in tests). */
export interface ChunkSource {
  /** The encoded manifest of the checkpoint at `height`. */
  manifest(height: bigint): Promise<Uint8Array | undefined>
  /** Chunk `index` of the manifest's flat chunk table (files in order, chunks in file order). */
  chunk(height: bigint, index: number): Promise<Uint8Array | undefined>
}

/** Serves a store's kept checkpoints. */
export function checkpointSource(store: CheckpointStore): ChunkSource {
  return {
    async manifest(height) {
      await store.open()
      return store.info(height)?.manifestBytes
    },
    chunk: (height, index) => store.chunkAt(height, index),
  }
}

export interface SyncProgress { fetched: number; reused: number; rejected: number }

/**
 * Fetches the checkpoint (height, manifestHash) into `target` and records it as the latest checkpoint.
 * Sources are tried in order for every chunk; a chunk no source serves intact aborts the sync.
 */
export async function syncCheckpoint(
  target: CheckpointStore,
  sources: readonly ChunkSource[],
  height: bigint,
  expectedHash: Uint8Array,
): Promise<{ info: CheckpointInfo; progress: SyncProgress }> {
  const progress: SyncProgress = { fetched: 0, reused: 0, rejected: 0 }
  let manifestBytes: Uint8Array | undefined
  for (const s of sources) {
    const m = await s.manifest(height)
    if (m && bytesEqual(manifestHash(m), expectedHash)) {
      manifestBytes = m
      break
    }
    if (m) progress.rejected++
  }
  if (!manifestBytes) throw new CapsaError('STATE_SYNC_INVALID', `state sync: no source served a manifest for height ${height} with hash ${toHex(expectedHash)}`)
  const manifest = decodeManifest(manifestBytes, 'STATE_SYNC_INVALID')
  if (manifest.height !== height) throw new CapsaError('STATE_SYNC_INVALID', `state sync: manifest is for height ${manifest.height}, not ${height}`)
  await target.open()
  const chunks = new Map<string, Uint8Array>()
  const table = chunkTable(manifest)
  for (let i = 0; i < table.length; i++) {
    const ref = table[i]
    const k = toHex(ref.hash)
    if (chunks.has(k)) continue
    if (target.hasChunk(ref.hash)) {
      progress.reused++
      continue
    }
    let got: Uint8Array | undefined
    for (const s of sources) {
      const c = await s.chunk(height, i)
      if (verifyChunk(ref, c)) {
        got = c
        break
      }
      progress.rejected++
    }
    if (!got) throw new CapsaError('STATE_SYNC_INVALID', `state sync: chunk ${i} (hash ${k}) of height ${height} failed verification from every source`, { index: i })
    chunks.set(k, got)
    progress.fetched++
  }
  const info = await target.adopt(manifestBytes, (h) => chunks.get(toHex(h)))
  return { info, progress }
}
