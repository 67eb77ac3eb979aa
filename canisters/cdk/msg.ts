// Message-level helpers over ic0: read the argument and caller, reply or reject, identity, time,
// debugging and cycles. Byte strings are Uint8Array; text is UTF-8.
import * as ic0 from "./ic0";

function ptr(bytes: Uint8Array): usize {
  return bytes.dataStart;
}

/** The raw argument bytes of the current message (Candid for update/query calls). */
export function argData(): Uint8Array {
  const size = ic0.msg_arg_data_size();
  const out = new Uint8Array(size);
  if (size > 0) ic0.msg_arg_data_copy(ptr(out), 0, size);
  return out;
}

/** The caller's principal bytes. */
export function caller(): Uint8Array {
  const size = ic0.msg_caller_size();
  const out = new Uint8Array(size);
  if (size > 0) ic0.msg_caller_copy(ptr(out), 0, size);
  return out;
}

/** This canister's own principal bytes. */
export function self(): Uint8Array {
  const size = ic0.canister_self_size();
  const out = new Uint8Array(size);
  if (size > 0) ic0.canister_self_copy(ptr(out), 0, size);
  return out;
}

/** Appends `bytes` to the reply and sends it. */
export function reply(bytes: Uint8Array): void {
  if (bytes.length > 0) ic0.msg_reply_data_append(ptr(bytes), <u32>bytes.length);
  ic0.msg_reply();
}

/** Appends without replying yet (for replies built in pieces). */
export function replyAppend(bytes: Uint8Array): void {
  if (bytes.length > 0) ic0.msg_reply_data_append(ptr(bytes), <u32>bytes.length);
}

/** Rejects the call with CANISTER_REJECT (4) and `message`. */
export function reject(message: string): void {
  const bytes = Uint8Array.wrap(String.UTF8.encode(message));
  ic0.msg_reject(ptr(bytes), <u32>bytes.length);
}

/** In a reject callback: the reject code (0 in a reply callback). */
export function rejectCode(): i32 {
  return ic0.msg_reject_code();
}

/** In a reject callback: the reject message. */
export function rejectMessage(): string {
  const size = ic0.msg_reject_msg_size();
  const out = new Uint8Array(size);
  if (size > 0) ic0.msg_reject_msg_copy(ptr(out), 0, size);
  return String.UTF8.decode(out.buffer);
}

/** Nanoseconds since the epoch; constant within one message. */
export function time(): u64 {
  return ic0.time();
}

/** Aborts the message; state changes are rolled back. */
export function trap(message: string): void {
  const bytes = Uint8Array.wrap(String.UTF8.encode(message));
  ic0.trap(ptr(bytes), <u32>bytes.length);
  unreachable();
}

/** Writes to the replica's debug log; never traps. */
export function print(message: string): void {
  const bytes = Uint8Array.wrap(String.UTF8.encode(message));
  ic0.debug_print(ptr(bytes), <u32>bytes.length);
}

/** Sets the certified data (at most 32 bytes; update/init/upgrade contexts only). */
export function setCertifiedData(bytes: Uint8Array): void {
  ic0.certified_data_set(ptr(bytes), <u32>bytes.length);
}

/** The data certificate in a non-replicated query, or null. */
export function dataCertificate(): Uint8Array | null {
  if (ic0.data_certificate_present() == 0) return null;
  const size = ic0.data_certificate_size();
  const out = new Uint8Array(size);
  ic0.data_certificate_copy(ptr(out), 0, size);
  return out;
}

/** True if `principal` is a controller of this canister. */
export function isController(principal: Uint8Array): bool {
  return ic0.is_controller(ptr(principal), <u32>principal.length) != 0;
}

/** 1 running, 2 stopping, 3 stopped. */
export function canisterStatus(): i32 {
  return ic0.canister_status();
}

export function canisterVersion(): u64 {
  return ic0.canister_version();
}

export function instructionCounter(): u64 {
  return ic0.performance_counter(0);
}

/** A 128-bit cycle amount; most balances fit `low`. */
export class Cycles {
  high: u64;
  low: u64;
  constructor(high: u64, low: u64) {
    this.high = high;
    this.low = low;
  }
}

function readCycles(buf: Uint8Array): Cycles {
  return new Cycles(load<u64>(ptr(buf) + 8), load<u64>(ptr(buf)));
}

export function cyclesBalance(): Cycles {
  const buf = new Uint8Array(16);
  ic0.canister_cycle_balance128(ptr(buf));
  return readCycles(buf);
}

export function cyclesAvailable(): Cycles {
  const buf = new Uint8Array(16);
  ic0.msg_cycles_available128(ptr(buf));
  return readCycles(buf);
}

export function cyclesRefunded(): Cycles {
  const buf = new Uint8Array(16);
  ic0.msg_cycles_refunded128(ptr(buf));
  return readCycles(buf);
}

/** Accepts up to `max` of the cycles sent with the message; returns the amount accepted. */
export function cyclesAccept(max: Cycles): Cycles {
  const buf = new Uint8Array(16);
  ic0.msg_cycles_accept128(max.high, max.low, ptr(buf));
  return readCycles(buf);
}
