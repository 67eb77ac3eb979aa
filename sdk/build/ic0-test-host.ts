// A minimal single-canister ic0 host for unit-testing CDK canisters in Node without the replica:
// one instance, messages run to completion, stable memory in a Uint8Array that a new instance can
// take over ("upgrade"). No rollback on trap, no cycles accounting, no contexts checks beyond what
// the tests need; execution/ is the real implementation.

const PAGE = 65536

// Buffer.concat would return a view into Node's shared pool; decoders that use `.buffer` need a copy.
function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0))
  let at = 0
  for (const p of parts) {
    out.set(p, at)
    at += p.length
  }
  return out
}

export class HostTrap extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'HostTrap'
  }
}

export interface Outcome {
  reply?: Uint8Array
  reject?: string
}

export interface PendingCall {
  callee: Uint8Array
  method: string
  arg: Uint8Array
  reply: [number, number]
  reject: [number, number]
  cleanup?: [number, number]
  cycles: bigint
}

export class TestHost {
  stable: Uint8Array<ArrayBufferLike>
  time = 1_700_000_000_000_000_000n
  caller: Uint8Array = Uint8Array.of(4) // the anonymous principal
  selfId: Uint8Array = Uint8Array.of(0, 0, 0, 0, 0, 0, 0, 1, 1, 1)
  logs: string[] = []
  calls: PendingCall[] = []
  timer = 0n
  certifiedData: Uint8Array = new Uint8Array(0)
  readonly instance: WebAssembly.Instance
  #arg: Uint8Array = new Uint8Array(0)
  #reply: Uint8Array[] = []
  #outcome: Outcome | undefined
  #rejectCode = 0
  #rejectMsg = ''
  #building: PendingCall | undefined

  constructor(wasm: Uint8Array, stable: Uint8Array = new Uint8Array(0)) {
    this.stable = stable
    const module = new WebAssembly.Module(wasm as Uint8Array<ArrayBuffer>)
    const ic0 = this.#ic0()
    // Functions this host does not model trap when called, so any module can still be instantiated.
    for (const i of WebAssembly.Module.imports(module)) {
      if (i.module === 'ic0' && !(i.name in ic0)) {
        ic0[i.name] = () => {
          throw new HostTrap(`ic0.${i.name} is not provided by the test host`)
        }
      }
    }
    this.instance = new WebAssembly.Instance(module, { ic0 })
  }

  get memory(): WebAssembly.Memory {
    return this.instance.exports.memory as WebAssembly.Memory
  }

  #mem(): Uint8Array {
    return new Uint8Array(this.memory.buffer)
  }

  #bytes(src: number, size: number): Uint8Array {
    return this.#mem().slice(src, src + size)
  }

  #copyOut(data: Uint8Array, dst: number, offset: number, size: number): void {
    if (offset + size > data.length) throw new HostTrap(`copy out of bounds: ${offset}+${size} > ${data.length}`)
    this.#mem().set(data.subarray(offset, offset + size), dst)
  }

  #respond(o: Outcome): void {
    if (this.#outcome) throw new HostTrap('already replied')
    this.#outcome = o
  }

  #ic0(): Record<string, (...a: never[]) => unknown> {
    const text = (src: number, size: number): string => new TextDecoder().decode(this.#bytes(src, size))
    const u128 = (dst: number, v: bigint): void => {
      const b = new DataView(this.memory.buffer)
      b.setBigUint64(dst, v & 0xffffffffffffffffn, true)
      b.setBigUint64(dst + 8, v >> 64n, true)
    }
    const stableCheck = (offset: bigint, size: bigint): void => {
      if (offset + size > BigInt(this.stable.length)) throw new HostTrap('stable memory access out of bounds')
    }
    return {
      msg_arg_data_size: () => this.#arg.length,
      msg_arg_data_copy: (dst: number, off: number, size: number) => this.#copyOut(this.#arg, dst, off, size),
      msg_caller_size: () => this.caller.length,
      msg_caller_copy: (dst: number, off: number, size: number) => this.#copyOut(this.caller, dst, off, size),
      canister_self_size: () => this.selfId.length,
      canister_self_copy: (dst: number, off: number, size: number) => this.#copyOut(this.selfId, dst, off, size),
      msg_reply_data_append: (src: number, size: number) => void this.#reply.push(this.#bytes(src, size)),
      msg_reply: () => this.#respond({ reply: concat(this.#reply) }),
      msg_reject: (src: number, size: number) => this.#respond({ reject: text(src, size) }),
      msg_reject_code: () => this.#rejectCode,
      msg_reject_msg_size: () => new TextEncoder().encode(this.#rejectMsg).length,
      msg_reject_msg_copy: (dst: number, off: number, size: number) =>
        this.#copyOut(new TextEncoder().encode(this.#rejectMsg), dst, off, size),
      time: () => this.time,
      debug_print: (src: number, size: number) => void this.logs.push(text(src, size)),
      trap: (src: number, size: number) => {
        throw new HostTrap(text(src, size))
      },
      canister_cycle_balance128: (dst: number) => u128(dst, 10n ** 13n),
      msg_cycles_available128: (dst: number) => u128(dst, 0n),
      msg_cycles_refunded128: (dst: number) => u128(dst, 0n),
      certified_data_set: (src: number, size: number) => {
        this.certifiedData = this.#bytes(src, size)
      },
      global_timer_set: (t: bigint) => {
        const prev = this.timer
        this.timer = t
        return prev
      },
      performance_counter: () => 0n,
      stable64_size: () => BigInt(this.stable.length / PAGE),
      stable64_grow: (pages: bigint) => {
        const old = BigInt(this.stable.length / PAGE)
        const next = new Uint8Array(this.stable.length + Number(pages) * PAGE)
        next.set(this.stable)
        this.stable = next
        return old
      },
      stable64_write: (offset: bigint, src: bigint, size: bigint) => {
        stableCheck(offset, size)
        this.stable.set(this.#bytes(Number(src), Number(size)), Number(offset))
      },
      stable64_read: (dst: bigint, offset: bigint, size: bigint) => {
        stableCheck(offset, size)
        this.#mem().set(this.stable.subarray(Number(offset), Number(offset + size)), Number(dst))
      },
      call_new: (cs: number, cz: number, ns: number, nz: number, rf: number, re: number, jf: number, je: number) => {
        this.#building = {
          callee: this.#bytes(cs, cz), method: text(ns, nz), arg: new Uint8Array(0),
          reply: [rf, re], reject: [jf, je], cycles: 0n,
        }
      },
      call_data_append: (src: number, size: number) => {
        const c = this.#need()
        c.arg = concat([c.arg, this.#bytes(src, size)])
      },
      call_on_cleanup: (fun: number, env: number) => {
        this.#need().cleanup = [fun, env]
      },
      call_cycles_add128: (high: bigint, low: bigint) => {
        this.#need().cycles += (high << 64n) + low
      },
      call_perform: () => {
        this.calls.push(this.#need())
        this.#building = undefined
        return 0
      },
    }
  }

  #need(): PendingCall {
    if (!this.#building) throw new HostTrap('no call under construction')
    return this.#building
  }

  /** Runs an exported entry point (`canister_update inc`, `canister_global_timer`, ...). */
  run(exportName: string, arg: Uint8Array = new Uint8Array(0)): Outcome {
    const fn = this.instance.exports[exportName]
    if (typeof fn !== 'function') throw new Error(`no export ${exportName}`)
    return this.#invoke(arg, () => (fn as () => void)())
  }

  /** Delivers a reply (or reject) to a pending call's callback. */
  deliver(call: PendingCall, outcome: { reply: Uint8Array } | { rejectCode: number; message: string }): Outcome {
    const table = this.instance.exports.table as WebAssembly.Table
    if ('reply' in outcome) {
      this.#rejectCode = 0
      return this.#invoke(outcome.reply, () => table.get(call.reply[0])(call.reply[1]))
    }
    this.#rejectCode = outcome.rejectCode
    this.#rejectMsg = outcome.message
    return this.#invoke(new Uint8Array(0), () => table.get(call.reject[0])(call.reject[1]))
  }

  #invoke(arg: Uint8Array, f: () => void): Outcome {
    this.#arg = arg
    this.#reply = []
    this.#outcome = undefined
    f()
    return this.#outcome ?? {}
  }
}
