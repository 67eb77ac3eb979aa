// The chunk store: modules too large for one message are uploaded in chunks of at most 1 MiB and
// installed by the list of their hashes (install_chunked_code).

import { decodeCandid, encodeCandid } from '../../protocol/candid.ts'
import { bytesEqual, fromHex, sha256, toHex } from '../../protocol/hash.ts'
import { limits } from '../../protocol/limits.ts'
import { IcErrorCode } from '../../protocol/reject.ts'
import type { IncomingCall } from '../call-context.ts'
import { canisterKey } from '../replicated-state.ts'
import { controlledCanister, ManagementReject, reply } from './common.ts'
import type { ManagementContext, ManagementOutcome } from './common.ts'
import { installModule } from './lifecycle.ts'
import type { InstallMode } from './lifecycle.ts'
import * as T from './types.ts'

/** Chunks a store holds at most (the IC's default: 100 chunks of 1 MiB). */
export const MAX_STORED_CHUNKS = 100

type Principalish = { toUint8Array(): Uint8Array }

function store(ctx: ManagementContext, id: Uint8Array): Map<string, Uint8Array> {
  const key = canisterKey(id)
  let s = ctx.state.chunkStores.get(key)
  if (s === undefined) ctx.state.chunkStores.set(key, (s = new Map()))
  return s
}

export function uploadChunk(ctx: ManagementContext, call: IncomingCall): ManagementOutcome {
  const [a] = decodeCandid([T.upload_chunk_args], call.arg) as [{ canister_id: Principalish; chunk: Uint8Array }]
  const rt = controlledCanister(ctx, call, a.canister_id.toUint8Array())
  if (a.chunk.length > limits.maxChunkBytes) {
    throw new ManagementReject(IcErrorCode.CanisterContractViolation, `Wasm chunk size ${a.chunk.length} exceeds the maximum chunk size of ${limits.maxChunkBytes}.`)
  }
  const s = store(ctx, rt.state.id)
  const hash = sha256(a.chunk)
  if (!s.has(toHex(hash)) && s.size >= MAX_STORED_CHUNKS) {
    throw new ManagementReject(IcErrorCode.CanisterContractViolation, `Wasm chunk store of canister is full: at most ${MAX_STORED_CHUNKS} chunks.`)
  }
  s.set(toHex(hash), a.chunk.slice())
  return reply(encodeCandid([T.chunk_hash], [{ hash }]), call.cycles)
}

export function clearChunkStore(ctx: ManagementContext, call: IncomingCall): ManagementOutcome {
  const [a] = decodeCandid([T.clear_chunk_store_args], call.arg) as [{ canister_id: Principalish }]
  const rt = controlledCanister(ctx, call, a.canister_id.toUint8Array())
  ctx.state.chunkStores.delete(canisterKey(rt.state.id))
  return reply(encodeCandid([], []), call.cycles)
}

export function storedChunks(ctx: ManagementContext, call: IncomingCall): ManagementOutcome {
  const [a] = decodeCandid([T.stored_chunks_args], call.arg) as [{ canister_id: Principalish }]
  const rt = controlledCanister(ctx, call, a.canister_id.toUint8Array())
  const keys = [...(ctx.state.chunkStores.get(canisterKey(rt.state.id))?.keys() ?? [])].sort()
  return reply(encodeCandid([T.stored_chunks_result], [keys.map((k) => ({ hash: fromHex(k) }))]), call.cycles)
}

interface ChunkedArgs {
  mode: InstallMode
  target_canister: Principalish
  store_canister: [] | [Principalish]
  chunk_hashes_list: { hash: Uint8Array }[]
  wasm_module_hash: Uint8Array
  arg: Uint8Array
}

/** The caller must control both the target and the store canister (same subnet here). */
export function installChunkedCode(ctx: ManagementContext, call: IncomingCall): ManagementOutcome {
  const [a] = decodeCandid([T.install_chunked_code_args], call.arg) as [ChunkedArgs]
  const target = controlledCanister(ctx, call, a.target_canister.toUint8Array())
  const storeId = a.store_canister[0]?.toUint8Array() ?? target.state.id
  controlledCanister(ctx, call, storeId)
  const chunks = ctx.state.chunkStores.get(canisterKey(storeId)) ?? new Map<string, Uint8Array>()
  const parts = a.chunk_hashes_list.map(({ hash }) => {
    const chunk = chunks.get(toHex(hash))
    if (chunk === undefined) throw new ManagementReject(IcErrorCode.CanisterContractViolation, `Error from Wasm chunk store: The chunk ${toHex(hash)} is not in the store.`)
    return chunk
  })
  const wasm = new Uint8Array(parts.reduce((n, p) => n + p.length, 0))
  let at = 0
  for (const p of parts) {
    wasm.set(p, at)
    at += p.length
  }
  if (!bytesEqual(sha256(wasm), a.wasm_module_hash)) {
    throw new ManagementReject(IcErrorCode.CanisterContractViolation, `Error from Wasm chunk store: Wasm module hash ${toHex(a.wasm_module_hash)} does not match the hash of the assembled chunks ${toHex(sha256(wasm))}.`)
  }
  return installModule(ctx, call, target, a.mode, wasm, a.arg)
}

/** Bytes held in a canister's chunk store (canister_status memory_metrics). */
export function chunkStoreSize(ctx: Pick<ManagementContext, 'state'>, id: Uint8Array): bigint {
  let n = 0
  for (const c of ctx.state.chunkStores.get(canisterKey(id))?.values() ?? []) n += c.length
  return BigInt(n)
}
