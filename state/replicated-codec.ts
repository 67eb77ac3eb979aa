// The binary encoding of execution's state records for checkpoints (replicated-snapshot.ts). Built on
// codec.ts, so it is canonical: maps are written as lists in ascending key order and the decoder
// refuses anything else (unsorted or duplicate keys, bad tags, non-minimal integers, trailing bytes),
// which makes decode∘encode the identity and encode∘decode the identity on every accepted input.
// Integers of any size are a sign byte and minimal big-endian magnitude, as Cycles are 128-bit; a
// JavaScript number that may hold a float (a f32/f64 global) travels as its IEEE-754 bits, and a
// number|bigint union carries a tag, so a restored value has exactly the original's type.

import { CapsaError } from '../protocol/errors.ts'
import type { CanisterId, Cycles, TimeNs } from '../protocol/ids.ts'
import type {
  CallContext, CallOrigin, Callback, CallbackRef, CanisterLog, CanisterSettings, CanisterState, CanisterStatus, GlobalValue, OutgoingCall,
} from '../execution/canister-state.ts'
import type { IncomingCall } from '../execution/call-context.ts'
import type { PageMap } from '../execution/page-map.ts'
import { bytesEqual, sha256 } from '../protocol/hash.ts'
import { Reader, Writer } from './codec.ts'

export class Enc {
  readonly w = new Writer()
  u8(v: number): this {
    this.w.u8(v)
    return this
  }
  bool(v: boolean): this {
    return this.u8(v ? 1 : 0)
  }
  count(n: number): this {
    this.w.u32(n)
    return this
  }
  bytes(b: Uint8Array): this {
    this.w.bytes(b)
    return this
  }
  text(s: string): this {
    this.w.text(s)
    return this
  }
  int(v: bigint): this {
    let m = v < 0n ? -v : v
    const out: number[] = []
    while (m > 0n) {
      out.push(Number(m & 0xffn))
      m >>= 8n
    }
    return this.u8(v < 0n ? 1 : 0).bytes(Uint8Array.from(out.reverse()))
  }
  /** A non-negative safe integer held as a number (sizes, counts, codes). */
  small(v: number): this {
    if (!Number.isSafeInteger(v) || v < 0) throw new CapsaError('INVALID_ARGUMENT', `replicated state: ${v} is not a non-negative integer`)
    return this.int(BigInt(v))
  }
  num(v: number | bigint): this {
    if (typeof v === 'bigint') return this.u8(1).int(v)
    if (typeof v !== 'number') throw new CapsaError('INVALID_ARGUMENT', `replicated state: cannot persist a ${typeof v} value`)
    const b = new Uint8Array(8)
    new DataView(b.buffer).setFloat64(0, v)
    this.u8(0)
    this.w.u64(new DataView(b.buffer).getBigUint64(0))
    return this
  }
  opt<T>(v: T | undefined, f: (v: T) => void): this {
    this.bool(v !== undefined)
    if (v !== undefined) f(v)
    return this
  }
  list<T>(items: readonly T[], f: (v: T) => void): this {
    this.count(items.length)
    for (const x of items) f(x)
    return this
  }
  finish(): Uint8Array {
    return this.w.finish()
  }
}

export class Dec {
  readonly name: string
  readonly #r: Reader
  constructor(bytes: Uint8Array, name: string) {
    this.name = name
    this.#r = new Reader(bytes, `replicated state blob ${name}`, 'STATE_CORRUPT')
  }
  fail(what: string): never {
    throw new CapsaError('STATE_CORRUPT', `replicated state blob ${this.name}: ${what}`, { blob: this.name })
  }
  u8(): number {
    return this.#r.u8()
  }
  tag(max: number, what: string): number {
    const t = this.#r.u8()
    if (t > max) this.fail(`bad ${what} tag ${t}`)
    return t
  }
  bool(): boolean {
    return this.tag(1, 'boolean') === 1
  }
  count(): number {
    return this.#r.u32()
  }
  bytes(): Uint8Array {
    return this.#r.bytes().slice()
  }
  text(): string {
    return this.#r.text()
  }
  int(): bigint {
    const neg = this.bool()
    const mag = this.#r.bytes()
    if (mag.length > 0 && mag[0] === 0) this.fail('non-minimal integer')
    if (neg && mag.length === 0) this.fail('negative zero')
    let v = 0n
    for (const b of mag) v = (v << 8n) | BigInt(b)
    return neg ? -v : v
  }
  nat(): bigint {
    const v = this.int()
    if (v < 0n) this.fail(`negative value ${v}`)
    return v
  }
  small(): number {
    const v = this.nat()
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) this.fail(`integer ${v} too large`)
    return Number(v)
  }
  num(): number | bigint {
    if (this.tag(1, 'number') === 1) return this.int()
    const b = new Uint8Array(8)
    new DataView(b.buffer).setBigUint64(0, this.#r.u64())
    return new DataView(b.buffer).getFloat64(0)
  }
  opt<T>(f: () => T): T | undefined {
    return this.bool() ? f() : undefined
  }
  list<T>(f: () => T): T[] {
    const out: T[] = []
    for (let n = this.count(), i = 0; i < n; i++) out.push(f())
    return out
  }
  /** Entries written in ascending key order; refuses any other order, so keys are unique. */
  sorted<K extends string | bigint, V>(key: () => K, value: () => V): Map<K, V> {
    const out = new Map<K, V>()
    let prev: K | undefined
    for (let n = this.count(), i = 0; i < n; i++) {
      const k = key()
      if (prev !== undefined && !(prev < k)) this.fail(`keys not in ascending order at ${String(k)}`)
      out.set(k, value())
      prev = k
    }
    return out
  }
  end(): void {
    this.#r.end()
  }
}

/** Records with ids, written in ascending id order; refuses any other order. */
function byId<T extends { id: bigint }>(d: Dec, items: T[], what: string): Map<bigint, T> {
  const out = new Map<bigint, T>()
  let prev = -1n
  for (const x of items) {
    if (x.id <= prev) d.fail(`${what} ${x.id} out of order`)
    out.set(x.id, x)
    prev = x.id
  }
  return out
}

export function sortedEntries<K extends string | bigint, V>(m: ReadonlyMap<K, V>): [K, V][] {
  return [...m.entries()].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))
}

// ----------------------------------------------------------------------------------------------
// Records shared by the subnet blobs and the canister blobs

export function encOrigin(e: Enc, o: CallOrigin): void {
  if (o.kind === 'ingress') e.u8(0).bytes(o.sender).bytes(o.messageId)
  else if (o.kind === 'canister') e.u8(1).bytes(o.caller).int(o.callbackId).int(o.deadline)
  else e.u8(2)
}
export function decOrigin(d: Dec): CallOrigin {
  const t = d.tag(2, 'call origin')
  if (t === 0) return { kind: 'ingress', sender: d.bytes(), messageId: d.bytes() }
  if (t === 1) return { kind: 'canister', caller: d.bytes() as CanisterId, callbackId: d.int(), deadline: d.int() }
  return { kind: 'system' }
}

export function encIncomingCall(e: Enc, c: IncomingCall): void {
  encOrigin(e, c.origin)
  e.bytes(c.caller).text(c.method).bytes(c.arg).int(c.cycles).int(c.deadline)
}
export function decIncomingCall(d: Dec): IncomingCall {
  return { origin: decOrigin(d), caller: d.bytes(), method: d.text(), arg: d.bytes(), cycles: d.int() as Cycles, deadline: d.int() }
}

const encRef = (e: Enc, r: CallbackRef): void => void e.num(r.fun).num(r.env)
const decRef = (d: Dec): CallbackRef => ({ fun: d.num(), env: d.num() })

function encSettings(e: Enc, s: CanisterSettings): void {
  e.list(s.controllers, (c) => e.bytes(c))
  e.int(s.computeAllocation).int(s.memoryAllocation).int(s.freezingThreshold).int(s.reservedCyclesLimit)
  e.u8(s.logVisibility === 'public' ? 1 : 0).int(s.wasmMemoryLimit).int(s.wasmMemoryThreshold)
}
function decSettings(d: Dec): CanisterSettings {
  return {
    controllers: d.list(() => d.bytes()),
    computeAllocation: d.int(), memoryAllocation: d.int(), freezingThreshold: d.int(), reservedCyclesLimit: d.int(),
    logVisibility: d.tag(1, 'log visibility') === 1 ? 'public' : 'controllers',
    wasmMemoryLimit: d.int(), wasmMemoryThreshold: d.int(),
  }
}

const STATUSES: CanisterStatus[] = ['running', 'stopping', 'stopped']

/** Every field of a CanisterState except the two page maps (persisted as page maps of their own). */
export function encCanister(e: Enc, c: CanisterState): void {
  e.bytes(c.id)
  e.opt(c.module, (m) => e.bytes(m.bytes).bytes(m.hash).bool(m.memory64))
  e.small(c.heapWasmPages).int(c.stableWasmPages)
  e.list(c.globals, (g) => e.num(g))
  encSettings(e, c.settings)
  if (!STATUSES.includes(c.status)) throw new CapsaError('INVALID_ARGUMENT', `replicated state: unknown canister status ${c.status}`)
  e.int(c.cycles).u8(STATUSES.indexOf(c.status)).bytes(c.certifiedData).int(c.globalTimer).int(c.version)
  e.list(sortedEntries(c.callContexts), ([, x]) => {
    e.int(x.id)
    encOrigin(e, x.origin)
    e.bool(x.responded).int(x.availableCycles).int(x.instructions)
  })
  e.int(c.nextCallContextId)
  e.list(sortedEntries(c.callbacks), ([, b]) => {
    e.int(b.id).int(b.callContextId).bytes(b.callee)
    encRef(e, b.reply)
    encRef(e, b.reject)
    e.opt(b.cleanup, (r) => encRef(e, r)).int(b.cyclesSent).int(b.deadline)
  })
  e.int(c.nextCallbackId)
  e.list(c.outputQueue, (o) => {
    e.bytes(o.callee).text(o.method).bytes(o.arg).int(o.cycles)
    encRef(e, o.reply)
    encRef(e, o.reject)
    e.opt(o.cleanup, (r) => encRef(e, r)).opt(o.timeoutSeconds, (t) => e.small(t))
  })
  e.int(c.log.nextIdx).small(c.log.bytes).list(c.log.records, (r) => e.int(r.idx).int(r.timestampNanos).bytes(r.content))
}

export function decCanister(d: Dec, heap: PageMap, stable: PageMap): CanisterState {
  const id = d.bytes() as CanisterId
  const module = d.opt(() => {
    const m = { bytes: d.bytes(), hash: d.bytes(), memory64: d.bool() }
    if (!bytesEqual(sha256(m.bytes), m.hash)) d.fail('module bytes do not match the module hash')
    return m
  })
  const heapWasmPages = d.small()
  const stableWasmPages = d.nat()
  const globals: GlobalValue[] = d.list(() => d.num())
  const settings = decSettings(d)
  const cycles = d.int() as Cycles
  const status = STATUSES[d.tag(2, 'canister status')]
  const certifiedData = d.bytes()
  const globalTimer = d.int() as TimeNs
  const version = d.int()
  const callContexts = byId(d, d.list((): CallContext => ({
    id: d.int(), origin: decOrigin(d), responded: d.bool(), availableCycles: d.int() as Cycles, instructions: d.int(),
  })), 'call context')
  const nextCallContextId = d.int()
  const callbacks = byId(d, d.list((): Callback => ({
    id: d.int(), callContextId: d.int(), callee: d.bytes(), reply: decRef(d), reject: decRef(d),
    cleanup: d.opt(() => decRef(d)), cyclesSent: d.int() as Cycles, deadline: d.int(),
  })), 'callback')
  const nextCallbackId = d.int()
  const outputQueue = d.list((): OutgoingCall => ({
    callee: d.bytes(), method: d.text(), arg: d.bytes(), cycles: d.int() as Cycles, reply: decRef(d), reject: decRef(d),
    cleanup: d.opt(() => decRef(d)), timeoutSeconds: d.opt(() => d.small()),
  }))
  const log: CanisterLog = { nextIdx: d.int(), bytes: d.small(), records: d.list(() => ({ idx: d.int(), timestampNanos: d.int(), content: d.bytes() })) }
  return {
    id, module, heap, heapWasmPages, stable, stableWasmPages, globals, settings, cycles, status, certifiedData, globalTimer, version,
    callContexts, nextCallContextId, callbacks, nextCallbackId, outputQueue, log,
  }
}
