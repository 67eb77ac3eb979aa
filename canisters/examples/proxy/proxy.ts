// Inter-canister calls and the global timer:
//   call_inc : (principal) -> (nat)   calls `inc` on a counter canister and replies with its result
//   pending : () -> (nat) query       calls still awaiting their callbacks
//   arm : (nat64) -> (nat64)          arms the global timer at the given time, returns the previous one
//   ticks : () -> (nat) query         how often canister_global_timer ran
import {
  argData, reply, reject, CandidReader, CandidWriter, Type, Value, CallHandler, callWith, pendingCalls,
  setGlobalTimer, T_NAT64,
} from "../../cdk/index";

let ticks: u64 = 0;

function replyNat(n: u64): void {
  reply(new CandidWriter().add(Type.nat(), Value.nat(n)).encode());
}

// The original caller's message stays open until the callee answers; replying from the callback
// answers it.
class IncHandler extends CallHandler {
  onReply(data: Uint8Array): void {
    replyNat(new CandidReader(data).arg(0).asNat());
  }
  onReject(code: i32, message: string): void {
    reject("counter call failed: " + code.toString() + " " + message);
  }
}

export function canister_update__call_inc(): void {
  const counter = new CandidReader(argData()).arg(0).asPrincipal();
  const err = callWith(counter, "inc", new CandidWriter().encode(), new IncHandler());
  if (err != 0) reject("call_perform failed: " + err.toString());
}

export function canister_query__pending(): void {
  new CandidReader(argData());
  replyNat(<u64>pendingCalls());
}

export function canister_update__arm(): void {
  const at = new CandidReader(argData()).arg(0).asNat();
  const previous = setGlobalTimer(at);
  reply(new CandidWriter().add(Type.nat64(), Value.fixed(T_NAT64, previous)).encode());
}

export function canister_global_timer(): void {
  ticks += 1;
}

export function canister_query__ticks(): void {
  new CandidReader(argData());
  replyNat(ticks);
}
