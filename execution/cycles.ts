// The IC's cycles cost table and the arithmetic on it, in one place. Fees are the IC's published ones
// for its reference subnet of 13 nodes; a subnet of n nodes pays fee × n / 13, rounded down, as the
// IC's `scale_cost` does. Everything is bigint: the same inputs give the same cycles on every node.

import type { Cycles } from '../protocol/ids.ts'
import { limits } from '../protocol/limits.ts'
import { principalToText } from '../protocol/principal.ts'
import type { CanisterState } from './canister-state.ts'

/** The IC's CyclesAccountManagerConfig, for a subnet of `referenceSubnetSize` nodes. */
export interface CycleFees {
  referenceSubnetSize: bigint
  canisterCreationFee: bigint
  /** Fixed fee of every replicated execution (update, response callback, task, install). */
  updateMessageExecutionFee: bigint
  /** Per 10 instructions, so a fee below one cycle per instruction is expressible. */
  tenUpdateInstructionsExecutionFee: bigint
  tenUpdateInstructionsExecutionFeeWasm64: bigint
  /** Per inter-canister call (request and response). */
  xnetCallFee: bigint
  /** Per byte of request and response. */
  xnetByteTransmissionFee: bigint
  ingressMessageReceptionFee: bigint
  ingressByteReceptionFee: bigint
  gibStoragePerSecondFee: bigint
  computePercentAllocatedPerSecondFee: bigint
}

/** The IC's application-subnet table (rs/config subnet_config.rs, CyclesAccountManagerConfig). */
export const APPLICATION_SUBNET_FEES: CycleFees = Object.freeze({
  referenceSubnetSize: 13n,
  canisterCreationFee: 500_000_000_000n,
  updateMessageExecutionFee: 5_000_000n,
  tenUpdateInstructionsExecutionFee: 10n,
  // The IC charges Wasm64 instructions twice (WASM64_INSTRUCTION_COST_OVERHEAD = 2).
  tenUpdateInstructionsExecutionFeeWasm64: 20n,
  xnetCallFee: 260_000n,
  xnetByteTransmissionFee: 1_000n,
  ingressMessageReceptionFee: 1_200_000n,
  ingressByteReceptionFee: 2_000n,
  // 4 XDR per GiB-year.
  gibStoragePerSecondFee: 127_000n,
  computePercentAllocatedPerSecondFee: 10_000_000n,
})

/** Nothing costs anything (the IC's system subnets, PocketIC's "free" cost schedule). */
export const FREE_FEES: CycleFees = Object.freeze({
  referenceSubnetSize: 13n,
  canisterCreationFee: 0n,
  updateMessageExecutionFee: 0n,
  tenUpdateInstructionsExecutionFee: 0n,
  tenUpdateInstructionsExecutionFeeWasm64: 0n,
  xnetCallFee: 0n,
  xnetByteTransmissionFee: 0n,
  ingressMessageReceptionFee: 0n,
  ingressByteReceptionFee: 0n,
  gibStoragePerSecondFee: 0n,
  computePercentAllocatedPerSecondFee: 0n,
})

export interface CyclesConfig {
  fees: CycleFees
  /** Nodes of this subnet: fees scale by subnetSize / fees.referenceSubnetSize. */
  subnetSize: bigint
  /** Instructions prepaid for a message or a response callback (the IC's max_instructions_per_message). */
  maxInstructionsPerMessage: bigint
  /** Instructions prepaid for install_code. */
  maxInstructionsPerInstall: bigint
}

export function cyclesConfig(fees: CycleFees = APPLICATION_SUBNET_FEES, subnetSize: bigint | number = 13n): CyclesConfig {
  return {
    fees,
    subnetSize: BigInt(subnetSize),
    maxInstructionsPerMessage: limits.maxInstructionsPerUpdate,
    maxInstructionsPerInstall: limits.maxInstructionsPerInstall,
  }
}

/** What a subnet charges when its configuration names nothing: the IC's 13-node application subnet. */
export const DEFAULT_CYCLES_CONFIG: CyclesConfig = Object.freeze(cyclesConfig())

const GIB = 1n << 30n
const SECOND_NS = 1_000_000_000n
export const SECONDS_PER_DAY = 86_400n
const DAY_NS = SECONDS_PER_DAY * SECOND_NS

const max0 = (v: bigint): bigint => (v > 0n ? v : 0n)
const min = (a: bigint, b: bigint): bigint => (a < b ? a : b)

export function scaleCost(c: CyclesConfig, cycles: bigint): bigint {
  const ref = c.fees.referenceSubnetSize > 0n ? c.fees.referenceSubnetSize : 1n
  return (cycles * c.subnetSize) / ref
}

export function instructionsToCycles(c: CyclesConfig, instructions: bigint, wasm64: boolean): bigint {
  const fee = wasm64 ? c.fees.tenUpdateInstructionsExecutionFeeWasm64 : c.fees.tenUpdateInstructionsExecutionFee
  return (fee * instructions) / 10n
}

/** Fixed fee plus instructions: what an execution of `instructions` costs. */
export function executionCost(c: CyclesConfig, instructions: bigint, wasm64: boolean): bigint {
  return scaleCost(c, c.fees.updateMessageExecutionFee + instructionsToCycles(c, instructions, wasm64))
}

/** The part of a prepayment for `limit` instructions given back when only `used` ran. */
export function unusedExecutionRefund(c: CyclesConfig, limit: bigint, used: bigint, wasm64: boolean, prepaid: bigint): bigint {
  return min(scaleCost(c, instructionsToCycles(c, max0(limit - used), wasm64)), prepaid)
}

export function canisterCreationFee(c: CyclesConfig): bigint {
  return scaleCost(c, c.fees.canisterCreationFee)
}

/** Charged to the receiving canister when an ingress message of `bytes` (the signed envelope) is inducted. */
export function ingressInductionCost(c: CyclesConfig, bytes: number): bigint {
  return scaleCost(c, c.fees.ingressMessageReceptionFee) + scaleCost(c, c.fees.ingressByteReceptionFee) * BigInt(bytes)
}

/** Transmitting the largest possible response, reserved when a call is made. */
export function responseTransmissionPrepayment(c: CyclesConfig): bigint {
  return scaleCost(c, c.fees.xnetByteTransmissionFee * BigInt(limits.maxInterCanisterPayloadBytes))
}

/** What is given back of that reservation once the response of `bytes` has arrived. */
export function responseTransmissionRefund(c: CyclesConfig, bytes: number): bigint {
  return max0(responseTransmissionPrepayment(c) - scaleCost(c, c.fees.xnetByteTransmissionFee * BigInt(bytes)))
}

/** Executing the longest response callback, reserved when a call is made. */
export function responseExecutionPrepayment(c: CyclesConfig, wasm64: boolean): bigint {
  return executionCost(c, c.maxInstructionsPerMessage, wasm64)
}

/** Everything ic0.call_perform withdraws for a request of `payloadBytes` (method name + argument): the
 *  call, its bytes, and the reservations for the largest response and its callback (ic0.cost_call). */
export function callTotalFee(c: CyclesConfig, payloadBytes: number, wasm64: boolean): bigint {
  return scaleCost(c, c.fees.xnetCallFee)
    + scaleCost(c, c.fees.xnetByteTransmissionFee * BigInt(payloadBytes))
    + responseTransmissionPrepayment(c)
    + responseExecutionPrepayment(c, wasm64)
}

/** Storage of `bytes` for `ns` nanoseconds. Truncates once, after multiplying, so short rounds lose
 *  at most one cycle each. */
export function memoryCost(c: CyclesConfig, bytes: bigint, ns: bigint): bigint {
  return scaleCost(c, (bytes * c.fees.gibStoragePerSecondFee * ns) / (GIB * SECOND_NS))
}

export function computeAllocationCost(c: CyclesConfig, percent: bigint, ns: bigint): bigint {
  return scaleCost(c, (c.fees.computePercentAllocatedPerSecondFee * percent * ns) / SECOND_NS)
}

/** Bytes a canister is charged for: what canister_status reports as memory_size. */
export function canisterMemoryUsage(s: CanisterState, chunkStoreBytes: bigint): bigint {
  const wasmPage = BigInt(limits.wasmPageBytes)
  return BigInt(s.heapWasmPages) * wasmPage + s.stableWasmPages * wasmPage + BigInt(s.globals.length * 8)
    + BigInt(s.module?.bytes.length ?? 0) + chunkStoreBytes
}

/** A memory allocation reserves its bytes even when less is used. */
function chargedBytes(s: CanisterState, usage: bigint): bigint {
  return s.settings.memoryAllocation > usage ? s.settings.memoryAllocation : usage
}

/** Storage and compute allocation for `ns` nanoseconds: what the round charges between batches. */
export function resourceCost(c: CyclesConfig, s: CanisterState, usage: bigint, ns: bigint): bigint {
  return memoryCost(c, chargedBytes(s, usage), ns) + computeAllocationCost(c, s.settings.computeAllocation, ns)
}

/** canister_status's idle_cycles_burned_per_day. */
export function idleCyclesBurnedPerDay(c: CyclesConfig, s: CanisterState, usage: bigint): bigint {
  return resourceCost(c, s, usage, DAY_NS)
}

/** Cycles a canister must keep: what it burns idle during its freezing threshold. Below it the
 *  canister is frozen. */
export function freezingLimit(c: CyclesConfig, s: CanisterState, usage: bigint): bigint {
  return (idleCyclesBurnedPerDay(c, s, usage) * s.settings.freezingThreshold) / SECONDS_PER_DAY
}

/** Spendable cycles: the balance above the freezing limit (the spec's liquid_balance, no reserve). */
export function liquidBalance(balance: bigint, limit: bigint): bigint {
  return max0(balance - limit)
}

/** Cycles as the IC prints them (Rust `Cycles` Display): digits grouped by underscores. */
export function formatCycles(v: bigint): string {
  return v.toString().replace(/\B(?=(\d{3})+(?!\d))/g, '_')
}

/** The IC's CanisterOutOfCyclesError text (IC0207). Only controllers learn the shortfall. */
export function outOfCyclesMessage(id: Uint8Array, available: bigint, requested: bigint, threshold: bigint, revealTopUp: boolean): string {
  const text = principalToText(id)
  if (!revealTopUp) return `Canister ${text} is out of cycles`
  return `Canister ${text} is out of cycles: please top up the canister with at least ${formatCycles(max0(threshold + requested - available))} additional cycles`
}

/** The IC's text for a query to a frozen canister (IC0207). */
export function frozenQueryMessage(id: Uint8Array): string {
  return `Canister ${principalToText(id)} is unable to process query calls because it's frozen. Please top up the canister with cycles and try again.`
}

/** Takes `amount` from `s` if at least `threshold` stays; otherwise the IC's error text, and nothing changes. */
export function withdrawAbove(s: CanisterState, amount: bigint, threshold: bigint, revealTopUp: boolean): string | undefined {
  const available = max0(s.cycles - threshold)
  if (amount > available) return outOfCyclesMessage(s.id, s.cycles, amount, threshold, revealTopUp)
  s.cycles = (s.cycles - amount) as Cycles
  return undefined
}
