// Test support: a WAT canister exercising the System API, compiled with wabt for 32- or 64-bit
// memory from one text (`{I}` is the pointer type). Used by the execution tests only.

import wabtInit from 'wabt'

let wabtPromise: ReturnType<typeof wabtInit> | undefined

export async function wat(text: string, memory64 = false): Promise<Uint8Array> {
  wabtPromise ??= wabtInit()
  const wabt = await wabtPromise
  const mod = wabt.parseWat('canister.wat', text, { memory64 })
  try {
    return new Uint8Array(mod.toBinary({}).buffer)
  } finally {
    mod.destroy()
  }
}

const IMPORTS: [string, string][] = [
  ['msg_arg_data_size', '(result {I})'],
  ['msg_arg_data_copy', '(param {I} {I} {I})'],
  ['msg_caller_size', '(result {I})'],
  ['msg_caller_copy', '(param {I} {I} {I})'],
  ['msg_reply_data_append', '(param {I} {I})'],
  ['msg_reply', ''],
  ['msg_reject', '(param {I} {I})'],
  ['msg_reject_code', '(result i32)'],
  ['msg_reject_msg_size', '(result {I})'],
  ['msg_reject_msg_copy', '(param {I} {I} {I})'],
  ['msg_method_name_size', '(result {I})'],
  ['msg_method_name_copy', '(param {I} {I} {I})'],
  ['accept_message', ''],
  ['canister_self_size', '(result {I})'],
  ['canister_self_copy', '(param {I} {I} {I})'],
  ['canister_status', '(result i32)'],
  ['canister_version', '(result i64)'],
  ['canister_cycle_balance128', '(param {I})'],
  ['msg_cycles_available128', '(param {I})'],
  ['msg_cycles_accept128', '(param i64 i64 {I})'],
  ['call_new', '(param {I} {I} {I} {I} {I} {I} {I} {I})'],
  ['call_data_append', '(param {I} {I})'],
  ['call_cycles_add128', '(param i64 i64)'],
  ['call_perform', '(result i32)'],
  ['stable64_size', '(result i64)'],
  ['stable64_grow', '(param i64) (result i64)'],
  ['stable64_write', '(param i64 i64 i64)'],
  ['stable64_read', '(param i64 i64 i64)'],
  ['time', '(result i64)'],
  ['global_timer_set', '(param i64) (result i64)'],
  ['performance_counter', '(param i32) (result i64)'],
  ['is_controller', '(param {I} {I}) (result i32)'],
  ['in_replicated_execution', '(result i32)'],
  ['certified_data_set', '(param {I} {I})'],
  ['data_certificate_present', '(result i32)'],
  ['debug_print', '(param {I} {I})'],
  ['trap', '(param {I} {I})'],
  ['msg_deadline', '(result i64)'],
  ['env_var_count', '(result {I})'],
  ['cost_create_canister', '(param {I})'],
]

// Memory layout: 0..4095 scratch; 1000 counter (i32); data strings at 3000+; init marker at 2000.
const BODY = `
  (memory $mem (export "memory") {I} 1)
  (table 2 funcref)
  (elem (i32.const 0) $on_reply $on_reject)
  (global $g (mut i64) (i64.const 0))
  (data ({I}.const 3000) "nope")
  (data ({I}.const 3010) "boom")
  (data ({I}.const 3020) "init ran")
  (data ({I}.const 3030) "m")

  (func $reply_arg
    (call $msg_arg_data_copy ({I}.const 0) ({I}.const 0) (call $msg_arg_data_size))
    (call $msg_reply_data_append ({I}.const 0) (call $msg_arg_data_size))
    (call $msg_reply))
  (func $reply_bytes (param $n {I})
    (call $msg_reply_data_append ({I}.const 0) (local.get $n))
    (call $msg_reply))
  (func $bump
    ;; heap counter, global, and stable byte 0 all move together
    (i32.store ({I}.const 1000) (i32.add (i32.load ({I}.const 1000)) (i32.const 1)))
    (global.set $g (i64.add (global.get $g) (i64.const 1)))
    (if (i64.eqz (call $stable64_size)) (then (drop (call $stable64_grow (i64.const 1)))))
    (call $stable64_write (i64.const 0) (i64.const 1000) (i64.const 4)))
  (func $report
    ;; 0: heap counter, 4: global (i64), 12: stable bytes 0..3
    (i32.store ({I}.const 0) (i32.load ({I}.const 1000)))
    (i64.store ({I}.const 4) (global.get $g))
    (if (i64.eqz (call $stable64_size))
      (then (i32.store ({I}.const 12) (i32.const 0)))
      (else (call $stable64_read (i64.const 12) (i64.const 0) (i64.const 4))))
    (call $reply_bytes ({I}.const 16)))

  (func (export "canister_init")
    (i32.store ({I}.const 2000) (i32.const 42))
    (call $debug_print ({I}.const 3020) ({I}.const 8)))
  (func (export "canister_update echo") (call $reply_arg))
  (func (export "canister_query echo_q") (call $reply_arg))
  (func (export "canister_update caller")
    (call $msg_caller_copy ({I}.const 0) ({I}.const 0) (call $msg_caller_size))
    (call $reply_bytes (call $msg_caller_size)))
  (func (export "canister_update self")
    (call $canister_self_copy ({I}.const 0) ({I}.const 0) (call $canister_self_size))
    (call $reply_bytes (call $canister_self_size)))
  (func (export "canister_update reject") (call $msg_reject ({I}.const 3000) ({I}.const 4)))
  (func (export "canister_update bump") (call $bump) (call $report))
  (func (export "canister_update bump_then_trap") (call $bump) (call $trap ({I}.const 3010) ({I}.const 4)))
  (func (export "canister_update bump_then_unreachable") (call $bump) (unreachable))
  (func (export "canister_update grow_then_trap")
    (call $bump) (drop (memory.grow ({I}.const 2))) (unreachable))
  (func (export "canister_query report") (call $report))
  (func (export "canister_query bump_in_query") (call $bump) (call $report))
  (func (export "canister_update init_marker")
    (i32.store ({I}.const 0) (i32.load ({I}.const 2000))) (call $reply_bytes ({I}.const 4)))
  (func (export "canister_update info")
    ;; 0: time, 8: status, 12: version, 20: replicated, 24: deadline, 32: env var count, 36: cert present
    (i64.store ({I}.const 0) (call $time))
    (i32.store ({I}.const 8) (call $canister_status))
    (i64.store ({I}.const 12) (call $canister_version))
    (i32.store ({I}.const 20) (call $in_replicated_execution))
    (i64.store ({I}.const 24) (call $msg_deadline))
    (i32.store ({I}.const 32) ({WRAP} (call $env_var_count)))
    (i32.store ({I}.const 36) (call $data_certificate_present))
    (drop (call $performance_counter (i32.const 0)))
    (call $reply_bytes ({I}.const 40)))
  (func (export "canister_query info_q")
    (i32.store ({I}.const 0) (call $in_replicated_execution))
    (call $reply_bytes ({I}.const 4)))
  (func (export "canister_update is_controller")
    (call $msg_arg_data_copy ({I}.const 0) ({I}.const 0) (call $msg_arg_data_size))
    (i32.store8 ({I}.const 100) (call $is_controller ({I}.const 0) (call $msg_arg_data_size)))
    (call $msg_reply_data_append ({I}.const 100) ({I}.const 1))
    (call $msg_reply))
  (func (export "canister_update timer")
    (i64.store ({I}.const 0) (call $global_timer_set (i64.const 12345)))
    (call $reply_bytes ({I}.const 8)))
  (func (export "canister_update certify")
    (call $msg_arg_data_copy ({I}.const 0) ({I}.const 0) (call $msg_arg_data_size))
    (call $certified_data_set ({I}.const 0) (call $msg_arg_data_size))
    (call $reply_bytes ({I}.const 0)))
  (func (export "canister_update cycles")
    (call $msg_cycles_available128 ({I}.const 0))
    (call $msg_cycles_accept128 (i64.const 0) (i64.const 5) ({I}.const 16))
    (call $canister_cycle_balance128 ({I}.const 32))
    (call $reply_bytes ({I}.const 48)))
  (func (export "canister_update call")
    ;; calls method "m" on the principal given as argument, with callbacks 0 (reply) and 1 (reject)
    (call $msg_arg_data_copy ({I}.const 0) ({I}.const 0) (call $msg_arg_data_size))
    (call $call_new ({I}.const 0) (call $msg_arg_data_size) ({I}.const 3030) ({I}.const 1)
      ({I}.const 0) ({I}.const 7) ({I}.const 1) ({I}.const 8))
    (call $call_data_append ({I}.const 3000) ({I}.const 4))
    (call $call_cycles_add128 (i64.const 0) (i64.const 10))
    (i32.store ({I}.const 0) (call $call_perform))
    (call $reply_bytes ({I}.const 4)))
  (func $on_reply (param $env {I})
    ;; replies: env (1 byte), reject code (1 byte), then the reply payload
    (i32.store8 ({I}.const 0) ({WRAP} (local.get $env)))
    (i32.store8 ({I}.const 1) (call $msg_reject_code))
    (call $msg_arg_data_copy ({I}.const 2) ({I}.const 0) (call $msg_arg_data_size))
    (call $msg_reply_data_append ({I}.const 0) ({I}.add ({I}.const 2) (call $msg_arg_data_size)))
    (call $msg_reply))
  (func $on_reject (param $env {I})
    (i32.store8 ({I}.const 0) ({WRAP} (local.get $env)))
    (i32.store8 ({I}.const 1) (call $msg_reject_code))
    (call $msg_reject_msg_copy ({I}.const 2) ({I}.const 0) (call $msg_reject_msg_size))
    (call $msg_reply_data_append ({I}.const 0) ({I}.add ({I}.const 2) (call $msg_reject_msg_size)))
    (call $msg_reply))
  (func (export "canister_update print") (call $debug_print ({I}.const 3000) ({I}.const 4)) (call $reply_bytes ({I}.const 0)))
  (func (export "canister_update print_oob") (call $debug_print ({I}.const 65530) ({I}.const 100)) (call $reply_bytes ({I}.const 0)))
  (func (export "canister_inspect_message")
    (call $msg_method_name_copy ({I}.const 0) ({I}.const 0) (call $msg_method_name_size))
    (if (i32.eq (i32.load8_u ({I}.const 0)) (i32.const 101)) (then (call $accept_message))))
  (func (export "canister_pre_upgrade")
    (call $stable64_write (i64.const 100) ({EXT} ({I}.const 1000)) (i64.const 4)))
  (func (export "canister_post_upgrade")
    (call $stable64_read ({EXT} ({I}.const 1000)) (i64.const 100) (i64.const 4))
    (if ({I}.eq (call $msg_arg_data_size) ({I}.const 4)) (then (unreachable))))
  (func (export "canister_global_timer") (call $bump))
  (func (export "canister_heartbeat") (call $bump))

  (func $recurse (param $n i64) (result i64)
    (i64.add (i64.const 1) (call $recurse (i64.add (local.get $n) (i64.const 1)))))
  (func (export "canister_update recurse") (drop (call $recurse (i64.const 0))))
  (func (export "canister_update bump_then_loop") (call $bump) (loop $l (br $l)))
  (func (export "canister_update perf")
    (i64.store ({I}.const 0) (call $performance_counter (i32.const 0)))
    (call $reply_bytes ({I}.const 8)))

  (func (export "canister_update silent"))

  ;; misuse
  (func (export "canister_update oob_copy")
    (call $msg_arg_data_copy ({I}.const 65534) ({I}.const 0) (call $msg_arg_data_size)))
  (func (export "canister_update arg_past_end")
    (call $msg_arg_data_copy ({I}.const 0) ({I}.const 1) (call $msg_arg_data_size)))
  (func (export "canister_update double_reply") (call $msg_reply) (call $msg_reply))
  (func (export "canister_update accept_in_update") (call $accept_message))
  (func (export "canister_update reject_code_in_update") (drop (call $msg_reject_code)))
  (func (export "canister_update stable_oob")
    (call $stable64_write (i64.const 65535) (i64.const 0) (i64.const 2)))
  (func (export "canister_update cost") (call $cost_create_canister ({I}.const 0)))
  (func (export "canister_query timer_in_query") (drop (call $global_timer_set (i64.const 1))))
  (func (export "canister_update certify_too_long") (call $certified_data_set ({I}.const 0) ({I}.const 33)))
`

/** The System API test canister for 32-bit (default) or 64-bit memory. */
export function testCanisterWat(memory64 = false): string {
  const I = memory64 ? 'i64' : 'i32'
  const imports = IMPORTS.map(([name, sig]) => `  (import "ic0" "${name}" (func $${name} ${sig}))`).join('\n')
  return `(module\n${imports}\n${BODY}\n)`
    .replaceAll('{I}', I)
    .replaceAll('{WRAP}', memory64 ? 'i32.wrap_i64' : 'i32.add (i32.const 0)')
    .replaceAll('{EXT}', memory64 ? 'i64.add (i64.const 0)' : 'i64.extend_i32_u')
}
