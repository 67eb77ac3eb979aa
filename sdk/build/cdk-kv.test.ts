import { beforeAll, describe, expect, it } from 'vitest'
import { readFile } from 'node:fs/promises'
import path from 'node:path'
import { IDL } from '@dfinity/candid'
import { compileAssemblyScript, REPO_ROOT } from './assemblyscript.ts'
import { TestHost } from './ic0-test-host.ts'

const DIR = path.join(REPO_ROOT, 'canisters/examples/kv')
let wasm: Uint8Array

beforeAll(async () => {
  wasm = await compileAssemblyScript(path.join(DIR, 'kv.ts'), { candidService: await readFile(path.join(DIR, 'kv.did'), 'utf8') })
}, 180_000)

const Blob = IDL.Vec(IDL.Nat8)
const enc = (types: IDL.Type[], values: unknown[]): Uint8Array => new Uint8Array(IDL.encode(types, values))

// vitest's deep equality walks a 200 kB array element by element (seconds); compare bytes directly.
function sameBytes(got: unknown, want: Uint8Array): boolean {
  const [v] = got as [Uint8Array]
  return v instanceof Uint8Array && Buffer.compare(v, want) === 0
}

function kv(host: TestHost) {
  return {
    put: (k: string, v: Uint8Array) => IDL.decode([], host.run('canister_update put', enc([IDL.Text, Blob], [k, v])).reply!),
    get: (k: string) => IDL.decode([IDL.Opt(Blob)], host.run('canister_query get', enc([IDL.Text], [k])).reply!)[0],
    del: (k: string) => IDL.decode([IDL.Bool], host.run('canister_update delete', enc([IDL.Text], [k])).reply!)[0],
    keys: () => (IDL.decode([IDL.Vec(IDL.Text)], host.run('canister_query keys', enc([], [])).reply!)[0] as string[]).sort(),
    compact: () => IDL.decode([IDL.Nat64], host.run('canister_update compact', enc([], [])).reply!)[0] as bigint,
  }
}

describe('kv canister with StableMap', () => {
  it('exports the five methods and imports only ic0', () => {
    const m = new WebAssembly.Module(wasm as Uint8Array<ArrayBuffer>)
    expect(WebAssembly.Module.exports(m).filter((e) => e.kind === 'function').map((e) => e.name).sort()).toEqual([
      'canister_query get', 'canister_query keys', 'canister_update compact', 'canister_update delete', 'canister_update put',
    ])
    expect(WebAssembly.Module.imports(m).every((i) => i.module === 'ic0')).toBe(true)
    expect(WebAssembly.Module.imports(m).map((i) => i.name)).toContain('stable64_write')
  })

  it('puts, gets, overwrites and deletes', () => {
    const c = kv(new TestHost(wasm))
    expect(c.get('a')).toEqual([])
    c.put('a', Uint8Array.of(1))
    c.put('b', Uint8Array.of(2, 2))
    c.put('a', Uint8Array.of(3, 3, 3))
    expect(c.get('a')).toEqual([Uint8Array.of(3, 3, 3)])
    expect(c.get('b')).toEqual([Uint8Array.of(2, 2)])
    expect(c.del('b')).toBe(true)
    expect(c.del('b')).toBe(false)
    expect(c.get('b')).toEqual([])
    expect(c.keys()).toEqual(['a'])
  })

  it('survives an upgrade: a fresh instance on the same stable memory sees the same data', () => {
    const before = new TestHost(wasm)
    const c1 = kv(before)
    const big = new Uint8Array(200_000).map((_, i) => (i * 7) & 0xff) // spans several stable pages
    c1.put('big', big)
    c1.put('ключ', Uint8Array.of(9))
    c1.put('gone', Uint8Array.of(1))
    c1.del('gone')
    c1.put('empty', new Uint8Array(0))

    const after = new TestHost(wasm, before.stable)
    const c2 = kv(after)
    expect(c2.keys()).toEqual(['big', 'empty', 'ключ'].sort())
    expect(sameBytes(c2.get('big'), big)).toBe(true)
    expect(c2.get('ключ')).toEqual([Uint8Array.of(9)])
    expect(c2.get('gone')).toEqual([])
    expect(c2.get('empty')).toEqual([new Uint8Array(0)])
    c2.put('new', Uint8Array.of(5))

    const again = kv(new TestHost(wasm, after.stable))
    expect(again.get('new')).toEqual([Uint8Array.of(5)])
    expect(sameBytes(again.get('big'), big)).toBe(true)
  })

  it('the incremental runtime frees per-message garbage: the heap stays small across many messages', () => {
    const host = new TestHost(wasm)
    const c = kv(host)
    const value = new Uint8Array(4000)
    for (let i = 0; i < 600; i++) c.put(`k${i % 10}`, value) // ≈ 2.4 MB through the heap in total
    expect(host.memory.buffer.byteLength).toBeLessThanOrEqual(8 * 65536)
    expect(c.keys()).toHaveLength(10)
  })

  it('compact drops dead records and keeps live ones across an upgrade', () => {
    const host = new TestHost(wasm)
    const c = kv(host)
    for (let i = 0; i < 20; i++) c.put('k', new Uint8Array(1000).fill(i))
    c.put('keep', Uint8Array.of(1, 2))
    const compacted = c.compact()
    // header 16 + records of 9 header bytes + key + value
    expect(compacted).toBe(16n + (9n + 1n + 1000n) + (9n + 4n + 2n))
    const c2 = kv(new TestHost(wasm, host.stable))
    expect(c2.get('k')).toEqual([new Uint8Array(1000).fill(19)])
    expect(c2.get('keep')).toEqual([Uint8Array.of(1, 2)])
  })
})
