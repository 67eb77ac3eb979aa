// Inter-canister calls and the global timer.
//
// ic0 callbacks are function-table indices invoked as (env: u32) -> (). AssemblyScript has no
// closures, so per-call state goes through `env`: either the caller passes its own number, or
// callWith() registers a CallHandler object and uses its id as env. In a reply callback the reply
// payload is msg_arg_data (msg.argData()); in a reject callback use msg.rejectCode()/rejectMessage().
import * as ic0 from "./ic0";
import { argData, rejectCode, rejectMessage } from "./msg";

/** call_perform's error code (0 = the call was enqueued). */
export function call(
  callee: Uint8Array, method: string, arg: Uint8Array,
  onReply: (env: u32) => void, onReject: (env: u32) => void,
  env: u32 = 0, cyclesLow: u64 = 0, cyclesHigh: u64 = 0,
): i32 {
  const name = Uint8Array.wrap(String.UTF8.encode(method));
  ic0.call_new(callee.dataStart, <u32>callee.length, name.dataStart, <u32>name.length,
    onReply.index, env, onReject.index, env);
  if (arg.length > 0) ic0.call_data_append(arg.dataStart, <u32>arg.length);
  if (cyclesLow != 0 || cyclesHigh != 0) ic0.call_cycles_add128(cyclesHigh, cyclesLow);
  return ic0.call_perform();
}

/** Receives the outcome of a callWith() call. */
export abstract class CallHandler {
  abstract onReply(reply: Uint8Array): void;
  abstract onReject(code: i32, message: string): void;
}

const handlers = new Map<u32, CallHandler>();
let nextHandlerId: u32 = 1;

function takeHandler(env: u32): CallHandler {
  if (!handlers.has(env)) abort("call: no handler for callback env " + env.toString());
  const h = handlers.get(env);
  handlers.delete(env);
  return h;
}

function replyTrampoline(env: u32): void {
  takeHandler(env).onReply(argData());
}

function rejectTrampoline(env: u32): void {
  takeHandler(env).onReject(rejectCode(), rejectMessage());
}

// Runs if a callback traps: the handler must not leak (its state was rolled back with the trap).
function cleanupTrampoline(env: u32): void {
  if (handlers.has(env)) handlers.delete(env);
}

/** Calls `method` on `callee` and delivers the outcome to `handler`; returns call_perform's code. */
export function callWith(
  callee: Uint8Array, method: string, arg: Uint8Array, handler: CallHandler,
  cyclesLow: u64 = 0, cyclesHigh: u64 = 0,
): i32 {
  const id = nextHandlerId++;
  const name = Uint8Array.wrap(String.UTF8.encode(method));
  ic0.call_new(callee.dataStart, <u32>callee.length, name.dataStart, <u32>name.length,
    replyTrampoline.index, id, rejectTrampoline.index, id);
  ic0.call_on_cleanup(cleanupTrampoline.index, id);
  if (arg.length > 0) ic0.call_data_append(arg.dataStart, <u32>arg.length);
  if (cyclesLow != 0 || cyclesHigh != 0) ic0.call_cycles_add128(cyclesHigh, cyclesLow);
  const err = ic0.call_perform();
  if (err == 0) handlers.set(id, handler);
  return err;
}

/** Number of calls whose callbacks have not run yet. */
export function pendingCalls(): i32 {
  return handlers.size;
}

/**
 * Arms the one-shot global timer at `timestampNs` (0 disarms); returns the previous setting.
 * The canister must export the handler as `export function canister_global_timer(): void`.
 */
export function setGlobalTimer(timestampNs: u64): u64 {
  return ic0.global_timer_set(timestampNs);
}

/** Arms the timer `delayNs` from now. */
export function setTimerAfter(delayNs: u64): u64 {
  return ic0.global_timer_set(ic0.time() + delayNs);
}
