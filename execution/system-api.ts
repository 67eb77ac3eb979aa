// The ic0 import object. Every function is written once over plain numbers: the wrapper built from
// the signature table converts the module's arguments (i32 numbers or i64 bigints, depending on the
// memory's width) to unsigned values, checks the calling context, and converts results back.

import { CapsaError } from '../protocol/errors.ts'
import { limits } from '../protocol/limits.ts'
import { cycles } from '../protocol/ids.ts'
import { IcErrorCode, RejectCode } from '../protocol/reject.ts'
import { bytesEqual } from '../protocol/hash.ts'
import { STATUS_CODE } from './canister-state.ts'
import type { CanisterState } from './canister-state.ts'
import { calledTrap, contractViolation, CanisterTrap } from './trap.ts'
import { IC0, CONTEXT_NAMES, concreteType } from './system-api-table.ts'
import type { Ic0Signature } from './system-api-table.ts'
import type { ModuleShape } from './module-shape.ts'
import { emptyEffects } from './system-api-env.ts'
import { callTotalFee, canisterCreationFee, liquidBalance } from './cycles.ts'
import type { Effects, MessageEnv } from './system-api-env.ts'

const WASM_PAGE = 65536
const U64 = (1n << 64n) - 1n
const utf8 = new TextDecoder('utf-8', { fatal: true })
const enc = new TextEncoder()

// The last argument is the raw argument list (callback table indices and env values pass through
// unconverted, so an i64 env keeps all 64 bits).
type Impl = (...args: any[]) => number | bigint | void // eslint-disable-line @typescript-eslint/no-explicit-any

/** Checks a module's function imports against the spec's list; throws what install_code reports. */
export function validateImports(shape: ModuleShape): void {
  for (const imp of shape.otherImports) {
    throw new CapsaError('INVALID_ARGUMENT', `Wasm module has an invalid import section: it imports ${imp.kind} '${imp.module}.${imp.name}'; canisters may import only ic0 functions`)
  }
  for (const f of shape.functionImports) {
    const s = f.module === 'ic0' ? IC0[f.name] : undefined
    if (s === undefined || (s.only32 && shape.memory64)) {
      throw new CapsaError('INVALID_ARGUMENT', `Wasm module has an invalid import section. Module imports function '${f.name}' from '${f.module}' that is not exported by the runtime.`)
    }
    const want = concreteType(s, shape.memory64)
    if (want.params.join() !== f.type.params.join() || want.results.join() !== f.type.results.join()) {
      throw new CapsaError('INVALID_ARGUMENT', `Wasm module has an invalid import section. Module imports function '${f.name}' from 'ic0' with type (${f.type.params.join(', ')}) -> (${f.type.results.join(', ')}) but the runtime expects (${want.params.join(', ')}) -> (${want.results.join(', ')}).`)
    }
  }
}

function u128Bytes(v: bigint): Uint8Array {
  const out = new Uint8Array(16)
  const dv = new DataView(out.buffer)
  dv.setBigUint64(0, v & U64, true)
  dv.setBigUint64(8, v >> 64n, true)
  return out
}

export class SystemApi {
  readonly state: CanisterState
  readonly memory64: boolean
  env: MessageEnv | undefined
  fx: Effects
  #memory: WebAssembly.Memory | undefined
  /** Instructions spent by the running invocation; 0 until the module is instrumented. */
  instructionsUsed: () => bigint = () => 0n

  constructor(state: CanisterState, memory64: boolean) {
    this.state = state
    this.memory64 = memory64
    this.fx = emptyEffects(state.stableWasmPages)
  }

  setMemory(memory: WebAssembly.Memory | undefined): void {
    this.#memory = memory
  }

  /** Starts an invocation: fresh effects, the given inputs. */
  begin(env: MessageEnv): void {
    this.env = env
    this.fx = emptyEffects(this.state.stableWasmPages)
  }

  /** Builds the import object for exactly the ic0 functions the module imports. */
  importObject(shape: ModuleShape): WebAssembly.Imports {
    const ic0: Record<string, (...a: (number | bigint)[]) => number | bigint | void> = {}
    const impls = this.#impls()
    for (const f of shape.functionImports) {
      const s = IC0[f.name]
      const impl = impls[f.name] ?? this.#unsupported(f.name)
      ic0[f.name] = this.#wrap(f.name, s, impl)
    }
    return { ic0 }
  }

  #wrap(name: string, s: Ic0Signature, impl: Impl): (...a: (number | bigint)[]) => number | bigint | void {
    const params = s.params
    const result = s.results[0]
    const wide = this.memory64
    return (...raw) => {
      const env = this.env
      try {
        if (env === undefined) throw contractViolation(`"ic0_${name}" called outside of any entry point`)
        if (!s.contexts.has(env.context)) throw contractViolation(`"ic0_${name}" cannot be executed in ${CONTEXT_NAMES[env.context]} mode`)
        const args = params.map((p, i) => {
          const v = raw[i]
          if (p === 'i64') return BigInt.asUintN(64, v as bigint)
          if (p === 'I' && wide) return Number(BigInt.asUintN(64, v as bigint))
          return (v as number) >>> 0
        })
        const r = impl(...args, raw)
        if (result === undefined) return undefined
        if (result === 'i64') return BigInt.asIntN(64, r as bigint)
        if (result === 'I' && wide) return BigInt(r as number)
        return r as number
      } catch (e) {
        if (e instanceof CanisterTrap && this.fx.trap === undefined) this.fx.trap = e
        throw e
      }
    }
  }

  #unsupported(name: string): Impl {
    return () => {
      throw contractViolation(`ic0.${name} is not supported by Capsa yet`)
    }
  }

  #heap(): Uint8Array {
    if (this.#memory === undefined) throw contractViolation('the module has no memory to copy from or to')
    return new Uint8Array(this.#memory.buffer)
  }

  /** Bytes [src, src+size) of the Wasm memory, copied out. */
  readHeap(name: string, src: number, size: number): Uint8Array {
    const heap = this.#heap()
    if (src + size > heap.length) throw contractViolation(`ic0.${name}: src=${src} + size=${size} exceeds the Wasm memory size of ${heap.length} bytes`)
    return heap.slice(src, src + size)
  }

  writeHeap(name: string, dst: number, bytes: Uint8Array): void {
    const heap = this.#heap()
    if (dst + bytes.length > heap.length) throw contractViolation(`ic0.${name}: dst=${dst} + size=${bytes.length} exceeds the Wasm memory size of ${heap.length} bytes`)
    heap.set(bytes, dst)
    this.#markHostWrite(dst, bytes.length)
  }

  /** Heap pages the host wrote (the `_copy` functions, stable reads): the instrumentation sees only
   *  the module's own stores, so LiveInstance merges these into the dirty set of the message. */
  readonly hostWrites = new Set<number>()

  #markHostWrite(dst: number, size: number): void {
    for (let p = Math.floor(dst / 4096), last = Math.floor((dst + size - 1) / 4096); p <= last; p++) this.hostWrites.add(p)
  }

  /** The spec's `_copy` idiom: blob[offset, offset+size) to memory[dst, dst+size). */
  #copy(name: string, blob: Uint8Array, dst: number, offset: number, size: number): void {
    if (offset + size > blob.length) throw contractViolation(`ic0.${name}: offset=${offset} + size=${size} exceeds the blob size of ${blob.length} bytes`)
    this.writeHeap(name, dst, blob.subarray(offset, offset + size))
  }

  balance(): bigint {
    return this.state.cycles + this.fx.cyclesAccepted - this.fx.cyclesBurned - this.fx.cyclesOnCalls - this.fx.cyclesForCallFees
  }

  /** The balance above the freezing limit: what calls, transfers and burns may spend. */
  liquid(): bigint {
    return liquidBalance(this.balance(), this.env?.freezingLimit ?? 0n)
  }

  #impls(): Record<string, Impl> {
    const n = (v: unknown): number => v as number
    const b = (v: unknown): bigint => v as bigint
    const env = (): MessageEnv => this.env!
    const fx = (): Effects => this.fx
    const stableCheck = (name: string, offset: bigint, size: bigint): void => {
      if (offset + size > this.fx.stableWasmPages * BigInt(WASM_PAGE)) {
        throw contractViolation(`ic0.${name}: offset=${offset} + size=${size} exceeds the stable memory size of ${this.fx.stableWasmPages * BigInt(WASM_PAGE)} bytes`)
      }
    }
    const stableWrite = (name: string, offset: bigint, src: number, size: bigint): void => {
      stableCheck(name, offset, size)
      const bytes = this.readHeap(name, src, Number(size))
      this.state.stable.writeBytes(Number(offset), bytes)
    }
    const stableRead = (name: string, dst: number, offset: bigint, size: bigint): void => {
      stableCheck(name, offset, size)
      const heap = this.#heap()
      if (dst + Number(size) > heap.length) throw contractViolation(`ic0.${name}: dst=${dst} + size=${size} exceeds the Wasm memory size of ${heap.length} bytes`)
      this.state.stable.readBytes(Number(offset), Number(size), heap, dst)
      this.#markHostWrite(dst, Number(size))
    }
    const stableGrow = (add: bigint, maxPages: bigint): bigint => {
      const old = this.fx.stableWasmPages
      const next = old + add
      if (next > maxPages) return -1n
      this.fx.stableWasmPages = next
      return old
    }
    const maxStablePages = BigInt(limits.maxStableMemoryBytes / WASM_PAGE)
    const respondCheck = (name: string): void => {
      if (!env().canRespond) throw contractViolation(`ic0.${name}: the call context does not need a response`)
      if (fx().response !== undefined) throw contractViolation(`ic0.${name}: the call is already replied or rejected`)
    }
    const call = (name: string) => {
      const c = fx().pendingCall
      if (c === undefined) throw contractViolation(`ic0.${name} called when no call is under construction`)
      return c
    }
    const noEnvVar = (name: string) => (): never => {
      throw contractViolation(`ic0.${name}: no environment variable with that index or name (this canister has none)`)
    }
    const readName = (name: string, src: number, size: number): string => {
      try {
        return utf8.decode(this.readHeap(name, src, size))
      } catch (e) {
        if (e instanceof CanisterTrap) throw e
        throw contractViolation(`ic0.${name}: the name is not valid UTF-8`)
      }
    }
    const cyclesAt = (high: bigint, low: bigint): bigint => (high << 64n) | low
    return {
      msg_arg_data_size: () => env().argData.length,
      msg_arg_data_copy: (dst, off, size) => this.#copy('msg_arg_data_copy', env().argData, n(dst), n(off), n(size)),
      msg_caller_size: () => env().caller.length,
      msg_caller_copy: (dst, off, size) => this.#copy('msg_caller_copy', env().caller, n(dst), n(off), n(size)),
      msg_caller_info_data_size: () => 0,
      msg_caller_info_data_copy: (dst, off, size) => this.#copy('msg_caller_info_data_copy', new Uint8Array(0), n(dst), n(off), n(size)),
      msg_caller_info_signer_size: () => 0,
      msg_caller_info_signer_copy: (dst, off, size) => this.#copy('msg_caller_info_signer_copy', new Uint8Array(0), n(dst), n(off), n(size)),
      msg_reject_code: () => env().rejectCode,
      msg_reject_msg_size: () => enc.encode(env().rejectMessage).length,
      msg_reject_msg_copy: (dst, off, size) => this.#copy('msg_reject_msg_copy', enc.encode(env().rejectMessage), n(dst), n(off), n(size)),
      msg_deadline: () => env().deadline,
      msg_reply_data_append: (src, size) => {
        respondCheck('msg_reply_data_append')
        if (fx().replyBytes + n(size) > limits.maxResponseBytes) throw contractViolation(`ic0.msg_reply_data_append: the reply exceeds the maximum response size of ${limits.maxResponseBytes} bytes`)
        fx().replyBuffer.push(this.readHeap('msg_reply_data_append', n(src), n(size)))
        fx().replyBytes += n(size)
      },
      msg_reply: () => {
        respondCheck('msg_reply')
        fx().response = { kind: 'reply', bytes: new Uint8Array(Buffer.concat(fx().replyBuffer)) }
        fx().replyBuffer = []
      },
      msg_reject: (src, size) => {
        respondCheck('msg_reject')
        fx().response = { kind: 'reject', rejectCode: RejectCode.CANISTER_REJECT, errorCode: IcErrorCode.CanisterRejectedMessage, message: readName('msg_reject', n(src), n(size)) }
        fx().replyBuffer = []
      },
      msg_cycles_available128: (dst) => this.writeHeap('msg_cycles_available128', n(dst), u128Bytes(env().cyclesAvailable - fx().cyclesAccepted)),
      msg_cycles_refunded128: (dst) => this.writeHeap('msg_cycles_refunded128', n(dst), u128Bytes(env().cyclesRefunded)),
      msg_cycles_accept128: (high, low, dst) => {
        const want = cyclesAt(b(high), b(low))
        const available = env().cyclesAvailable - fx().cyclesAccepted
        const amount = want < available ? want : available
        this.writeHeap('msg_cycles_accept128', n(dst), u128Bytes(amount))
        fx().cyclesAccepted += amount
      },
      cycles_burn128: (high, low, dst) => {
        const want = cyclesAt(b(high), b(low))
        const liquid = this.liquid()
        const amount = want < liquid ? want : liquid
        this.writeHeap('cycles_burn128', n(dst), u128Bytes(amount))
        fx().cyclesBurned += amount
      },
      canister_self_size: () => this.state.id.length,
      canister_self_copy: (dst, off, size) => this.#copy('canister_self_copy', this.state.id, n(dst), n(off), n(size)),
      canister_cycle_balance128: (dst) => this.writeHeap('canister_cycle_balance128', n(dst), u128Bytes(this.balance())),
      canister_liquid_cycle_balance128: (dst) => this.writeHeap('canister_liquid_cycle_balance128', n(dst), u128Bytes(this.liquid())),
      canister_status: () => STATUS_CODE[this.state.status],
      canister_version: () => this.state.version,
      subnet_self_size: () => env().subnetId.length,
      subnet_self_copy: (dst, off, size) => this.#copy('subnet_self_copy', env().subnetId, n(dst), n(off), n(size)),
      msg_method_name_size: () => enc.encode(env().methodName).length,
      msg_method_name_copy: (dst, off, size) => this.#copy('msg_method_name_copy', enc.encode(env().methodName), n(dst), n(off), n(size)),
      accept_message: () => {
        if (fx().acceptedMessage) throw contractViolation('ic0.accept_message: the function was already called')
        fx().acceptedMessage = true
      },
      call_new: (calleeSrc, calleeSize, nameSrc, nameSize, _rf, _re, _jf, _je, raw: (number | bigint)[]) => {
        const [replyFun, replyEnv, rejectFun, rejectEnv] = raw.slice(4)
        const previous = fx().pendingCall
        if (previous !== undefined) fx().cyclesOnCalls -= previous.cycles
        const callee = this.readHeap('call_new', n(calleeSrc), n(calleeSize))
        if (callee.length > limits.maxPrincipalBytes) throw contractViolation('ic0.call_new: the callee is not a valid principal')
        const method = readName('call_new', n(nameSrc), n(nameSize))
        if (n(nameSize) > limits.maxMethodNameBytes) throw contractViolation('ic0.call_new: the method name is too long')
        const ref = (fun: number | bigint, e: number | bigint) => ({ fun, env: e })
        fx().pendingCall = {
          callee, method, args: [], argBytes: 0, cycles: 0n,
          reply: ref(replyFun, replyEnv), reject: ref(rejectFun, rejectEnv), cleanup: undefined, timeoutSeconds: undefined,
        }
      },
      call_on_cleanup: (_f, _e, raw: (number | bigint)[]) => {
        const [fun, e] = raw
        const c = call('call_on_cleanup')
        if (c.cleanup !== undefined) throw contractViolation('ic0.call_on_cleanup: a cleanup callback is already set for this call')
        c.cleanup = { fun, env: e }
      },
      call_data_append: (src, size) => {
        const c = call('call_data_append')
        if (c.argBytes + n(size) > limits.maxInterCanisterPayloadBytes) throw contractViolation(`ic0.call_data_append: the payload exceeds ${limits.maxInterCanisterPayloadBytes} bytes`)
        c.args.push(this.readHeap('call_data_append', n(src), n(size)))
        c.argBytes += n(size)
      },
      call_with_best_effort_response: (timeout) => {
        const c = call('call_with_best_effort_response')
        if (c.timeoutSeconds !== undefined) throw contractViolation('ic0.call_with_best_effort_response: the timeout is already set for this call')
        c.timeoutSeconds = Math.min(Math.max(n(timeout), 1), MAX_CALL_TIMEOUT_SECONDS)
      },
      call_cycles_add128: (high, low) => {
        const c = call('call_cycles_add128')
        const amount = cyclesAt(b(high), b(low))
        if (amount > this.liquid()) throw contractViolation(`ic0.call_cycles_add128: the canister cannot transfer ${amount} cycles; its liquid balance is ${this.liquid()}`)
        c.cycles += amount
        fx().cyclesOnCalls += amount
      },
      call_perform: () => {
        const c = call('call_perform')
        fx().pendingCall = undefined
        // The caller pays for the request and reserves the largest response and its callback now;
        // a call it cannot pay without falling below its freezing limit is not made (the spec's err_code 2).
        const cost = env().cycles === undefined ? 0n : callTotalFee(env().cycles!, enc.encode(c.method).length + c.argBytes, this.memory64)
        if (this.state.outputQueue.length + fx().calls.length + 1 > limits.maxOutputQueueLength || cost > this.liquid()) {
          fx().cyclesOnCalls -= c.cycles
          return 2
        }
        fx().cyclesForCallFees += cost
        fx().calls.push({
          callee: c.callee, method: c.method, arg: new Uint8Array(Buffer.concat(c.args)), cycles: cycles(c.cycles),
          reply: c.reply, reject: c.reject, cleanup: c.cleanup, timeoutSeconds: c.timeoutSeconds,
        })
        return 0
      },
      stable64_size: () => fx().stableWasmPages,
      stable64_grow: (pages) => stableGrow(b(pages), maxStablePages),
      stable64_write: (offset, src, size) => stableWrite('stable64_write', b(offset), Number(b(src)), b(size)),
      stable64_read: (dst, offset, size) => stableRead('stable64_read', Number(b(dst)), b(offset), b(size)),
      stable_size: () => {
        if (fx().stableWasmPages > 65536n) throw contractViolation('ic0.stable_size: stable memory exceeds 4 GiB; use ic0.stable64_size')
        return Number(fx().stableWasmPages)
      },
      stable_grow: (pages) => {
        if (fx().stableWasmPages > 65536n) throw contractViolation('ic0.stable_grow: stable memory exceeds 4 GiB; use ic0.stable64_grow')
        return Number(stableGrow(BigInt(n(pages)), 65536n))
      },
      stable_write: (offset, src, size) => stableWrite('stable_write', BigInt(n(offset)), n(src), BigInt(n(size))),
      stable_read: (dst, offset, size) => stableRead('stable_read', n(dst), BigInt(n(offset)), BigInt(n(size))),
      root_key_size: () => env().rootKey.length,
      root_key_copy: (dst, off, size) => this.#copy('root_key_copy', env().rootKey, n(dst), n(off), n(size)),
      certified_data_set: (src, size) => {
        if (n(size) > limits.maxCertifiedDataBytes) throw contractViolation(`ic0.certified_data_set: the data must be at most ${limits.maxCertifiedDataBytes} bytes, got ${n(size)}`)
        fx().certifiedData = this.readHeap('certified_data_set', n(src), n(size))
      },
      data_certificate_present: () => (env().dataCertificate === undefined ? 0 : 1),
      data_certificate_size: () => {
        const c = env().dataCertificate
        if (c === undefined) throw contractViolation('ic0.data_certificate_size: no certificate is present')
        return c.length
      },
      data_certificate_copy: (dst, off, size) => {
        const c = env().dataCertificate
        if (c === undefined) throw contractViolation('ic0.data_certificate_copy: no certificate is present')
        this.#copy('data_certificate_copy', c, n(dst), n(off), n(size))
      },
      time: () => env().time,
      cost_call: (methodSize, payloadSize, dst) => {
        const c = env().cycles
        this.writeHeap('cost_call', n(dst), u128Bytes(c === undefined ? 0n : callTotalFee(c, Number(b(methodSize) + b(payloadSize)), this.memory64)))
      },
      cost_create_canister: (dst) => {
        const c = env().cycles
        this.writeHeap('cost_create_canister', n(dst), u128Bytes(c === undefined ? 0n : canisterCreationFee(c)))
      },
      global_timer_set: (ts) => {
        const prev = fx().globalTimer ?? this.state.globalTimer
        fx().globalTimer = b(ts)
        return prev
      },
      performance_counter: (type) => {
        if (n(type) === 0) return this.instructionsUsed()
        if (n(type) === 1) return env().callContextInstructions + this.instructionsUsed()
        throw contractViolation(`ic0.performance_counter: unsupported counter type ${n(type)}`)
      },
      is_controller: (src, size) => {
        const p = this.readHeap('is_controller', n(src), n(size))
        if (p.length > limits.maxPrincipalBytes) throw contractViolation('ic0.is_controller: the argument is not a valid principal')
        return this.state.settings.controllers.some((c) => bytesEqual(c, p)) ? 1 : 0
      },
      in_replicated_execution: () => (env().replicated ? 1 : 0),
      env_var_count: () => 0,
      env_var_name_size: noEnvVar('env_var_name_size'),
      env_var_name_copy: noEnvVar('env_var_name_copy'),
      env_var_name_exists: (src, size) => {
        readName('env_var_name_exists', n(src), n(size))
        return 0
      },
      env_var_value_size: (src, size) => {
        readName('env_var_value_size', n(src), n(size))
        return noEnvVar('env_var_value_size')()
      },
      env_var_value_copy: (src, size) => {
        readName('env_var_value_copy', n(src), n(size))
        noEnvVar('env_var_value_copy')()
      },
      debug_print: (src, size) => {
        let bytes: Uint8Array
        try {
          bytes = this.readHeap('debug_print', n(src), Math.min(n(size), limits.maxCanisterLogBytes))
        } catch {
          bytes = enc.encode(`(debug_print: src=${n(src)} + size=${n(size)} is out of bounds)`)
        }
        fx().logs.push(bytes)
      },
      trap: (src, size) => {
        const bytes = this.readHeap('trap', n(src), n(size))
        fx().logs.push(bytes.slice(0, limits.maxCanisterLogBytes))
        throw calledTrap(bytes)
      },
    }
  }
}

/** The spec's MAX_CALL_TIMEOUT for bounded-wait calls. */
export const MAX_CALL_TIMEOUT_SECONDS = 300
