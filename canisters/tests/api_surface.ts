// Touches every CDK function so the compiler checks them all (AssemblyScript only compiles what
// is reachable), and lets sdk/build/cdk-surface.test.ts run the ones a test host can answer.
import {
  argData, caller, self, reply, replyAppend, reject, rejectCode, rejectMessage, time, trap, print,
  setCertifiedData, dataCertificate, isController, canisterStatus, canisterVersion, instructionCounter,
  Cycles, cyclesBalance, cyclesAvailable, cyclesRefunded, cyclesAccept,
  CandidReader, CandidWriter, Type, Value, encode, decode, idlHash,
  stableSize, ensureStable, stableRead, stableWrite, stableReadU64, stableWriteU64, StableBump, StableMap,
  call, callWith, CallHandler, pendingCalls, setGlobalTimer, setTimerAfter, T_NAT64,
} from "../cdk/index";
import * as ic0 from "../cdk/ic0";

let lastReply: Uint8Array = new Uint8Array(0);
let lastReject: string = "";

function onReply(env: u32): void {
  lastReply = argData();
  reply(encode([Type.nat32(), Type.blob()], [Value.fixed(-7, env), Value.blob(lastReply)]));
}

function onReject(env: u32): void {
  lastReject = rejectCode().toString() + ":" + rejectMessage();
  reject("relayed " + lastReject + " env " + env.toString());
}

// low_call : (principal, text, blob) -> (nat32, blob): a raw call with env 42 and 1000 cycles.
export function canister_update__low_call(): void {
  const a = decode(argData());
  const err = call(a[0].asPrincipal(), a[1].asText(), a[2].asBlob(), onReply, onReject, 42, 1000);
  if (err != 0) trap("call_perform failed");
}

// info : () -> (record { self : principal; caller : principal; time : nat64; balance : nat; hash : nat32 })
export function canister_query__info(): void {
  new CandidReader(argData());
  const t = Type.record(["self", "caller", "time", "balance", "hash"],
    [Type.principal(), Type.principal(), Type.nat64(), Type.nat(), Type.nat32()]);
  const v = Value.record(["self", "caller", "time", "balance", "hash"],
    [Value.principal(self()), Value.principal(caller()), Value.fixed(T_NAT64, time()),
      Value.nat(cyclesBalance().low), Value.fixed(-7, idlHash("name"))]);
  const bytes = new CandidWriter().add(t, v).encode();
  replyAppend(bytes.subarray(0, 3));
  replyAppend(bytes.subarray(3));
  reply(new Uint8Array(0));
}

// certify : (blob) -> (): sets certified data; also uses the raw stable helpers and a StableBump.
export function canister_update__certify(): void {
  const data = decode(argData())[0].asBlob();
  setCertifiedData(data);
  const bump = new StableBump(1 << 20);
  const at = bump.alloc(<u64>data.length);
  stableWrite(at, data);
  if (stableRead(at, <u32>data.length).length != data.length) trap("stable read-back failed");
  stableWriteU64(at, stableReadU64(at));
  ensureStable(stableSize());
  print("certified " + data.length.toString() + " bytes at " + at.toString());
  reply(encode([], []));
}

class Noop extends CallHandler {
  onReply(reply: Uint8Array): void {}
  onReject(code: i32, message: string): void {}
}

// Never called by the tests: keeps the rest of the API compiled.
export function canister_update__unused(): void {
  const c = new Cycles(0, 1);
  cyclesAccept(c); cyclesAvailable(); cyclesRefunded();
  dataCertificate(); isController(caller()); canisterStatus(); canisterVersion(); instructionCounter();
  callWith(self(), "x", new Uint8Array(0), new Noop()); pendingCalls();
  setGlobalTimer(0); setTimerAfter(1);
  const m = new StableMap(0); m.has("a"); m.size;
}

// Never called: references every ic0 declaration so the runtime's import check sees them all.
export function canister_update__unused_ic0(): void {
  ic0.msg_arg_data_size();
  ic0.msg_arg_data_copy(0, 0, 0);
  ic0.msg_caller_size();
  ic0.msg_caller_copy(0, 0, 0);
  ic0.msg_reject_code();
  ic0.msg_reject_msg_size();
  ic0.msg_reject_msg_copy(0, 0, 0);
  ic0.msg_deadline();
  ic0.msg_reply_data_append(0, 0);
  ic0.msg_reply();
  ic0.msg_reject(0, 0);
  ic0.msg_cycles_available128(0);
  ic0.msg_cycles_refunded128(0);
  ic0.msg_cycles_accept128(0, 0, 0);
  ic0.cycles_burn128(0, 0, 0);
  ic0.canister_cycle_balance128(0);
  ic0.canister_liquid_cycle_balance128(0);
  ic0.canister_self_size();
  ic0.canister_self_copy(0, 0, 0);
  ic0.canister_status();
  ic0.canister_version();
  ic0.subnet_self_size();
  ic0.subnet_self_copy(0, 0, 0);
  ic0.msg_method_name_size();
  ic0.msg_method_name_copy(0, 0, 0);
  ic0.accept_message();
  ic0.call_on_cleanup(0, 0);
  ic0.call_data_append(0, 0);
  ic0.call_with_best_effort_response(0);
  ic0.call_cycles_add128(0, 0);
  ic0.call_perform();
  ic0.stable64_size();
  ic0.stable64_grow(0);
  ic0.stable64_write(0, 0, 0);
  ic0.stable64_read(0, 0, 0);
  ic0.root_key_size();
  ic0.root_key_copy(0, 0, 0);
  ic0.certified_data_set(0, 0);
  ic0.data_certificate_present();
  ic0.data_certificate_size();
  ic0.data_certificate_copy(0, 0, 0);
  ic0.time();
  ic0.global_timer_set(0);
  ic0.performance_counter(0);
  ic0.is_controller(0, 0);
  ic0.in_replicated_execution();
  ic0.cost_call(0, 0, 0);
  ic0.cost_create_canister(0);
  ic0.debug_print(0, 0);
  ic0.trap(0, 0);
}
