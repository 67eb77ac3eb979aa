import { describe, expect, it } from 'vitest'
import { instrument, parseModule, TRAP_OUT_OF_INSTRUCTIONS, TRAP_STACK_OVERFLOW, TRAP_WASM_MEMORY_LIMIT, type InstrumentOptions } from './index.ts'
import { instantiate, wat, type Instance } from './testing.ts'

async function load(text: string, opts?: InstrumentOptions): Promise<{ e: Instance['exports']; r: ReturnType<typeof instrument> }> {
  const bytes = await wat(text)
  const r = instrument(bytes, opts)
  expect(WebAssembly.validate(r.bytes as Uint8Array<ArrayBuffer>)).toBe(true)
  const inst = await instantiate(r.bytes, parseModule(bytes))
  return { e: inst.exports, r }
}

function begin(e: Instance['exports'], budget: bigint): void {
  e.__capsa_instructions.value = budget
  e.__capsa_stack_depth.value = 0
  e.__capsa_trap_reason.value = 0
}

function trapOf(fn: () => unknown): unknown {
  try {
    fn()
  } catch (err) {
    return err
  }
  throw new Error('expected a trap')
}

const kernels = `(module (memory (export "mem") 5 10)
  (func (export "spin") (loop (br 0)))
  (func (export "count") (param $n i32) (local $i i32)
    (block (loop (br_if 1 (i32.ge_u (local.get $i) (local.get $n))) (local.set $i (i32.add (local.get $i) (i32.const 1))) (br 0))))
  (func $rec (export "rec") (param i32) (result i32) (call $rec (i32.add (local.get 0) (i32.const 1))))
  (func $big (export "big") (param i64) (result i64) (local i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64)
    (call $big (i64.add (local.get 0) (i64.const 1))))
  (func $tail (export "tail") (param i32) (result i32)
    (if (result i32) (i32.eqz (local.get 0)) (then (i32.const 7)) (else (return_call $tail (i32.sub (local.get 0) (i32.const 1))))))
  (func $early (export "early") (param i32) (result i32)
    (block (br_if 0 (local.get 0)) (return (i32.const 1))) (br 0 (i32.const 2)))
  (func (export "nan32") (f32.store (i32.const 0) (f32.div (f32.const 0) (f32.const 0))))
  (func (export "nan64") (f64.store (i32.const 8) (f64.sqrt (f64.const -1))))
  (func (export "nanmin") (f32.store (i32.const 16) (f32.min (f32.reinterpret_i32 (i32.const 0x7fc00abc)) (f32.const 1))))
  (func (export "promote") (f64.store (i32.const 24) (f64.promote_f32 (f32.reinterpret_i32 (i32.const 0x7fa00001)))))
  (func (export "fine") (result f64) (f64.add (f64.const 1.5) (f64.const 2.25)))
  (func (export "grow") (param i32) (result i32) (memory.grow (local.get 0)))
  (func (export "store64") (param i32) (i64.store (local.get 0) (i64.const -1)))
  (func (export "stores") (param i32 i32 i32) (i64.store (local.get 0) (i64.const 1)) (i64.store (local.get 1) (i64.const 2)) (i32.store16 (local.get 2) (i32.const 3)))
  (func (export "store8off") (param i32) (i32.store8 offset=4096 (local.get 0) (i32.const 1)))
  (func (export "fill") (param i32 i32) (memory.fill (local.get 0) (i32.const 7) (local.get 1)))
  (func (export "copy") (param i32 i32 i32) (memory.copy (local.get 0) (local.get 1) (local.get 2)))
)`

describe('metering', () => {
  it('traps an infinite loop at exactly the same count every time, marked as out of instructions', async () => {
    const { e } = await load(kernels)
    const results: bigint[] = []
    for (let k = 0; k < 2; k++) {
      begin(e, 100_000n)
      const err = trapOf(() => (e.spin as () => void)())
      expect(err).toBeInstanceOf(WebAssembly.RuntimeError)
      expect(e.__capsa_trap_reason.value).toBe(TRAP_OUT_OF_INSTRUCTIONS)
      results.push(e.__capsa_instructions.value as bigint)
    }
    expect(results[0]).toBeLessThan(0n)
    expect(results[1]).toBe(results[0])
  })

  it('charges per iteration proportionally to the work done', async () => {
    const { e } = await load(kernels)
    const used = (n: number): bigint => {
      begin(e, 10n ** 12n)
      ;(e.count as (n: number) => void)(n)
      return 10n ** 12n - (e.__capsa_instructions.value as bigint)
    }
    const a = used(100)
    const b = used(200)
    const perIteration = (b - a) / 100n
    // local.get ×2, ge_u, br_if, local.get, const, add, local.set, br = 1+1+1+2+1+1+1+1+2
    expect(perIteration).toBe(11n)
    expect(used(100)).toBe(a)
  })

  it('charges exactly what ran with exactMetering, and at least that by default', async () => {
    const used = async (exactMetering: boolean, n: number): Promise<bigint> => {
      const { e } = await load(kernels, { exactMetering })
      begin(e, 10n ** 12n)
      ;(e.count as (n: number) => void)(n)
      return 10n ** 12n - (e.__capsa_instructions.value as bigint)
    }
    // count(0): entry, block, loop, then the exit br_if is taken at once.
    const exact = await used(true, 0)
    const fast = await used(false, 0)
    // The default also paid for the untaken rest of the loop body (local.get, const, add, set, br).
    expect(fast - exact).toBe(1n + 1n + 1n + 1n + 2n)
    expect((await used(true, 100)) - exact).toBe((await used(false, 100)) - fast)
  })

  it('charges every invocation of a recursive function once, across calls and both arms', async () => {
    // fib has calls but no loop, so it charges the global directly (no local copy to store and
    // reload around calls): used(n) must follow the call tree, one entry per invocation.
    const { e } = await load(`(module (func $fib (export "fib") (param i32) (result i32)
      (if (result i32) (i32.lt_u (local.get 0) (i32.const 2)) (then (local.get 0))
        (else (i32.add (call $fib (i32.sub (local.get 0) (i32.const 1))) (call $fib (i32.sub (local.get 0) (i32.const 2))))))))`)
    const used = (n: number): bigint => {
      begin(e, 10n ** 12n)
      ;(e.fib as (n: number) => number)(n)
      expect(e.__capsa_stack_depth.value).toBe(0)
      return 10n ** 12n - (e.__capsa_instructions.value as bigint)
    }
    // Fixed by the cost table: entry 5 (local.get, i32.const, lt_u, if = 2) + then arm 1 (local.get);
    // an inner call pays the entry and the else arm, 17 (two calls at 5, seven simple ops at 1).
    const leaf = used(0)
    expect(leaf).toBe(6n)
    expect(used(1)).toBe(leaf)
    const inner = used(2) - 2n * leaf
    expect(inner).toBe(22n)
    for (let n = 3; n <= 12; n++) expect(used(n)).toBe(inner + used(n - 1) + used(n - 2))
  })

  it('charges bulk memory operations by size', async () => {
    const { e } = await load(kernels)
    const used = (fn: () => void): bigint => {
      begin(e, 10n ** 12n)
      fn()
      return 10n ** 12n - (e.__capsa_instructions.value as bigint)
    }
    const small = used(() => (e.fill as (d: number, n: number) => void)(0, 10))
    const large = used(() => (e.fill as (d: number, n: number) => void)(0, 10_010))
    expect(large - small).toBe(10_000n)
    const c1 = used(() => (e.copy as (d: number, s: number, n: number) => void)(0, 100, 50))
    const c2 = used(() => (e.copy as (d: number, s: number, n: number) => void)(0, 100, 5_050))
    expect(c2 - c1).toBe(5_000n)
    begin(e, 1_000n)
    trapOf(() => (e.fill as (d: number, n: number) => void)(0, 60_000))
    expect(e.__capsa_trap_reason.value).toBe(TRAP_OUT_OF_INSTRUCTIONS)
  })

  it('meters the start function from the initial counter value', async () => {
    const bytes = await wat(`(module (global $g (mut i32) (i32.const 0))
      (func $s (local i32) (loop (local.set 0 (i32.add (local.get 0) (i32.const 1))) (br_if 0 (i32.lt_u (local.get 0) (i32.const 1000)))))
      (start $s))`)
    const ok = instrument(bytes, { initialInstructions: 1_000_000n })
    const inst = await instantiate(ok.bytes, parseModule(bytes))
    const left = inst.exports.__capsa_instructions.value as bigint
    // 1000 iterations × (local.get, const, add, local.set, local.get, const, lt_u = 7 × 1, br_if = 2)
    expect(left).toBe(1_000_000n - 9_000n)
    const poor = instrument(bytes, { initialInstructions: 500n })
    await expect(instantiate(poor.bytes, parseModule(bytes))).rejects.toBeInstanceOf(WebAssembly.RuntimeError)
  })
})

describe('stack depth', () => {
  it('traps deep recursion deterministically with its own trap, never a RangeError', async () => {
    for (const fn of ['rec', 'big']) {
      const { e } = await load(kernels)
      const seen: unknown[][] = []
      for (let k = 0; k < 2; k++) {
        begin(e, 10n ** 12n)
        const err = trapOf(() => (e[fn] as (x: number | bigint) => unknown)(fn === 'big' ? 0n : 0))
        expect(err).toBeInstanceOf(WebAssembly.RuntimeError)
        expect(e.__capsa_trap_reason.value).toBe(TRAP_STACK_OVERFLOW)
        seen.push([e.__capsa_instructions.value, e.__capsa_stack_depth.value])
      }
      expect(seen[1]).toEqual(seen[0])
    }
  })

  it('keeps the depth balanced across returns, branches to the function label and tail calls', async () => {
    const { e } = await load(kernels, { maxStackBytes: 4096 })
    begin(e, 10n ** 9n)
    expect((e.early as (x: number) => number)(0)).toBe(1)
    expect((e.early as (x: number) => number)(1)).toBe(2)
    expect((e.tail as (x: number) => number)(100_000)).toBe(7)
    expect(e.__capsa_stack_depth.value).toBe(0)
  })

  it('counts a leaf whose only calls are on a trap path at those calls, deterministically', async () => {
    // $cold recurses only on the path that ends in `unreachable`, so it stays a leaf: no depth
    // or counter update on the hot path, but each cold call counts its frame and checks the counter.
    const text = `(module
      (func $cold (export "cold") (param i32) (result i32)
        (if (i32.lt_s (local.get 0) (i32.const 0)) (then (drop (call $cold (local.get 0))) (unreachable)))
        (i32.add (local.get 0) (i32.const 1)))
      (func (export "hot") (param i32) (result i32) (call $cold (local.get 0))))`
    for (const [budget, reason] of [[10n ** 12n, TRAP_STACK_OVERFLOW], [1_000n, TRAP_OUT_OF_INSTRUCTIONS]] as const) {
      const { e } = await load(text)
      const seen: unknown[][] = []
      for (let k = 0; k < 2; k++) {
        begin(e, budget)
        expect((e.hot as (x: number) => number)(4)).toBe(5)
        expect(e.__capsa_stack_depth.value).toBe(0)
        const err = trapOf(() => (e.cold as (x: number) => number)(-1))
        expect(err).toBeInstanceOf(WebAssembly.RuntimeError)
        expect(e.__capsa_trap_reason.value).toBe(reason)
        seen.push([e.__capsa_instructions.value, e.__capsa_stack_depth.value])
      }
      expect(seen[1]).toEqual(seen[0])
    }
  })

  it('a smaller budget traps earlier', async () => {
    const depthAt = async (maxStackBytes: number): Promise<bigint> => {
      const { e } = await load(kernels, { maxStackBytes })
      begin(e, 10n ** 12n)
      trapOf(() => (e.rec as (x: number) => number)(0))
      return 10n ** 12n - (e.__capsa_instructions.value as bigint)
    }
    expect(await depthAt(10_000)).toBeLessThan(await depthAt(100_000))
  })
})

describe('NaN canonicalisation', () => {
  it('stores the canonical positive quiet NaN for arithmetic results', async () => {
    const { e } = await load(kernels)
    begin(e, 10n ** 9n)
    for (const f of ['nan32', 'nan64', 'nanmin', 'promote']) (e[f] as () => void)()
    const dv = new DataView((e.mem as WebAssembly.Memory).buffer)
    expect(dv.getUint32(0, true)).toBe(0x7fc00000)
    expect(dv.getBigUint64(8, true)).toBe(0x7ff8000000000000n)
    expect(dv.getUint32(16, true)).toBe(0x7fc00000)
    expect(dv.getBigUint64(24, true)).toBe(0x7ff8000000000000n)
    expect((e.fine as () => number)()).toBe(3.75)
  })
})

describe('memory.grow hook', () => {
  it('returns -1 past the page limit and grows below it', async () => {
    const { e } = await load(`(module (memory (export "mem") 1) (func (export "grow") (param i32) (result i32) (memory.grow (local.get 0))))`, { maxMemoryPages: 4n })
    begin(e, 10n ** 9n)
    const grow = e.grow as (n: number) => number
    expect(grow(2)).toBe(1)
    expect(grow(2)).toBe(-1)
    expect(grow(1)).toBe(3)
    expect(grow(1)).toBe(-1)
    expect((e.mem as WebAssembly.Memory).buffer.byteLength).toBe(4 * 65536)
  })

  it('honours a declared maximum below the option', async () => {
    const { e, r } = await load(`(module (memory 1 2) (func (export "grow") (param i32) (result i32) (memory.grow (local.get 0))))`)
    expect(r.maxMemoryPages).toBe(2n)
    begin(e, 10n ** 9n)
    expect((e.grow as (n: number) => number)(2)).toBe(-1)
    expect((e.grow as (n: number) => number)(1)).toBe(1)
  })

  it.each([false, true])('traps past __capsa_memory_limit without growing, leaving the requested size (memory64 = %s)', async (m64) => {
    const I = m64 ? 'i64' : 'i32'
    const { e } = await load(`(module (memory (export "mem") ${m64 ? 'i64 ' : ''}1 8) (func (export "grow") (param ${I}) (result ${I}) (memory.grow (local.get 0))))`)
    begin(e, 10n ** 9n)
    const limit = e.__capsa_memory_limit as WebAssembly.Global
    expect(limit.value).toBe(8n) // no limit below the hard one until the runtime sets it
    limit.value = 3n
    const grow = (n: number) => (e.grow as (n: number | bigint) => number | bigint)(m64 ? BigInt(n) : n)
    expect(grow(2)).toBe(m64 ? 1n : 1)
    expect(grow(0)).toBe(m64 ? 3n : 3)
    // The hard limit (the declared maximum) is checked first: -1, no trap.
    expect(grow(9)).toBe(m64 ? -1n : -1)
    expect(() => grow(1)).toThrow(WebAssembly.RuntimeError)
    expect(e.__capsa_trap_reason.value).toBe(TRAP_WASM_MEMORY_LIMIT)
    expect(limit.value).toBe(4n)
    expect((e.mem as WebAssembly.Memory).buffer.byteLength).toBe(3 * 65536)
  })
})

describe('dirty pages', () => {
  // Collecting also clears the marks: each call returns the pages written since the previous one,
  // in the order they were first written (sorted here; duplicates would still show).
  const dirty = (e: Instance['exports'], r: ReturnType<typeof instrument>): number[] => {
    const count = (e.__capsa_dirty_collect as () => number)()
    return [...new Uint32Array((e.__capsa_dirty_pages as WebAssembly.Memory).buffer, r.dirtyListOffset, count)].sort((a, b) => a - b)
  }
  const reset = (e: Instance['exports']): void => void (e.__capsa_dirty_collect as () => number)()

  it('marks exactly the pages a message wrote, including a store spanning a page boundary', async () => {
    const { e, r } = await load(kernels)
    begin(e, 10n ** 9n)
    const store64 = e.store64 as (a: number) => void
    store64(5 * 4096 + 8)
    store64(5 * 4096 + 100) // same page: listed once
    expect(dirty(e, r)).toEqual([5])
    expect(dirty(e, r)).toEqual([])
    store64(3 * 4096 - 4) // spans pages 2 and 3
    ;(e.store8off as (a: number) => void)(4096 * 7 + 1) // offset moves it to page 8
    store64(70 * 4096 - 8) // last bytes of page 69
    store64(64 * 4096 - 2) // spans pages 63 and 64, across a word of the map
    expect(dirty(e, r)).toEqual([2, 3, 8, 63, 64, 69])
    store64(3 * 4096 - 8) // ends exactly at the boundary: one page
    expect(dirty(e, r)).toEqual([2])
    // Within one invocation: a store inside an already marked page is skipped, but one that
    // continues into the next page is not, nor is one that lands back in an earlier page.
    const stores = e.stores as (a: number, b: number, c: number) => void
    stores(4 * 4096 + 8, 5 * 4096 - 4, 4 * 4096 + 100)
    expect(dirty(e, r)).toEqual([4, 5])
    stores(7 * 4096, 6 * 4096 + 8, 7 * 4096 + 4095)
    expect(dirty(e, r)).toEqual([6, 7, 8])
  })

  it('marks every page of memory.fill and the destination of memory.copy', async () => {
    const { e, r } = await load(kernels)
    begin(e, 10n ** 9n)
    ;(e.fill as (d: number, n: number) => void)(4096 + 10, 3 * 4096 - 20)
    expect(dirty(e, r)).toEqual([1, 2, 3])
    ;(e.fill as (d: number, n: number) => void)(4096, 0)
    expect(dirty(e, r)).toEqual([])
    ;(e.copy as (d: number, s: number, n: number) => void)(9 * 4096, 0, 4097)
    expect(dirty(e, r)).toEqual([9, 10])
    // An out-of-bounds store traps; whatever it marked is collected (and discarded) with the trap.
    trapOf(() => (e.store64 as (a: number) => void)(5 * 65536 - 4))
    reset(e)
    expect(dirty(e, r)).toEqual([])
    // The stray mark past the end of memory (page 80) was cleared too: growing over it does not
    // make it look written.
    expect((e.grow as (n: number) => number)(1)).toBe(5)
    expect(dirty(e, r)).toEqual([])
  })

  it('lists each page once however often it is written, in the order first written', async () => {
    const { e, r } = await load(kernels)
    begin(e, 10n ** 9n)
    const store64 = e.store64 as (a: number) => void
    for (const p of [7, 3, 7, 50, 3]) store64(p * 4096 + 16)
    ;(e.fill as (d: number, n: number) => void)(2 * 4096, 6 * 4096)
    const count = (e.__capsa_dirty_collect as () => number)()
    expect([...new Uint32Array((e.__capsa_dirty_pages as WebAssembly.Memory).buffer, r.dirtyListOffset, count)]).toEqual([7, 3, 50, 2, 4, 5, 6])
    // Every page of the largest memory fits in the list.
    expect((e.grow as (n: number) => number)(5)).toBe(5)
    ;(e.fill as (d: number, n: number) => void)(0, 10 * 65536)
    store64(4096)
    expect(dirty(e, r)).toEqual(Array.from({ length: 160 }, (_, i) => i))
    expect(r.dirtyPageCapacity).toBe(160)
    expect(dirty(e, r)).toEqual([])
  })

  it('works on memory64 modules', async () => {
    const { e, r } = await load(`(module (memory (export "mem") i64 2 4)
      (func (export "st") (param i64) (i32.store (local.get 0) (i32.const 1)))
      (func (export "grow") (param i64) (result i64) (memory.grow (local.get 0)))
      (func (export "fill") (param i64 i64) (memory.fill (local.get 0) (i32.const 1) (local.get 1))))`)
    expect(r.info.memory64).toBe(true)
    begin(e, 10n ** 9n)
    ;(e.st as (a: bigint) => void)(65536n + 4094n)
    ;(e.fill as (a: bigint, n: bigint) => void)(0n, 4097n)
    expect(dirty(e, r)).toEqual([0, 1, 16, 17])
    expect((e.grow as (n: bigint) => bigint)(3n)).toBe(-1n)
    expect((e.grow as (n: bigint) => bigint)(2n)).toBe(2n)
    // Stores outside the memory trap; their stray checks land past the page map (past the end
    // of the dirty-pages memory) and must not add to or corrupt the list.
    ;(e.st as (a: bigint) => void)(3n * 4096n)
    trapOf(() => (e.st as (a: bigint) => void)(65n * 4096n))
    trapOf(() => (e.st as (a: bigint) => void)((1n << 40n) + 5n * 4096n))
    expect(r.dirtyPageCapacity).toBe(64)
    expect(dirty(e, r)).toEqual([3])
  })
})

describe('rewriter robustness', () => {
  it('handles multi-value results, select t, ref types, sat conversions and sign extension', async () => {
    const { e } = await load(`(module (table 2 funcref) (elem (i32.const 0) func $pair)
      (func $pair (param i32) (result i32 i32) (local.get 0) (i32.const 2))
      (func (export "mv") (param i32) (result i32)
        (block (result i32 i32) (call $pair (local.get 0))) (i32.add)
        (select (result i32) (i32.extend8_s (i32.const 0xff)) (i32.trunc_sat_f64_s (f64.const 1e30)) (i32.const 1))
        (drop) (ref.is_null (ref.null func)) (i32.add)))`)
    begin(e, 10n ** 9n)
    expect((e.mv as (x: number) => number)(40)).toBe(43)
  })

  it('rejects SIMD and threads with WASM_REJECTED and garbage with WASM_INVALID', async () => {
    const simd = await wat(`(module (func (drop (v128.const i32x4 0 0 0 0))))`)
    expect(() => instrument(simd)).toThrow(expect.objectContaining({ code: 'WASM_REJECTED' }))
    const shared = await wat(`(module (memory 1 1 shared) (func (drop (i32.atomic.load (i32.const 0)))))`)
    expect(() => instrument(shared)).toThrow(expect.objectContaining({ code: 'WASM_REJECTED' }))
    const multi = await wat(`(module (memory 1) (memory 1))`)
    expect(() => instrument(multi)).toThrow(expect.objectContaining({ code: 'WASM_REJECTED' }))
    expect(() => instrument(new Uint8Array([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0, 1, 5]))).toThrow(expect.objectContaining({ code: 'WASM_INVALID' }))
    expect(() => instrument(new Uint8Array([1, 2, 3]))).toThrow(expect.objectContaining({ code: 'WASM_INVALID' }))
  })
})
