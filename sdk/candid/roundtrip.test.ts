// Property check over generated types and values: encode → decode → print → parse → type → encode
// gives back the same bytes, in both output modes; and corrupted messages fail with coded errors.

import { IDL } from '@dfinity/candid'
import { Principal } from '@dfinity/principal'
import { describe, expect, it } from 'vitest'
import { encodeCandid } from '../../protocol/candid.ts'
import { isCapsaError } from '../../protocol/errors.ts'
import { formatReply } from './format.ts'
import { printReply } from './print.ts'
import { encodeArgs } from './typed.ts'

/** xorshift32: deterministic, so a failure reproduces. */
function rng(seed: number): () => number {
  let s = seed >>> 0 || 1
  return () => {
    s ^= s << 13; s >>>= 0; s ^= s >>> 17; s ^= s << 5; s >>>= 0
    return s / 2 ** 32
  }
}

type Gen = { type: IDL.Type; value: () => unknown }

function generator(r: () => number) {
  const int = (n: number): number => Math.floor(r() * n)
  const pick = <T>(xs: T[]): T => xs[int(xs.length)]
  const big = (bits: number): bigint => {
    let x = 0n
    for (let i = 0; i < bits; i += 16) x = (x << 16n) | BigInt(int(65536))
    return x & ((1n << BigInt(bits)) - 1n)
  }
  const texts = ['', 'plain', 'tab\t"quote"\\', "it's", 'ünï 😀 \u0301x', '\u0007\u200b\u0000', 'icrc1:name']
  const names = ['a', 'owner', 'type', 'first name', 'Ok', 'Err', 'balance', 'x_1']
  // candid's one-line form prints a valueless tag unquoted (`variant { first name }`), which does not
  // parse back, so tags stay identifiers.
  const tags = names.filter((n) => n !== 'first name')
  const principals = ['aaaaa-aa', 'ryjl3-tyaaa-aaaaa-aaaba-cai', '2vxsx-fae']
  const prims: Array<() => Gen> = [
    () => ({ type: IDL.Nat, value: () => big(int(3) * 40) }),
    () => ({ type: IDL.Int, value: () => (r() < 0.5 ? -1n : 1n) * big(int(3) * 40) }),
    ...[8, 16, 32, 64].map((bits) => () => ({ type: fixedNat(bits), value: () => (bits === 64 ? big(64) : Number(big(bits))) })),
    ...[8, 16, 32, 64].map((bits) => () => ({
      type: fixedInt(bits), value: () => { const v = big(bits) - (1n << BigInt(bits - 1)); return bits === 64 ? v : Number(v) },
    })),
    () => ({ type: IDL.Float64, value: () => pick([0, -0, 1.5, -1234.5678, 1e21, 1.5e-7, r() * 1e6, 5e-324]) }),
    () => ({ type: IDL.Float32, value: () => Math.fround(pick([0.1, -3, 1e10, r() * 100])) }),
    () => ({ type: IDL.Bool, value: () => r() < 0.5 }),
    () => ({ type: IDL.Text, value: () => pick(texts) }),
    () => ({ type: IDL.Null, value: () => null }),
    () => ({ type: IDL.Reserved, value: () => null }),
    () => ({ type: IDL.Principal, value: () => Principal.fromText(pick(principals)) }),
    () => ({ type: IDL.Vec(IDL.Nat8), value: () => Uint8Array.from({ length: int(6) }, () => pick([0, 0x41, 0x22, 0xff, 0x0a, int(256)])) }),
  ]
  const gen = (depth: number): Gen => {
    const k = depth <= 0 ? 0 : int(5)
    switch (k) {
      case 1: { const g = gen(depth - 1); return { type: IDL.Opt(g.type), value: () => (r() < 0.3 ? [] : [g.value()]) } }
      case 2: { const g = gen(depth - 1); return { type: IDL.Vec(g.type), value: () => Array.from({ length: int(r() < 0.1 ? 14 : 4) }, g.value) } }
      case 3: {
        if (r() < 0.3) { const gs = Array.from({ length: 1 + int(3) }, () => gen(depth - 1)); return { type: IDL.Tuple(...gs.map((g) => g.type)), value: () => gs.map((g) => g.value()) } }
        const fields = [...new Set(Array.from({ length: int(4) }, () => pick(names)))].map((n) => [n, gen(depth - 1)] as const)
        return { type: IDL.Record(Object.fromEntries(fields.map(([n, g]) => [n, g.type]))), value: () => Object.fromEntries(fields.map(([n, g]) => [n, g.value()])) }
      }
      case 4: {
        const fields = [...new Set(Array.from({ length: 1 + int(3) }, () => pick(tags)))].map((n) => [n, r() < 0.3 ? { type: IDL.Null, value: () => null } : gen(depth - 1)] as const)
        return { type: IDL.Variant(Object.fromEntries(fields.map(([n, g]) => [n, g.type]))), value: () => { const [n, g] = pick(fields); return { [n]: g.value() } } }
      }
      default: return pick(prims)()
    }
  }
  return gen
}

const fixedNat = (bits: number): IDL.Type => ({ 8: IDL.Nat8, 16: IDL.Nat16, 32: IDL.Nat32, 64: IDL.Nat64 })[bits]!
const fixedInt = (bits: number): IDL.Type => ({ 8: IDL.Int8, 16: IDL.Int16, 32: IDL.Int32, 64: IDL.Int64 })[bits]!

describe('generated round trips', () => {
  it('printing then parsing reproduces the exact message', () => {
    const r = rng(0xc0ffee)
    const gen = generator(r)
    for (let i = 0; i < 150; i++) {
      const gs = Array.from({ length: 1 + Math.floor(r() * 3) }, () => gen(4))
      const types = gs.map((g) => g.type)
      const bytes = encodeCandid(types, gs.map((g) => g.value()))
      for (const mode of ['pp', 'idl'] as const) {
        const text = printReply(bytes, types, mode)
        let again: Uint8Array
        try { again = encodeArgs(text, types) } catch (e) { throw new Error(`case ${i} (${mode}) did not parse back: ${(e as Error).message}\n${text}`) }
        expect(Buffer.from(again).toString('hex'), `case ${i} (${mode}):\n${text}`).toBe(Buffer.from(bytes).toString('hex'))
      }
    }
  })

  it('corrupted messages fail only with coded errors', () => {
    const r = rng(42)
    const gen = generator(r)
    let failures = 0
    for (let i = 0; i < 120; i++) {
      const g = gen(3)
      const bytes = encodeCandid([g.type], [g.value()])
      const bad = bytes.slice(0, Math.max(4, Math.floor(r() * bytes.length) + 1))
      if (bad.length > 6) bad[4 + Math.floor(r() * (bad.length - 4))] ^= 1 << Math.floor(r() * 8)
      for (const f of ['pp', 'json'] as const) {
        try { formatReply(bad, f); formatReply(bad, f, [g.type]) } catch (e) {
          failures++
          expect(isCapsaError(e), `case ${i}: ${(e as Error).stack}`).toBe(true)
        }
      }
    }
    expect(failures).toBeGreaterThan(40)
  })
})

describe('deep nesting', () => {
  it('fails with a code instead of overflowing the stack', () => {
    const deepText = '(' + 'opt '.repeat(50_000) + '1)'
    let err: unknown
    try { encodeArgs(deepText) } catch (e) { err = e }
    expect(isCapsaError(err, 'CANDID_SYNTAX')).toBe(true)
    // A type table of 30k nested opts (a few hundred KB, far under message limits).
    const n = 30_000
    const leb = (x: number): number[] => { const out: number[] = []; do { let b = x & 0x7f; x >>>= 7; if (x) b |= 0x80; out.push(b) } while (x); return out }
    // Type references are signed LEB128: a last byte with bit 6 set would read as negative.
    const sleb = (x: number): number[] => { const out: number[] = []; for (;;) { const b = x & 0x7f; x >>>= 7; if (x === 0 && (b & 0x40) === 0) { out.push(b); return out } out.push(b | 0x80) } }
    const table: number[] = [0x44, 0x49, 0x44, 0x4c, ...leb(n)]
    for (let i = 0; i < n; i++) table.push(0x6e, ...(i + 1 < n ? sleb(i + 1) : [0x7d]))
    table.push(1, 0, 0)
    err = undefined
    try { printReply(Uint8Array.from(table)) } catch (e) { err = e }
    expect(isCapsaError(err, 'CANDID_MALFORMED')).toBe(true)
    expect((err as Error).message).toBe('Candid input nested too deeply')
  })
})
