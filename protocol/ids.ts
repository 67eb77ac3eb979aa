// Branded ids and quantities: mixing a Height with a Cycles amount, or a CanisterId with a NodeId,
// is a type error, while the runtime values stay plain bigints and byte arrays.

declare const brand: unique symbol
export type Brand<T, B extends string> = T & { readonly [brand]: B }

/** Block height of a subnet's chain (consensus and state). */
export type Height = Brand<bigint, 'Height'>
/** Cycles: the IC's unit of computation and storage cost, a 128-bit unsigned amount. */
export type Cycles = Brand<bigint, 'Cycles'>
/** Wasm instructions counted by metering. */
export type Instructions = Brand<bigint, 'Instructions'>
/** Nanoseconds since the Unix epoch, as the IC reports time. */
export type TimeNs = Brand<bigint, 'TimeNs'>

/** Raw principal bytes (at most 29). Use `protocol/principal.ts` for the textual form. */
export type CanisterId = Brand<Uint8Array, 'CanisterId'>
export type SubnetId = Brand<Uint8Array, 'SubnetId'>
export type NodeId = Brand<Uint8Array, 'NodeId'>
export type UserId = Brand<Uint8Array, 'UserId'>
/** 32-byte representation-independent hash of a request's content. */
export type RequestId = Brand<Uint8Array, 'RequestId'>

const U128_MAX = (1n << 128n) - 1n
const U64_MAX = (1n << 64n) - 1n

function nonNegative(v: bigint, max: bigint, what: string): bigint {
  if (typeof v !== 'bigint' || v < 0n || v > max) throw new RangeError(`${what} out of range: ${String(v)}`)
  return v
}

export const height = (v: bigint | number): Height => nonNegative(BigInt(v), U64_MAX, 'height') as Height
export const cycles = (v: bigint | number): Cycles => nonNegative(BigInt(v), U128_MAX, 'cycles') as Cycles
export const instructions = (v: bigint | number): Instructions => nonNegative(BigInt(v), U64_MAX, 'instructions') as Instructions
export const timeNs = (v: bigint | number): TimeNs => nonNegative(BigInt(v), U64_MAX, 'time') as TimeNs

/** Saturating cycles arithmetic: the IC never lets a balance wrap. */
export function addCycles(a: Cycles, b: Cycles): Cycles {
  const s = a + b
  return (s > U128_MAX ? U128_MAX : s) as Cycles
}
export function subCycles(a: Cycles, b: Cycles): Cycles {
  return (a > b ? a - b : 0n) as Cycles
}
