// The ic0 System API as seen by a 32-bit (wasm32) module: every address and size is `usize`/`u32`
// (`I = i32` in the spec), stable memory and cycle amounts are 64-bit, 128-bit cycle amounts are
// passed as (high, low) pairs or written as 16 little-endian bytes at `dst`.
// Only functions a module actually calls end up as imports, so listing them all costs nothing.

// Message arguments, caller, rejection details
@external("ic0", "msg_arg_data_size") export declare function msg_arg_data_size(): u32;
@external("ic0", "msg_arg_data_copy") export declare function msg_arg_data_copy(dst: usize, offset: u32, size: u32): void;
@external("ic0", "msg_caller_size") export declare function msg_caller_size(): u32;
@external("ic0", "msg_caller_copy") export declare function msg_caller_copy(dst: usize, offset: u32, size: u32): void;
@external("ic0", "msg_reject_code") export declare function msg_reject_code(): i32;
@external("ic0", "msg_reject_msg_size") export declare function msg_reject_msg_size(): u32;
@external("ic0", "msg_reject_msg_copy") export declare function msg_reject_msg_copy(dst: usize, offset: u32, size: u32): void;
@external("ic0", "msg_deadline") export declare function msg_deadline(): u64;

// Responding
@external("ic0", "msg_reply_data_append") export declare function msg_reply_data_append(src: usize, size: u32): void;
@external("ic0", "msg_reply") export declare function msg_reply(): void;
@external("ic0", "msg_reject") export declare function msg_reject(src: usize, size: u32): void;

// Cycles
@external("ic0", "msg_cycles_available128") export declare function msg_cycles_available128(dst: usize): void;
@external("ic0", "msg_cycles_refunded128") export declare function msg_cycles_refunded128(dst: usize): void;
@external("ic0", "msg_cycles_accept128") export declare function msg_cycles_accept128(maxHigh: u64, maxLow: u64, dst: usize): void;
@external("ic0", "cycles_burn128") export declare function cycles_burn128(high: u64, low: u64, dst: usize): void;
@external("ic0", "canister_cycle_balance128") export declare function canister_cycle_balance128(dst: usize): void;
@external("ic0", "canister_liquid_cycle_balance128") export declare function canister_liquid_cycle_balance128(dst: usize): void;

// The canister itself
@external("ic0", "canister_self_size") export declare function canister_self_size(): u32;
@external("ic0", "canister_self_copy") export declare function canister_self_copy(dst: usize, offset: u32, size: u32): void;
@external("ic0", "canister_status") export declare function canister_status(): i32;
@external("ic0", "canister_version") export declare function canister_version(): u64;
@external("ic0", "subnet_self_size") export declare function subnet_self_size(): u32;
@external("ic0", "subnet_self_copy") export declare function subnet_self_copy(dst: usize, offset: u32, size: u32): void;

// canister_inspect_message only
@external("ic0", "msg_method_name_size") export declare function msg_method_name_size(): u32;
@external("ic0", "msg_method_name_copy") export declare function msg_method_name_copy(dst: usize, offset: u32, size: u32): void;
@external("ic0", "accept_message") export declare function accept_message(): void;

// Inter-canister calls; callbacks are function-table indices called as (env) -> ()
@external("ic0", "call_new") export declare function call_new(
  calleeSrc: usize, calleeSize: u32, nameSrc: usize, nameSize: u32,
  replyFun: u32, replyEnv: u32, rejectFun: u32, rejectEnv: u32): void;
@external("ic0", "call_on_cleanup") export declare function call_on_cleanup(fun: u32, env: u32): void;
@external("ic0", "call_data_append") export declare function call_data_append(src: usize, size: u32): void;
@external("ic0", "call_with_best_effort_response") export declare function call_with_best_effort_response(timeoutSeconds: u32): void;
@external("ic0", "call_cycles_add128") export declare function call_cycles_add128(high: u64, low: u64): void;
@external("ic0", "call_perform") export declare function call_perform(): i32;

// Stable memory (64-bit API; `src`/`dst` are heap addresses widened to i64)
@external("ic0", "stable64_size") export declare function stable64_size(): u64;
@external("ic0", "stable64_grow") export declare function stable64_grow(newPages: u64): i64;
@external("ic0", "stable64_write") export declare function stable64_write(offset: u64, src: u64, size: u64): void;
@external("ic0", "stable64_read") export declare function stable64_read(dst: u64, offset: u64, size: u64): void;

// Certification
@external("ic0", "root_key_size") export declare function root_key_size(): u32;
@external("ic0", "root_key_copy") export declare function root_key_copy(dst: usize, offset: u32, size: u32): void;
@external("ic0", "certified_data_set") export declare function certified_data_set(src: usize, size: u32): void;
@external("ic0", "data_certificate_present") export declare function data_certificate_present(): i32;
@external("ic0", "data_certificate_size") export declare function data_certificate_size(): u32;
@external("ic0", "data_certificate_copy") export declare function data_certificate_copy(dst: usize, offset: u32, size: u32): void;

// Time, timers, metering, misc
@external("ic0", "time") export declare function time(): u64;
@external("ic0", "global_timer_set") export declare function global_timer_set(timestamp: u64): u64;
@external("ic0", "performance_counter") export declare function performance_counter(counterType: u32): u64;
@external("ic0", "is_controller") export declare function is_controller(src: usize, size: u32): i32;
@external("ic0", "in_replicated_execution") export declare function in_replicated_execution(): i32;
@external("ic0", "cost_call") export declare function cost_call(methodNameSize: u64, payloadSize: u64, dst: usize): void;
@external("ic0", "cost_create_canister") export declare function cost_create_canister(dst: usize): void;

// Debugging
@external("ic0", "debug_print") export declare function debug_print(src: usize, size: u32): void;
@external("ic0", "trap") export declare function trap(src: usize, size: u32): void;
