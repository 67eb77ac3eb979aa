// The ic0 imports of the spec ("Overview of imports"): each function's signature, with `I` standing
// for the module's pointer width, and the entry-point contexts that may call it.

/** Entry-point contexts, in the spec's letters. */
export type ApiContext =
  | 's' // (start)
  | 'I' // canister_init, canister_post_upgrade
  | 'G' // canister_pre_upgrade
  | 'U' // canister_update
  | 'RQ' // canister_query, replicated
  | 'NRQ' // canister_query, non-replicated
  | 'TQ' // http outcall transform
  | 'CQ' // canister_composite_query
  | 'Ry' | 'Rt' // reply / reject callback
  | 'CRy' | 'CRt' // reply / reject callback in a composite query
  | 'C' | 'CC' // cleanup callback (of an update / of a composite query)
  | 'F' // canister_inspect_message
  | 'T' // heartbeat, global timer, on_low_wasm_memory

/** How the IC names each context in "cannot be executed in … mode". */
export const CONTEXT_NAMES: Record<ApiContext, string> = {
  s: 'start', I: 'init', G: 'pre upgrade', U: 'update', RQ: 'replicated query', NRQ: 'non-replicated query',
  TQ: 'transform', CQ: 'composite query', Ry: 'reply callback', Rt: 'reject callback', CRy: 'composite reply callback',
  CRt: 'composite reject callback', C: 'cleanup', CC: 'composite cleanup', F: 'inspect message', T: 'system task',
}

export type Param = 'I' | 'i32' | 'i64'
export interface Ic0Signature {
  params: Param[]
  results: Param[]
  contexts: ReadonlySet<ApiContext>
  /** Only importable by 32-bit modules (the deprecated 64-bit-cycles and 32-bit stable functions). */
  only32?: boolean
}

const ALL: ApiContext[] = ['I', 'G', 'U', 'RQ', 'NRQ', 'TQ', 'CQ', 'Ry', 'Rt', 'CRy', 'CRt', 'C', 'CC', 'F', 'T']

function ctx(spec: string): ReadonlySet<ApiContext> {
  const out = new Set<ApiContext>()
  for (const t of spec.split(' ')) {
    if (t === '*') ALL.forEach((c) => out.add(c))
    else if (t === 'Q') ['RQ', 'NRQ'].forEach((c) => out.add(c as ApiContext))
    else out.add(t as ApiContext)
  }
  return out
}

const sig = (params: Param[], results: Param[], contexts: string, only32 = false): Ic0Signature => ({
  params, results, contexts: ctx(contexts), only32,
})

const I = 'I' as const
const i32 = 'i32' as const
const i64 = 'i64' as const
const COPY: Param[] = [I, I, I]

export const IC0: Record<string, Ic0Signature> = {
  msg_arg_data_size: sig([], [I], 'I U RQ NRQ TQ CQ Ry CRy F'),
  msg_arg_data_copy: sig(COPY, [], 'I U RQ NRQ TQ CQ Ry CRy F'),
  msg_caller_size: sig([], [I], '*'),
  msg_caller_copy: sig(COPY, [], '*'),
  msg_caller_info_data_size: sig([], [I], 'U RQ NRQ CQ Ry Rt CRy CRt C CC F'),
  msg_caller_info_data_copy: sig(COPY, [], 'U RQ NRQ CQ Ry Rt CRy CRt C CC F'),
  msg_caller_info_signer_size: sig([], [I], 'U RQ NRQ CQ Ry Rt CRy CRt C CC F'),
  msg_caller_info_signer_copy: sig(COPY, [], 'U RQ NRQ CQ Ry Rt CRy CRt C CC F'),
  msg_reject_code: sig([], [i32], 'Ry Rt CRy CRt C'),
  msg_reject_msg_size: sig([], [I], 'Rt CRt'),
  msg_reject_msg_copy: sig(COPY, [], 'Rt CRt'),
  msg_deadline: sig([], [i64], 'U Q CQ Ry Rt CRy CRt'),
  msg_reply_data_append: sig([I, I], [], 'U RQ NRQ TQ CQ Ry Rt CRy CRt'),
  msg_reply: sig([], [], 'U RQ NRQ TQ CQ Ry Rt CRy CRt'),
  msg_reject: sig([I, I], [], 'U RQ NRQ TQ CQ Ry Rt CRy CRt'),
  msg_cycles_available128: sig([I], [], 'U RQ Rt Ry'),
  msg_cycles_refunded128: sig([I], [], 'Rt Ry'),
  msg_cycles_accept128: sig([i64, i64, I], [], 'U RQ Rt Ry'),
  cycles_burn128: sig([i64, i64, I], [], 'I G U RQ Ry Rt C T'),
  canister_self_size: sig([], [I], '*'),
  canister_self_copy: sig(COPY, [], '*'),
  canister_cycle_balance128: sig([I], [], '*'),
  canister_liquid_cycle_balance128: sig([I], [], '*'),
  canister_status: sig([], [i32], '*'),
  canister_version: sig([], [i64], '*'),
  subnet_self_size: sig([], [I], '*'),
  subnet_self_copy: sig(COPY, [], '*'),
  msg_method_name_size: sig([], [I], 'F'),
  msg_method_name_copy: sig(COPY, [], 'F'),
  accept_message: sig([], [], 'F'),
  call_new: sig([I, I, I, I, I, I, I, I], [], 'U CQ Ry Rt CRy CRt T'),
  call_on_cleanup: sig([I, I], [], 'U CQ Ry Rt CRy CRt T'),
  call_data_append: sig([I, I], [], 'U CQ Ry Rt CRy CRt T'),
  call_with_best_effort_response: sig([i32], [], 'U CQ Ry Rt CRy CRt T'),
  call_cycles_add128: sig([i64, i64], [], 'U Ry Rt T'),
  call_perform: sig([], [i32], 'U CQ Ry Rt CRy CRt T'),
  stable64_size: sig([], [i64], '* s'),
  stable64_grow: sig([i64], [i64], '* s'),
  stable64_write: sig([i64, i64, i64], [], '* s'),
  stable64_read: sig([i64, i64, i64], [], '* s'),
  root_key_size: sig([], [I], 'I G U RQ Ry Rt C T'),
  root_key_copy: sig(COPY, [], 'I G U RQ Ry Rt C T'),
  certified_data_set: sig([I, I], [], 'I G U Ry Rt T'),
  data_certificate_present: sig([], [i32], '*'),
  data_certificate_size: sig([], [I], 'NRQ CQ'),
  data_certificate_copy: sig(COPY, [], 'NRQ CQ'),
  time: sig([], [i64], '*'),
  global_timer_set: sig([i64], [i64], 'I G U Ry Rt C T'),
  performance_counter: sig([i32], [i64], '* s'),
  is_controller: sig([I, I], [i32], '* s'),
  in_replicated_execution: sig([], [i32], '* s'),
  cost_call: sig([i64, i64, I], [], '* s'),
  cost_create_canister: sig([I], [], '* s'),
  cost_http_request: sig([i64, i64, I], [], '* s'),
  cost_sign_with_ecdsa: sig([I, I, i32, I], [i32], '* s'),
  cost_sign_with_schnorr: sig([I, I, i32, I], [i32], '* s'),
  cost_vetkd_derive_key: sig([I, I, i32, I], [i32], '* s'),
  env_var_count: sig([], [I], '*'),
  env_var_name_size: sig([I], [I], '*'),
  env_var_name_copy: sig([I, I, I, I], [], '*'),
  env_var_name_exists: sig([I, I], [i32], '*'),
  env_var_value_size: sig([I, I], [I], '*'),
  env_var_value_copy: sig([I, I, I, I, I], [], '*'),
  debug_print: sig([I, I], [], '* s'),
  trap: sig([I, I], [], '* s'),
  msg_cycles_available: sig([], [i64], 'U RQ Rt Ry', true),
  msg_cycles_refunded: sig([], [i64], 'Rt Ry', true),
  msg_cycles_accept: sig([i64], [i64], 'U RQ Rt Ry', true),
  canister_cycle_balance: sig([], [i64], '*', true),
  call_cycles_add: sig([i64], [], 'U Ry Rt T', true),
  stable_size: sig([], [i32], '* s', true),
  stable_grow: sig([i32], [i32], '* s', true),
  stable_write: sig([i32, i32, i32], [], '* s', true),
  stable_read: sig([i32, i32, i32], [], '* s', true),
}

/** The Wasm value types of a signature for a module whose pointers are `ptr`. */
export function concreteType(s: Ic0Signature, memory64: boolean): { params: string[]; results: string[] } {
  const ptr = memory64 ? 'i64' : 'i32'
  const map = (p: Param): string => (p === 'I' ? ptr : p)
  return { params: s.params.map(map), results: s.results.map(map) }
}
