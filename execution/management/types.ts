// Candid types of the management canister's methods, written from the interface spec's ic.did. Results
// are the full records ic.did defines: clients decode them strictly and fail on a missing field.

import { IDL } from '../../protocol/candid.ts'

export { IDL }

const visibility = IDL.Variant({ controllers: IDL.Null, public: IDL.Null, allowed_viewers: IDL.Vec(IDL.Principal) })
const environmentVariable = IDL.Record({ name: IDL.Text, value: IDL.Text })

export const canister_settings = IDL.Record({
  controllers: IDL.Opt(IDL.Vec(IDL.Principal)),
  compute_allocation: IDL.Opt(IDL.Nat),
  memory_allocation: IDL.Opt(IDL.Nat),
  freezing_threshold: IDL.Opt(IDL.Nat),
  reserved_cycles_limit: IDL.Opt(IDL.Nat),
  minimum_incoming_canister_call_cycles: IDL.Opt(IDL.Nat),
  log_visibility: IDL.Opt(visibility),
  snapshot_visibility: IDL.Opt(visibility),
  status_visibility: IDL.Opt(visibility),
  wasm_memory_limit: IDL.Opt(IDL.Nat),
  wasm_memory_threshold: IDL.Opt(IDL.Nat),
  environment_variables: IDL.Opt(IDL.Vec(environmentVariable)),
})

export const definite_canister_settings = IDL.Record({
  controllers: IDL.Vec(IDL.Principal),
  compute_allocation: IDL.Nat,
  memory_allocation: IDL.Nat,
  freezing_threshold: IDL.Nat,
  reserved_cycles_limit: IDL.Nat,
  minimum_incoming_canister_call_cycles: IDL.Nat,
  log_visibility: visibility,
  snapshot_visibility: visibility,
  status_visibility: visibility,
  wasm_memory_limit: IDL.Nat,
  wasm_memory_threshold: IDL.Nat,
  environment_variables: IDL.Vec(environmentVariable),
})

const canisterIdArgs = IDL.Record({ canister_id: IDL.Principal })

export const provisional_create_canister_with_cycles_args = IDL.Record({
  amount: IDL.Opt(IDL.Nat),
  settings: IDL.Opt(canister_settings),
  specified_id: IDL.Opt(IDL.Principal),
  sender_canister_version: IDL.Opt(IDL.Nat64),
})
export const create_canister_args = IDL.Record({
  settings: IDL.Opt(canister_settings),
  sender_canister_version: IDL.Opt(IDL.Nat64),
})
export const create_canister_result = IDL.Record({ canister_id: IDL.Principal })

export const canister_install_mode = IDL.Variant({
  install: IDL.Null,
  reinstall: IDL.Null,
  upgrade: IDL.Opt(IDL.Record({
    skip_pre_upgrade: IDL.Opt(IDL.Bool),
    wasm_memory_persistence: IDL.Opt(IDL.Variant({ keep: IDL.Null, replace: IDL.Null })),
  })),
})
export const install_code_args = IDL.Record({
  mode: canister_install_mode,
  canister_id: IDL.Principal,
  wasm_module: IDL.Vec(IDL.Nat8),
  arg: IDL.Vec(IDL.Nat8),
  sender_canister_version: IDL.Opt(IDL.Nat64),
})
export const uninstall_code_args = IDL.Record({ canister_id: IDL.Principal, sender_canister_version: IDL.Opt(IDL.Nat64) })
export const update_settings_args = IDL.Record({
  canister_id: IDL.Principal,
  settings: canister_settings,
  sender_canister_version: IDL.Opt(IDL.Nat64),
})
export const canister_status_args = canisterIdArgs
export const start_canister_args = canisterIdArgs
export const stop_canister_args = canisterIdArgs
export const delete_canister_args = canisterIdArgs
export const deposit_cycles_args = canisterIdArgs
export const fetch_canister_logs_args = canisterIdArgs
export const provisional_top_up_canister_args = IDL.Record({ canister_id: IDL.Principal, amount: IDL.Nat })

export const canister_status_result = IDL.Record({
  status: IDL.Variant({ running: IDL.Null, stopping: IDL.Null, stopped: IDL.Null }),
  ready_for_migration: IDL.Bool,
  version: IDL.Nat64,
  settings: definite_canister_settings,
  module_hash: IDL.Opt(IDL.Vec(IDL.Nat8)),
  memory_size: IDL.Nat,
  memory_metrics: IDL.Record({
    wasm_memory_size: IDL.Nat,
    stable_memory_size: IDL.Nat,
    global_memory_size: IDL.Nat,
    wasm_binary_size: IDL.Nat,
    custom_sections_size: IDL.Nat,
    canister_history_size: IDL.Nat,
    wasm_chunk_store_size: IDL.Nat,
    snapshots_size: IDL.Nat,
  }),
  cycles: IDL.Nat,
  reserved_cycles: IDL.Nat,
  idle_cycles_burned_per_day: IDL.Nat,
  query_stats: IDL.Record({
    num_calls_total: IDL.Nat,
    num_instructions_total: IDL.Nat,
    request_payload_bytes_total: IDL.Nat,
    response_payload_bytes_total: IDL.Nat,
  }),
})

export const chunk_hash = IDL.Record({ hash: IDL.Vec(IDL.Nat8) })
export const upload_chunk_args = IDL.Record({ canister_id: IDL.Principal, chunk: IDL.Vec(IDL.Nat8) })
export const clear_chunk_store_args = canisterIdArgs
export const stored_chunks_args = canisterIdArgs
export const stored_chunks_result = IDL.Vec(chunk_hash)
export const install_chunked_code_args = IDL.Record({
  mode: canister_install_mode,
  target_canister: IDL.Principal,
  store_canister: IDL.Opt(IDL.Principal),
  chunk_hashes_list: IDL.Vec(chunk_hash),
  wasm_module_hash: IDL.Vec(IDL.Nat8),
  arg: IDL.Vec(IDL.Nat8),
  sender_canister_version: IDL.Opt(IDL.Nat64),
})

export const canister_info_args = IDL.Record({ canister_id: IDL.Principal, num_requested_changes: IDL.Opt(IDL.Nat64) })
const change = IDL.Record({
  timestamp_nanos: IDL.Nat64,
  canister_version: IDL.Nat64,
  origin: IDL.Variant({
    from_user: IDL.Record({ user_id: IDL.Principal }),
    from_canister: IDL.Record({ canister_id: IDL.Principal, canister_version: IDL.Opt(IDL.Nat64) }),
  }),
  details: IDL.Variant({
    creation: IDL.Record({ controllers: IDL.Vec(IDL.Principal), environment_variables_hash: IDL.Opt(IDL.Vec(IDL.Nat8)) }),
    code_uninstall: IDL.Null,
    code_deployment: IDL.Record({ mode: IDL.Variant({ install: IDL.Null, reinstall: IDL.Null, upgrade: IDL.Null }), module_hash: IDL.Vec(IDL.Nat8) }),
    load_snapshot: IDL.Record({
      from_canister_id: IDL.Opt(IDL.Principal),
      snapshot_id: IDL.Vec(IDL.Nat8),
      canister_version: IDL.Nat64,
      taken_at_timestamp: IDL.Nat64,
      source: IDL.Variant({ taken_from_canister: IDL.Reserved, metadata_upload: IDL.Reserved }),
    }),
    controllers_change: IDL.Record({ controllers: IDL.Vec(IDL.Principal) }),
    rename_canister: IDL.Record({
      canister_id: IDL.Principal,
      total_num_changes: IDL.Nat64,
      rename_to: IDL.Record({ canister_id: IDL.Principal, version: IDL.Nat64, total_num_changes: IDL.Nat64 }),
      requested_by: IDL.Principal,
    }),
  }),
})
export const canister_info_result = IDL.Record({
  total_num_changes: IDL.Nat64,
  recent_changes: IDL.Vec(change),
  module_hash: IDL.Opt(IDL.Vec(IDL.Nat8)),
  controllers: IDL.Vec(IDL.Principal),
})

export const raw_rand_result = IDL.Vec(IDL.Nat8)

export const fetch_canister_logs_result = IDL.Record({
  canister_log_records: IDL.Vec(IDL.Record({ idx: IDL.Nat64, timestamp_nanos: IDL.Nat64, content: IDL.Vec(IDL.Nat8) })),
})

/** Decoded `canister_settings`: every field optional (Candid `opt` as a 0/1-element array). */
export interface SettingsArg {
  controllers: [] | [{ toUint8Array(): Uint8Array }[]]
  compute_allocation: [] | [bigint]
  memory_allocation: [] | [bigint]
  freezing_threshold: [] | [bigint]
  reserved_cycles_limit: [] | [bigint]
  log_visibility: [] | [Record<string, unknown>]
  wasm_memory_limit: [] | [bigint]
  wasm_memory_threshold: [] | [bigint]
}
