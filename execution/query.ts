// The node's two non-replicated entry points against a replicated state: query calls (plain and
// composite, with the composite query call graph evaluated on this state) and the admission check of
// an update call before it enters the ingress pool (`canister_inspect_message`). Neither changes the
// state: queries and inspect_message run in non-persistent contexts, composite queries inside a query
// session that is discarded at the end, and call contexts of the call graph live only in this module.
// Reject texts and error codes follow the IC replica's query handler and ingress filter.

import { principalToText } from '../protocol/principal.ts'
import { IcErrorCode, RejectCode, rejectCodeOfErrorCode } from '../protocol/reject.ts'
import { limits } from '../protocol/limits.ts'
import type { OutgoingCall } from './canister-state.ts'
import type { CanisterRuntime, ExecutionError, ExecutionResult, MessageInput } from './execute.ts'
import { queryManagement } from './management/index.ts'
import { canisterKey, getCanister } from './replicated-state.ts'
import type { ReplicatedState } from './replicated-state.ts'
import { errorFromCanister } from './trap.ts'
import { frozenQueryMessage, ingressInductionCost, outOfCyclesMessage } from './cycles.ts'
import { cyclesConfigOf, freezingLimitOf, isControllerOf, isFrozen } from './cycles-round.ts'

export interface QueryRequest {
  canisterId: Uint8Array
  method: string
  arg: Uint8Array
  /** The principal the canister sees as `msg_caller`. */
  sender: Uint8Array
}

export type QueryResult =
  | { status: 'replied'; reply: Uint8Array; instructions: bigint }
  | { status: 'rejected'; rejectCode: number; rejectMessage: string; errorCode: string; instructions: bigint }

export interface QueryOptions {
  /** The certificate of the target canister's certified data (ic0.data_certificate_copy); only the
   *  canister the query is addressed to sees it, as on the IC. */
  dataCertificate?: Uint8Array
  /** Nesting bound of composite query calls (the IC's 6). */
  maxCallDepth?: number
  /** Instructions for the whole call graph, per-call overheads included (the IC's 5e9). */
  maxTotalInstructions?: bigint
  /** Charged to the graph for every call a composite query makes (the IC's 50e6). */
  overheadPerCall?: bigint
}

export interface IngressRejection {
  rejectCode: number
  rejectMessage: string
  errorCode: string
}

const DEFAULTS = { maxCallDepth: 6, maxTotalInstructions: 5_000_000_000n, overheadPerCall: 50_000_000n }

/** An answer to a call inside the graph, before it becomes a QueryResult or a callback's input. */
type Answer =
  | { kind: 'reply'; bytes: Uint8Array }
  | { kind: 'reject'; rejectCode: number; errorCode: string; message: string }

/** Ends the whole call graph with a user error (the IC's limits and loop check do not reach the
 *  callers' reject callbacks). */
class GraphAbort extends Error {
  readonly answer: Answer & { kind: 'reject' }
  constructor(errorCode: IcErrorCode, message: string) {
    super(message)
    this.answer = reject(errorCode, message)
  }
}

function reject(errorCode: IcErrorCode, message: string): Answer & { kind: 'reject' } {
  return { kind: 'reject', rejectCode: rejectCodeOfErrorCode(errorCode) ?? RejectCode.CANISTER_ERROR, errorCode, message }
}

function fromExecution(rt: CanisterRuntime, e: ExecutionError): Answer {
  return { kind: 'reject', rejectCode: e.rejectCode, errorCode: e.errorCode, message: errorFromCanister(principalToText(rt.state.id), e.message) }
}

/** Runs a query call (`canister_query` or `canister_composite_query`, or a management canister query
 *  method) for `q.sender` at `time`. Nothing of it persists. */
export function executeQuery(state: ReplicatedState, q: QueryRequest, time: bigint, options: QueryOptions = {}): QueryResult {
  if (q.canisterId.length === 0) {
    const outcome = queryManagement(state, q.sender, q.method, q.arg)
    if (outcome.kind === 'reply') return { status: 'replied', reply: outcome.bytes, instructions: 0n }
    if (outcome.kind === 'reject') return { status: 'rejected', rejectCode: outcome.rejectCode, rejectMessage: outcome.message, errorCode: outcome.errorCode, instructions: 0n }
    throw new Error('a management query cannot be deferred')
  }
  const graph = new QueryGraph(state, time, q.canisterId, options)
  let answer: Answer
  try {
    answer = graph.call(q.canisterId, q.method, q.arg, q.sender, 0)
  } catch (e) {
    if (!(e instanceof GraphAbort)) throw e
    answer = e.answer
  }
  if (answer.kind === 'reply') return { status: 'replied', reply: answer.bytes, instructions: graph.used }
  return { status: 'rejected', rejectCode: answer.rejectCode, rejectMessage: answer.message, errorCode: answer.errorCode, instructions: graph.used }
}

/** A composite query's call context, kept here rather than in the canister state. */
interface Frame {
  rt: CanisterRuntime
  caller: Uint8Array
  depth: number
  responded: boolean
  instructions: bigint
}

class QueryGraph {
  readonly state: ReplicatedState
  readonly time: bigint
  readonly root: Uint8Array
  readonly opts: QueryOptions & typeof DEFAULTS
  used = 0n
  /** Canisters with a call context on the stack: calling one of them again is a loop. */
  readonly active = new Set<string>()

  constructor(state: ReplicatedState, time: bigint, root: Uint8Array, options: QueryOptions) {
    this.state = state
    this.time = time
    this.root = root
    this.opts = { ...DEFAULTS, ...options }
  }

  /** Executes `method` on `id` and, for a composite query, the calls it makes, until it answers. */
  call(id: Uint8Array, method: string, arg: Uint8Array, caller: Uint8Array, depth: number): Answer {
    const rt = getCanister(this.state, id)
    const text = principalToText(id)
    if (rt === undefined) return reject(IcErrorCode.CanisterNotFound, `Canister ${text} not found`)
    // A stopping canister still answers queries on the IC; only a stopped one has no call contexts.
    if (rt.state.status === 'stopped') {
      return reject(IcErrorCode.CanisterStopped, `Canister ${text} is stopped and therefore does not have a CallContextManager`)
    }
    // Queries cost nothing, but a frozen canister answers none (the IC's query handler).
    if (isFrozen(this.state, rt)) return reject(IcErrorCode.CanisterOutOfCycles, frozenQueryMessage(id))
    const composite = rt.hasExport(`canister_composite_query ${method}`)
    if (!composite) {
      const exec = rt.execute({ kind: 'query', method, replicated: false }, this.input(rt, { caller, argData: arg, canRespond: true }))
      this.used += exec.instructions
      if (exec.error !== undefined) return fromExecution(rt, exec.error)
      return exec.response ?? didNotReply(rt)
    }
    const key = canisterKey(id)
    this.active.add(key)
    rt.beginQuerySession()
    try {
      const frame: Frame = { rt, caller, depth, responded: false, instructions: 0n }
      const exec = this.step(frame, rt.execute({ kind: 'composite_query', method }, this.input(rt, { caller, argData: arg, canRespond: true })))
      if (exec.error !== undefined) return fromExecution(rt, exec.error)
      if (exec.response !== undefined) return exec.response
      return this.drive(frame, exec.calls)
    } finally {
      rt.endQuerySession()
      this.active.delete(key)
    }
  }

  /** Depth-first: each call runs to its answer, which goes to the caller's callback, whose own calls
   *  join the queue, until the frame answers or has nothing left to wait for. */
  drive(frame: Frame, calls: OutgoingCall[]): Answer {
    const queue = [...calls]
    const rt = frame.rt
    while (queue.length > 0) {
      if (frame.depth >= this.opts.maxCallDepth) {
        throw new GraphAbort(IcErrorCode.QueryCallGraphTooDeep, 'Composite query calls exceeded the maximum call depth.')
      }
      if (this.used >= this.opts.maxTotalInstructions) {
        throw new GraphAbort(IcErrorCode.QueryCallGraphTotalInstructionLimitExceeded, 'Composite query calls exceeded the instruction limit.')
      }
      const call = queue.shift()!
      const answer = this.answerOf(rt, call, frame.depth + 1)
      const exec = this.step(frame, this.callback(frame, call, answer))
      if (exec.error !== undefined) {
        // A trapping callback answers the call only when no other call can still answer it.
        if (queue.length === 0) return fromExecution(rt, exec.error)
        continue
      }
      if (exec.response !== undefined) return exec.response
      queue.push(...exec.calls)
    }
    return didNotReply(rt)
  }

  answerOf(caller: CanisterRuntime, call: OutgoingCall, depth: number): Answer {
    this.used += this.opts.overheadPerCall
    if (call.callee.length === 0) {
      const outcome = queryManagement(this.state, caller.state.id, call.method, call.arg)
      if (outcome.kind === 'reply') return { kind: 'reply', bytes: outcome.bytes }
      if (outcome.kind === 'reject') return { kind: 'reject', rejectCode: outcome.rejectCode, errorCode: outcome.errorCode, message: outcome.message }
      throw new Error('a management query cannot be deferred')
    }
    if (this.active.has(canisterKey(call.callee))) {
      throw new GraphAbort(IcErrorCode.QueryCallGraphLoopDetected, 'Query calls re-entering the same canister are not allowed yet.')
    }
    return this.call(call.callee, call.method, call.arg, caller.state.id, depth)
  }

  /** Runs the reply or reject callback of `call` with `answer`, and its cleanup if it traps. */
  callback(frame: Frame, call: OutgoingCall, answer: Answer): ExecutionResult {
    const { rt } = frame
    const common = { caller: frame.caller, canRespond: !frame.responded, callContextInstructions: frame.instructions }
    const exec = answer.kind === 'reply'
      ? rt.execute({ kind: 'reply_callback', callback: call.reply, composite: true }, this.input(rt, { ...common, argData: answer.bytes }))
      : rt.execute({ kind: 'reject_callback', callback: call.reject, composite: true }, this.input(rt, { ...common, rejectCode: answer.rejectCode, rejectMessage: answer.message }))
    if (exec.error === undefined || call.cleanup === undefined) return exec
    const cleanup = rt.execute({ kind: 'cleanup', callback: call.cleanup, composite: true }, this.input(rt, {
      ...common, canRespond: false, rejectCode: answer.kind === 'reply' ? 0 : answer.rejectCode, rejectMessage: answer.kind === 'reply' ? '' : answer.message,
    }))
    return { ...exec, instructions: exec.instructions + cleanup.instructions }
  }

  /** Books an execution of `frame`'s call context. */
  step(frame: Frame, exec: ExecutionResult): ExecutionResult {
    this.used += exec.instructions
    frame.instructions += exec.instructions
    if (exec.error === undefined && exec.response !== undefined) frame.responded = true
    return exec
  }

  input(rt: CanisterRuntime, fields: Omit<MessageInput, 'time'>): MessageInput {
    const left = this.opts.maxTotalInstructions - this.used
    const limit = left < limits.maxInstructionsPerQuery ? (left > 0n ? left : 0n) : limits.maxInstructionsPerQuery
    const certified = this.opts.dataCertificate !== undefined && canisterKey(rt.state.id) === canisterKey(this.root)
    return {
      ...fields,
      time: this.time,
      subnetId: this.state.subnetId,
      instructionLimit: limit,
      ...(certified ? { dataCertificate: this.opts.dataCertificate } : {}),
    }
  }
}

function didNotReply(rt: CanisterRuntime): Answer {
  return reject(IcErrorCode.CanisterDidNotReply, `Canister ${principalToText(rt.state.id)} did not produce a response`)
}

/** The admission check of an update call before it enters the ingress pool: the canister exists, is
 *  running and has a module, and its `canister_inspect_message` (if exported) accepts the call.
 *  Calls to the management canister are admitted (the IC skips inspect_message for them). */
export function inspectIngress(state: ReplicatedState, call: QueryRequest, time: bigint): IngressRejection | undefined {
  if (call.canisterId.length === 0) return undefined
  const rt = getCanister(state, call.canisterId)
  const text = principalToText(call.canisterId)
  const refuse = (errorCode: IcErrorCode, message: string): IngressRejection => ({
    rejectCode: rejectCodeOfErrorCode(errorCode) ?? RejectCode.CANISTER_ERROR, rejectMessage: message, errorCode,
  })
  if (rt === undefined) return refuse(IcErrorCode.CanisterNotFound, `Canister ${text} not found`)
  if (rt.state.status === 'stopped') return refuse(IcErrorCode.CanisterStopped, `Canister ${text} is stopped`)
  if (rt.state.status === 'stopping') return refuse(IcErrorCode.CanisterStopping, `Canister ${text} is stopping`)
  if (!rt.hasModule) return refuse(IcErrorCode.CanisterWasmModuleNotFound, 'Requested canister has no wasm module')
  // The IC's ingress filter refuses a call the canister could not pay to induct (its envelope is at
  // least the method name and argument long; induction charges the exact size).
  const threshold = freezingLimitOf(state, rt)
  const cost = ingressInductionCost(cyclesConfigOf(state), call.method.length + call.arg.length)
  if (rt.state.cycles < threshold + cost) {
    return refuse(IcErrorCode.CanisterOutOfCycles, outOfCyclesMessage(call.canisterId, rt.state.cycles, cost, threshold, isControllerOf(rt, call.sender)))
  }
  if (!rt.hasExport('canister_inspect_message')) return undefined
  const exec = rt.execute({ kind: 'inspect_message', method: call.method }, {
    time, caller: call.sender, argData: call.arg, subnetId: state.subnetId,
  })
  if (exec.error !== undefined) {
    return refuse(exec.error.errorCode, errorFromCanister(text, exec.error.message))
  }
  if (!exec.acceptedMessage) return refuse(IcErrorCode.CanisterRejectedMessage, `Canister ${text} rejected the message`)
  return undefined
}
