// The canister's entry points: which export or table callback each one runs, in which System API
// context, with which instruction budget, and whether its effects persist.

import { limits } from '../protocol/limits.ts'
import type { CallbackRef } from './canister-state.ts'
import type { ApiContext } from './system-api-table.ts'

export type EntryPoint =
  | { kind: 'init' }
  | { kind: 'pre_upgrade' }
  | { kind: 'post_upgrade' }
  | { kind: 'update'; method: string }
  | { kind: 'query'; method: string; replicated: boolean }
  | { kind: 'composite_query'; method: string }
  | { kind: 'inspect_message'; method: string }
  | { kind: 'heartbeat' }
  | { kind: 'global_timer' }
  | { kind: 'on_low_wasm_memory' }
  | { kind: 'reply_callback'; callback: CallbackRef; composite?: boolean }
  | { kind: 'reject_callback'; callback: CallbackRef; composite?: boolean }
  | { kind: 'cleanup'; callback: CallbackRef; composite?: boolean }

export function contextOf(e: EntryPoint): ApiContext {
  switch (e.kind) {
    case 'init':
    case 'post_upgrade':
      return 'I'
    case 'pre_upgrade':
      return 'G'
    case 'update':
      return 'U'
    case 'query':
      return e.replicated ? 'RQ' : 'NRQ'
    case 'composite_query':
      return 'CQ'
    case 'inspect_message':
      return 'F'
    case 'heartbeat':
    case 'global_timer':
    case 'on_low_wasm_memory':
      return 'T'
    case 'reply_callback':
      return e.composite ? 'CRy' : 'Ry'
    case 'reject_callback':
      return e.composite ? 'CRt' : 'Rt'
    case 'cleanup':
      return e.composite ? 'CC' : 'C'
  }
}

export function exportOf(e: EntryPoint): string | undefined {
  switch (e.kind) {
    case 'update':
    case 'query':
    case 'composite_query':
      return `canister_${e.kind} ${e.method}`
    case 'inspect_message':
      return 'canister_inspect_message'
    case 'reply_callback':
    case 'reject_callback':
    case 'cleanup':
      return undefined
    default:
      return `canister_${e.kind}`
  }
}

export function budgetOf(context: ApiContext): bigint {
  if (context === 'I' || context === 'G') return limits.maxInstructionsPerInstall
  if (context === 'NRQ' || context === 'RQ' || context === 'CQ' || context === 'CRy' || context === 'CRt' || context === 'CC' || context === 'F') return limits.maxInstructionsPerQuery
  return limits.maxInstructionsPerUpdate
}

// Contexts whose effects persist. Queries, even replicated ones, and inspect_message discard theirs.
export const PERSISTENT = new Set<ApiContext>(['I', 'G', 'U', 'Ry', 'Rt', 'C', 'T'])

