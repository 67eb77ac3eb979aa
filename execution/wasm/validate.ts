// The IC's canister module rules (spec "WebAssembly module requirements"), checked on the
// structural ModuleInfo before instrumentation. Engine-level validity is checked by the rewriter.

import { CapsaError } from '../../protocol/errors.ts'
import { limits } from '../../protocol/limits.ts'
import type { ModuleInfo } from './parse.ts'

const systemMethods = new Set([
  'canister_init', 'canister_pre_upgrade', 'canister_post_upgrade', 'canister_inspect_message',
  'canister_heartbeat', 'canister_global_timer', 'canister_on_low_wasm_memory',
])
const methodPrefixes = ['canister_update ', 'canister_query ', 'canister_composite_query ']

/** Spec limits the IC may enforce on exported methods and custom sections. */
export const canisterModuleLimits = {
  maxMethodExports: 1000,
  maxMethodNameBytesTotal: 20_000,
  maxIcpCustomSections: 16,
  maxIcpCustomSectionBytes: 1024 * 1024,
} as const

function reject(message: string, detail?: Record<string, unknown>): never {
  throw new CapsaError('WASM_REJECTED', `canister module rejected: ${message}`, detail)
}

/**
 * Every function in the spec's "Overview of imports" (interface spec 0.66). The runtime may pass
 * a narrower set (what it implements) as `ic0Names`.
 */
export const ic0FunctionNames: ReadonlySet<string> = new Set([
  'accept_message', 'call_cycles_add', 'call_cycles_add128', 'call_data_append', 'call_new',
  'call_on_cleanup', 'call_perform', 'call_with_best_effort_response', 'canister_cycle_balance',
  'canister_cycle_balance128', 'canister_liquid_cycle_balance128', 'canister_self_copy',
  'canister_self_size', 'canister_status', 'canister_version', 'certified_data_set', 'cost_call',
  'cost_create_canister', 'cost_http_request', 'cost_sign_with_ecdsa', 'cost_sign_with_schnorr',
  'cost_vetkd_derive_key', 'cycles_burn128', 'data_certificate_copy', 'data_certificate_present',
  'data_certificate_size', 'debug_print', 'env_var_count', 'env_var_name_copy',
  'env_var_name_exists', 'env_var_name_size', 'env_var_value_copy', 'env_var_value_size',
  'global_timer_set', 'in_replicated_execution', 'is_controller', 'msg_arg_data_copy',
  'msg_arg_data_size', 'msg_caller_copy', 'msg_caller_info_data_copy', 'msg_caller_info_data_size',
  'msg_caller_info_signer_copy', 'msg_caller_info_signer_size', 'msg_caller_size',
  'msg_cycles_accept', 'msg_cycles_accept128', 'msg_cycles_available', 'msg_cycles_available128',
  'msg_cycles_refunded', 'msg_cycles_refunded128', 'msg_deadline', 'msg_method_name_copy',
  'msg_method_name_size', 'msg_reject', 'msg_reject_code', 'msg_reject_msg_copy',
  'msg_reject_msg_size', 'msg_reply', 'msg_reply_data_append', 'performance_counter',
  'root_key_copy', 'root_key_size', 'stable64_grow', 'stable64_read', 'stable64_size',
  'stable64_write', 'stable_grow', 'stable_read', 'stable_size', 'stable_write', 'subnet_self_copy',
  'subnet_self_size', 'time', 'trap'
])

export interface ValidateOptions {
  /**
   * ic0 function names the runtime implements. When given, any other ic0 import is rejected at
   * install time (rather than at instantiation with a LinkError).
   */
  ic0Names?: ReadonlySet<string>
}

export function validateCanisterModule(info: ModuleInfo, opts: ValidateOptions = {}): void {
  if (info.moduleBytes > limits.maxWasmModuleBytes) reject(`module is ${info.moduleBytes} bytes, more than ${limits.maxWasmModuleBytes}`)
  if (info.codeSectionBytes > limits.maxWasmCodeSectionBytes) reject(`code section is ${info.codeSectionBytes} bytes, more than ${limits.maxWasmCodeSectionBytes}`)
  if (info.functionCount > limits.maxWasmFunctions) reject(`module declares ${info.functionCount} functions, more than ${limits.maxWasmFunctions}`)
  if (info.globalCount + info.importedGlobalCount > limits.maxWasmGlobals) reject(`module declares ${info.globalCount + info.importedGlobalCount} globals, more than ${limits.maxWasmGlobals}`)
  if (info.exports.length > limits.maxWasmExports) reject(`module has ${info.exports.length} exports, more than ${limits.maxWasmExports}`)
  if (info.memoryCount > 1) reject(`module declares ${info.memoryCount} memories; at most one is allowed`)
  if (info.memory?.shared) reject('shared memory (threads) is not allowed')

  for (const imp of info.imports) {
    const what = `${imp.module}.${imp.name}`
    if (imp.module !== 'ic0') reject(`import ${JSON.stringify(what)} is not from module "ic0"`, { import: what })
    if (imp.kind !== 'func') reject(`import ${JSON.stringify(what)} is a ${imp.kind}; only functions may be imported`, { import: what })
    if (opts.ic0Names && !opts.ic0Names.has(imp.name)) reject(`import ${JSON.stringify(what)} is not a known System API function`, { import: what })
  }

  const methodNames = new Map<string, string>()
  let methodCount = 0
  let methodNameBytes = 0
  for (const exp of info.exports) {
    if (!exp.name.startsWith('canister_')) continue
    const isSystem = systemMethods.has(exp.name)
    const prefix = methodPrefixes.find((p) => exp.name.startsWith(p))
    if (!isSystem && prefix === undefined) reject(`export ${JSON.stringify(exp.name)} uses the reserved prefix canister_ but is not an entry point`, { export: exp.name })
    if (exp.kind !== 'func') reject(`export ${JSON.stringify(exp.name)} must be a function`, { export: exp.name })
    if (exp.type && (exp.type.params.length !== 0 || exp.type.results.length !== 0)) reject(`export ${JSON.stringify(exp.name)} must have type () -> ()`, { export: exp.name })
    if (prefix !== undefined) {
      const method = exp.name.slice(prefix.length)
      const previous = methodNames.get(method)
      if (previous !== undefined) reject(`method ${JSON.stringify(method)} is exported twice (${JSON.stringify(previous)} and ${JSON.stringify(exp.name)})`, { method })
      methodNames.set(method, exp.name)
      methodCount++
      methodNameBytes += Buffer.byteLength(method, 'utf8')
    }
  }
  if (methodCount > canisterModuleLimits.maxMethodExports) reject(`module exports ${methodCount} methods, more than ${canisterModuleLimits.maxMethodExports}`)
  if (methodNameBytes > canisterModuleLimits.maxMethodNameBytesTotal) reject(`exported method names total ${methodNameBytes} bytes, more than ${canisterModuleLimits.maxMethodNameBytesTotal}`)

  const visibility = new Map<string, string>()
  let icpCount = 0
  let icpBytes = 0
  for (const sec of info.customSections) {
    // Only icp: sections are limited, as on the IC: other custom sections (name, debug info,
    // producers) are part of the module's size and nothing else.
    if (!sec.name.startsWith('icp:')) continue
    const m = /^icp:(public|private) (.*)$/s.exec(sec.name)
    if (!m) reject(`custom section ${JSON.stringify(sec.name)}: icp: sections must be "icp:public <name>" or "icp:private <name>"`)
    const [, vis, name] = m
    const prev = visibility.get(name)
    if (prev !== undefined) reject(`custom section ${JSON.stringify(name)} is declared twice (${prev} and ${vis})`)
    visibility.set(name, vis)
    icpCount++
    icpBytes += Buffer.byteLength(name, 'utf8') + sec.data.length
  }
  if (icpCount > canisterModuleLimits.maxIcpCustomSections) reject(`module has ${icpCount} icp: custom sections, more than ${canisterModuleLimits.maxIcpCustomSections}`)
  if (icpBytes > canisterModuleLimits.maxIcpCustomSectionBytes) reject(`icp: custom sections total ${icpBytes} bytes, more than ${canisterModuleLimits.maxIcpCustomSectionBytes}`)
}
