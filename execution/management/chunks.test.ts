import { describe, expect, it } from 'vitest'
import { decodeCandid, encodeCandid, IDL } from '../../protocol/candid.ts'
import { sha256 } from '../../protocol/hash.ts'
import { compileMotoko, MOTOKO_COUNTER as COUNTER } from '../../sim/motoko.ts'
import { principal, replyBytes, RoundDriver } from '../scheduler-testing.ts'
import { ManagementTypes as T } from './index.ts'

const MGMT = new Uint8Array(0)
const ALICE = new Uint8Array([0xa1, 0x01])

describe('management canister: chunk store', () => {
  it('uploads chunks, lists them, installs the assembled module, and clears the store', () => {
    const d = new RoundDriver()
    const store = d.createCanister(ALICE)
    const target = d.createCanister(ALICE)
    const wasm = compileMotoko(COUNTER, 'classic').wasm
    const half = Math.ceil(wasm.length / 2)
    const parts = [wasm.slice(0, half), wasm.slice(half)]
    const hashes = parts.map((chunk) => {
      const r = d.call(MGMT, 'upload_chunk', encodeCandid([T.upload_chunk_args], [{ canister_id: principal(store), chunk }]), ALICE)
      return (decodeCandid([T.chunk_hash], replyBytes(r))[0] as { hash: Uint8Array }).hash
    })
    expect(hashes).toEqual(parts.map((p) => sha256(p)))
    const listed = decodeCandid([T.stored_chunks_result], replyBytes(d.management('stored_chunks', store, ALICE)))[0] as { hash: Uint8Array }[]
    expect(listed.map((h) => h.hash)).toHaveLength(2)
    const install = (list: Uint8Array[], hash: Uint8Array) => d.call(MGMT, 'install_chunked_code', encodeCandid([T.install_chunked_code_args], [{
      mode: { install: null }, target_canister: principal(target), store_canister: [principal(store)],
      chunk_hashes_list: list.map((h) => ({ hash: h })), wasm_module_hash: hash, arg: encodeCandid([], []), sender_canister_version: [],
    }]), ALICE)
    expect(install(hashes.slice().reverse(), sha256(wasm))).toMatchObject({ status: 'rejected', errorCode: 'IC0504' })
    expect(install(hashes, sha256(wasm)).status).toBe('replied')
    expect(decodeCandid([IDL.Nat], replyBytes(d.call(target, 'inc')))).toEqual([1n])
    expect(d.call(MGMT, 'upload_chunk', encodeCandid([T.upload_chunk_args], [{ canister_id: principal(store), chunk: new Uint8Array(1) }]))).toMatchObject({ errorCode: 'IC0512' })
    expect(d.management('clear_chunk_store', store, ALICE).status).toBe('replied')
    expect(decodeCandid([T.stored_chunks_result], replyBytes(d.management('stored_chunks', store, ALICE)))[0]).toEqual([])
  })
})
