// How a message ends when it does not return normally. Texts follow the IC replica's, since clients
// and developers match on them: IC0502 "Canister trapped: …", IC0503 "Canister called `ic0.trap`
// with message: '…'", IC0504 "Canister violated contract: …".

import { IcErrorCode } from '../protocol/reject.ts'

export type TrapErrorCode =
  | typeof IcErrorCode.CanisterTrapped
  | typeof IcErrorCode.CanisterCalledTrap
  | typeof IcErrorCode.CanisterContractViolation
  | typeof IcErrorCode.CanisterInstructionLimitExceeded
  | typeof IcErrorCode.CanisterWasmMemoryLimitExceeded

/** Thrown by System API functions to abort the running entry point. */
export class CanisterTrap extends Error {
  readonly errorCode: TrapErrorCode
  constructor(errorCode: TrapErrorCode, message: string) {
    super(message)
    this.name = 'CanisterTrap'
    this.errorCode = errorCode
  }
}

/** Longest ic0.trap message kept in the reject text (the rest is cut, as the spec allows). */
const MAX_TRAP_MESSAGE_BYTES = 16 * 1024

export function calledTrap(message: Uint8Array): CanisterTrap {
  const text = new TextDecoder('utf-8', { fatal: false }).decode(message.subarray(0, MAX_TRAP_MESSAGE_BYTES)).replace(/\uFFFD/g, '')
  return new CanisterTrap(IcErrorCode.CanisterCalledTrap, `Canister called \`ic0.trap\` with message: '${text}'`)
}

export function contractViolation(text: string): CanisterTrap {
  return new CanisterTrap(IcErrorCode.CanisterContractViolation, `Canister violated contract: ${text}`)
}

export function trapped(reason: string): CanisterTrap {
  return new CanisterTrap(IcErrorCode.CanisterTrapped, `Canister trapped: ${reason}`)
}

export function instructionLimitExceeded(limit: bigint): CanisterTrap {
  return new CanisterTrap(IcErrorCode.CanisterInstructionLimitExceeded, `Canister exceeded the limit of ${limit} instructions for single message execution.`)
}

/** IC0539: the heap reached `bytes`, above the canister's `wasm_memory_limit` setting. */
export function wasmMemoryLimitExceeded(bytes: bigint, limit: bigint): CanisterTrap {
  return new CanisterTrap(
    IcErrorCode.CanisterWasmMemoryLimitExceeded,
    `Canister exceeded its current Wasm memory limit of ${limit} bytes. The peak Wasm memory usage was ${bytes} bytes. ` +
      'If the canister reaches 4GiB, then it may stop functioning and may become unrecoverable. ' +
      'Please reach out to the canister owner to investigate the reason for the increased memory usage. ' +
      'It might be necessary to move data from the Wasm memory to the stable memory. ' +
      'If such high Wasm memory usage is expected and safe, then the developer can increase the Wasm memory limit in the canister settings.',
  )
}

// V8's RuntimeError texts mapped to the trap codes wasmtime (the IC's engine) reports.
const V8_TRAPS: [RegExp, string][] = [
  [/unreachable/i, 'unreachable'],
  [/memory access out of bounds|out of bounds memory access/i, 'heap out of bounds'],
  [/divide by zero|division by zero/i, 'integer division by 0'],
  [/remainder by zero/i, 'integer division by 0'],
  [/integer overflow|divide result unrepresentable/i, 'integer overflow'],
  [/float unrepresentable|convert/i, 'invalid conversion to integer'],
  [/table (index|access) is out of bounds|table.*out of bounds|element segment/i, 'table out of bounds'],
  [/null function|signature mismatch|function signature/i, 'indirect call type mismatch'],
  [/call stack|stack overflow/i, 'stack overflow'],
]

/** Converts whatever an entry point threw into a trap. Host bugs (anything else) are rethrown:
 *  they must stop the node, not silently become a canister error on one replica. */
export function toTrap(e: unknown): CanisterTrap {
  if (e instanceof CanisterTrap) return e
  if (e instanceof WebAssembly.RuntimeError || (e instanceof RangeError && /call stack/i.test(e.message))) {
    for (const [re, reason] of V8_TRAPS) if (re.test(e.message)) return trapped(reason)
    return trapped(e.message)
  }
  throw e
}

/** The reject message a caller sees, as the IC formats it. */
export function errorFromCanister(canisterText: string, message: string): string {
  return `Error from Canister ${canisterText}: ${message}`
}
