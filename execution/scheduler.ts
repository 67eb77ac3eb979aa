// The replicated round: `executeRound(state, batch)` inducts the batch's ingress messages, runs the
// round's system tasks (global timers, heartbeats), then iterates: drain the management canister's
// queue, run each canister's input queue in an order derived from the height, and deliver the calls
// and responses they produce on this subnet, until no work is left, the instruction budget is spent
// or the iteration bound is reached. Whatever is left stays queued, in order, for the next round.
// Nothing here reads a clock, a random source or the environment: the batch is the only input.

import type { Batch } from '../protocol/consensus-types.ts'
import { decodeCbor } from '../protocol/cbor.ts'
import { encodeCandid } from '../protocol/candid.ts'
import type { CallContent } from '../protocol/envelope.ts'
import { parseEnvelope } from '../protocol/envelope.ts'
import { isCapsaError } from '../protocol/errors.ts'
import { toHex } from '../protocol/hash.ts'
import type { Cycles, Height } from '../protocol/ids.ts'
import { limits } from '../protocol/limits.ts'
import { principalToText } from '../protocol/principal.ts'
import { IcErrorCode, RejectCode } from '../protocol/reject.ts'
import type { CallOrigin, LogRecord } from './canister-state.ts'
import { executeCall, executeResponse, executeTask } from './call-context.ts'
import type { ContextResponse, IncomingCall, StepResult } from './call-context.ts'
import type { CanisterRuntime } from './execute.ts'
import { errorFromCanister } from './trap.ts'
import { callInstructionLimit, chargeIngress, chargeResources, cyclesConfigOf, managementIngressPayer, prepayExecution, refundExecution, settleResponse } from './cycles-round.ts'
import { executeManagement, effectiveCanisterId } from './management/index.ts'
import type { ManagementContext } from './management/index.ts'
import { enqueueInput, getCanister, inputQueueLength, pruneIngress, queuedMessages, setIngressStatus, sortedCanisterKeys } from './replicated-state.ts'
import type { IngressStatus, IngressStatusRecord, ReplicatedState } from './replicated-state.ts'

export interface SchedulerConfig {
  maxInstructionsPerRound: bigint
  /** Inner iterations per round; each delivers the same-subnet messages the previous one produced. */
  maxIterations: number
  /** Charged to the round for every execution on top of its own instructions (the IC's overhead). */
  overheadPerExecution: bigint
}

export const defaultSchedulerConfig: SchedulerConfig = {
  maxInstructionsPerRound: limits.maxInstructionsPerRound,
  maxIterations: 100,
  overheadPerExecution: 2_000_000n,
}

export interface RoundLog {
  canisterId: Uint8Array
  record: LogRecord
}

export interface RoundResult {
  height: Height
  /** Ingress statuses set in this round, in the order they changed (one request may appear twice). */
  ingressStatuses: IngressStatusRecord[]
  logs: RoundLog[]
  instructionsUsed: bigint
  /** Executions run (calls, responses, system tasks, management calls). */
  executions: number
  iterations: number
  /** Messages still queued for the next round. */
  pendingMessages: number
}

const EMPTY_REPLY = encodeCandid([], [])

export function executeRound(state: ReplicatedState, batch: Batch, config: SchedulerConfig = defaultSchedulerConfig): RoundResult {
  const previousTime = state.time
  state.height = batch.height
  state.time = batch.time
  pruneIngress(state, batch.time)
  const round = new Round(state, batch, config)
  // Storage is paid for the batch time since the previous round, before anything runs, so a canister
  // the charge freezes refuses this round's messages.
  if (previousTime > 0n) chargeResources(state, batch.time - previousTime, (origin, value) => round.respond(origin, value))
  round.induct()
  round.runSystemTasks()
  let iterations = 0
  while (iterations < config.maxIterations && round.hasBudget() && round.hasWork()) {
    iterations++
    round.drainSubnetQueue()
    for (const key of round.canisterOrder()) round.runCanister(key)
    round.finishStops()
  }
  round.finishStops()
  return {
    height: batch.height,
    ingressStatuses: round.changed,
    logs: round.logs,
    instructionsUsed: round.used,
    executions: round.executions,
    iterations,
    pendingMessages: round.pending(),
  }
}

class Round {
  readonly state: ReplicatedState
  readonly batch: Batch
  readonly config: SchedulerConfig
  readonly changed: IngressStatusRecord[] = []
  readonly logs: RoundLog[] = []
  used = 0n
  executions = 0

  constructor(state: ReplicatedState, batch: Batch, config: SchedulerConfig) {
    this.state = state
    this.batch = batch
    this.config = config
  }

  hasBudget(): boolean {
    return this.used < this.config.maxInstructionsPerRound
  }

  hasWork(): boolean {
    if (this.state.subnetQueue.length > 0) return true
    for (const q of this.state.inputQueues.values()) if (q.length > 0) return true
    return false
  }

  pending(): number {
    return queuedMessages(this.state)
  }

  /** Sorted canister ids rotated by the height, so no canister is always first. */
  canisterOrder(): string[] {
    const keys = sortedCanisterKeys(this.state)
    if (keys.length === 0) return keys
    const offset = Number(this.batch.height % BigInt(keys.length))
    return [...keys.slice(offset), ...keys.slice(0, offset)]
  }

  // ------------------------------------------------------------------------------------------
  // Induction

  induct(): void {
    for (const m of this.batch.messages) {
      if (this.state.ingress.has(toHex(m.id))) continue // already inducted once: consensus dedups, this is a guard
      let content: CallContent
      try {
        content = parseEnvelope(decodeCbor(m.bytes), 'call').content as CallContent
      } catch (e) {
        // Consensus validated the message; an unparsable one has no sender to report to.
        if (isCapsaError(e)) continue
        throw e
      }
      const origin: CallOrigin = { kind: 'ingress', sender: content.sender, messageId: m.id }
      const call: IncomingCall = { origin, caller: content.sender, method: content.methodName, arg: content.arg, cycles: 0n as Cycles, deadline: 0n }
      const management = content.canisterId.length === 0
      const record: IngressStatusRecord = {
        requestId: m.id,
        sender: content.sender,
        effectiveCanisterId: management ? effectiveCanisterId(content.methodName, content.arg) : content.canisterId,
        expiry: content.ingressExpiry,
        status: { status: 'received' },
      }
      // The receiving canister pays for induction (for the management canister: the canister named).
      const payer = management ? managementIngressPayer(content.methodName, content.arg, record.effectiveCanisterId) : content.canisterId
      const refusal = management ? undefined : this.refusal(content.canisterId, true)
      const unpaid = refusal !== undefined || payer === undefined ? undefined : chargeIngress(this.state, payer, m.bytes.length, content.sender)
      if (refusal !== undefined || unpaid !== undefined) {
        setIngressStatus(this.state, { ...record, status: rejected(refusal ?? outOfCycles(unpaid!)) }, this.changed)
        continue
      }
      if (management) {
        setIngressStatus(this.state, record, this.changed)
        this.state.subnetQueue.push(call)
        continue
      }
      setIngressStatus(this.state, record, this.changed)
      enqueueInput(this.state, content.canisterId, { kind: 'call', call })
    }
  }

  /** Why a call to `id` cannot be queued, if it cannot. */
  refusal(id: Uint8Array, ingress: boolean): RejectResponse | undefined {
    const rt = getCanister(this.state, id)
    const text = principalToText(id)
    if (rt === undefined) return reject(IcErrorCode.CanisterNotFound, RejectCode.DESTINATION_INVALID, `Canister ${text} not found`)
    if (rt.state.status === 'stopped') return reject(IcErrorCode.CanisterStopped, RejectCode.CANISTER_ERROR, `Canister ${text} is stopped`)
    if (rt.state.status === 'stopping') return reject(IcErrorCode.CanisterStopping, RejectCode.CANISTER_ERROR, `Canister ${text} is stopping`)
    if (inputQueueLength(this.state, id) >= limits.maxInputQueueLength) {
      return reject(IcErrorCode.CanisterQueueFull, RejectCode.SYS_TRANSIENT, `Canister ${text} ${ingress ? 'ingress' : 'input'} queue is full`)
    }
    return undefined
  }

  // ------------------------------------------------------------------------------------------
  // Execution

  runSystemTasks(): void {
    const time = this.batch.time
    for (const key of this.canisterOrder()) {
      const rt = this.state.canisters.get(key)!
      if (rt.state.status !== 'running' || !rt.hasModule) continue
      const timer = rt.state.globalTimer
      if (timer !== 0n && time >= timer && rt.hasExport('canister_global_timer')) this.runTask(rt, 'global_timer')
      if (rt.hasExport('canister_heartbeat')) this.runTask(rt, 'heartbeat')
    }
  }

  /** A task the canister cannot prepay does not run (a due timer stays set for a later round). */
  runTask(rt: CanisterRuntime, kind: 'heartbeat' | 'global_timer'): void {
    const prepaid = prepayExecution(this.state, rt, undefined, cyclesConfigOf(this.state).maxInstructionsPerMessage)
    if (typeof prepaid === 'string') return
    const step = executeTask(rt, kind, this.batch.time, prepaid.extras)
    refundExecution(this.state, rt, prepaid, step.execution.instructions)
    this.account(rt, step)
  }

  runCanister(key: string): void {
    const rt = this.state.canisters.get(key)
    const queue = this.state.inputQueues.get(key)
    if (rt === undefined || queue === undefined) return
    while (queue.length > 0 && this.hasBudget()) {
      const msg = queue.shift()!
      if (msg.kind === 'response') {
        if (!rt.state.callbacks.has(msg.callbackId)) continue
        const prepaid = settleResponse(this.state, rt, msg.response)
        const step = executeResponse(rt, msg.callbackId, msg.response, this.batch.time, prepaid.extras)
        if (step === undefined) continue
        refundExecution(this.state, rt, prepaid, step.execution.instructions)
        this.account(rt, step)
        continue
      }
      // Calls queued before the canister began stopping are refused when their turn comes.
      const refusal = rt.state.status === 'running' ? undefined : this.refusal(rt.state.id, msg.call.origin.kind === 'ingress')
      if (refusal !== undefined) {
        this.respond(msg.call.origin, { ...refusal, refund: msg.call.cycles })
        continue
      }
      const m = msg.call.method
      const asQuery = !rt.hasExport(`canister_update ${m}`) && rt.hasExport(`canister_query ${m}`)
      // An empty canister answers "no Wasm module" without charging; others prepay their instruction limit.
      const prepaid = rt.hasModule ? prepayExecution(this.state, rt, msg.call.caller, callInstructionLimit(this.state, asQuery)) : undefined
      if (typeof prepaid === 'string') {
        this.respond(msg.call.origin, { ...outOfCycles(prepaid), refund: msg.call.cycles })
        continue
      }
      const step = executeCall(rt, msg.call, this.batch.time, asQuery, prepaid?.extras)
      if (prepaid !== undefined) refundExecution(this.state, rt, prepaid, step.execution.instructions)
      this.account(rt, step)
      if (step.response === undefined) this.setIngress(msg.call.origin, { status: 'processing' })
    }
    if (queue.length === 0) this.state.inputQueues.delete(key)
  }

  /** Books a step's instructions and logs, delivers its calls and its response. */
  account(rt: CanisterRuntime, step: StepResult): void {
    const id = rt.state.id
    this.executions++
    this.used += step.execution.instructions + this.config.overheadPerExecution
    for (const record of step.execution.logs) this.logs.push({ canisterId: id, record })
    step.execution.calls.forEach((call, i) => {
      // Bounded-wait calls carry their deadline to the callee (ic0.msg_deadline); 0 = guaranteed response.
      const deadline = rt.state.callbacks.get(step.callbacks[i])?.deadline ?? 0n
      const origin: CallOrigin = { kind: 'canister', caller: id, callbackId: step.callbacks[i], deadline }
      const incoming: IncomingCall = { origin, caller: id, method: call.method, arg: call.arg, cycles: call.cycles, deadline }
      if (call.callee.length === 0) return void this.state.subnetQueue.push(incoming)
      const refusal = this.refusal(call.callee, false)
      if (refusal !== undefined) return this.respond(origin, { ...refusal, refund: call.cycles })
      enqueueInput(this.state, call.callee, { kind: 'call', call: incoming })
    })
    // The calls were delivered above; the output queue only holds them between execution and routing.
    rt.state.outputQueue.length = 0
    if (step.response !== undefined) {
      const v = step.response.value
      const text = principalToText(id)
      this.respond(step.response.origin, v.kind === 'reject' && v.errorCode !== IcErrorCode.CanisterRejectedMessage ? { ...v, message: errorFromCanister(text, v.message) } : v)
    }
  }

  drainSubnetQueue(): void {
    const queue = this.state.subnetQueue
    while (queue.length > 0 && this.hasBudget()) {
      const call = queue.shift()!
      const ctx: ManagementContext = {
        state: this.state, time: this.batch.time, randomness: this.batch.randomness, instructions: 0n, logs: [],
        respond: (origin, value) => this.respond(origin, value),
      }
      const outcome = executeManagement(ctx, call)
      this.executions++
      this.used += ctx.instructions + this.config.overheadPerExecution
      this.logs.push(...ctx.logs)
      if (outcome.kind === 'deferred') {
        this.setIngress(call.origin, { status: 'processing' })
        continue
      }
      this.respond(call.origin, outcome.kind === 'reply'
        ? { kind: 'reply', bytes: outcome.bytes, refund: outcome.refund }
        : { kind: 'reject', rejectCode: outcome.rejectCode, errorCode: outcome.errorCode, message: outcome.message, refund: outcome.refund })
    }
  }

  /** Stopping canisters without open call contexts become stopped; their stop calls are answered. */
  finishStops(): void {
    for (const key of [...this.state.pendingStops.keys()].sort()) {
      const rt = this.state.canisters.get(key)
      if (rt === undefined || rt.state.status !== 'stopping' || rt.state.callContexts.size > 0) continue
      rt.state.status = 'stopped'
      rt.state.version++
      for (const stop of this.state.pendingStops.get(key)!) this.respond(stop.origin, { kind: 'reply', bytes: EMPTY_REPLY, refund: stop.cycles })
      this.state.pendingStops.delete(key)
    }
  }

  // ------------------------------------------------------------------------------------------
  // Responses

  respond(origin: CallOrigin, value: ContextResponse): void {
    if (origin.kind === 'ingress') {
      this.setIngress(origin, value.kind === 'reply' ? { status: 'replied', reply: value.bytes } : rejected(value))
    } else if (origin.kind === 'canister') {
      if (getCanister(this.state, origin.caller) === undefined) return // the caller was deleted
      const refund = value.refund as Cycles
      enqueueInput(this.state, origin.caller, {
        kind: 'response',
        callbackId: origin.callbackId,
        response: value.kind === 'reply' ? { kind: 'reply', bytes: value.bytes, refund } : { kind: 'reject', rejectCode: value.rejectCode, message: value.message, refund },
      })
    }
  }

  setIngress(origin: CallOrigin, status: IngressStatus): void {
    if (origin.kind !== 'ingress') return
    const record = this.state.ingress.get(toHex(origin.messageId))
    if (record === undefined) return
    setIngressStatus(this.state, { ...record, status }, this.changed)
  }
}

type RejectResponse = ContextResponse & { kind: 'reject' }

function reject(errorCode: IcErrorCode, rejectCode: RejectCode, message: string, refund = 0n): RejectResponse {
  return { kind: 'reject', rejectCode, errorCode, message, refund }
}

function outOfCycles(message: string): RejectResponse {
  return reject(IcErrorCode.CanisterOutOfCycles, RejectCode.SYS_TRANSIENT, message)
}

function rejected(v: RejectResponse): IngressStatus {
  return { status: 'rejected', rejectCode: v.rejectCode, rejectMessage: v.message, errorCode: v.errorCode }
}
