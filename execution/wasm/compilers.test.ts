import { compileMotoko } from '../../sim/motoko.ts'
// Real compiler output: Motoko (both persistence modes) and AssemblyScript modules go through
// validation and instrumentation, stay engine-valid, keep their names and run under metering.

import { describe, expect, it } from 'vitest'
import { exportNames, ic0FunctionNames, instrument, parseModule, validateCanisterModule } from './index.ts'
import { assemblyScriptWasm, instantiate } from './testing.ts'

const counter = `persistent actor {
  var n : Nat = 0;
  var f : Float = 0.5;
  public func inc() : async Nat { n += 1; f := f * 1.5; n };
  public query func get() : async Nat { n };
}`

function functionNames(bytes: Uint8Array): string[] {
  const sec = parseModule(bytes).customSections.find((s) => s.name === 'name')
  if (!sec) return []
  const text = new TextDecoder('utf-8', { fatal: false }).decode(sec.data)
  return text.match(/[A-Za-z_@$][\w@$.:<>-]{3,}/g) ?? []
}

describe.each(['eop', 'classic'] as const)('Motoko %s', (mode) => {
  it('validates, instruments, keeps names and runs its start function under metering', async () => {
    const bytes = compileMotoko(counter, mode).wasm
    const info = parseModule(bytes)
    expect(info.memory64).toBe(mode === 'eop')
    expect(info.hasStart).toBe(true)
    validateCanisterModule(info, { ic0Names: ic0FunctionNames })
    expect(info.exports.some((e) => e.name === 'canister_update inc')).toBe(true)
    expect(info.customSections.some((s) => s.name === 'icp:private candid:service')).toBe(true)

    const r = instrument(bytes)
    expect(WebAssembly.validate(r.bytes as Uint8Array<ArrayBuffer>)).toBe(true)
    const out = parseModule(r.bytes)
    expect(out.functionCount).toBeGreaterThan(info.functionCount)
    expect(out.customSections.map((s) => s.name)).toEqual(info.customSections.map((s) => s.name))
    const names = functionNames(r.bytes)
    expect(names).toContain('__capsa_out_of_instructions')
    for (const n of functionNames(bytes).slice(0, 50)) expect(names).toContain(n)

    const budget = 10_000_000_000n
    const metered = instrument(bytes, { initialInstructions: budget })
    const inst = await instantiate(metered.bytes, info)
    const used = budget - (inst.exports.__capsa_instructions.value as bigint)
    expect(used).toBeGreaterThan(100n) // the start function ran under metering
    expect((inst.exports[exportNames.dirtyCollect] as () => number)()).toBeGreaterThan(0)
    // Same module, same budget: same count.
    const again = await instantiate(metered.bytes, info)
    expect(budget - (again.exports.__capsa_instructions.value as bigint)).toBe(used)
    // A budget below what the start function needs traps as out of instructions.
    const poor = instrument(bytes, { initialInstructions: used / 2n })
    await expect(instantiate(poor.bytes, info)).rejects.toBeInstanceOf(WebAssembly.RuntimeError)
  })

  it('still behaves like the original: init, inc, inc, get reply 1, 2, 2', async () => {
    const bytes = compileMotoko(counter, mode).wasm
    const info = parseModule(bytes)
    const r = instrument(bytes)
    const wide = info.memory64
    let mem: WebAssembly.Memory | undefined
    const arg = new Uint8Array([0x44, 0x49, 0x44, 0x4c, 0, 0]) // DIDL, no types, no values
    let reply: number[] = []
    const replies: string[] = []
    const size = (n: number): number | bigint => (wide ? BigInt(n) : n)
    const inst = await instantiate(r.bytes, info, {
      msg_arg_data_size: () => size(arg.length),
      msg_arg_data_copy: (dst, off, n) => new Uint8Array(mem!.buffer).set(arg.subarray(Number(off), Number(off) + Number(n)), Number(dst)),
      msg_caller_size: () => size(1),
      msg_caller_copy: (dst) => void (new Uint8Array(mem!.buffer)[Number(dst)] = 4),
      msg_reply_data_append: (src, n) => void reply.push(...new Uint8Array(mem!.buffer, Number(src), Number(n))),
      msg_reply: () => {
        replies.push(Buffer.from(reply).toString('hex'))
        reply = []
      },
      trap: (src, n) => {
        throw new Error(`canister trapped: ${Buffer.from(new Uint8Array(mem!.buffer, Number(src), Number(n))).toString()}`)
      },
    })
    const e = inst.exports
    mem = e[exportNames.memory] as WebAssembly.Memory
    expect(mem).toBe(e[info.memory!.exportName!])
    expect(e[exportNames.table]).toBe(e.table)
    const call = (name: string): bigint => {
      e.__capsa_instructions.value = 1_000_000_000n
      e.__capsa_stack_depth.value = 0
      ;(e[name] as () => void)()
      ;(e[exportNames.dirtyCollect] as () => number)()
      return 1_000_000_000n - (e.__capsa_instructions.value as bigint)
    }
    call('canister_init')
    const used = call('canister_update inc')
    expect(used).toBeGreaterThan(100n)
    call('canister_update inc')
    call('canister_query get')
    // Candid: DIDL, one type-table-less value of type nat (7d), LEB value.
    expect(replies).toEqual(['4449444c00017d01', '4449444c00017d02', '4449444c00017d02'])
  })

  it('instruments deterministically and its output parses back consistently', async () => {
    const bytes = compileMotoko(counter, mode).wasm
    const a = instrument(bytes)
    const b = instrument(Uint8Array.from(bytes))
    expect(Buffer.from(a.bytes).equals(Buffer.from(b.bytes))).toBe(true)
    const info = parseModule(bytes)
    const out = parseModule(a.bytes)
    expect(out.exports.filter((e) => !e.name.startsWith('__capsa_'))).toEqual(info.exports)
    expect(out.imports).toEqual(info.imports)
    expect(out.memory64).toBe(info.memory64)
    expect(out.memory?.initialPages).toBe(info.memory?.initialPages)
    // Every option combination yields an engine-valid module.
    for (const opts of [{ dirtyPages: false }, { exactMetering: true }, { exactMetering: true, dirtyPages: false, maxStackBytes: 1 << 20 }]) {
      expect(WebAssembly.validate(instrument(bytes, opts).bytes as Uint8Array<ArrayBuffer>)).toBe(true)
    }
    // Instrumenting twice is refused (reserved __capsa_ exports), not silently doubled.
    expect(() => instrument(a.bytes)).toThrow(expect.objectContaining({ code: 'WASM_REJECTED' }))
  })
})

describe('AssemblyScript', () => {
  it('instruments a compiled module that runs, is metered and tracks dirty pages', async () => {
    const bytes = await assemblyScriptWasm(`
      @external("ic0", "msg_reply") declare function msg_reply(): void
      export function fib(n: u32): u64 { let a: u64 = 0, b: u64 = 1; for (let i: u32 = 0; i < n; i++) { const t = a + b; a = b; b = t } return a }
      export function poke(p: usize, n: i32): void { if (memory.size() < 1) memory.grow(1); for (let i = 0; i < n; i++) store<u32>(p + (i << 12), i) }
      export function reply(): void { msg_reply() }
      export function half(x: f64): f64 { return Math.sqrt(x) / 2 }
    `)
    const info = parseModule(bytes)
    validateCanisterModule(info)
    expect(info.imports.map((i) => `${i.module}.${i.name}`)).toEqual(['ic0.msg_reply'])
    const r = instrument(bytes)
    expect(WebAssembly.validate(r.bytes as Uint8Array<ArrayBuffer>)).toBe(true)
    let replied = 0
    const inst = await instantiate(r.bytes, info, { msg_reply: () => void replied++ })
    const e = inst.exports
    e.__capsa_instructions.value = 1_000_000n
    expect((e.fib as (n: number) => bigint)(50)).toBe(12586269025n)
    const used = 1_000_000n - (e.__capsa_instructions.value as bigint)
    expect(used).toBeGreaterThan(50n * 5n)
    ;(e.reply as () => void)()
    expect(replied).toBe(1)
    expect((e.half as (x: number) => number)(16)).toBe(2)
    ;(e[exportNames.dirtyCollect] as () => number)()
    ;(e.poke as (p: number, n: number) => void)(8192, 3)
    const count = (e[exportNames.dirtyCollect] as () => number)()
    expect([...new Uint32Array((e[exportNames.dirtyMemory] as WebAssembly.Memory).buffer, r.dirtyListOffset, count)].sort((a, b) => a - b)).toEqual([2, 3, 4])
  })
})
