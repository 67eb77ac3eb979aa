// Public surface of the canister runtime (Wasm parsing and instrumentation: ./wasm/index.ts).

export { PageMap, PAGE_SIZE } from './page-map.ts'
export type { PageIndex, PageMapExport } from './page-map.ts'
export { newCanisterState, defaultSettings, canisterModule, appendLog, outputQueueHasRoom, STATUS_CODE } from './canister-state.ts'
export type {
  CanisterState, CanisterSettings, CanisterModule, CanisterStatus, CanisterLog, LogRecord, GlobalValue,
  CallContext, CallOrigin, Callback, CallbackRef, OutgoingCall,
} from './canister-state.ts'
export { CanisterRuntime } from './execute.ts'
export type { ExecutionResult, ExecutionError, MessageInput, RuntimeOptions, UpgradeOptions } from './execute.ts'
export type { EntryPoint } from './entry-points.ts'
export type { Response, MessageEnv } from './system-api-env.ts'
export { IC0, CONTEXT_NAMES } from './system-api-table.ts'
export type { ApiContext, Ic0Signature } from './system-api-table.ts'
export { CanisterTrap, errorFromCanister } from './trap.ts'
export { prepareModule, moduleMetadata } from './module-seam.ts'
export { InstanceCache, sharedInstanceCache, DEFAULT_INSTANCE_CACHE_CONFIG } from './instance-cache.ts'
export type { InstanceCacheConfig, InstanceCacheStats } from './instance-cache.ts'
export type { PreparedModule, ModuleMetadata } from './module-seam.ts'
export { executeCall, executeResponse } from './call-context.ts'
export type { IncomingCall, IncomingResponse, ContextResponse, StepResult } from './call-context.ts'
export { executeTask } from './call-context.ts'
export { executeRound, defaultSchedulerConfig } from './scheduler.ts'
export type { RoundResult, RoundLog, SchedulerConfig } from './scheduler.ts'
export {
  newReplicatedState, canisterKey, getCanister, sortedCanisterKeys, sortedIngress, pruneIngress, allocateCanisterId, addCanister, loadCanister, removeCanister, queuedMessages,
} from './replicated-state.ts'
export type {
  ReplicatedState, ReplicatedStateInit, IngressStatus, IngressStatusRecord, InputMessage, PendingStop, CanisterChange, CanisterHistory, ChangeDetails,
} from './replicated-state.ts'
export { executeManagement, queryManagement, effectiveCanisterId, fetchCanisterLogs, canisterStatusRecord, ManagementTypes, DEFAULT_PROVISIONAL_CYCLES } from './management/index.ts'
export type { ManagementContext, ManagementOutcome } from './management/index.ts'
export { executeQuery, inspectIngress } from './query.ts'
export type { QueryRequest, QueryResult, QueryOptions, IngressRejection } from './query.ts'
export {
  APPLICATION_SUBNET_FEES, FREE_FEES, DEFAULT_CYCLES_CONFIG, cyclesConfig, scaleCost, executionCost, ingressInductionCost, callTotalFee,
  canisterCreationFee, memoryCost, idleCyclesBurnedPerDay, freezingLimit, canisterMemoryUsage, outOfCyclesMessage, formatCycles,
} from './cycles.ts'
export type { CycleFees, CyclesConfig } from './cycles.ts'
export { cyclesConfigOf, freezingLimitOf, isFrozen, memoryUsageOf } from './cycles-round.ts'
